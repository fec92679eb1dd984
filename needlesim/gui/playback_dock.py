"""Playback: advance the needle from the skin to the set depth at a chosen speed, scrub with
a slider, step 1 mm with the keyboard, pause at the first breach or contact with its
message. A thin shell over :class:`needlesim.teaching.playback.Playback`: every frame comes
from the one full-depth report; the frame's report is pushed to the session, so the 3D
view, the risk panel and the fluoroscope follow without re-evaluating."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QStyle,
                               QVBoxLayout, QWidget)

from ..session import Session
from ..teaching.playback import DEFAULT_SPEED_MM_S, STEP_MM, Playback, advance
from ..viz.colors import VERDICT_COLORS
from .qt_utils import signals_blocked
from .text_view import TextLabel

#: Slider units per mm.
TICKS_PER_MM = 10
#: Timer interval while playing, ms.
TICK_MS = 40


class PlaybackPanel(QWidget):
    """Controls and read-out of one playback, bound to the session's trajectory."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.playback: Playback | None = None
        self.active = True  # the raised tab at start (see set_active)
        self._stale = None  # the report that came while hidden
        self.position_mm = 0.0
        self._pushing = False
        self._last = 0.0
        self.play_button = QPushButton("Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Advance the needle from the skin (Space)")
        # Qt's own media icons: a glyph such as U+23EE is missing from many fonts
        self.restart_button = QPushButton("Skin")
        self.restart_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward))
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.5, 100.0)
        self.speed.setValue(DEFAULT_SPEED_MM_S)
        self.speed.setSuffix(" mm/s")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setSingleStep(int(STEP_MM * TICKS_PER_MM))
        self.slider.setPageStep(10 * TICKS_PER_MM)
        self.slider.setToolTip("Scrub the depth; ← → step 1 mm")
        # the depth and read-out change on every move: labels that do not relay out the window
        self.depth_label = TextLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.readout = TextLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(self.restart_button)
        buttons.addWidget(self.play_button)
        form = QFormLayout()
        form.addRow("speed", self.speed)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.slider)
        layout.addWidget(self.depth_label)
        layout.addWidget(self.message)
        layout.addWidget(self.readout)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_tick)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.restart_button.clicked.connect(lambda: self.seek(0.0))
        self.slider.valueChanged.connect(lambda v: self.seek(v / TICKS_PER_MM, from_slider=True))
        session.report_changed.connect(self._on_report_changed)
        self._on_report_changed(session.report)

    def _set_play_face(self, *, playing: bool) -> None:
        text = "Pause" if playing else "Play"
        if self.play_button.text() == text:  # every report asks: the button repaints only on a change
            return
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setText(text)
        self.play_button.setIcon(self.style().standardIcon(icon))

    # -- model -> widget -------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """Only a shown playback follows every report; a hidden one (another tab in front)
        catches up when it is shown or used."""
        self.active = bool(active)
        if self.active:
            self._catch_up()

    def _catch_up(self) -> None:
        if self._stale is not None:
            self._load(self._stale)

    def _on_report_changed(self, report) -> None:
        if self._pushing or report is None:
            return
        self.timer.stop()
        with signals_blocked(self.play_button):
            self.play_button.setChecked(False)
            self._set_play_face(playing=False)
        if not self.active:
            self._stale = report
            return
        self._load(report)

    def _load(self, report) -> None:
        self._stale = None
        self.playback = Playback(self.session.scene, report)
        self.position_mm = self.playback.depth_mm
        with signals_blocked(self.slider):
            self.slider.setRange(0, int(round(self.playback.depth_mm * TICKS_PER_MM)))
            self.slider.setValue(self.slider.maximum())
        pause = self.playback.pause_event
        self.message.setText("" if pause is None else f"first event: {pause.message}")
        self._set_message_style("")
        self._show_frame()

    def _set_message_style(self, style: str) -> None:
        if self.message.styleSheet() != style:  # a style sheet re-polishes the label: only on change
            self.message.setStyleSheet(style)

    def _show_frame(self) -> None:
        f = self.playback.frame(self.position_mm)
        self.depth_label.setText(f'<span style="color: {VERDICT_COLORS[f.verdict.value]};"><b>{f.tip_text}</b> — '
                                 f"{f.verdict.value.upper()}</span>")
        self.readout.setText(f"{f.readout()}<br>nearest: {f.nearest_text(3)}")

    # -- widget -> model -------------------------------------------------------------------
    def seek(self, depth_mm: float, *, from_slider: bool = False) -> None:
        """Put the tip at ``depth_mm`` (clipped to the playback's range) and show it."""
        self._catch_up()
        if self.playback is None:
            return
        self.position_mm = min(max(float(depth_mm), 0.0), self.playback.depth_mm)
        if not from_slider:
            with signals_blocked(self.slider):
                self.slider.setValue(int(round(self.position_mm * TICKS_PER_MM)))
        self._show_frame()
        self._push()

    def step(self, mm: float) -> None:
        self._catch_up()  # from the current aim's position
        self.seek(self.position_mm + mm)

    def play(self) -> None:
        self.play_button.setChecked(True)

    def _on_play_toggled(self, on: bool) -> None:
        self._catch_up()
        if self.playback is None:
            return
        if on:
            if self.position_mm >= self.playback.depth_mm - 1e-9:
                self.seek(0.0)
            self._set_message_style("")
            self._last = time.monotonic()
            self._set_play_face(playing=True)
            self.timer.start()
        else:
            self.timer.stop()
            self._set_play_face(playing=False)

    def _on_tick(self, dt_s: float | None = None) -> None:
        now = time.monotonic()
        dt = now - self._last if dt_s is None else dt_s
        self._last = now
        pos, event = advance(self.position_mm, dt, self.speed.value(), self.playback)
        self.seek(pos)
        if event is not None:
            self.play_button.setChecked(False)
            self.message.setText(f"Paused: {event.message}")
            self._set_message_style(f"color: {VERDICT_COLORS[event.level.value]}; font-weight: bold;")
        elif pos >= self.playback.depth_mm:
            self.play_button.setChecked(False)

    def _push(self) -> None:
        """Show the frame everywhere: its report goes to the session (no re-evaluation)."""
        self._pushing = True
        try:
            self.session.set_report(self.playback.report_at(self.position_mm))
        finally:
            self._pushing = False
