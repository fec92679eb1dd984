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
    t = Trajectory((-33.5, 20, 0), 0, 0, 150, side="left")
    no_bone = analytic_scene.with_structures([s for s in analytic_scene if s.name != "left ilium"])
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
def test_caution_outside_each_envelope_rule(analytic_scene, lateral, inferior, depth, rule):
    no_bone = analytic_scene.with_structures([s for s in analytic_scene if s.name == "skin"])
    r = check(no_bone, Trajectory("left-psis", lateral, inferior, depth), envelope="nam2019", backend="exact")
    assert r.verdict is Verdict.CAUTION
    assert rules(r) == {(Verdict.CAUTION, Rule.ENVELOPE)}
    assert len(r.reasons) == 1 and r.reasons[0].text.startswith(rule)
    assert not r.inside_envelope


def test_inside_the_default_envelope(analytic_scene):
    no_bone = analytic_scene.with_structures([s for s in analytic_scene if s.name == "skin"])
    r = check(no_bone, Trajectory("left-psis", 30, 22.5, 60), backend="exact")
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
