"""Comparison texts for pairs whose differences are known."""

from __future__ import annotations

from needlesim.core.api import check
from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching import load_scenario, run_scenario
from needlesim.teaching.compare import AimDifference, compare


def test_the_envelope_centre_against_the_nam_aim(builtin_scene):
    safe = run_scenario(load_scenario("envelope-centre-left"), scene=builtin_scene)
    nam = run_scenario(load_scenario("nam2019-left-s2"), scene=builtin_scene)
    c = compare(safe, nam)
    # 30 -> -46 lateral, 22.5 -> 18 inferior, 60 -> 80 mm, same entry (left-entry)
    assert c.difference == AimDifference(-76.0, -4.5, 20.0, 0.0, True)
    s2a = safe.evaluation.contact("left S2 root").clearance_mm
    s2b = nam.evaluation.contact("left S2 root").contact_depth_mm
    assert round(s2a, 1) == 30.0 and round(s2b, 1) == 78.2  # docs/case-reports.md
    assert c.structure == "left S2 root"
    assert c.text == ("76 deg more medial, 4.5 deg more cephalad and 20 mm deeper: "
                      "touches the left S2 root at 78.2 mm instead of 30.0 mm clearance")
    assert c.details[0] == "verdict: safe -> danger"
    assert any("only the second leaves the left ilium through the sacroiliac joint at 53.9 mm" in d for d in c.details)


def test_the_other_way_round_says_what_the_safe_aim_avoids(builtin_scene):
    safe = run_scenario(load_scenario("envelope-centre-left"), scene=builtin_scene)
    nam = run_scenario(load_scenario("nam2019-left-s2"), scene=builtin_scene)
    c = compare(nam, safe)
    assert c.text == ("76 deg more lateral, 4.5 deg more inferior and 20 mm shallower: "
                      "clears the left S2 root by 30.0 mm instead of touching it at 78.2 mm")


def test_only_depth_differs(builtin_scene):
    a = check(builtin_scene, Trajectory("left-entry", 30, 22.5, 50))
    b = check(builtin_scene, Trajectory("left-entry", 30, 22.5, 60))
    c = compare(a, b)
    worst = min(b.evaluation.contacts, key=lambda x: x.clearance_mm)
    assert c.text == (f"10 mm deeper: passes {worst.clearance_mm:.1f} mm from the {worst.structure} instead of "
                      f"{a.evaluation.contact(worst.structure).clearance_mm:.1f} mm")
    assert compare(a, a).difference.words() == "the same aim"


def test_a_different_entry_is_said(builtin_scene):
    a = check(builtin_scene, Trajectory("left-entry", 30, 22.5, 60))
    b = check(builtin_scene, Trajectory("left-psis", 30, 22.5, 60))
    c = compare(a, b)
    import numpy as np

    gap = np.linalg.norm(builtin_scene.landmark("left-psis") - builtin_scene.landmark("left-entry"))
    assert not c.difference.same_entry and c.difference.words() == f"entering {round(gap, 1):g} mm away, the same aim"
