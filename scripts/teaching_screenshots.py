"""Screenshots of the teaching modes for the README (run under a display:
``xvfb-run -a -s "-screen 0 1700x1000x24" python3 scripts/teaching_screenshots.py``): a
scenario with playback paused at its first event, the comparison, the risk map and the
fluoroscope; plus the image strip and the plan card of the Nam scenario."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"


def settle(app, window, rounds: int = 5) -> None:
    """Finish the worker jobs, then a few event-loop passes (as scripts/screenshots.py does:
    spinning processEvents for long trips a PySide6 reference-count crash in the app)."""
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(60000)
    for _ in range(rounds):
        app.processEvents()
    window.view.set_interactive(False)
    window.plotter.render()
    app.processEvents()


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from needlesim.core.io.builtin import load_builtin_scene
    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session
    from PySide6.QtCore import QThreadPool

    app = QApplication.instance() or QApplication([])
    import tempfile
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "shots.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Session(load_builtin_scene()), settings=settings, notify=print)
    w.resize(1700, 1000)
    w.show()
    t = w.teaching
    # 1. a scenario, played until it pauses at its first event
    t.actions.open_scenario("nam2019-left-s2")
    settle(app, w)
    t.show("playback")
    p = t.playback_panel
    p.seek(0.0)
    p.play_button.setChecked(True)
    while p.play_button.isChecked():
        p._on_tick(0.2)
    p.play_button.setChecked(True)
    while p.play_button.isChecked():  # on to the second pause: the S2 root
        p._on_tick(0.2)
    settle(app, w)
    w.grab().save(str(OUT / "teaching_playback.png"))
    # 2. the comparison: the envelope centre saved, the Nam aim compared against it
    t.actions.open_scenario("envelope-centre-left")
    settle(app, w)
    w.session.save_current("envelope centre")
    t.actions.open_scenario("nam2019-left-s2")
    w.session.set_compare("envelope centre")
    settle(app, w)
    w.grab().save(str(OUT / "teaching_compare.png"))
    # 3. the risk map and 4. the fluoroscope
    t.show("map")
    settle(app, w, 8)
    w.grab().save(str(OUT / "teaching_map.png"))
    t.show("fluoro")
    t.fluoro_panel.view_box.setCurrentText("oblique")
    settle(app, w, 8)
    w.grab().save(str(OUT / "teaching_fluoro.png"))
    QThreadPool.globalInstance().waitForDone(60000)
    w.close()
    print("wrote", ", ".join(f"teaching_{n}.png" for n in ("playback", "compare", "map", "fluoro")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
