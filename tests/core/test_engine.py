"""The engine on analytic scenes: every number here is derived by hand (see conftest)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from needlesim.core.needle.engine import Engine, evaluate
from needlesim.core.model.results import Tissue
from needlesim.core.model.scene import Scene
from needlesim.core.model.trajectory import Trajectory
from tests.conftest import R8G

EXACT = 1e-6  # mm, the exact backend's promise on analytic scenes
BACKENDS = ["exact", "embree"]


def ev(scene, *args, backend="exact", **kw):
    return evaluate(scene, Trajectory(*args, **kw), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_perpendicular_needle_hits_and_path(analytic_scene, backend):
    e = ev(analytic_scene, "left-psis", 0, 0, 60, backend=backend)
    tol = EXACT if backend == "exact" else 1e-3
    assert e.skin_puncture == pytest.approx((0, -30, 0), abs=tol)
    assert e.puncture_on_skin
    hits = [(h.structure, h.depth_mm, h.entering) for h in e.hits]
    assert [h[0] for h in hits] == ["skin", "left ilium", "left ilium"]  # skin exit is beyond 150 mm
    assert [h[1] for h in hits] == pytest.approx([0, 50, 70], abs=tol)
    assert [h[2] for h in hits] == [True, True, False]
    assert e.soft_tissue_mm == pytest.approx(50, abs=tol)
    assert e.bone_mm == pytest.approx(10, abs=tol)
    kinds = [(s.tissue, round(s.start_mm, 6), round(s.end_mm, 6)) for s in e.path]
    assert kinds == [(Tissue.SOFT_TISSUE, 0, 50), (Tissue.CORTEX, 50, 52), (Tissue.MARROW, 52, 60)]
    assert e.breaches == ()


def test_oblique_needle_depths_follow_the_angles(analytic_scene):
    # entry on the slab's back (y=20); skin at y=-30; slab 20 mm thick; cortex 2 mm
    e = ev(analytic_scene, "left-psis", 30, 22.5, 80)
    dy = math.sqrt(1 - math.sin(math.radians(30)) ** 2 - math.sin(math.radians(22.5)) ** 2)
    assert e.soft_tissue_mm == pytest.approx(50 / dy, abs=EXACT)
    assert e.bone_entry == pytest.approx((0, 20, 0), abs=EXACT)
    cortex = [s for s in e.path if s.tissue is Tissue.CORTEX][0]
    assert cortex.length_mm == pytest.approx(2 / dy, abs=EXACT)  # oblique cortex is longer
    leave = [h for h in e.hits if h.structure == "left ilium" and not h.entering][0]
    assert leave.depth_mm == pytest.approx(70 / dy, abs=EXACT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_breach_through_the_far_table(analytic_scene, backend):
    e = ev(analytic_scene, "left-psis", 0, 0, 75, backend=backend)
    assert len(e.breaches) == 1
    b = e.breaches[0]
    assert b.structure == "left ilium" and b.depth_mm == pytest.approx(70, abs=1e-3)
    assert b.into == "soft tissue"
    assert e.path[-1].tissue is Tissue.SOFT_TISSUE and e.path[-1].start_mm == pytest.approx(70, abs=1e-3)


def test_contact_and_clearance_to_the_root_edge(analytic_scene):
    # along +y at x=-40: the root prism's vertex edge at y = 80 - 2.5 = 77.5 is met head on
    e = ev(analytic_scene, (-40, 20, 0), 0, 0, 100, side="left")
    root = e.contact("left S2 root")
    assert root.contact_depth_mm == pytest.approx(107.5 - R8G, abs=EXACT)
    assert root.clearance_mm == pytest.approx(107.5 - 100 - R8G, abs=EXACT)
    assert root.structure_point == pytest.approx((-40, 77.5, 0), abs=EXACT)
    assert root.needle_point == pytest.approx((-40, 70, 0), abs=EXACT)
    hits = [(h.structure, h.depth_mm, h.entering) for h in e.hits if h.structure == "left S2 root"]
    # a ray through a shared edge meets two triangles: one crossing each way, not two
    assert hits == [("left S2 root", pytest.approx(107.5, abs=EXACT), True),
                    ("left S2 root", pytest.approx(112.5, abs=EXACT), False)]


def test_clearance_beside_the_root(analytic_scene):
    # needle along y at x=-33.5 passes 4 mm from the prism's vertex edge at x=-37.5
    e = ev(analytic_scene, (-33.5, 20, 0), 0, 0, 150, side="left")
    root = e.contact("left S2 root")
    assert root.clearance_mm == pytest.approx(4.0 - R8G, abs=EXACT)
    assert root.structure_point[0] == pytest.approx(-37.5, abs=EXACT)
    assert root.structure_point[1] == pytest.approx(80, abs=EXACT)
    assert math.isinf(root.contact_depth_mm)  # never within the radius
    # at the margin depth the axis is exactly radius + margin from the prism (checked by trimesh)
    at = np.array(e.skin_puncture) + root.margin_depth_mm * np.array(e.trajectory.direction)
    _, dist, _ = trimesh.proximity.closest_point(analytic_scene["left S2 root"].mesh, at[None])
    assert dist[0] == pytest.approx(R8G + 5, abs=EXACT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_contact_and_clearance_at_the_sphere_pole(analytic_scene, backend):
    e = ev(analytic_scene, (40, 20, 0), 0, 0, 120, side="left", backend=backend)
    v = e.contact("left gluteal artery")
    tol = EXACT if backend == "exact" else 0.25
    assert v.clearance_mm == pytest.approx(140 - 120 - R8G, abs=EXACT)  # exact on both backends
    assert v.contact_depth_mm == pytest.approx(140 - R8G, abs=tol)
    assert v.margin_depth_mm == pytest.approx(140 - R8G - 5, abs=tol)
    if backend == "embree":  # the offset surface may err early, never late
        assert v.contact_depth_mm <= 140 - R8G + 1e-3


def test_needle_through_the_vessel_has_negative_clearance(analytic_scene):
    e = ev(analytic_scene, (40, 20, 0), 0, 0, 145, side="left")
    assert e.contact("left gluteal artery").clearance_mm == pytest.approx(-R8G)
    assert e.path[-1].tissue is Tissue.CRITICAL and e.path[-1].structure == "left gluteal artery"


def test_no_skin_means_depth_from_the_entry(analytic_scene):
    scene = analytic_scene.with_structures([s for s in analytic_scene if s.name != "skin"])
    e = ev(scene, "left-psis", 0, 0, 30)
    assert not e.puncture_on_skin
    assert e.skin_puncture == pytest.approx((0, 20, 0))
    assert e.soft_tissue_mm == pytest.approx(0, abs=EXACT)
    assert e.bone_mm == pytest.approx(20, abs=EXACT)


def test_left_and_right_mirror(analytic_scene):
    mirror = np.diag([-1.0, 1, 1, 1])
    left = ev(analytic_scene, (-33.5, 20, 0), 10, 5, 150, side="left")
    right = ev(analytic_scene.transformed(mirror), (33.5, 20, 0), 10, 5, 150, side="right")
    assert right.contact("left S2 root").clearance_mm == pytest.approx(left.contact("left S2 root").clearance_mm, abs=EXACT)
    assert right.skin_puncture == pytest.approx(np.array(left.skin_puncture) * [-1, 1, 1], abs=EXACT)


def test_engine_is_cached_by_geometry(analytic_scene):
    from needlesim.core.needle.engine import get_engine

    a = get_engine(analytic_scene, backend="exact", needle_diameter_mm=3.26)
    b = get_engine(analytic_scene.with_landmarks({"x": [0, 0, 0]}), backend="exact", needle_diameter_mm=3.26)
    c = get_engine(analytic_scene.transformed(np.eye(4) + np.diag([0, 0, 0, 0])), backend="exact", needle_diameter_mm=3.0)
    assert a is b and a is not c
    moved = analytic_scene.transformed(np.array([[1, 0, 0, 5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
    assert get_engine(moved, backend="exact", needle_diameter_mm=3.26) is not a  # a cache cannot go stale


def test_engine_with_no_critical_structures(analytic_scene):
    scene = Scene(tuple(s for s in analytic_scene if not s.critical), landmarks=analytic_scene.landmarks)
    for backend in BACKENDS:
        e = Engine(scene, backend=backend, needle_diameter_mm=3.26).evaluate(Trajectory("left-psis", 0, 0, 60))
        assert e.contacts == ()


def shell_bone(outer_lo, outer_hi, cortex_mm):
    """A cortical shell: the outer box outward and the inner box inward, one closed mesh;
    returns the mesh and the indices of its inner (endosteal) faces."""
    from tests.conftest import box

    outer = box(outer_lo, outer_hi)
    inner = box(np.array(outer_lo) + cortex_mm, np.array(outer_hi) - cortex_mm)
    inner.invert()
    mesh = trimesh.util.concatenate([outer, inner])
    return mesh, np.arange(len(outer.faces), len(mesh.faces))


@pytest.mark.parametrize("backend", BACKENDS)
def test_shell_bone_cavity_is_marrow(backend):
    from needlesim.core.model.scene import Role, Scene, Structure
    from tests.conftest import box

    mesh, inner = shell_bone([-50, 20, -50], [50, 60, 50], 2.0)
    ilium = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, mesh, side="left", marrow_faces=inner,
                                   cortical_thickness_mm=7.0)  # ignored: the shell says where marrow is
    skin = Structure.from_trimesh("skin", Role.SKIN, box([-150, -30, -150], [150, 300, 150]))
    scene = Scene((skin, ilium), landmarks={"left-psis": [0.0, 20.0, 0.0]})
    tol = EXACT if backend == "exact" else 1e-3
    e = ev(scene, "left-psis", 0, 0, 75, backend=backend)
    kinds = [(s.tissue, round(s.start_mm, 4), round(s.end_mm, 4)) for s in e.path]
    assert kinds == [(Tissue.SOFT_TISSUE, 0, 50), (Tissue.CORTEX, 50, 52), (Tissue.MARROW, 52, 75)]
    assert e.breaches == ()  # entering the marrow is not leaving the bone
    assert e.bone_mm == pytest.approx(25, abs=tol)
    deep = ev(scene, "left-psis", 0, 0, 95, backend=backend)
    assert [(s.tissue, round(s.start_mm, 3), round(s.end_mm, 3)) for s in deep.path][2:] == [
        (Tissue.MARROW, 52, 88), (Tissue.CORTEX, 88, 90), (Tissue.SOFT_TISSUE, 90, 95)]
    assert len(deep.breaches) == 1 and deep.breaches[0].depth_mm == pytest.approx(90, abs=tol)
