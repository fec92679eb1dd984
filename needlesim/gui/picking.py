"""Pick mode of the 3D view: the *Pick entry* button arms it; a right-click on the skin or
the bone sets the entry (:func:`needlesim.session.entry_from_pick` decides how, and the
status bar says which rule it used). A successful pick or Escape disarms it; a failed pick
leaves it armed and says so. While armed, the right button belongs to picking: the camera
never sees the click (VTK's trackball style would start a zoom on it)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from ..core.errors import NeedlesimError
from ..session import EntryChoice, EntryRule, Session, entry_from_pick

#: Priority of the pick observers: above the interactor style's (0), so that they run
#: first and can stop the event.
OBSERVER_PRIORITY = 10.0
ARMED_HINT = "Right-click on the skin or the bone to set the entry (Esc cancels)"


class EntryPicker(QObject):
    """Owns pick mode for one plotter and one session; reports through ``message``."""

    armedChanged = Signal(bool)

    def __init__(self, plotter, actors: dict[str, object], session: Session, message: Callable[[str], None],
                 window: QWidget) -> None:
        super().__init__(window)
        self.plotter, self.actors, self.session, self.message = plotter, actors, session, message
        self.armed = False
        self._swallow_release = False
        iren = plotter.iren.interactor
        for event, handler in (("RightButtonPressEvent", self._on_press), ("RightButtonReleaseEvent", self._on_release)):
            tag = iren.AddObserver(event, handler, OBSERVER_PRIORITY)
            setattr(self, f"_{event}", iren.GetCommand(tag))
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.activated.connect(self._on_escape)
        self.escape.setEnabled(False)
        plotter.interactor.installEventFilter(self)  # Escape with the focus in the 3D view

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if (self.armed and event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride)
                and event.key() == Qt.Key.Key_Escape):
            if event.type() == QEvent.Type.KeyPress:
                self._on_escape()
            event.accept()
            return True
        return False

    def set_armed(self, armed: bool) -> None:
        armed = bool(armed) and not self.session.locked
        changed = armed != self.armed
        self.armed = armed
        self.escape.setEnabled(armed)
        if armed:
            self.message(ARMED_HINT)
        if changed:
            self.armedChanged.emit(armed)

    # -- VTK events --------------------------------------------------------------------------
    def _on_press(self, *_args) -> None:
        if not self.armed:
            return
        self._RightButtonPressEvent.SetAbortFlag(1)  # the camera does not see this click
        self._swallow_release = True
        x, y = self.plotter.iren.get_event_position()
        self.pick_display(x, y)

    def _on_release(self, *_args) -> None:
        if self._swallow_release:
            self._swallow_release = False
            self._RightButtonReleaseEvent.SetAbortFlag(1)

    def _on_escape(self) -> None:
        if self.armed:
            self.set_armed(False)
            self.message("Pick cancelled")

    # -- picking -------------------------------------------------------------------------------
    def pick_display(self, x: int, y: int) -> bool:
        """Pick under display position (x, y) (VTK pixels, origin bottom left)."""
        import vtk

        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.0005)
        name = None
        if picker.Pick(x, y, 0, self.plotter.renderer):
            actor = picker.GetActor()
            name = next((n for n, a in self.actors.items() if a is actor), None)
        return self.handle_pick(np.array(picker.GetPickPosition()) if name else None, name)

    def handle_pick(self, point: np.ndarray | None, structure: str | None) -> bool:
        """Set the entry from ``point`` picked on ``structure`` (``None``: a miss)."""
        s = self.session
        if s.locked:
            self.message("The trajectory is locked: unlock it (Ctrl+L) to pick a new entry.")
            self.set_armed(False)
            return False
        if point is None or structure is None:
            self.message("The pick missed the model: right-click on the skin or the bone (Esc cancels).")
            return False
        try:
            choice = entry_from_pick(s.scene, s.trajectory, point, structure, backend=s.backend)
        except NeedlesimError as exc:
            self.message(f"{str(exc)[0].upper()}{str(exc)[1:]} (Esc cancels).")
            return False
        if not s.update(entry=choice.entry, side=choice.side):
            return False  # the session said why; still armed
        self.set_armed(False)
        self.message(describe(choice, s))
        return True


def describe(choice: EntryChoice, session: Session) -> str:
    """One line saying where the entry is and which rule put it there."""
    x, y, z = choice.entry
    where = f"Entry on the {choice.structure} at ({x:.0f}, {y:.0f}, {z:.0f}) mm RAS"
    if choice.rule is EntryRule.PICKED_BONE:
        return f"{where}: the picked bone point."
    if choice.rule is EntryRule.ALONG_AIM:
        return f"{where}: along the current aim, {choice.distance_mm:.1f} mm under the picked skin point."
    text = (f"{where}: no bone along the current aim from the picked skin point, so the nearest bone point, "
            f"{choice.distance_mm:.1f} mm from it (the aim is kept")
    report = session.report
    if report is not None:
        px, py, pz = report.evaluation.skin_puncture
        text += f"; the needle now punctures the skin at ({px:.0f}, {py:.0f}, {pz:.0f})"
    return text + ")."
