"""The trajectory panel: side, entry, the three aim controls, the convention, saved aims."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from ..core.model.conventions import MAX_ANGLE_DEG
from ..core.model.trajectory import MAX_DEPTH_MM, Trajectory
from ..session import Session
from .controls import ValueControl
from .qt_utils import signals_blocked
from .text_view import TextLabel

PICKED = "(picked point)"
CONVENTION = (
    "<b>Lateral</b>: angle from the para-sagittal plane, + away from the midline (medial is −).<br>"
    "<b>Inferior</b>: angle from the transverse plane, + toward the feet.<br>"
    "<b>Depth</b>: along the needle from the skin puncture. Frame RAS, mm."
)


class TrajectoryPanel(QWidget):
    """Writes the aim to the session and follows it (both directions, signals blocked)."""

    pickRequested = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.side = QComboBox()
        self.side.addItems(["left", "right"])
        self.side.setToolTip("Side of entry: which PSIS")
        self.entry = QComboBox()
        self.entry.setToolTip("Bone entry: a landmark, or a point picked on the bone or skin")
        self.pick = QPushButton("Pick entry")
        self.pick.setCheckable(True)
        self.pick.setToolTip("Then right-click on the skin or the bone in the 3D view (Esc cancels)")
        self.lock = QCheckBox("Lock")
        self.lock.setToolTip("Lock the trajectory against accidental picking and edits (Ctrl+L)")
        self.lateral = ValueControl("Lateral", "°", -MAX_ANGLE_DEG, MAX_ANGLE_DEG, 0.1,
                                    tooltip="Angle from the para-sagittal plane; + lateral, − medial")
        self.inferior = ValueControl("Inferior", "°", -MAX_ANGLE_DEG, MAX_ANGLE_DEG, 0.1,
                                     tooltip="Angle from the transverse plane; + toward the feet")
        self.depth = ValueControl("Depth", "mm", 0, MAX_DEPTH_MM, 0.5,
                                  tooltip=f"From the skin puncture along the needle (max {MAX_DEPTH_MM:g} mm)")
        self.projected = TextLabel()
        self.projected.setToolTip("What the aim reads as on an axial and a sagittal image")
        self.convention = QLabel(CONVENTION)
        self.convention.setWordWrap(True)
        self.convention.setStyleSheet("color: #444; font-size: 11px;")
        self.saved = QListWidget()
        self.saved.setMaximumHeight(90)
        self.saved.setToolTip("Saved trajectories; tick one to draw it beside the current one")
        self._build_layout()
        self._connect()
        self.refresh_entries()
        self._on_trajectory_changed(session.trajectory)
        self._on_settings_changed()

    def _build_layout(self) -> None:
        top = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.side)
        row.addWidget(self.lock)
        top.addRow("Side", row)
        row = QHBoxLayout()
        row.addWidget(self.entry, 1)
        row.addWidget(self.pick)
        top.addRow("Entry", row)
        aim = QGroupBox("Aim")
        box = QVBoxLayout(aim)
        for w in (self.lateral, self.inferior, self.depth, self.projected, self.convention):
            box.addWidget(w)
        saved = QGroupBox("Saved trajectories")
        sbox = QVBoxLayout(saved)
        sbox.addWidget(self.saved)
        buttons = QHBoxLayout()
        self.save_btn, self.restore_btn, self.delete_btn = QPushButton("Save…"), QPushButton("Restore"), QPushButton("Delete")
        for b in (self.save_btn, self.restore_btn, self.delete_btn):
            buttons.addWidget(b)
        sbox.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(aim)
        layout.addWidget(saved)
        layout.addStretch(1)

    def _connect(self) -> None:
        s = self.session
        self.lateral.valueChanged.connect(lambda v: s.update(lateral_deg=v))
        self.inferior.valueChanged.connect(lambda v: s.update(inferior_deg=v))
        self.depth.valueChanged.connect(lambda v: s.update(depth_mm=v))
        self.side.currentTextChanged.connect(self._on_side_edited)
        self.entry.currentTextChanged.connect(self._on_entry_edited)
        self.lock.toggled.connect(s.set_locked)
        self.pick.toggled.connect(self.pickRequested.emit)
        self.save_btn.clicked.connect(self._on_save)
        self.restore_btn.clicked.connect(self._on_restore)
        self.delete_btn.clicked.connect(self._on_delete)
        self.saved.itemChanged.connect(self._on_compare_toggled)
        # show the session's trajectory, not the signal's argument: a handler before this one
        # (the controller) may have refused it and gone back already
        s.trajectory_changed.connect(lambda *_: self._on_trajectory_changed(s.trajectory))
        s.refused.connect(lambda *_: self._on_trajectory_changed(s.trajectory))
        s.scene_changed.connect(lambda *_: self.refresh_entries())
        s.settings_changed.connect(self._on_settings_changed)
        s.locked_changed.connect(self._on_locked_changed)
        s.saved_changed.connect(self._on_saved_changed)

    # -- model -> widgets --------------------------------------------------------------------
    def refresh_entries(self) -> None:
        names = sorted(self.session.scene.landmarks, key=lambda n: (not n.endswith(("-entry", "-psis")), n))
        with signals_blocked(self.entry):
            self.entry.clear()
            self.entry.addItems(names + [PICKED])
        self._on_trajectory_changed(self.session.trajectory)

    def _on_trajectory_changed(self, t: Trajectory) -> None:
        with signals_blocked(self.side, self.entry):
            self.side.setCurrentText(t.side.value)
            self.entry.setCurrentText(t.entry if isinstance(t.entry, str) else PICKED)
        self.lateral.setValue(t.lateral_deg)
        self.inferior.setValue(t.inferior_deg)
        self.depth.setValue(t.depth_mm)
        axial, sagittal = t.projected_deg
        self.projected.setText(f"On images: axial {axial:.1f}°, sagittal {sagittal:.1f}°   "
                               f"needle {t.needle_diameter_mm:g} mm")

    def _on_settings_changed(self) -> None:
        env = self.session.envelope
        self.lateral.set_band(env.lateral_deg.min, env.lateral_deg.max)
        self.inferior.set_band(env.inferior_deg.min, env.inferior_deg.max)
        self.depth.set_band(env.depth_mm.min if env.depth_mm.min is not None else 0.0, env.depth_mm.max)

    def _on_locked_changed(self, locked: bool) -> None:
        with signals_blocked(self.lock):
            self.lock.setChecked(locked)
        for w in (self.side, self.entry, self.pick, self.lateral, self.inferior, self.depth):
            w.setEnabled(not locked)
        if locked and self.pick.isChecked():
            self.pick.setChecked(False)

    def _on_saved_changed(self) -> None:
        with signals_blocked(self.saved):
            self.saved.clear()
            for name, t in self.session.saved.items():
                item = QListWidgetItem(f"{name}: L {t.lateral_deg:.1f}°, I {t.inferior_deg:.1f}°, {t.depth_mm:.1f} mm")
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if name == self.session.compare else Qt.CheckState.Unchecked)
                self.saved.addItem(item)

    # -- widgets -> model ----------------------------------------------------------------------
    def _on_side_edited(self, side: str) -> None:
        t = self.session.trajectory
        if isinstance(t.entry, str) and t.entry.startswith(("left-", "right-")):
            other = side + t.entry[t.entry.index("-"):]
            if other in self.session.scene.landmarks:
                self.session.update(entry=other, side=side)
                return
        self.session.update(side=side)

    def _on_entry_edited(self, name: str) -> None:
        if name and name != PICKED:
            self.session.update(entry=name)

    def _on_save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save trajectory", "Name:", text=f"aim {len(self.session.saved) + 1}")
        if ok:
            self.session.save_current(name)

    def _selected(self) -> str | None:
        item = self.saved.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_restore(self) -> None:
        if (name := self._selected()) is not None:
            self.session.restore(name)

    def _on_delete(self) -> None:
        if (name := self._selected()) is not None:
            self.session.remove_saved(name)

    def _on_compare_toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        self.session.set_compare(name if item.checkState() == Qt.CheckState.Checked else None)
