"""Screenshots of File > Import pelvis and of the landmark review dock for docs/anatomy.md
(run under a display: ``xvfb-run -a -s "-screen 0 1700x1000x24" python3
scripts/import_review_screenshots.py``): the dialog importing the built-in bones as a
labelled-mesh folder, caught while it builds the anatomy (then cancelled), and the dock on the
built-in scene with a low-confidence landmark selected and moved along the bone."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"
BONES = ("sacrum", "coccyx", *(f"{s}_{p}" for s in ("left", "right") for p in ("ilium", "ischium", "pubis")))


def spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    import numpy as np
    from PySide6.QtCore import QSettings, Qt, QThreadPool
    from PySide6.QtWidgets import QApplication

    from needlesim.core.io.builtin import builtin_scene_dir, load_builtin_scene
    from needlesim.gui.import_dialog import open_import_dialog
    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    settings = QSettings(str(tmp / "shots.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Session(load_builtin_scene()), settings=settings, notify=print)
    w.resize(1700, 1000)
    w.show()
    spin(app, 1.0)
    # 1. the import dialog, mid-import
    folder = tmp / "segmentations"
    folder.mkdir()
    for name in BONES:
        shutil.copy(builtin_scene_dir() / f"{name}.ply", folder / f"{name}.ply")
    d = open_import_dialog(w)
    d.kind.setCurrentIndex(1)
    d.source.setText(str(folder))
    d.output.setText(str(tmp / "patient-07"))
    d.name.setText("patient 07")
    d.start()
    while "building" not in d.stage.text() and d.running:
        spin(app, 0.1)
    spin(app, 2.0)
    d.grab().save(str(OUT / "import_dialog.png"))
    d.cancel()
    QThreadPool.globalInstance().waitForDone(120000)
    spin(app, 0.5)
    # 2. the landmark dock: a low-confidence landmark selected and moved 4 mm along the bone
    dock = w.landmark_dock
    dock.show()
    dock.raise_()
    panel = dock.widget()
    w.resizeDocks([dock], [560], Qt.Orientation.Vertical)
    spin(app, 0.5)
    name = "left-si-joint-posterior"
    panel.select(name)
    panel.move(name, panel.review.points[name] + np.array([0.0, -2.0, 4.0]))
    w.labels_action.setChecked(True)
    w.set_view("posterior")
    cam = w.plotter.camera
    cam.zoom(1.6)
    spin(app, 1.0)
    w.plotter.render()
    spin(app, 0.5)
    w.grab().save(str(OUT / "landmark_review.png"))
    QThreadPool.globalInstance().waitForDone(60000)
    w.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print("wrote import_dialog.png, landmark_review.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
