"""Every rule that can make a verdict ``danger`` or ``caution`` has a test here."""

from __future__ import annotations

import pytest

from needlesim.core.api import check
from needlesim.core.verdict.envelope import Bounds, Envelope, load_envelope
from needlesim.core.errors import TrajectoryError
from needlesim.core.verdict.risk import Rule, Verdict
from needlesim.core.model.trajectory import Trajectory
from tests.conftest import R8G

# An envelope that every trajectory below satisfies, to test the other rules alone.
OPEN = Envelope("open", "no limits", "test", Bounds(), Bounds(), Bounds())


def _thick_bone():
    """One bone from y = 20 to 300 and nothing else: every needle from ``left-psis`` (its
    back, no skin: depth from the entry) ends in bone and never leaves it."""
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    bone = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-300, 20, -300], [300, 300, 300]), side="left")
    return _bones(bone)


def rules(report):
    return {(r.level, r.rule) for r in report.reasons}


def test_safe_when_nothing_applies(analytic_scene):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, 60), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.SAFE and r.reasons == ()


def test_danger_on_contact_with_a_critical_structure(analytic_scene):
    # the root edge is at depth 107.5; the needle's surface reaches it at 107.5 - r
    t = Trajectory((-40, 20, 0), 0, 0, 107.5 - R8G + 0.01, side="left")
    r = check(analytic_scene, t, envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.DANGER
    contact = [x for x in r.reasons if x.rule is Rule.CONTACT]
    assert [x.structure for x in contact] == ["left S2 root"]
    assert contact[0].text == f"touches the left S2 root at {107.5 - R8G:.1f} mm"
    # 0.02 mm shallower it is no contact, but inside the margin: caution
    t2 = Trajectory((-40, 20, 0), 0, 0, 107.5 - R8G - 0.01, side="left")
    r2 = check(analytic_scene, t2, envelope=OPEN, backend="exact")
    assert Rule.CONTACT not in {x.rule for x in r2.reasons}


def test_caution_inside_the_margin(analytic_scene):
    # the needle passes 4 mm from the root's edge: clearance 4 - r = 2.37 mm < 5 mm
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    t = Trajectory((-33.5, 20, 0), 0, 0, 150, side="left")
    # the slab is replaced by a bone past the root, in which the tip (y = 120) ends
    far = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-60, 100, -50], [-10, 290, 50]), side="left")
    no_bone = analytic_scene.with_structures([s for s in analytic_scene if s.name != "left ilium"] + [far])
    r = check(no_bone, t, envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.CAUTION
    assert rules(r) == {(Verdict.CAUTION, Rule.MARGIN)}
    assert r.reasons[0].text == f"{4 - R8G:.1f} mm from the left S2 root (margin 5 mm)"
    # a 2 mm margin makes the same needle safe
    assert check(no_bone, t, envelope=OPEN, backend="exact", margin_mm=2.0).verdict is Verdict.SAFE


def test_danger_when_the_needle_leaves_the_bone(analytic_scene):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, 75), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.DANGER
    assert rules(r) == {(Verdict.DANGER, Rule.BREACH)}
    assert r.reasons[0].text == "leaves the left ilium through its cortex at 70.0 mm into soft tissue"


@pytest.mark.parametrize(("lateral", "inferior", "depth", "rule"), [
    (20.0, 22.5, 55, "lateral angle"),   # too medial for nam2019 (25-35)
    (30.0, 10.0, 55, "inferior angle"),  # not inferior enough (20-25)
    (30.0, 22.5, 65, "depth"),           # deeper than 60 mm
])
def test_caution_outside_each_envelope_rule(lateral, inferior, depth, rule):
    r = check(_thick_bone(), Trajectory("left-psis", lateral, inferior, depth), envelope="nam2019", backend="exact")
    assert r.verdict is Verdict.CAUTION
    assert rules(r) == {(Verdict.CAUTION, Rule.ENVELOPE)}
    assert len(r.reasons) == 1 and r.reasons[0].text.startswith(rule)
    assert not r.inside_envelope


