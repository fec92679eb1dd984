"""Issue 11 item 4: a refused value puts every control back to the state shown, and an
error met while dragging is shown in the window (status bar, risk panel), never in a box
that would interrupt the drag."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt


def test_dragging_to_an_angle_with_no_needle_snaps_back_without_a_box(make_window, qtbot):
    w = make_window()
    tp, s = w.trajectory_panel, w.session
    slider = tp.lateral.slider
    slider.setSliderDown(True)  # the user holds the handle
    slider.setValue(-732)       # -73.2 deg with inferior 22.5: no forward component
    assert s.trajectory.lateral_deg == 30.0
    assert tp.lateral.value() == 30.0 and slider.value() == 300  # back to what is shown
    assert s.report.evaluation.trajectory.lateral_deg == 30.0
    assert w.boxes == []  # nothing modal mid-drag
    assert "anterior" in w.statusBar().currentMessage()
    assert "anterior" in w.risk_panel.notice.text() and w.risk_panel.notice.isVisible()
    slider.setValue(320)        # the drag goes on
    slider.setSliderDown(False)
    assert s.trajectory.lateral_deg == pytest.approx(32.0)
    assert tp.lateral.value() == pytest.approx(32.0)
    assert not w.risk_panel.notice.isVisible()  # a good value clears the notice


def test_a_refused_spin_box_value_puts_the_slider_and_spin_box_back(make_window, qtbot):
    w = make_window()
    tp, s = w.trajectory_panel, w.session
    s.update(inferior_deg=50.0)
    assert s.trajectory.inferior_deg == 50.0
    tp.lateral.spin.setValue(45.0)  # 45 and 50 together: no forward component
    assert s.trajectory.lateral_deg == 30.0 and tp.lateral.spin.value() == 30.0
    assert tp.lateral.slider.value() == 300
    assert w.boxes == []
    assert "anterior" in w.statusBar().currentMessage()


def test_an_evaluation_error_restores_the_last_good_trajectory(make_window, monkeypatch):
    """If the engine refuses a trajectory the session accepted, the controls and the
    trajectory go back to the last evaluated one (the one the needle and panel show)."""
    from needlesim import session as session_mod
    from needlesim.core.errors import TrajectoryError

    w = make_window()
    s, tp = w.session, w.trajectory_panel
    real = session_mod.check

    def refuse_medial(scene, t, **kw):
        if t.lateral_deg < 0:
            raise TrajectoryError("no needle there")
        return real(scene, t, **kw)

    monkeypatch.setattr(session_mod, "check", refuse_medial)
    tp.lateral.spin.setValue(-5.0)
    assert s.trajectory.lateral_deg == 30.0 and tp.lateral.value() == 30.0
    assert s.report.evaluation.trajectory == s.trajectory
    assert "no needle there" in w.statusBar().currentMessage() and w.boxes == []
    assert not s.can_undo  # the refused step left no undo entry


def test_file_errors_still_show_a_box(make_window, tmp_path):
    w = make_window()
    assert not w.open_scene(tmp_path / "nope.toml")
    assert w.boxes and "nope.toml" in w.boxes[-1]
