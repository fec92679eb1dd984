"""Issue 11 item 5: picking the entry. A right-click on the skin sets the puncture and the
bone under it along the current aim (or, where the aim from there meets no bone, the
nearest bone surface point) as the entry, and says which; a right-click on bone sets the
entry there. The mode disarms after a successful pick or Escape, stays armed (and says so)
after a failed one, and a right-click in pick mode never moves the camera."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def _right_drag(widget, start: QPoint, end: QPoint) -> None:
    """Press the right button at ``start``, move to ``end``, release: a real, slightly
    shaky right-click as a hand makes it."""
    def send(kind, pos, button, buttons):
        ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)
        QApplication.processEvents()

    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    send(QMouseEvent.Type.MouseButtonPress, start, right, right)
    for k in range(1, 5):
        send(QMouseEvent.Type.MouseMove, start + (end - start) * (k / 4), none, right)
    send(QMouseEvent.Type.MouseButtonRelease, end, right, none)


def test_a_right_click_in_pick_mode_sets_the_entry_and_never_moves_the_camera(make_window):
    w = make_window()
    w.set_view("posterior")
    w.plotter.render()
    camera = w.view.camera_state()
    w.trajectory_panel.pick.setChecked(True)  # the user arms the mode with the button
    assert w.pick_armed
    widget = w.plotter.interactor
    middle = QPoint(widget.width() // 2 + widget.width() // 10, widget.height() // 2)
    _right_drag(widget, middle, middle + QPoint(0, 12))
    assert w.view.camera_state() == camera  # no zoom, no turn
    entry = w.session.trajectory.entry
    assert isinstance(entry, tuple) and entry[1] == pytest.approx(20.0, abs=1e-6), w.errors
    assert not w.pick_armed and not w.trajectory_panel.pick.isChecked()  # disarmed after success
    # outside pick mode the right button is the camera's again (zoom)
    _right_drag(widget, middle, middle + QPoint(0, 40))
    assert w.view.camera_state() != camera


def test_skin_point_with_bone_along_the_aim(make_window):
    w = make_window()
    s = w.session
    s.update(lateral_deg=0.0, inferior_deg=0.0)
    w._arm_pick(True)
    assert w.handle_pick(np.array([10.0, -30.0, 0.0]), "skin")
    assert s.trajectory.entry == pytest.approx((10.0, 20.0, 0.0))
    assert s.report.evaluation.skin_puncture == pytest.approx((10.0, -30.0, 0.0))  # the picked point
    assert "along the current aim" in w.errors[-1] and "50.0 mm" in w.errors[-1]
    assert not w.pick_armed


def test_skin_point_whose_aim_misses_bone_takes_the_nearest_bone_point(make_window):
    """From (95, -30, 0) the aim (30 deg lateral, 22.5 deg inferior) leaves the slab's
    side (x = 100) before reaching its back: the entry is the nearest bone surface point,
    (95, 20, 0), 50 mm straight ahead, and the message says so."""
    w = make_window()
    s = w.session
    w._arm_pick(True)
    assert w.handle_pick(np.array([95.0, -30.0, 0.0]), "skin")
    assert s.trajectory.entry == pytest.approx((95.0, 20.0, 0.0), abs=1e-6)
    assert s.trajectory.side.value == "right"
    assert (s.trajectory.lateral_deg, s.trajectory.inferior_deg) == (30.0, 22.5)  # the aim is kept
    assert "nearest bone point" in w.errors[-1] and "50.0 mm" in w.errors[-1]
    assert not w.pick_armed


def test_a_failed_pick_stays_armed_and_escape_disarms(make_window, qtbot):
    w = make_window()
    before = w.session.trajectory
    w.trajectory_panel.pick.setChecked(True)
    assert not w.handle_pick(np.array([-40.0, 80.0, 0.0]), "left S2 root")
    assert w.session.trajectory == before
    assert w.pick_armed and w.trajectory_panel.pick.isChecked()
    assert "Esc" in w.errors[-1] and w.boxes == []
    assert not w.handle_pick(None, None)
    assert w.pick_armed and "Esc" in w.errors[-1]
    qtbot.keyClick(w.plotter.interactor, Qt.Key.Key_Escape)
    assert not w.pick_armed and not w.trajectory_panel.pick.isChecked()
    assert w.session.trajectory == before