def test_inside_the_default_envelope():
    r = check(_thick_bone(), Trajectory("left-psis", 30, 22.5, 60), backend="exact")
    assert r.inside_envelope and r.verdict is Verdict.SAFE
    assert r.envelope.name == "nam2019"


def test_danger_outranks_caution_and_all_reasons_are_kept(analytic_scene):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, 75), backend="exact")  # breach + outside nam2019
    assert r.verdict is Verdict.DANGER
    assert {x.rule for x in r.reasons} == {Rule.BREACH, Rule.ENVELOPE}
    assert r.reasons[0].level is Verdict.DANGER  # most severe first


def test_report_records_margin_needle_envelope_backend(analytic_scene):
    from needlesim.core.verdict.report import report_to_dict

    r = check(analytic_scene, Trajectory("left-psis", 30, 22.5, 60, needle_diameter_mm=3.0),
              margin_mm=3.0, envelope="kitchel", backend="exact")
    d = report_to_dict(r)
    assert d["margin_mm"] == 3.0 and d["needle"]["diameter_mm"] == 3.0
    assert d["envelope"]["name"] == "kitchel" and d["backend"] == "exact"


@pytest.mark.parametrize("margin", [float("nan"), -1.0, float("inf")])
def test_bad_margin_is_refused(analytic_scene, margin):
    with pytest.raises(TrajectoryError, match="margin"):
        check(analytic_scene, Trajectory("left-psis", 30, 22.5, 60), margin_mm=margin)


def test_alternative_envelopes_load_with_their_citations():
    for name, lateral in [("kitchel", 40), ("hirahara2018", 24), ("dsouza2021", 25)]:
        env = load_envelope(name)
        assert env.citation and env.lateral_deg.contains(lateral)
    assert load_envelope("dsouza2021").inferior_deg.contains(-25)  # 25 deg cephalad


def _bones(*structures, landmarks=None):
    from needlesim.core.model.scene import Scene

    return Scene(tuple(structures), landmarks=landmarks or {"left-psis": [0.0, 20.0, 0.0]})


def test_leaving_through_the_outer_table_is_caution():
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    ilium = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-20, 20, -50], [20, 200, 50]), side="left")
    r = check(_bones(ilium), Trajectory("left-psis", 45, 0, 40), envelope=OPEN, backend="exact")
    b = r.evaluation.breaches[0]
    assert b.through == "outer table" and b.depth_mm == pytest.approx(20 * 2 ** 0.5)
    assert r.verdict is Verdict.CAUTION and rules(r) == {(Verdict.CAUTION, Rule.BREACH)}
    assert r.reasons[0].text == f"leaves the left ilium through its outer table at {20 * 2 ** 0.5:.1f} mm into outside the body"


def test_leaving_into_the_sacrum_is_the_sacroiliac_joint_and_danger():
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    ilium = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-50, 20, -50], [50, 40, 50]), side="left")
    sacrum = Structure.from_trimesh("sacrum", Role.SACRUM, box([-50, 43, -50], [50, 90, 50]))
    r = check(_bones(ilium, sacrum), Trajectory("left-psis", 0, 0, 50), envelope=OPEN, backend="exact")
    b = r.evaluation.breaches[0]
    assert (b.structure, b.through, b.into) == ("left ilium", "sacroiliac joint", "the sacrum")  # across the 3 mm joint
    assert r.verdict is Verdict.DANGER
    assert "through the sacroiliac joint at 20.0 mm" in r.reasons[0].text


def test_leaving_near_the_notch_is_danger():
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    ilium = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-20, 20, -50], [20, 200, 50]), side="left")
    lm = {"left-psis": [0.0, 20.0, 0.0], "left-sciatic-notch-top": [-25.0, 42.0, 0.0]}
    r = check(_bones(ilium, landmarks=lm), Trajectory("left-psis", 45, 0, 40), envelope=OPEN, backend="exact")
    assert r.evaluation.breaches[0].through == "greater sciatic notch"
    assert r.verdict is Verdict.DANGER


