"""Start the desktop app: ``needlesim`` with no arguments, or ``needlesim app``."""

from __future__ import annotations

import sys
from pathlib import Path


def run(scene: Path | None = None, session_file: Path | None = None, *, screenshot: Path | None = None) -> int:
    """Open the main window on ``scene`` (default: the built-in scene). With
    ``screenshot``, render once, save the window to that PNG and quit (for docs and CI)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ..core.io.builtin import load_builtin_scene
    from ..core.errors import NeedlesimError
    from ..core.io.manifest import load_scene
    from ..session import Session
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("needlesim")
    app.setOrganizationName("needlesim")
    try:
        loaded = load_builtin_scene() if scene is None else load_scene(scene)
    except NeedlesimError as exc:
        QMessageBox.critical(None, "needlesim", f"Cannot open the scene:\n{exc}")
        print(f"needlesim: error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(Session(loaded, scene_source="builtin" if scene is None else str(scene)))
    if session_file is not None:
        window.open_session(session_file)
    window.show()
    if screenshot is not None:
        def grab() -> None:
            window.plotter.render()
            app.processEvents()
            window.grab().save(str(screenshot))
            window.close()
        QTimer.singleShot(1500, grab)
    return app.exec()
