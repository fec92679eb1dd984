"""The score: full marks at the envelope's centre, the documented penalty for the Nam aim,
and each part's rule on analytic geometry (a slab and a root of known position)."""

from __future__ import annotations

import pytest

from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching import load_scenario
from needlesim.teaching.score import WEIGHTS, PartName, marrow_before_breach_mm, score_attempt

R8G = 3.26 / 2


@pytest.mark.parametrize("entry", ["left-psis", "right-psis", "left-entry", "right-entry"])
def test_the_envelope_centre_scores_full_marks(builtin_scene, entry):
    s = score_attempt(builtin_scene, Trajectory(entry, 30.0, 22.5, 60.0))
    assert s.total == pytest.approx(100.0), s.text
    assert s.part("yield").measure > WEIGHTS.full_marrow_mm
    assert s.part("clearance").measure > 20.0  # the sacral roots are centimetres away
    assert "inside every rule of the nam2019 envelope" in s.reasons


def test_the_nam_aim_gets_the_documented_penalty_and_the_s2_reason(builtin_scene):
    t = load_scenario("nam2019-left-s2").trajectory
    s = score_attempt(builtin_scene, t, fluoro_shots=3)
    # envelope: lateral -46 is 71 deg below 25 (rule empty), depth 80 is 20 mm over 60
    # (rule empty), inferior 18 is 2 deg below 20 (10 - 2 = 8)
    assert s.part(PartName.ENVELOPE).points == pytest.approx(8.0)
    assert s.part(PartName.CLEARANCE).points == 0.0  # touches S2
    assert s.part(PartName.BREACHES).points == 0.0  # through the SI joint into the sacrum
    # marrow of the left ilium before the joint breach at 53.9 mm: 43.3-48.1 and 48.6-52.2
    m = marrow_before_breach_mm(s.report)
    assert m == pytest.approx(8.4, abs=0.15)
    assert s.part(PartName.YIELD).points == pytest.approx(15 * m / 20)
    assert s.part(PartName.FLUORO).points == 7.0
    assert s.total == pytest.approx(8.0 + 15 * m / 20 + 7.0)
    text = s.text
    assert "the needle is 71 deg more medial than the envelope (lateral angle 25 to 35 deg)" in text
    assert "2 deg more cephalad" in text and "20 mm deeper" in text
    assert "it touches the left S2 root at 78.2 mm" in text
    assert "sacroiliac joint" in text and "3 fluoroscopy shots" in text


def test_envelope_part_loses_a_point_per_degree_and_half_per_mm(analytic_scene):
    s = score_attempt(analytic_scene, Trajectory("left-psis", 20.0, 30.0, 70.0))
    env = s.part("envelope")
    assert env.points == pytest.approx(5.0 + 5.0 + 5.0)  # 5 deg, 5 deg, 10 mm outside
    assert env.measure == pytest.approx(20.0)
    assert "the needle is 5 deg more medial" in env.reasons[0]
    assert "5 deg more inferior" in env.reasons[1] and "10 mm deeper" in env.reasons[2]


def test_clearance_falls_linearly_inside_the_margin(analytic_scene):
    # a needle straight forward at x = -40 + 2.5 + r + 3.1 passes the root's extreme vertex at 3.1 mm
    x = -40 + 2.5 + R8G + 3.1
    s = score_attempt(analytic_scene, Trajectory((x, 20.0, 0.0), 0.0, 0.0, 120.0, side="left"))
    c = s.part("clearance")
    assert c.measure == pytest.approx(3.1, abs=1e-6)
    assert c.points == pytest.approx(30 * 3.1 / 5)
    assert c.reasons == ("it passes 3.1 mm from the left S2 root (margin 5 mm)",)


def test_yield_is_the_marrow_before_the_breach(analytic_scene):
    # skin at y = -30, slab 20-40 with 2 mm cortex: marrow 52-68 mm, inner table left at 70 mm
    s = score_attempt(analytic_scene, Trajectory("left-psis", 0.0, 0.0, 100.0))
    assert s.part("yield").measure == pytest.approx(16.0, abs=1e-6)
    assert s.part("yield").points == pytest.approx(15 * 16 / 20)
    assert s.part("breaches").points == 0.0
    short = score_attempt(analytic_scene, Trajectory("left-psis", 0.0, 0.0, 40.0))
    assert short.part("yield").points == 0.0 and "not reached bone" in short.part("yield").reasons[0]


def test_bad_fluoro_count_is_refused(analytic_scene):
    with pytest.raises(ValueError, match="whole number"):
        score_attempt(analytic_scene, Trajectory("left-psis", 0.0, 0.0, 40.0), fluoro_shots=-1)
