"""The case reports replayed on the built-in scene (docs/case-reports.md shows the figures)."""

from __future__ import annotations

import pytest

from needlesim.analysis import shallowest_contact
from needlesim.core.api import check
from needlesim.core.io.builtin import load_builtin_scene
from needlesim.core.model.results import Tissue
from needlesim.core.verdict.risk import Rule, Verdict
from needlesim.core.model.trajectory import Trajectory


@pytest.fixture(scope="module")
def scene():
    return load_builtin_scene()


@pytest.mark.parametrize("entry", ["left-entry", "right-entry", "left-psis", "right-psis"])
def test_the_envelope_centre_stays_in_bone_and_clear(scene, entry):
    r = check(scene, Trajectory(entry, 30.0, 22.5, 60.0))
    ev = r.evaluation
    assert r.verdict is Verdict.SAFE, [x.text for x in r.reasons]
    assert ev.breaches == ()
    assert 25 <= ev.soft_tissue_mm <= 45  # the skin over the PSIS of this body: 33-36 mm
    marrow = sum(s.length_mm for s in ev.path if s.tissue is Tissue.MARROW)
    assert marrow > 15  # the needle spends most of its bone length in marrow
    assert min(c.clearance_mm for c in ev.contacts) > 20


def test_nam_2019_too_medial_and_too_deep_reaches_the_left_s2_root(scene):
    aim = shallowest_contact(scene, "left-entry", "left S2 root", lateral=(-70, 10), inferior=(-20, 60), step_deg=2.0)
    assert aim.lateral_deg < 0  # medial
    assert aim.contact_depth_mm > 60  # deeper than the envelope allows
    r = check(scene, Trajectory("left-entry", aim.lateral_deg, aim.inferior_deg, aim.contact_depth_mm + 1.0))
    assert r.verdict is Verdict.DANGER
    assert [x.structure for x in r.reasons if x.rule is Rule.CONTACT][0] == "left S2 root"
    # 5 mm shallower the same aim does not touch it
    r2 = check(scene, Trajectory("left-entry", aim.lateral_deg, aim.inferior_deg, aim.contact_depth_mm - 5.0))
    assert "left S2 root" not in {x.structure for x in r2.reasons if x.rule is Rule.CONTACT}


def test_csf_leak_aim_from_the_right_crest_tears_the_right_s1_sleeve(scene):
    aim = shallowest_contact(scene, "right-psis", "right S1 sleeve", lateral=(-70, 10), inferior=(-40, 60), step_deg=2.0)
    r = check(scene, Trajectory("right-psis", aim.lateral_deg, aim.inferior_deg, aim.contact_depth_mm + 1.0))
    assert r.verdict is Verdict.DANGER
    assert "right S1 sleeve" in {x.structure for x in r.reasons if x.rule is Rule.CONTACT}