def test_leaving_through_the_inner_table_is_danger():
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    ilium = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-20, 20, -50], [20, 200, 50]), side="left")
    r = check(_bones(ilium), Trajectory("left-psis", -45, 0, 40), envelope=OPEN, backend="exact")
    assert r.evaluation.breaches[0].through == "inner table"
    assert r.verdict is Verdict.DANGER


# -- the tip short of the bone (issue 10, item 3) -------------------------------------------
# In the analytic scene the skin is at y = -30 and the slab's back at y = 20: straight ahead
# from left-psis the needle is in soft tissue for 50 mm, in bone from 50 to 70 mm.

@pytest.mark.parametrize("depth", [0.0, 30.0, 49.9])
def test_caution_when_the_tip_is_short_of_the_bone(analytic_scene, depth):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, depth), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.CAUTION
    assert rules(r) == {(Verdict.CAUTION, Rule.NO_BONE)}
    assert r.reasons[0].text == ("the tip is in soft tissue: the needle has not reached bone "
                                 f"(the bone is {50 - depth:.1f} mm beyond the tip, at 50.0 mm)")
    assert r.reasons[0].depth_mm == pytest.approx(50.0)


@pytest.mark.parametrize("depth", [50.0, 50.5, 69.9])
def test_a_tip_on_or_in_the_bone_has_reached_it(analytic_scene, depth):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, depth), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.SAFE and r.reasons == ()


def test_caution_when_no_bone_is_on_the_line(analytic_scene):
    skin = analytic_scene.with_structures([s for s in analytic_scene if s.name == "skin"])
    r = check(skin, Trajectory("left-psis", 30, 22.5, 60), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.CAUTION and rules(r) == {(Verdict.CAUTION, Rule.NO_BONE)}
    assert r.reasons[0].text == ("the tip is in soft tissue: the needle has not reached bone "
                                 "(no bone within 150 mm along its line)")
    assert r.reasons[0].depth_mm is None


def test_a_tip_through_the_bone_and_out_is_a_breach_not_short_of_bone(analytic_scene):
    r = check(analytic_scene, Trajectory("left-psis", 0, 0, 80), envelope=OPEN, backend="exact")
    assert rules(r) == {(Verdict.DANGER, Rule.BREACH)}  # out at 70 mm; the tip at 80 is in soft tissue


def test_the_no_bone_reason_is_in_the_report_text_and_json(analytic_scene):
    from needlesim.core.verdict.report import format_report, report_to_dict

    r = check(analytic_scene, Trajectory("left-psis", 0, 0, 40), envelope=OPEN, backend="exact")
    text = format_report(r)
    assert "verdict: CAUTION\n  - the tip is in soft tissue: the needle has not reached bone" in text
    assert "(beyond the tip: the tip is 10.0 mm short of the bone)" in text
    d = report_to_dict(r)
    assert d["verdict"] == "caution" and d["reaches_bone"] is False
    assert [x["rule"] for x in d["reasons"]] == ["no_bone"]
    assert report_to_dict(check(analytic_scene, Trajectory("left-psis", 0, 0, 60), envelope=OPEN,
                                backend="exact"))["reaches_bone"] is True


def test_the_builtin_scene_flags_the_issue_example_and_not_the_envelope_centre():
    from needlesim.core.io.builtin import load_builtin_scene

    scene = load_builtin_scene()
    r = check(scene, Trajectory((-45.0, -120.0, 60.0), 30, 22.5, 60, side="left"))
    assert r.verdict is Verdict.CAUTION and Rule.NO_BONE in {x.rule for x in r.reasons}
    assert r.evaluation.soft_tissue_mm is None
    r = check(scene, Trajectory("left-entry", 30, 22.5, 60))
    assert Rule.NO_BONE not in {x.rule for x in r.reasons}


# -- sides -----------------------------------------------------------------------------

@pytest.mark.parametrize(("entry", "side"), [("left-psis", "right"), ("right-psis", "left"), ("Left-PSIS", "right")])
def test_a_side_that_contradicts_the_landmark_is_refused(entry, side):
    with pytest.raises(TrajectoryError, match=f"side '{side}' contradicts entry '{entry}'"):
        Trajectory(entry, 30, 22.5, 60, side=side)
    assert Trajectory(entry, 30, 22.5, 60).side.value != side  # without the side, the name decides


def _two_bones(name: str, side: str):
    from needlesim.core.model.scene import Role, Structure
    from tests.conftest import box

    near = Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-100, 20, -100], [100, 40, 100]), side="left")
    far = Structure.from_trimesh(name, Role.SACRUM if side == "midline" else Role.CORTICAL_BONE,
                                 box([-100, 44, -100], [100, 90, 100]), side=side)
    return _bones(near, far)


