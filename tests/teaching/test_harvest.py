"""A whole harvest on an analytic phantom: two sites, six passes pivoting at the skin, the
total marrow and the worst clearance known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.core.errors import TrajectoryError
from needlesim.core.model.scene import Role, Scene, Side, Structure
from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching.harvest import HarvestPlan, Pass, Site, check_plan, site_from_aim
from tests.conftest import box, root_prism

R8G = 3.26 / 2
DEPTH = 64.0
LEFT = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]
RIGHT = [(5.0, 5.0), (15.0, -10.0), (20.0, 20.0)]


@pytest.fixture(scope="module")
def phantom() -> Scene:
    """Skin from y = -30; two iliac slabs y 20-40 (2 mm cortex: marrow 22-38) either side of
    the midline; a root (r 2.5) along z at x = -50, y = 60."""
    s = [Structure.from_trimesh("skin", Role.SKIN, box([-150, -30, -150], [150, 300, 150])),
         Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-100, 20, -100], [-5, 40, 100]),
                                side="left", cortical_thickness_mm=2.0),
         Structure.from_trimesh("right ilium", Role.CORTICAL_BONE, box([5, 20, -100], [100, 40, 100]),
                                side="right", cortical_thickness_mm=2.0),
         Structure.from_trimesh("left S2 root", Role.NERVE_ROOT, root_prism((-50, 60), 2.5), side="left")]
    return Scene(tuple(s), landmarks={"left-psis": [-50, 20, 0], "right-psis": [50, 20, 0]}, name="slabs")


def plan() -> HarvestPlan:
    return HarvestPlan((Site((-50.0, -30.0, 0.0), Side.LEFT, tuple(Pass(a, b, DEPTH) for a, b in LEFT), "left"),
                        Site((50.0, -30.0, 0.0), Side.RIGHT, tuple(Pass(a, b, DEPTH) for a, b in RIGHT), "right")))


def marrow(lat: float, inf: float) -> float:
    """Marrow along a pass from y = -30: the marrow starts at y = 22 and the tip is at
    y = -30 + DEPTH d_y (inside the marrow for these aims)."""
    dy = math.sqrt(1 - math.sin(math.radians(lat)) ** 2 - math.sin(math.radians(inf)) ** 2)
    return DEPTH - 52.0 / dy


def test_two_sites_six_passes_give_the_analytic_marrow(phantom):
    res = check_plan(phantom, plan())
    assert len(res.passes) == 6
    expected = [marrow(a, b) for a, b in LEFT + RIGHT]
    np.testing.assert_allclose([p.marrow_mm for p in res.passes], expected, atol=1e-6)
    assert res.total_marrow_mm == pytest.approx(sum(expected), abs=1e-5)
    for p in res.passes:  # every pass pivots at its site's puncture
        site = plan().sites[p.site]
        np.testing.assert_allclose(p.score.report.evaluation.skin_puncture, site.puncture, atol=1e-6)
        assert not p.score.report.evaluation.breaches
    # the straight left pass ends at y = 34, 23.5 mm short of the root's vertex at y = 57.5
    assert res.worst_clearance_mm == pytest.approx(57.5 - 34.0 - R8G, abs=1e-6)
    assert res.worst_structure == "left S2 root" and (res.passes[0].clearance_mm == res.worst_clearance_mm)
    assert res.score == pytest.approx(np.mean([p.score.total for p in res.passes]))
    assert "6 passes" in res.words() and f"{sum(expected):.1f} mm of marrow" in res.words()


def test_a_plan_round_trips_and_refuses_bad_sites(phantom):
    assert HarvestPlan.from_dict(plan().to_dict()) == plan()
    off = HarvestPlan((Site((-50.0, -60.0, 0.0), Side.LEFT, (Pass(0.0, 0.0, 80.0),)),))  # 30 mm outside the skin
    with pytest.raises(TrajectoryError, match="not on the skin"):
        check_plan(phantom, off)
    with pytest.raises(TrajectoryError, match="at least one pass"):
        HarvestPlan((Site((-50.0, -30.0, 0.0), Side.LEFT, ()),))
    with pytest.raises(TrajectoryError, match="not a harvest plan"):
        HarvestPlan.from_dict({"sites": [{"puncture": [1, 2], "side": "up", "passes": []}]})


def test_a_site_from_an_aim_sits_on_its_puncture(phantom):
    site = site_from_aim(phantom, Trajectory("left-psis", 0.0, 0.0, 60.0), [Pass(0.0, 0.0, 60.0)])
    np.testing.assert_allclose(site.puncture, (-50.0, -30.0, 0.0), atol=1e-6)


def test_a_pass_is_edited_or_removed_pass_by_pass(phantom):
    p = plan()
    edited = p.with_pass(1, 2, Pass(10.0, -5.0, 58.0))  # the right site's third pass redirected
    assert edited.sites[0] == p.sites[0] and edited.sites[1].passes[:2] == p.sites[1].passes[:2]
    assert edited.sites[1].passes[2] == Pass(10.0, -5.0, 58.0) and p.sites[1].passes[2] == Pass(20.0, 20.0, DEPTH)
    res = check_plan(phantom, edited)
    dy = math.sqrt(1 - math.sin(math.radians(10.0)) ** 2 - math.sin(math.radians(5.0)) ** 2)
    assert res.passes[5].marrow_mm == pytest.approx(58.0 - 52.0 / dy, abs=1e-6)  # the new pass, from the same puncture
    np.testing.assert_allclose(res.passes[5].score.report.evaluation.skin_puncture, p.sites[1].puncture, atol=1e-6)
    fewer = p.without_pass(0, 1)
    assert [len(s.passes) for s in fewer.sites] == [2, 3] and fewer.sites[0].passes == (p.sites[0].passes[0], p.sites[0].passes[2])
    assert check_plan(phantom, fewer).total_marrow_mm == pytest.approx(
        sum(marrow(a, b) for a, b in [LEFT[0], LEFT[2], *RIGHT]), abs=1e-5)
    one_site = fewer.without_pass(0, 0).without_pass(0, 0)  # a site without passes goes
    assert [s.name for s in one_site.sites] == ["right"]
    last = HarvestPlan((p.sites[0].__class__(p.sites[0].puncture, Side.LEFT, (Pass(0.0, 0.0, DEPTH),), "left"),))
    assert last.without_pass(0, 0) is None  # nothing left to plan
    with pytest.raises(TrajectoryError, match="lateral"):
        p.with_pass(0, 0, Pass(120.0, 0.0, DEPTH))  # out of range, with the reason
    with pytest.raises(TrajectoryError, match="site 3 has no pass 1"):
        p.with_pass(2, 0, Pass(0.0, 0.0, DEPTH))
    with pytest.raises(TrajectoryError, match="site 1 has no pass 4"):
        p.without_pass(0, 3)
