"""Opening a session file in the window, whole or not at all (:mod:`needlesim.session_io`).

A session without corrected landmarks opens at once, as it always did. One with them (saved
after the Landmarks dock rebuilt the anatomy) names the scene they correct: that scene is read
and the landmarks applied (:func:`needlesim.session_io.session_scene`, which rebuilds the
dural sac, roots, nerves and vessels when a landmark they are built from moved: 20-40 s) on a
worker thread, with progress and Cancel in a window-modal dialog. The window keeps its scene,
aim and settings until the whole session is checked and its scene is ready; a bad file, a
landmark that does not fit the scene or a failed rebuild is one message and changes nothing;
a cancel changes nothing and shows no box. :attr:`SessionOpener.finished` tells the end.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog

from ..anatomy.review_model import RebuildCancelled
from ..core.errors import NeedlesimError
from ..core.model.scene import Scene
from ..session_io import SessionData, read_session, session_scene
from .worker import submit_with_progress


class SessionOpener(QObject):
    """Opens sessions in ``window`` (a :class:`MainWindow`): module docstring."""

    #: An opening ended: whether the session was applied.
    finished = Signal(bool)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.job = None
        self.dialog: QProgressDialog | None = None
        self._cancel = threading.Event()
        self._closed = False
        self._name = ""

    @property
    def busy(self) -> bool:
        return self.job is not None

    def open(self, path: str | Path) -> bool:
        """Open ``path``: True when it was applied, or when its corrected landmarks are being
        applied on the worker (:attr:`finished` then tells how it ended); False, after one
        message, when it was refused and nothing changed."""
        try:
            if self.busy:
                raise NeedlesimError(f"{path}: not opened: another session is still being opened")
            data = read_session(path)
            if data.landmarks is not None:
                self._start(data)
                return True
            scene = session_scene(data, self._loader())
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            self.finished.emit(False)
            return False
        self._apply(scene, data)
        return True

    def _loader(self):
        """A ``load(source) -> Scene`` for :func:`session_scene` that touches nothing of the
        window (it may run on the worker): the scene shown if it is that (uncorrected) one,
        else the window's scene loader."""
        from ..core.io.builtin import builtin_scene_dir

        s, read = self.window.session, self.window.scene_loader
        shown_source, shown = (s.scene_source, s.scene) if s.scene_base is None else (None, None)

        def load(source: str) -> Scene:
            if source == shown_source:
                return shown
            return read(builtin_scene_dir() if source == "builtin" else source)

        return load

    def _start(self, data: SessionData) -> None:
        from ..core.needle.engine import get_engine

        load = self._loader()

        def work(report):
            def tell(fraction: float, message: str) -> None:
                if self._cancel.is_set():
                    raise RebuildCancelled("opening the session cancelled: nothing changed")
                report(fraction, message)

            tell(0.0, "reading the scene")
            scene = session_scene(data, load, progress=tell)
            tell(1.0, "preparing the ray casting")
            get_engine(scene, backend=data.backend, needle_diameter_mm=data.trajectory.needle_diameter_mm,
                       margin_mm=data.margin_mm)  # warm the cache, off the GUI thread
            return scene, data

        self._cancel.clear()
        self._name = f"Opening {Path(data.path).name}"
        self.dialog = QProgressDialog(f"{self._name}: applying its corrected landmarks…",
                                      "Cancel", 0, 1000, self.window)
        self.dialog.setWindowTitle("Open session")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)  # the state cannot change meanwhile
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumDuration(0)
        self.dialog.canceled.connect(self.cancel)
        self.dialog.show()
        self.job = submit_with_progress(work, self._on_done, self._on_failed, self._on_progress)

    def cancel(self) -> None:
        """Stop the opening at its next step; nothing changes."""
        if self.job is not None:
            self._cancel.set()
            if self.dialog is not None:
                self.dialog.setLabelText("Cancelling…")

    def close(self) -> None:
        """The window is closing: cancel, and apply nothing when the worker ends."""
        self._closed = True
        self.cancel()
        self._end_dialog()

    def _on_progress(self, fraction: float, message: str) -> None:
        dialog = self.dialog
        if dialog is not None and not self._cancel.is_set():
            # the label first: a modal dialog's setValue runs the event loop, where the job's
            # end (queued behind this report) can close the dialog
            dialog.setLabelText(f"{self._name}: {message}…")
            dialog.setValue(int(round(1000 * fraction)))

    def _on_done(self, result) -> None:
        self.job = None
        self._end_dialog()
        if self._closed:
            return
        if self._cancel.is_set():  # the cancel came after the last step
            self._on_failed("opening the session cancelled: nothing changed")
            return
        self._apply(*result)
        self.window.statusBar().showMessage("Session opened on its corrected landmarks", 10000)

    def _on_failed(self, message: str) -> None:
        self.job = None
        self._end_dialog()
        if self._closed:
            return
        self.window.show_error(message, box=not self._cancel.is_set())
        self.finished.emit(False)

    def _end_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _apply(self, scene: Scene, data: SessionData) -> None:
        w = self.window
        w.session.apply_session(scene, data)
        if data.camera:
            w.view.set_camera_state(data.camera)
            w.request_render()
        w._add_recent(data.path)  # noqa: SLF001 (the window's own helper)
        self.finished.emit(True)
