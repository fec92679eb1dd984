"""Surfaces of different structures closer than the embree restart step (issue 10, item 1).

Embree gives one nearest hit per cast; the caster relaunches a ray a small step past each
hit. A hit of another structure within that step used to be skipped: at the sacroiliac
joint the ilium exit was lost, parity flipped and a ``danger`` read ``caution``.
"""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.core.api import check
from needlesim.core.batch.sweep import Code, sweep_entry
from needlesim.core.batch.sweep_breach import KINDS
from needlesim.core.needle.breach import BreachKind
from needlesim.core.needle.engine import Engine, get_engine
from needlesim.core.model.scene import Role, Scene, Structure
from needlesim.core.model.trajectory import Trajectory
from needlesim.core.tolerances import TOL
from needlesim.core.verdict.envelope import load_envelope
from tests.conftest import box

BACKENDS = ["embree", "exact"]
#: ilium y 20..40, sacrum from y = 40 + gap: overlapping, touching, and apart by less
#: than the old restart step (1e-5 x the 330 mm scene = 3.3e-3 mm)
GAPS = [-1e-3, 0.0, 1e-3, 2.5e-3]


def two_bones(gap: float) -> Scene:
    s = [
        Structure.from_trimesh("skin", Role.SKIN, box([-150, -30, -150], [150, 300, 150])),
        Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-100, 20, -100], [100, 40, 100]), side="left",
                               cortical_thickness_mm=2.0),
        Structure.from_trimesh("sacrum", Role.SACRUM, box([-100, 40 + gap, -100], [100, 60 + gap, 100]),
                               cortical_thickness_mm=2.0),
    ]
    return Scene(tuple(s), landmarks={"left-psis": [0.0, 20.0, 0.0]}, name=f"two bones {gap}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gap", GAPS)
def test_every_crossing_of_two_close_surfaces_is_listed(gap, backend):
    engine = Engine(two_bones(gap), backend=backend, needle_diameter_mm=3.26)
    if backend == "embree":
        assert abs(gap) < engine.caster.step  # the case the old restart lost
    hits = engine.caster.all_hits(np.array([[0.0, -31.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]), 150.0)
    per_geom = {g: sorted(zip(hits.t[hits.geom == g], hits.entering[hits.geom == g])) for g in range(3)}
    tol = TOL.backend_agreement_hits_mm / 10
    assert [e for _, e in per_geom[1]] == [True, False] and [e for _, e in per_geom[2]] == [True, False]
    np.testing.assert_allclose([t for t, _ in per_geom[0]], [1.0], atol=tol)
    np.testing.assert_allclose([t for t, _ in per_geom[1]], [51.0, 71.0], atol=tol)
    np.testing.assert_allclose([t for t, _ in per_geom[2]], [71.0 + gap, 91.0 + gap], atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gap", GAPS)
def test_touching_and_overlapping_bones_give_one_joint_breach(gap, backend):
    scene = two_bones(gap)
    report = check(scene, Trajectory("left-psis", 0.0, 0.0, 80.0), backend=backend)
    ev = report.evaluation
    assert len(ev.breaches) == 1
    b = ev.breaches[0]
    assert (b.structure, b.through, b.into) == ("left ilium", BreachKind.SACROILIAC_JOINT.value, "the sacrum")
    assert b.depth_mm == pytest.approx(70.0, abs=TOL.backend_agreement_hits_mm)
    assert report.verdict.value == "danger"
    # the sweep classifies the same exit the same way
    r = sweep_entry(get_engine(scene, backend=backend, needle_diameter_mm=3.26), "left-psis", [0.0], [0.0],
                    side="left", depths_mm=np.array([60.0, 80.0]), envelope=load_envelope("nam2019"))
    assert KINDS[r.breach_kind[0]] is BreachKind.SACROILIAC_JOINT
    assert r.breach_mm[0] == pytest.approx(70.0, abs=TOL.backend_agreement_hits_mm)
    assert list(r.verdict[0]) == [Code.CAUTION, Code.DANGER]  # 60 mm: outside the lateral envelope only


@pytest.fixture(scope="module")
def builtin():
    from needlesim.core.io.builtin import load_builtin_scene

    return load_builtin_scene()


def _same_hits(a, b):
    assert [(h.structure, h.entering) for h in a.hits] == [(h.structure, h.entering) for h in b.hits]
    np.testing.assert_allclose([h.depth_mm for h in a.hits], [h.depth_mm for h in b.hits],
                               atol=TOL.backend_agreement_hits_mm)


def test_si_joint_exit_is_not_lost(builtin):
    """Issue 10: ``check --entry left-si-joint-posterior --lateral 18 --inferior 18 --depth 50``
    said CAUTION on embree; the exact backend says DANGER (the left ilium is left through
    the sacroiliac joint at 45.5 mm)."""
    t = Trajectory("left-si-joint-posterior", 18.0, 18.0, 50.0)
    fast, ref = check(builtin, t), check(builtin, t, backend="exact")
    _same_hits(fast.evaluation, ref.evaluation)
    assert fast.verdict.value == ref.verdict.value == "danger"
    (b,) = fast.evaluation.breaches
    assert (b.structure, b.through) == ("left ilium", BreachKind.SACROILIAC_JOINT.value)
    assert b.depth_mm == pytest.approx(45.548, abs=2e-3)


def test_si_joint_path_starts_in_soft_tissue(builtin):
    """Issue 10: at lateral 15.9, inferior 4.8, depth 53.4 the path said "sacrum from the
    skin", soft tissue 0 mm; truly 39.9 mm of soft tissue, then the ilium, then the sacrum."""
    t = Trajectory("left-si-joint-posterior", 15.9, 4.8, 53.4)
    fast, ref = check(builtin, t), check(builtin, t, backend="exact")
    _same_hits(fast.evaluation, ref.evaluation)
    ev = fast.evaluation
    assert ev.soft_tissue_mm == pytest.approx(39.888, abs=2e-3)
    assert ev.path[0].tissue.value == "soft tissue" and ev.path[0].end_mm == pytest.approx(39.888, abs=2e-3)
    names = [s.structure for s in ev.path if s.structure]
    assert names[0] == "left ilium" and names[-1] == "sacrum" and set(names) == {"left ilium", "sacrum"}
    (b,) = ev.breaches
    assert (b.through, b.into) == (BreachKind.SACROILIAC_JOINT.value, "the sacrum")