def test_danger_when_the_needle_enters_a_bone_of_the_other_side():
    scene = _two_bones("right ilium", "right")
    r = check(scene, Trajectory("left-psis", 0, 0, 60), envelope=OPEN, backend="exact")
    assert r.verdict is Verdict.DANGER
    side = [x for x in r.reasons if x.rule is Rule.OTHER_SIDE]
    assert [(x.level, x.structure, x.depth_mm) for x in side] == [(Verdict.DANGER, "right ilium", pytest.approx(24.0))]
    assert side[0].text == ("enters the right ilium at 24.0 mm, a bone of the other side from this left entry: "
                            "the needle crosses the midline, or the side is wrong")
    # the tip short of it (or the same bone on the entry's side, or a midline bone): no such reason
    assert Rule.OTHER_SIDE not in {x.rule for x in check(scene, Trajectory("left-psis", 0, 0, 24.0), envelope=OPEN,
                                                           backend="exact").reasons}
    for name, s in (("left sacrum-like", "left"), ("sacrum", "midline")):
        r2 = check(_two_bones(name, s), Trajectory("left-psis", 0, 0, 60), envelope=OPEN, backend="exact")
        assert Rule.OTHER_SIDE not in {x.rule for x in r2.reasons}


def test_a_coordinate_entry_on_the_wrong_side_is_flagged_on_the_builtin_scene():
    from needlesim.core.io.builtin import load_builtin_scene

    scene = load_builtin_scene()
    right = tuple(float(x) for x in scene.landmarks["right-entry"])
    r = check(scene, Trajectory(right, 30, 22.5, 60, side="left"))
    assert r.verdict is Verdict.DANGER
    assert [x.structure for x in r.reasons if x.rule is Rule.OTHER_SIDE][:1] == ["right ilium"]
    assert Rule.OTHER_SIDE not in {x.rule for x in check(scene, Trajectory(right, 30, 22.5, 60, side="right")).reasons}


# -- the README's check examples run as written, and reach bone -----------------------------

def _readme_checks() -> list[list[str]]:
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text().replace("\\\n", " ")
    return [shlex.split(m)[1:] for m in re.findall(r"^\$ (needlesim check .*)$", text, re.M)]


def test_the_readme_check_examples_reach_bone(capsys):
    import json

    from needlesim.cli import main

    made = []  # folders an earlier README command writes (needlesim anatomy ... -o person7)
    examples = [a for a in _readme_checks() if "--scene" not in a or a[a.index("--scene") + 1] in made]
    assert any(a[1].startswith("--entry=") for a in examples), "README: a coordinate entry example that runs"
    for argv in examples:
        assert main([*(x for x in argv if x != "--json"), "--json"]) == 0, argv
        d = json.loads(capsys.readouterr().out)
        assert d["reaches_bone"], (argv, d["reasons"])
        assert all(r["rule"] != "no_bone" for r in d["reasons"]), argv


def test_the_cli_refuses_a_contradicting_side_in_one_line(capsys):
    from needlesim.cli import main

    assert main(["check", "--entry", "left-psis", "--side", "right", "--lateral", "30", "--inferior", "22.5",
                 "--depth", "60"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "side 'right' contradicts entry 'left-psis'" in err[0]
