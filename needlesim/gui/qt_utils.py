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
