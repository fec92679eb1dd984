"""Screenshots of the real main window for the README and the docs (run under a display:
``xvfb-run -a -s "-screen 0 1600x1000x24" python3 scripts/screenshots.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOTS = {
    "app_safe.png": dict(entry="left-entry", lateral_deg=30.0, inferior_deg=22.5, depth_mm=60.0, view="oblique"),
    "app_danger.png": dict(entry="left-entry", lateral_deg=-46.0, inferior_deg=18.0, depth_mm=80.0, view="posterior"),
}


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from needlesim.core.io.builtin import load_builtin_scene
    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session

    app = QApplication.instance() or QApplication([])
    settings = QSettings("/tmp/needlesim-shots.ini", QSettings.Format.IniFormat)
    settings.clear()  # the default layout, not one left by an earlier run
    window = MainWindow(Session(load_builtin_scene()), settings=settings, notify=print)
    window.resize(1600, 960)
    window.show()
    for name, spec in SHOTS.items():
        spec = dict(spec)
        view = spec.pop("view")
        window.session.update(**spec)
        window.set_view(view)
        window.view.set_interactive(False)
        for _ in range(5):
            app.processEvents()
        window.plotter.render()
        app.processEvents()
        window.grab().save(str(ROOT / "docs" / "images" / name))
        print("wrote", name)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
