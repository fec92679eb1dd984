"""The landmark review dock: a thin view of :class:`~needlesim.anatomy.review_model.LandmarkReview`.

It lists the scene's landmarks with their confidence (rows under
:data:`~needlesim.anatomy.review_model.REVIEW_BELOW` coloured), draws them on the bone in the
3D view (:mod:`needlesim.viz.review_marks`) with their names, and puts a sphere handle on the
selected one: dragged, the landmark follows it along its bone (the model keeps it there).
Rebuild builds the dural sac, the roots, the nerves and the vessels again on the corrected
landmarks on a worker thread, with progress and Cancel, and shows the rebuilt scene. Load and
Save read and write 3D Slicer markups (:mod:`needlesim.anatomy.review`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QFileDialog, QGridLayout, QHeaderView,
                               QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ..anatomy.review_model import DOUBTFUL_BELOW, REVIEW_BELOW, Band, LandmarkReview
from ..core.errors import NeedlesimError
from ..session import CORRECTED  # noqa: F401 (the mark a rebuilt scene's source gets; its home is session.py)
from ..viz.review_marks import ReviewMarks
from .qt_utils import signals_blocked
from .worker import submit_with_progress

#: Row backgrounds by band (pale versions of the 3D points' colours).
ROW_COLORS = {Band.REVIEW: "#fde9b8", Band.DOUBTFUL: "#f7c6cc"}
#: Radius of the drag handle, mm (a little larger than a landmark point on the bone).
HANDLE_RADIUS_MM = 4.0


class LandmarkPanel(QWidget):
    """The dock's contents (module docstring); ``window`` is the :class:`MainWindow`."""

    #: A landmark was moved (name, new RAS point).
    landmarkMoved = Signal(str, object)
    #: A rebuild ended: the new scene, or ``None`` if it failed or was cancelled.
    rebuilt = Signal(object)

    def __init__(self, window) -> None:
        super().__init__()
        self.window, self.session = window, window.session
        self.review: LandmarkReview | None = None
        self.active = False
        self.job = None
        self._rebuilding = None  # the scene a running rebuild started from
        self._cancel = threading.Event()
        self.marks = ReviewMarks(window.plotter)
        self.handle = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.seen = QLabel()
        self.seen.setWordWrap(True)
        self.seen.setStyleSheet("color: #555;")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Landmark", "Confidence", "Moved"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for k in (1, 2):
            header.setSectionResizeMode(k, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.show_box = QCheckBox("Show on the bone (drag the selected one's handle)")
        self.show_box.setChecked(True)
        self.show_box.toggled.connect(lambda _: self._draw())
        self.load_button, self.save_button = QPushButton("Load…"), QPushButton("Save…")
        self.reset_button, self.rebuild_button = QPushButton("Reset"), QPushButton("Rebuild anatomy")
        self.rebuild_button.setToolTip("Build the dural sac, roots, nerves and vessels again on these landmarks")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.stage = QLabel()
        self.load_button.clicked.connect(self.load_dialog)
        self.save_button.clicked.connect(self.save_dialog)
        self.reset_button.clicked.connect(self.reset)
        self.rebuild_button.clicked.connect(self.rebuild)
        self.cancel_button.clicked.connect(self.cancel_rebuild)
        buttons = QGridLayout()
        for i, b in enumerate((self.load_button, self.save_button, self.reset_button, self.rebuild_button)):
            buttons.addWidget(b, i // 2, i % 2)
        box = QVBoxLayout(self)
        for w in (self.summary, self.seen, self.table, self.show_box):
            box.addWidget(w)
        box.addLayout(buttons)
        for w in (self.stage, self.progress, self.cancel_button):
            box.addWidget(w)
        self._show_progress(False)
        # after the window has shown the new scene (priority: later), so the names drawn are ours
        self.session.scene_changed.connect(self._on_scene_changed, priority=-10)

    # -- model -> view -----------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """Shown (the dock is visible): the review is made and drawn; hidden: undrawn."""
        self.active = active
        if active and self.review is None:
            self._on_scene_changed(self.session.scene)
        self._draw()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.cancel_rebuild()
        super().closeEvent(event)

    def _on_scene_changed(self, scene) -> None:
        self.review = LandmarkReview(scene) if self.active else None
        self._fill()
        self._draw()

    def _fill(self) -> None:
        with signals_blocked(self.table):
            self.table.setRowCount(0)
            if self.review is None:
                return
            rows = self.review.rows()
            self.table.setRowCount(len(rows))
            for i, row in enumerate(rows):
                self._set_row(i, row)
        self._summarise()

    def _set_row(self, i: int, row) -> None:
        items = (QTableWidgetItem(row.name), QTableWidgetItem(f"{row.confidence:.2f}"),
                 QTableWidgetItem(f"{row.moved_mm:.1f} mm" if row.moved_mm > 0 else ""))
        tip = {Band.OK: "", Band.REVIEW: f"confidence under {REVIEW_BELOW}: a check raised a doubt; look here",
               Band.DOUBTFUL: f"confidence under {DOUBTFUL_BELOW}: likely misplaced; look here first"}[row.band]
        for k, item in enumerate(items):
            if row.band in ROW_COLORS:
                item.setBackground(QBrush(QColor(ROW_COLORS[row.band])))
            item.setToolTip(tip)
            if k:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, k, item)

    def _summarise(self) -> None:
        r = self.review
        if r is None:
            self.summary.setText("")
            self.seen.setText("")
            return
        rows = r.rows()
        low = [x.name for x in rows if x.band is not Band.OK]
        text = f"{len(rows)} landmarks, {len(low)} to look at (coloured), {len(r.moved)} moved."
        if r.missing:
            text += f" Not found: {', '.join(r.missing)} (place them in 3D Slicer and Load)."
        self.summary.setText(text)
        self.seen.setText("The search saw: " + "; ".join(r.log) if r.log else "")

    @property
    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def select(self, name: str) -> None:
        """Select landmark ``name`` (its row, its ring and its handle)."""
        names = self.review.names if self.review else []
        if name not in names:
            raise NeedlesimError(f"no landmark {name!r} in this scene")
        self.table.selectRow(names.index(name))

    def _on_selection_changed(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if getattr(self.window.plotter, "_closed", False):  # the window is closing
            return
        shown = self.active and self.review is not None and self.show_box.isChecked()
        self._remove_handle()
        view = self.window.view
        if not shown:
            if self.marks.shown:
                self.marks.clear()
                view.show_landmarks(self.window.landmarks_action.isChecked(), labels=self.window.labels_action.isChecked())
            self.window.request_render()
            return
        rows = self.review.rows()
        names = [x.name for x in rows]
        pick = names.index(self.selected) if self.selected in names else None
        self.marks.show(np.array([x.point for x in rows]), [x.band.value for x in rows], pick)
        view.labels.set_landmarks(dict(self.review.points))
        if pick is not None:
            self.handle = self.window.plotter.add_sphere_widget(
                self._on_handle_moved, center=rows[pick].point, radius=HANDLE_RADIUS_MM, color="#1565c0",
                style="wireframe", selected_color="#ff9800", test_callback=False, interaction_event="end")
        self.window.request_render()

    def _remove_handle(self) -> None:
        if self.handle is not None and not getattr(self.window.plotter, "_closed", False):
            self.window.plotter.clear_sphere_widgets()  # the handle is the window's only sphere widget
        self.handle = None

    # -- editing -----------------------------------------------------------------------------
    def _on_handle_moved(self, center) -> None:
        if self.selected is not None:
            self.move(self.selected, np.asarray(center, float))

    def move(self, name: str, point: np.ndarray) -> np.ndarray:
        """Move ``name`` towards ``point`` along its bone (the handle's drag); return where it went."""
        if self.review is None:
            raise NeedlesimError("no landmarks to review: show the landmark dock first")
        placed = self.review.move(name, point)
        i = self.review.names.index(name)
        with signals_blocked(self.table):
            self._set_row(i, self.review.row(name))
        self._summarise()
        self._draw()
        self.landmarkMoved.emit(name, placed)
        return placed

    def reset(self) -> None:
        if self.review is not None:
            self.review.reset()
            self._fill()
            self._draw()

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> bool:
        try:
            if self.review is None:
                raise NeedlesimError("no landmarks to save")
            self.review.save(path)
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.statusBar().showMessage(f"Landmarks saved to {path}", 10000)
        return True

    def load(self, path: str | Path) -> bool:
        """Take the landmarks of a markups file; on any error it is shown and nothing changes."""
        try:
            if self.review is None:
                raise NeedlesimError("no scene landmarks to correct")
            changed = self.review.load(path)
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            return False
        self._fill()
        self._draw()
        self.window.statusBar().showMessage(f"{len(changed)} landmarks taken from {Path(path).name}", 10000)
        return True

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save landmarks", "landmarks.mrk.json", "Slicer markups (*.mrk.json)")
        if path:
            self.save(path)

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load landmarks", "", "Slicer markups (*.mrk.json *.json)")
        if path:
            self.load(path)

    # -- rebuilding --------------------------------------------------------------------------
    def rebuild(self):
        """Rebuild the anatomy on the corrected landmarks on a worker thread; the job."""
        if self.review is None or self.job is not None:
            return None
        from ..core.needle.engine import get_engine

        review, s = self.review, self.session

        def work(report):
            scene = review.rebuild(progress=report, cancel=self._cancel.is_set)
            report(1.0, "preparing the ray casting")
            get_engine(scene, backend=s.backend, needle_diameter_mm=s.trajectory.needle_diameter_mm,
                       margin_mm=s.margin_mm)  # warm the cache, off the GUI thread
            return scene

        self._cancel.clear()
        self._rebuilding = review.scene
        self._show_progress(True)
        self.job = submit_with_progress(work, self._on_rebuilt, self._on_rebuild_failed, self._on_progress)
        return self.job

    def cancel_rebuild(self) -> None:
        if self.job is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.stage.setText("Cancelling…")

    def _on_progress(self, fraction: float, message: str) -> None:
        if not self._cancel.is_set():
            self.progress.setValue(int(round(1000 * fraction)))
            self.stage.setText(message[:1].upper() + message[1:] + "…")

    def _on_rebuilt(self, scene) -> None:
        self.job = None
        self._show_progress(False)
        if self.review is None or self._rebuilding is not self.session.scene:  # another scene was opened meanwhile
            self.window.show_error("the rebuilt anatomy is not shown: another scene was opened while it was built")
            self.rebuilt.emit(None)
            return
        self.session.set_corrected_scene(scene)  # a saved session keeps its landmarks (session_io)
        self.window.statusBar().showMessage("Anatomy rebuilt on the corrected landmarks", 10000)
        self.rebuilt.emit(scene)

    def _on_rebuild_failed(self, message: str) -> None:
        self.job = None
        self._show_progress(False)
        self.window.show_error(message, box=not self._cancel.is_set())
        self.rebuilt.emit(None)

    def _show_progress(self, running: bool) -> None:
        if running:
            self._remove_handle()  # no edits while the anatomy is rebuilt on them
        for w in (self.stage, self.progress, self.cancel_button):
            w.setVisible(running)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        for b in (self.load_button, self.reset_button, self.rebuild_button):
            b.setEnabled(not running)
        self.table.setEnabled(not running)


def install_landmark_dock(window) -> QDockWidget:
    """The landmark review dock on ``window``, tabbed with the right-hand docks; the panel is
    ``dock.widget()``."""
    dock = QDockWidget("Landmarks", window)
    panel = LandmarkPanel(window)
    dock.setWidget(panel)
    dock.setObjectName("landmarks-dock")
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.teaching.docks["playback"], dock)
    window.teaching.docks["playback"].raise_()
    dock.visibilityChanged.connect(panel.set_active)
    dock.toggleViewAction().setText("Landmark &review")
    return dock
