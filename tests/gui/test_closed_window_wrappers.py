"""A closed window leaves no Python wrapper of its GL surface behind.

pyvistaqt's interactor keeps ``context().surface()`` after ``close()``. That wrapper is not a
QObject, so PySide never learns that Qt freed the surface, and the next Qt object built at the
same address is handed the stale wrapper: CI once built a window whose legend action came
back as a ``QSurface`` ("'QSurface' object has no attribute 'setText'").
"""

from __future__ import annotations

import gc


def _plain_surfaces():
    from PySide6.QtGui import QSurface

    return [o for o in gc.get_objects() if type(o) is QSurface]


def test_closing_the_window_drops_its_gl_surface_wrapper(make_window, qtbot):
    from PySide6.QtWidgets import QApplication

    w = make_window()
    qtbot.waitUntil(lambda: w.plotter.context() is not None and w.plotter.context().isValid(), timeout=5000)
    w.plotter.render()
    QApplication.processEvents()
    w.close()
    QApplication.processEvents()
    assert _plain_surfaces() == []


def test_a_second_window_builds_after_the_first_is_closed(make_window, qtbot):
    """The sequence CI failed on: a window built after another was closed gets real actions."""
    from PySide6.QtGui import QAction

    first = make_window()
    first.close()
    second = make_window()
    acts = [a for a in second.menuBar().actions()]
    assert acts and all(isinstance(a, QAction) for a in acts)
    assert second.legend.toggleViewAction().text() == "Le&gend"
