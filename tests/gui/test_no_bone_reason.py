"""The risk panel says when the needle has not reached bone (issue 10, item 3)."""

from __future__ import annotations

import os
import re

from needlesim.core.verdict.risk import Rule, Verdict


def test_the_risk_panel_says_the_tip_is_short_of_the_bone(make_window, qtbot):
    w = make_window()
    s = w.session
    # straight ahead from left-psis: soft tissue 0-50 mm, the slab 50-70 mm
    assert s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=30.0)
    assert s.report.verdict is Verdict.CAUTION
    assert Rule.NO_BONE in {r.rule for r in s.report.reasons}
    assert w.risk_panel.banner.text() == "CAUTION"
    text = w.risk_panel.reasons.text()
    assert "the tip is in soft tissue: the needle has not reached bone (the bone is 20.0 mm beyond the tip" in text
    assert re.sub("<[^>]+>", "", w.risk_panel.tip.text()) == "tip in soft tissue"  # shown in bold
    assert text.count("•") == 3  # and the two envelope angles; every line is shown, none clipped
    label = w.risk_panel.reasons
    qtbot.wait(100)  # the layout settles
    assert label.height() >= label.heightForWidth(label.width())
    if os.environ.get("NEEDLESIM_SCREENSHOTS"):
        w.grab().save(os.path.join(os.environ["NEEDLESIM_SCREENSHOTS"], "no_bone.png"))
    assert s.update(depth_mm=60.0)  # in the slab: that reason goes
    assert "has not reached bone" not in w.risk_panel.reasons.text()


def test_a_contradicting_side_is_refused_and_the_state_kept(make_window):
    w = make_window()
    s = w.session
    before = s.trajectory
    assert s.trajectory.entry == "left-psis"
    assert not s.update(side="right")  # the analytic scene's left-psis: a left landmark
    assert s.trajectory == before and "contradicts" in w.errors[-1]
