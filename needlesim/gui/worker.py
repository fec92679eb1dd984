"""Work that takes long enough to freeze the window (reading a scene, building its ray-
casting structures) runs here, on a thread pool; results come back as Qt signals on the
GUI thread."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import NeedlesimError


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class Job(QRunnable):
    """Runs ``fn()``; emits ``signals.done(result)`` or ``signals.failed(message)``.
    Only :class:`NeedlesimError` becomes a message: anything else is a bug and is raised."""

    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except NeedlesimError as exc:
            self.signals.failed.emit(str(exc))
            return
        self.signals.done.emit(result)


def submit(fn: Callable[[], object], on_done: Callable[[object], None], on_failed: Callable[[str], None]) -> Job:
    job = Job(fn)
    job.setAutoDelete(False)
    job.signals.done.connect(on_done)
    job.signals.failed.connect(on_failed)
    QThreadPool.globalInstance().start(job)
    return job
