"""The simulated radiograph against analytic phantoms: a slab, a cylinder, a shell bone and
a needle of known thickness give known path lengths and intensities."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from needlesim.core.geometry.raycast import Backend
from needlesim.core.model.scene import Role, Scene, Structure
from needlesim.teaching import fluoro as F
from needlesim.teaching.fluoro import MU_PER_MM, CArm, Material
from tests.conftest import box

MU_S, MU_C, MU_M, MU_X = (MU_PER_MM[m] for m in (Material.SOFT_TISSUE, Material.CORTEX, Material.MARROW,
                                                  Material.METAL))
PARALLEL = dict(source_iso_mm=None, detector_mm=300.0, pixels=64, isocentre=(0.0, 0.0, 0.0))


def slab(thickness=20.0, cortex=1.5):
    return Structure.from_trimesh("slab", Role.CORTICAL_BONE, box([-100, -thickness / 2, -100],
                                                                  [100, thickness / 2, 100]),
                                  cortical_thickness_mm=cortex)


def cylinder(radius=50.0):
    m = trimesh.creation.cylinder(radius=radius, height=400, sections=256)
    return Structure.from_trimesh("skin", Role.SKIN, m)


def shell(outer=30.0, inner=20.0):
    o = box([-80, -outer / 2, -80], [80, outer / 2, 80])
    i = box([-70, -inner / 2, -70], [70, inner / 2, 70])
    i.invert()
    m = trimesh.util.concatenate([o, i])
    return Structure("ilium", Role.CORTICAL_BONE, m.vertices, m.faces, marrow_faces=np.arange(12, 24))


def pixel_x(carm: CArm) -> np.ndarray:
    n = carm.pixels
    return (np.arange(n) + 0.5) / n * carm.detector_mm - carm.detector_mm / 2


@pytest.mark.parametrize("method,backend", [(F.Method.PROJECTION, Backend.EMBREE), (F.Method.CAST, Backend.EMBREE),
                                            (F.Method.CAST, Backend.EXACT)])
def test_a_slab_in_parallel_rays(method, backend):
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((slab(),)), carm, backend=backend, method=method)
    x = pixel_x(carm)
    inside = np.abs(x) < 95
    rows, cols = np.ix_(inside, inside)
    assert img.lengths[Material.CORTEX][rows, cols] == pytest.approx(3.0, abs=1e-6)
    assert img.lengths[Material.MARROW][rows, cols] == pytest.approx(17.0, abs=1e-6)
    expected = np.exp(-(MU_C * 3.0 + MU_M * 17.0))
    assert F.transmission(img)[rows, cols] == pytest.approx(expected, rel=1e-9)
    outside = np.abs(x) > 105
    assert np.all(F.transmission(img)[np.ix_(outside, outside)] == 1.0)


@pytest.mark.parametrize("method", list(F.Method))
def test_a_slab_in_a_cone_beam_is_thicker_off_axis(method):
    carm = CArm(source_iso_mm=600.0, source_detector_mm=1000.0, detector_mm=300.0, pixels=64,
                isocentre=(0.0, 0.0, 0.0))
    img = F.bone_image(Scene((slab(),)), carm, method=method)
    cos = np.abs(img.directions @ carm.beam).reshape(64, 64)
    x = pixel_x(carm) * 0.6  # at the isocentre, magnification 1000/600
    inside = np.ix_(np.abs(x) < 90, np.abs(x) < 90)
    p = img.line_integral()
    assert p[inside] == pytest.approx(((MU_C * 3.0 + MU_M * 17.0) / cos)[inside], rel=1e-9)


def test_a_soft_tissue_cylinder_gives_its_chords():
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((cylinder(50.0),)), carm)
    x = pixel_x(carm)
    chord = 2 * np.sqrt(np.maximum(50.0**2 - x**2, 0.0))
    middle = img.lengths[Material.SOFT_TISSUE][32]  # a row through the middle of the cylinder
    keep = np.abs(x) < 45  # away from the rim, where the 256-gon and the circle part
    assert middle[keep] == pytest.approx(chord[keep], abs=0.02)
    assert F.transmission(img)[32][keep] == pytest.approx(np.exp(-MU_S * chord[keep]), rel=1e-3)


def test_soft_tissue_excludes_the_bone_inside_it():
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((cylinder(50.0), slab(20.0))), carm)
    x = pixel_x(carm)
    c = np.abs(x) < 40
    chord = 2 * np.sqrt(50.0**2 - x[c] ** 2)
    assert img.lengths[Material.SOFT_TISSUE][32][c] == pytest.approx(chord - 20.0, abs=0.02)


def test_a_shell_bone_has_cortex_between_its_surfaces_and_marrow_inside():
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((shell(30.0, 20.0),)), carm)
    x = pixel_x(carm)
    inner = np.ix_(np.abs(x) < 65, np.abs(x) < 65)
    assert img.lengths[Material.CORTEX][inner] == pytest.approx(10.0, abs=1e-6)
    assert img.lengths[Material.MARROW][inner] == pytest.approx(20.0, abs=1e-6)
    rim = np.ix_(np.abs(x) < 65, (np.abs(x) > 72) & (np.abs(x) < 78))
    assert img.lengths[Material.CORTEX][rim] == pytest.approx(30.0, abs=1e-6)
    assert img.filled_pixels == 0


def test_the_needle_is_metal_with_its_chord_and_needs_no_recast(monkeypatch):
    carm = CArm(**PARALLEL)
    scene = Scene((slab(),))
    img = F.bone_image(scene, carm)
    assert F.bone_image(scene, carm) is img  # cached on geometry and C-arm
    recast = lambda *a, **k: (_ for _ in ()).throw(AssertionError("recast"))  # noqa: E731
    monkeypatch.setattr(F, "grid_crossings", recast)
    for soup in F._SOUPS.values():
        monkeypatch.setattr(soup.caster, "all_hits", recast)
    r = 1.63
    x = pixel_x(carm)
    row = 30
    z = -x[row] + 0.9  # image rows run from +z down; the axis passes 0.9 mm above this row's rays
    start, end = np.array([-50.0, -40.0, z]), np.array([50.0, -40.0, z])  # along x, across the beam
    metal = F.needle_path_mm(img, start, end, r)
    delta = 0.9
    cols = np.abs(x) < 45
    assert metal[row][cols] == pytest.approx(2 * np.sqrt(r * r - delta * delta), abs=1e-9)
    assert np.all(metal[:, np.abs(x) > 55] == 0)
    base = img.line_integral()
    with_needle = img.line_integral(metal)
    assert with_needle[row][cols] - base[row][cols] == pytest.approx(MU_X * metal[row][cols])
    shown = F.radiograph(img, needle=(start, end, r))
    assert shown.shape == (64, 64) and shown[row][cols].mean() >= F.radiograph(img)[row][cols].mean()


def test_standard_views_and_a_free_c_arm():
    assert set(F.VIEWS) == {"AP", "inlet", "outlet", "oblique", "lateral"}
    assert F.VIEWS["AP"].beam == pytest.approx([0, -1, 0])
    assert F.VIEWS["lateral"].beam == pytest.approx([-1, 0, 0])
    assert F.VIEWS["inlet"].beam[2] < 0 < F.VIEWS["outlet"].beam[2]
    u, v = F.VIEWS["AP"].axes()
    assert u == pytest.approx([1, 0, 0]) and v == pytest.approx([0, 0, 1])  # left on the left, head up
    free = CArm(orbit_deg=12.0, tilt_deg=-7.0)
    assert np.linalg.norm(free.beam) == pytest.approx(1.0)
    for bad in (dict(tilt_deg=80.0), dict(pixels=4), dict(orbit_deg=float("nan")), dict(source_iso_mm=2000.0)):
        with pytest.raises(ValueError):
            CArm(**bad)


def test_projection_puts_a_point_on_its_pixel():
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((slab(),)), carm)
    col, row = img.project(np.array([[0.0, 0.0, 0.0]]))[0]
    assert (col, row) == pytest.approx((31.5, 31.5))
    cone = CArm(source_iso_mm=600.0, detector_mm=300.0, pixels=64, isocentre=(0.0, 0.0, 0.0))
    img2 = F.bone_image(Scene((slab(),)), cone)
    k = 10 * 64 + 50
    point = img2.origins[k] + 700.0 * img2.directions[k]
    assert img2.project(point[None])[0] == pytest.approx((50, 10), abs=1e-6)


def spherical_shell(outer=60.0, inner=45.0, subdivisions=5):
    """A shell bone of two concentric icospheres: the endosteal one turned inside out."""
    o = trimesh.creation.icosphere(subdivisions=subdivisions, radius=outer)
    i = trimesh.creation.icosphere(subdivisions=subdivisions, radius=inner)
    i.invert()
    m = trimesh.util.concatenate([o, i])
    return Structure("ilium", Role.CORTICAL_BONE, m.vertices, m.faces,
                     marrow_faces=np.arange(len(o.faces), len(m.faces)))


def _chord(radius, d2):
    return 2 * np.sqrt(np.maximum(radius * radius - d2, 0.0))


def test_nested_shells_give_cortex_and_marrow_chords_up_to_the_grazing_rays():
    # polyhedra between their inscribed spheres and the spheres through their vertices:
    # marrow between the two chords of the inner one, cortex between the outer's less the inner's
    outer, inner = 60.0, 45.0
    carm = CArm(**PARALLEL)
    img = F.bone_image(Scene((spherical_shell(outer, inner),)), carm)
    x = pixel_x(carm)
    xx, zz = np.meshgrid(x, -x)
    d2 = xx * xx + zz * zz
    unit = trimesh.creation.icosphere(subdivisions=5)
    ratio = float(np.min(np.abs(np.einsum("ij,ij->i", unit.face_normals, unit.triangles[:, 0]))))
    assert 0.999 < ratio < 1.0
    rin = lambda r: r * ratio  # noqa: E731  the nearest face plane (the inscribed sphere)
    marrow, cortex = img.lengths[Material.MARROW], img.lengths[Material.CORTEX]
    assert np.all(marrow >= _chord(rin(inner), d2) - 1e-9) and np.all(marrow <= _chord(inner, d2) + 1e-9)
    lo = _chord(rin(outer), d2) - _chord(inner, d2)
    hi = _chord(outer, d2) - _chord(rin(inner), d2)
    assert np.all(cortex >= lo - 1e-9) and np.all(cortex <= hi + 1e-9)
    grazing = (d2 > rin(inner) ** 2) & (d2 < outer ** 2)  # past the marrow: all cortex
    assert grazing.sum() > 100 and np.all(marrow[grazing] <= _chord(inner, d2[grazing]) + 1e-9)
    assert img.filled_pixels == 0


def test_the_projection_agrees_with_the_cast_on_a_cone_beam():
    carm = CArm(orbit_deg=20.0, tilt_deg=-15.0, source_iso_mm=600.0, detector_mm=300.0, pixels=32,
                isocentre=(5.0, -3.0, 2.0))
    scene = Scene((cylinder(80.0), spherical_shell(50.0, 38.0, 3), slab(12.0)))
    a = F.bone_image(scene, carm, method=F.Method.PROJECTION)
    b = F.bone_image(scene, carm, method=F.Method.CAST, backend=Backend.EXACT)
    for m in (Material.SOFT_TISSUE, Material.CORTEX, Material.MARROW):
        assert a.lengths[m] == pytest.approx(b.lengths[m], abs=1e-6)
    assert a.lengths[Material.CORTEX].max() > 10


def test_a_mesh_around_the_source_falls_back_to_the_cast():
    carm = CArm(source_iso_mm=100.0, source_detector_mm=1000.0, detector_mm=300.0, pixels=32,
                isocentre=(0.0, 0.0, 0.0))  # the source at y = +100, inside the skin cylinder
    scene = Scene((cylinder(150.0), slab()))
    a = F.bone_image(scene, carm, method=F.Method.PROJECTION)
    b = F.bone_image(scene, carm, method=F.Method.CAST)
    assert a is not b
    for m in a.lengths:
        assert a.lengths[m] == pytest.approx(b.lengths[m], abs=1e-6)
    assert a.lengths[Material.CORTEX].max() > 2.9
