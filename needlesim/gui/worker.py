"""Work that takes long enough to freeze the window (reading a scene, building its ray-
casting structures, importing a pelvis, rebuilding its anatomy) runs here, on a thread pool;
results and progress come back as Qt signals on the GUI thread."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import NeedlesimError


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(float, str)


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


def submit(fn: Callable[[], object], on_done: Callable[[object], None], on_failed: Callable[[str], None], *,
           start: bool = True) -> Job:
    """Run ``fn`` on the thread pool (or, with ``start=False``, return the job to start)."""
    job = Job(fn)
    job.setAutoDelete(False)
    job.signals.done.connect(on_done)
    job.signals.failed.connect(on_failed)
    if start:
        QThreadPool.globalInstance().start(job)
    return job


def submit_with_progress(fn: Callable[[Callable[[float, str], None]], object], on_done: Callable[[object], None],
                         on_failed: Callable[[str], None], on_progress: Callable[[float, str], None]) -> Job:
    """As :func:`submit`, ``fn`` being called with a ``report(fraction, message)`` that it may
    call from the worker thread; each report reaches ``on_progress`` on the GUI thread."""
    holder: list[Job] = []
    job = submit(lambda: fn(holder[0].signals.progress.emit), on_done, on_failed, start=False)
    holder.append(job)
    job.signals.progress.connect(on_progress)
    QThreadPool.globalInstance().start(job)
    return job
