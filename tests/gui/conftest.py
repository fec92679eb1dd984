"""GUI fixtures: a main window on a small analytic scene, isolated settings, and a check
that no window or plotter outlives its test (pyvistaqt's ``check_gc``, MNE's
``qt_windows_closed``)."""

from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def _display():
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        pytest.skip("GUI tests need a display: install Xvfb (apt install xvfb) so pytest-xvfb can start one")


@pytest.fixture()
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture()
def make_window(qtbot, settings, analytic_scene):
    """Build main windows; every one is closed and checked for leaks afterwards."""
    import pyvista.plotting.plotter as pv_plotter
    from PySide6.QtWidgets import QApplication

    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session

    made = []

    def make(scene=None, source="analytic", **kwargs):
        errors: list[str] = []  # every message shown (status bar, panel or box)
        boxes: list[str] = []   # the ones shown in a message box
        w = MainWindow(Session(scene or analytic_scene, scene_source=source), settings=settings,
                       notify=boxes.append, **kwargs)
        w.messageShown.connect(errors.append)
        w.errors, w.boxes = errors, boxes
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
    QApplication.processEvents()
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not visible, f"windows left open: {visible}"
    alive = [p for p in pv_plotter._ALL_PLOTTERS.values() if not getattr(p, "_closed", True)]
    assert not alive, f"plotters left open: {alive}"
    import gc

    from PySide6.QtGui import QSurface

    stale = [o for o in gc.get_objects() if type(o) is QSurface]
    assert not stale, f"GL surface wrappers outlive their window: {stale}"


def landmark_panel(window, qtbot):
    """The Landmarks dock's panel of ``window``, shown and holding its review."""
    dock = window.landmark_dock
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: dock.widget().active and dock.widget().review is not None, timeout=10_000)
    return dock.widget()
