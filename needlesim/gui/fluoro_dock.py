"""The C-arm: a simulated radiograph beside the 3D view. The bone image is cast on a worker
thread once per C-arm position (:func:`needlesim.teaching.fluoro.bone_image`, cached); the
needle and its tip are drawn on it live from each report, with no recast."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..session import Session
from ..teaching import fluoro
from .qt_utils import signals_blocked
from .worker import submit

#: Pixels a side of the radiograph in the app.
APP_PIXELS = 512
FREE = "free angle"


def to_qimage(gray: np.ndarray) -> QImage:
    """(h, w) float in [0, 1] to an 8-bit grey QImage. Decoded from an in-memory PGM, so Qt
    copies the pixels: a QImage built on a Python buffer trips a PySide6 reference-count bug
    ("deallocating None") a few repaints later."""
    a = (np.clip(gray, 0, 1) * 255).astype(np.uint8)
    h, w = a.shape
    img = QImage.fromData(b"P5\n%d %d\n255\n" % (w, h) + a.tobytes(), "PGM")
    return img


class FluoroPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None, *, run=submit, pixels: int = APP_PIXELS) -> None:
        super().__init__(parent)
        self.session, self._run, self.pixels = session, run, pixels
        self.image: fluoro.BoneImage | None = None
        self.shown: np.ndarray | None = None
        self._job = None
        self._pending = False
        self.active, self._dirty = False, True
        self._stale = False  #: a report came while hidden: draw when shown
        #: live: the needle follows every report; off (a practice exercise), it is drawn only
        #: as it was at the last :meth:`shoot`, as a C-arm shows only the shots taken
        self.live, self.shot_report = True, None
        self.view_box = QComboBox()
        self.view_box.addItems(list(fluoro.VIEWS) + [FREE])
        self.orbit = QDoubleSpinBox()
        self.orbit.setRange(-90, 90)
        self.orbit.setSuffix("°")
        self.orbit.setToolTip("C-arm orbit: + turns the detector toward the patient's left")
        self.tilt = QDoubleSpinBox()
        self.tilt.setRange(-60, 60)
        self.tilt.setSuffix("°")
        self.tilt.setToolTip("C-arm tilt: + toward the feet (inlet), − toward the head (outlet)")
        self.picture = QLabel("casting…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(256, 256)
        self.picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.caption = QLabel("as seen from the detector over the patient's back: left on the left, head up")
        self.caption.setWordWrap(True)
        form = QFormLayout()
        form.addRow("view", self.view_box)
        form.addRow("orbit", self.orbit)
        form.addRow("tilt", self.tilt)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        self.view_box.currentTextChanged.connect(self._on_view_chosen)
        self.orbit.valueChanged.connect(self._on_angle_changed)
        self.tilt.valueChanged.connect(self._on_angle_changed)
        session.report_changed.connect(lambda *_: self._overlay())
        session.scene_changed.connect(lambda *_: self.recast())
        self._on_view_chosen(self.view_box.currentText())

    def carm(self) -> fluoro.CArm:
        return fluoro.CArm(self.orbit.value(), self.tilt.value(), pixels=self.pixels)

    def _on_view_chosen(self, name: str) -> None:
        if name in fluoro.VIEWS:
            v = fluoro.VIEWS[name]
            with signals_blocked(self.orbit, self.tilt):
                self.orbit.setValue(v.orbit_deg)
                self.tilt.setValue(v.tilt_deg)
        self.recast()

    def _on_angle_changed(self) -> None:
        with signals_blocked(self.view_box):
            match = [n for n, v in fluoro.VIEWS.items() if (v.orbit_deg, v.tilt_deg) == (self.orbit.value(),
                                                                                          self.tilt.value())]
            self.view_box.setCurrentText(match[0] if match else FREE)
        self.recast()

    def set_active(self, active: bool) -> None:
        """Only a shown fluoroscope casts and draws; a hidden one catches up when shown."""
        self.active = bool(active)
        if self.active and self._dirty:
            self.recast()
        elif self.active and self._stale:
            self._overlay()

    def recast(self) -> None:
        """Cast the bone image for the current C-arm on a worker thread (the latest wins)."""
        if not self.active:
            self._dirty = True
            return
        self._dirty = False
        if self._job is not None:
            self._pending = True
            return
        scene, carm = self.session.scene, self.carm()
        fluoro.prepare(scene)  # on this thread: the worker only casts
        self._job = self._run(lambda: fluoro.bone_image(scene, carm), self._on_done, self._on_failed)

    def _on_done(self, image) -> None:
        self._job = None
        if self._pending or image.carm != self.carm():
            self._pending = False
            self.recast()
        self.image = image
        self._overlay()

    def _on_failed(self, message: str) -> None:
        self._job = None
        self.picture.setText(message)

    def set_live(self, live: bool) -> None:
        self.live, self.shot_report = bool(live), None
        self._overlay()

    def shoot(self) -> None:
        """Take a shot: the needle as it is now, until the next shot (when not live)."""
        self.shot_report = self.session.report
        self._overlay()

    def _overlay(self) -> None:
        """The radiograph with the needle (current, or at the last shot) as metal and its tip marked."""
        report = self.session.report if self.live else self.shot_report
        if self.image is None:
            return
        self._stale = not self.active
        if self._stale:  # hidden (another tab in front): drawn when shown
            return
        needle = None if report is None else fluoro.report_needle(report)
        self.shown = fluoro.radiograph(self.image, needle=needle)
        pix = QPixmap.fromImage(to_qimage(self.shown))
        if report is not None:
            col, row = self.image.project(np.asarray(report.evaluation.tip)[None])[0]
            p = QPainter(pix)
            p.setPen(QPen(QColor("#ff3030"), 2))
            p.drawEllipse(int(col) - 5, int(row) - 5, 10, 10)
            p.end()
        self.picture.setPixmap(pix.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
