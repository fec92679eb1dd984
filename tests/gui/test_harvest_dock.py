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
