"""Practice mode: a thin dock over :mod:`needlesim.teaching.practice`.

New exercise builds the exercise's scene (off the GUI thread), hides the risk panel, the
clearances (the risk, map and playback docks), the built structures and the verdict in the
status bar, and freezes the fluoroscope so that each image is a counted shot. The trainee
picks the skin puncture, sets the angles and advances the needle; the needle is drawn in one
colour, with only its bone and skin crossings. Submit scores the attempt, reveals everything
and draws the envelope's aim beside the trainee's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTextBrowser, QVBoxLayout, QWidget)

from ..teaching.exercise import LEVELS, Level, exercise_scene, hidden_structures, new_exercise
from ..teaching.practice import PracticeRun
from ..teaching.practice_log import PracticeLog
from .worker import submit

#: The trainee's needle while the answer is hidden: one neutral colour, no tissue colours.
HIDDEN_NEEDLE_COLOR = "#9e9e9e"
#: Docks hidden during an exercise (by object name): they show the verdict or the clearances.
HIDDEN_DOCKS = ("risk-dock", "structures-dock", "scenario-dock", "playback-dock", "map-dock")
#: Docks left hidden at Submit (a scenario's narrative has nothing to say about an exercise).
STAY_HIDDEN = ("scenario-dock",)
#: Individuals drawn before giving up when the anatomy builder refuses one.
BUILD_TRIES = 4


def _shots(n: int) -> str:
    return f"{n} fluoroscopy shot{'' if n == 1 else 's'}"


class PracticePanel(QWidget):
    """The Practice dock's contents. ``scene_for`` builds an exercise's scene, ``run`` runs
    work off the GUI thread, ``log_factory`` opens the practice log (all injected by tests)."""

    def __init__(self, window, *, scene_for=exercise_scene, run=submit, log_factory=PracticeLog,
                 rng: np.random.Generator | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window, self.session = window, window.session
        self._scene_for, self._run, self._log_factory = scene_for, run, log_factory
        self.rng = rng if rng is not None else np.random.default_rng()
        self.log: PracticeLog | None = None
        self.practice: PracticeRun | None = None
        self.hidden = False
        self._restore: dict[str, bool] = {}
        self._hidden_names: list[str] = []
        self._count = 0
        self._job = None
        self._listening = False
        self.level = QComboBox()
        self.level.addItems([lv.value for lv in LEVELS])
        self.trainee = QLineEdit()
        self.trainee.setPlaceholderText("your name (optional, kept in the log)")
        self.title = QLabel("<b>No exercise</b>: choose a level and press New exercise.")
        self.title.setWordWrap(True)
        self.instructions = QLabel("")
        self.instructions.setWordWrap(True)
        self.new_button = QPushButton("New exercise")
        self.shot_button = QPushButton("Fluoroscopy shot")
        self.submit_button = QPushButton("Submit")
        self.shots = QLabel("shots: 0")
        self.result = QTextBrowser()
        self.result.setMinimumHeight(180)
        self.progress_button = QPushButton("Progress…")
        self.export_button = QPushButton("Export log…")
        self.export_button.setToolTip("Export the practice log as CSV")
        top = QHBoxLayout()
        top.addWidget(QLabel("level"))
        top.addWidget(self.level, 1)
        log_row = QHBoxLayout()  # the log's buttons beside New exercise, never under the score
        for wdg in (self.new_button, self.progress_button, self.export_button):
            log_row.addWidget(wdg)
        row = QHBoxLayout()
        for wdg in (self.shot_button, self.shots, self.submit_button):
            row.addWidget(wdg)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.trainee)
        layout.addLayout(log_row)
        layout.addWidget(self.title)
        layout.addWidget(self.instructions)
        layout.addLayout(row)
        layout.addWidget(self.result, 1)  # last: the score runs to the bottom of the dock
        self.new_button.clicked.connect(lambda: self.new_exercise())
        self.shot_button.clicked.connect(self.take_shot)
        self.submit_button.clicked.connect(self.submit)
        self.progress_button.clicked.connect(self.show_progress)
        self.export_button.clicked.connect(self.export_dialog)
        self._enable()

    # -- the log, opened on first use (never at start-up) ----------------------------------
    def practice_log(self) -> PracticeLog:
        if self.log is None:
            self.log = self._log_factory()
            for m in self.log.messages:
                self.window.show_error(m)
        return self.log

    def _enable(self) -> None:
        on = self.practice is not None and not self.practice.submitted
        self.shot_button.setEnabled(on)
        self.submit_button.setEnabled(on)
        self.new_button.setEnabled(self._job is None)

    # -- New exercise ------------------------------------------------------------------
    def new_exercise(self, level: Level | str | None = None, *, tries: int = BUILD_TRIES) -> None:
        """Draw an exercise of ``level`` (default: the chosen one) and build its scene."""
        level = Level(level or self.level.currentText())
        self._count += 1
        ex = new_exercise(level, self.rng, number=self._count)
        self.title.setText(f"<b>Preparing</b> exercise {ex.id}…")
        self.window.statusBar().showMessage("Preparing the exercise (an unseen pelvis takes up to half a minute)…")

        def failed(message: str) -> None:
            self._job = None
            if tries > 1:
                self.window.show_error(f"that individual could not be built ({message.splitlines()[0][:120]}); "
                                       "drawing another", box=False)
                self.new_exercise(level, tries=tries - 1)
            else:
                self.window.show_error(f"no exercise could be prepared: {message}")
                self._enable()

        self._job = self._run(lambda: self._scene_for(ex), lambda scene: self._start(ex, scene), failed)
        self._enable()

    def _start(self, ex, scene) -> None:
        self._job = None
        s = self.session
        if self.hidden:
            self.reveal()
        if scene is not s.scene:
            s.set_scene(scene, "builtin" if ex.seed is None else f"exercise {ex.id} (an unseen pelvis)")
        s.set_locked(False)
        s.set_compare(None)
        s.set_trajectory(ex.start_trajectory())
        self.practice = PracticeRun(ex, scene, log=self.practice_log(), envelope=s.envelope, margin_mm=s.margin_mm,
                                    backend=s.backend, trainee=self.trainee.text().strip())
        self._hide(ex, scene)
        self.title.setText(f"<b>Exercise {ex.id}</b> — {ex.title}")
        self.instructions.setText(ex.instructions())
        self.instructions.show()
        self.shots.setText("shots: 0")
        self.result.setHtml("<i>The answer is hidden. Pick the skin puncture (Pick entry), set the angles and the "
                            "depth, then Submit.</i>")
        self.window.statusBar().clearMessage()
        self._enable()
        self._on_report(s.report)

    # -- hiding and revealing ------------------------------------------------------------
    def _docks(self) -> dict[str, QDockWidget]:
        return {name: d for d in self.window.findChildren(QDockWidget) if (name := d.objectName()) in HIDDEN_DOCKS}

    def _hide(self, ex, scene) -> None:
        if not self._listening:  # after the window's own handler, so the hidden drawing wins
            self.session.report_changed.connect(self._on_report)
            self._listening = True
        self._restore = {n: d.isVisible() for n, d in self._docks().items()}
        for d in self._docks().values():
            d.hide()
        self._hidden_names = hidden_structures(scene, ex)
        for n in self._hidden_names:
            self.window.view.set_visible(n, False)
        self.window.fluoro_panel.set_live(False)
        self.hidden = True
        self.window.request_render()

    def reveal(self) -> None:
        """Show everything the exercise hid."""
        for n, d in self._docks().items():
            d.setVisible(self._restore.get(n, True) and n not in STAY_HIDDEN)
        for n in self._hidden_names:
            if n in self.window.view.actors:
                self.window.view.set_visible(n, True)
        self.window.fluoro_panel.set_live(True)
        self.hidden = False
        self.window.request_render()

    def _on_report(self, report) -> None:
        view = self.window.view
        if report is None:
            return
        if self.hidden:
            ev = report.evaluation
            shown = {s.name for s in self.session.scene if s.name not in self._hidden_names}
            masked = replace(report, evaluation=replace(ev, hits=tuple(h for h in ev.hits if h.structure in shown),
                                                        contacts=()))
            view.show_report(masked, color=HIDDEN_NEEDLE_COLOR)
            t = ev.trajectory
            self.window.status.setText(f"exercise · lateral {t.lateral_deg:.1f}°, inferior {t.inferior_deg:.1f}°, "
                                       f"depth {t.depth_mm:.1f} mm · {_shots(self.practice.fluoro_shots)}")
        elif self.practice is not None and self.practice.result is not None and \
                report.evaluation.trajectory == self.practice.result.submitted:
            view.show_report(report, compare=self.practice.result.reference)  # the envelope's aim beside
        self.window.request_render()

    # -- shots and Submit ----------------------------------------------------------------
    def take_shot(self) -> None:
        if self.practice is None or self.practice.submitted:
            return
        n = self.practice.shot()
        self.shots.setText(f"shots: {n}")
        self.window.teaching.show("fluoro")
        self.window.fluoro_panel.shoot()
        self._on_report(self.session.report)

    def submit(self) -> None:
        if self.practice is None or self.practice.submitted:
            return
        res = self.practice.submit(self.session.trajectory)
        self.reveal()
        self.session.set_trajectory(res.submitted)  # under tremor the jittered needle is the one shown
        self.window.controller.refresh()  # the verdict back in the status bar, the needle in its colours

        lines = res.lines()
        self.instructions.setText("")
        self.instructions.hide()  # its room goes to the score
        self.title.setText(f"<b>Exercise {res.exercise.id}: {res.score.total:.1f} / 100</b> — {res.exercise.title}")
        self.result.setHtml("<p><b>" + lines[0] + "</b></p><ul>" + "".join(f"<li>{x}</li>" for x in lines[1:])
                            + "</ul><p>The envelope's aim is drawn beside yours (teal).</p>")
        self._enable()

    # -- progress and export ----------------------------------------------------------------
    def show_progress(self):
        from .progress_dialog import ProgressDialog

        dialog = ProgressDialog(self.practice_log(), self.window)
        dialog.show()
        self.progress_dialog = dialog
        return dialog

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export practice log", "practice.csv", "CSV (*.csv)")
        if path:
            self.export(path)

    def export(self, path) -> int | None:
        try:
            n = self.practice_log().export_csv(path)
        except OSError as exc:
            self.window.show_error(f"{path}: cannot be written ({exc.strerror or exc})")
            return None
        self.window.statusBar().showMessage(f"wrote {n} attempts to {path}", 8000)
        return n
