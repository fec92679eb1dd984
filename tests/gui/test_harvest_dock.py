"""The harvest plan dock: planned from the aim, checked, drawn in 3D and on the map, saved
with the session (the analytic scene: skin from y = -30, a left-ilium slab y 20-40)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.gui.map_dock import harvest_passes
from needlesim.teaching.harvest import check_plan


def test_a_harvest_is_planned_checked_drawn_and_saved(make_window, tmp_path):
    w = make_window()
    w.session.update(entry="left-psis", lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    menu = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions()}["Practice"]
    next(a for a in menu.actions() if a.text().startswith("Plan a &harvest")).trigger()
    h = w.teaching.harvest_panel
    plan = w.session.harvest
    assert plan is not None and [len(s.passes) for s in plan.sites] == [3, 3]
    np.testing.assert_allclose(plan.sites[0].puncture, (0.0, -30.0, 0.0), atol=1e-6)  # behind left-psis
    assert h.view.n_passes_drawn == 6 and h.result is not None
    assert h.view.n_stretches_drawn == sum(len([s for s in p.score.report.evaluation.path if s.length_mm > 1e-6])
                                           for p in h.result.passes)  # every tissue stretch of every pass
    # the straight left pass: marrow from y = 22 to its tip at y = 30 (depth 60 from y = -30)
    assert h.result.passes[0].marrow_mm == pytest.approx(8.0, abs=1e-6)
    again = check_plan(w.session.scene, plan)
    assert h.result.total_marrow_mm == pytest.approx(again.total_marrow_mm)
    assert "6 passes" in h.text.toPlainText() and f"{again.total_marrow_mm:.1f} mm of marrow" in h.text.toPlainText()
    assert harvest_passes(plan, "left-psis") == [(0.0, 0.0), (5.0, 3.0), (-5.0, -3.0)]
    w.teaching.show("map")
    assert w.session.harvest is plan
    # saved with the session and drawn again when it is reopened
    assert w.save_session(tmp_path / "s.json")
    w.session.set_harvest(None)
    assert h.view.n_passes_drawn == 0 and "No harvest" in h.text.toPlainText()
    assert w.open_session(tmp_path / "s.json")
    assert w.session.harvest == plan and h.view.n_passes_drawn == 6
    assert math.isfinite(h.result.worst_clearance_mm)


def test_a_pass_is_edited_and_removed_pass_by_pass(make_window):
    """Select a pass in the table: its angles and depth fill the editor; Apply redirects it
    through the same puncture (re-checked: the straight left pass 8 mm deeper has 8 mm more
    marrow, and the table and the 3D view follow); Remove drops it; the last pass gone, no plan."""
    w = make_window()
    w.session.update(entry="left-psis", lateral_deg=0.0, inferior_deg=0.0, depth_mm=60.0)
    h = w.teaching.harvest_panel
    h.plan_from_aim()
    plan = w.session.harvest
    assert h.table.rowCount() == 6 and h.table.item(1, 2).text() == "5.0" and not h.apply_button.isEnabled()
    h.table.selectRow(0)
    assert (h.lateral.value(), h.inferior.value(), h.depth.value()) == (0.0, 0.0, 60.0) and h.apply_button.isEnabled()
    assert w.session.harvest is plan  # selecting edits nothing
    h.depth.setValue(68.0)
    assert w.session.harvest is plan  # nor does typing, until Apply
    h.apply_button.click()
    edited = w.session.harvest
    assert edited.sites[0].passes[0].depth_mm == 68.0 and edited.sites[0].passes[1:] == plan.sites[0].passes[1:]
    assert edited.sites[1] == plan.sites[1] and edited.sites[0].puncture == plan.sites[0].puncture
    assert h.result.passes[0].marrow_mm == pytest.approx(16.0, abs=1e-6)  # y 22 to the tip at y 38
    assert h.table.item(0, 4).text() == "68" and h.table.item(0, 5).text() == "16.0"
    assert h.table.currentRow() == 0 and h.depth.value() == 68.0  # still on the pass just edited
    # a pass out of range is refused with its reason, the plan unchanged
    h.lateral.setMaximum(120.0)
    h.lateral.setValue(100.0)
    h.apply_button.click()
    assert w.session.harvest is edited and any("lateral angle 100 deg is out of range" in m for m in w.errors)
    # remove the right site's second pass: five passes, drawn and listed
    h.table.selectRow(4)
    h.remove_button.click()
    after = w.session.harvest
    assert [len(s.passes) for s in after.sites] == [3, 2] and after.sites[1].passes == (plan.sites[1].passes[0],
                                                                                      plan.sites[1].passes[2])
    assert h.table.rowCount() == 5 and h.view.n_passes_drawn == 5 and "5 passes" in h.text.toPlainText()
    assert h.table.currentRow() == 4  # the next pass, ready to remove in turn
    for _ in range(5):
        h.table.selectRow(0)
        h.remove_button.click()
    assert w.session.harvest is None and h.table.rowCount() == 0 and h.view.n_passes_drawn == 0
    assert not h.remove_button.isEnabled() and "No harvest" in h.text.toPlainText()
