"""Small Qt helpers."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from PySide6.QtCore import QObject


@contextmanager
def signals_blocked(*objects: QObject) -> Iterator[None]:
    """Block the signals of ``objects`` while pushing model values into them, so the
    update does not bounce back into the model (napari's ``qt_signals_blocked``)."""
    previous = [o.blockSignals(True) for o in objects]
    try:
        yield
    finally:
        for o, p in zip(objects, previous):
            o.blockSignals(p)


def show_whole_tab_titles(window) -> None:
    """Tabbed docks of ``window`` show their whole titles (scroll arrows when they do not
    fit) rather than elided ones such as "Risk ..." and "Fluoros...". Call after tabifying."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)


def close_interactor(plotter) -> None:
    """Close a pyvistaqt interactor and drop its wrapper of the GL context and surface.

    pyvistaqt 0.13 keeps ``context().surface()`` after ``close()``. That wrapper is not a
    QObject, so PySide never learns that Qt freed the surface, and the next Qt object made at
    the same address is handed the stale wrapper (a window's action came back as a
    ``QSurface``). Forgetting it once the interactor is closed ends that.
    """
    plotter.close()
    forget = getattr(plotter, "_forget_context", None)
    if callable(forget):
        forget()
    else:  # other pyvistaqt versions: the same two attributes, when present
        for name in ("_ctx", "_surface"):
            if hasattr(plotter, name):
                setattr(plotter, name, None)
