"""Screenshots of practice mode, run as a trainee would (under a display:
``xvfb-run -a -s "-screen 0 1700x1000x24" python3 scripts/practice_screenshots.py``): an
exercise with the answer hidden after one fluoroscopy shot, the same attempt submitted
and scored with the envelope's aim beside it, a tremor attempt, a whole harvest, and the
progress view.
The practice log is a temporary file (``NEEDLESIM_PRACTICE_DB``), not the user's."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT / "scripts"))
from teaching_screenshots import settle  # noqa: E402


def left_rng():
    import numpy as np

    seed = next(s for s in range(50) if np.random.default_rng(s).integers(2) == 0)
    return np.random.default_rng(seed)


def attempt(app, w, panel, aim, *, shots=0, shoot=None):
    """Pick the skin over the PSIS, set the angles and depth, take shots, submit."""
    from needlesim.core.api import check
    from needlesim.core.model.trajectory import Trajectory

    ex = panel.practice.exercise
    lat, inf, depth, skin_offset_mm = aim
    guide = check(w.session.scene, Trajectory(f"{ex.side.value}-entry", lat, inf, depth)).evaluation
    x, y, z = guide.skin_puncture
    w.session.update(lateral_deg=lat, inferior_deg=inf)
    w.handle_pick((x + skin_offset_mm, y, z + skin_offset_mm), "skin")  # the trainee's puncture, a little off
    w.session.update(depth_mm=depth)
    for _ in range(shots):
        panel.take_shot()
    settle(app, w)
    if shoot is not None:
        w.grab().save(str(OUT / shoot))
    panel.submit()
    settle(app, w)


def main() -> int:
    from PySide6.QtCore import QSettings, QThreadPool
    from PySide6.QtWidgets import QApplication

    os.environ["NEEDLESIM_PRACTICE_DB"] = str(Path(tempfile.mkdtemp()) / "practice.sqlite")
    from needlesim.core.io.builtin import load_builtin_scene
    from needlesim.core.model.scene import Side
    from needlesim.gui.main_window import MainWindow
    from needlesim.session import Session
    from needlesim.teaching.exercise import Exercise, Level

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "shots.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Session(load_builtin_scene()), settings=settings, notify=print)
    w.resize(1700, 1000)
    w.show()
    t, p = w.teaching, w.teaching.practice_panel
    p.rng = left_rng()
    t.show("practice")
    p.level.setCurrentText("built-in")
    # 1. a first, too medial and too deep attempt: hidden, after one shot; then scored
    p.new_exercise()
    settle(app, w)
    w.grab().save(str(OUT / "practice_new.png"))
    attempt(app, w, p, (2.0, 12.0, 78.0, 4.0), shots=1, shoot="practice_hidden.png")
    w.grab().save(str(OUT / "practice_scored.png"))
    print("\n".join(p.practice.result.lines()))
    # 2-3. better attempts
    for aim in ((22.0, 16.0, 66.0, 3.0), (29.0, 21.0, 59.0, 1.0)):
        p.new_exercise()
        settle(app, w)
        attempt(app, w, p, aim)
    # 4. with tremor (the built-in pelvis here, to keep the script quick)
    ex = Exercise("tremor-demo", Level.TREMOR, Side.LEFT, tremor=True)
    p._start(ex, w.session.scene)
    attempt(app, w, p, (30.0, 22.5, 60.0, 0.0))
    w.grab().save(str(OUT / "practice_tremor.png"))
    print("\n".join(p.practice.result.lines()))
    # 5. a whole harvest: two sites, three passes each, from the envelope's aim
    w.session.update(entry="left-entry", lateral_deg=30.0, inferior_deg=22.5, depth_mm=60.0)
    t.show("harvest")
    t.harvest_panel.plan_from_aim()
    t.harvest_panel.table.selectRow(1)  # a pass selected: its aim in the editor, to redirect or remove
    w.set_view("oblique")
    settle(app, w)
    w.grab().save(str(OUT / "practice_harvest.png"))
    print(t.harvest_panel.result.words())
    d = p.show_progress()
    d.resize(760, 560)
    settle(app, w)
    app.processEvents()
    d.grab().save(str(OUT / "practice_progress.png"))
    d.close()
    QThreadPool.globalInstance().waitForDone(60000)
    w.close()
    print("wrote practice_new, practice_hidden, practice_scored, practice_tremor, practice_harvest, practice_progress .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
