"""Practice mode driven as a trainee would, on the analytic scene (skin from y = -30, a
bone slab y 20-40, a root at x = -40, y = 80 and a vessel): the answer hidden, shots
counted, Submit reveals and scores as the Qt-free layer does, the log and the progress view."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PySide6.QtWidgets import QDockWidget

from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching.practice_log import ENV_VAR
from needlesim.teaching.score import score_attempt

#: From left-psis (0, 20, 0) straight at the root's axis (-40, 80): sin L = 40 / |(40, 60)|.
ROOT_LATERAL = math.degrees(math.asin(40 / math.hypot(40, 60)))
HIDDEN = ("left S2 root", "left gluteal artery")


def sync(fn, done, failed):
    try:
        done(fn())
    except Exception as exc:  # noqa: BLE001
        failed(str(exc))


def left_rng():
    """A generator whose first exercise is on the left (the analytic slab is a left ilium)."""
    seed = next(s for s in range(50) if np.random.default_rng(s).integers(2) == 0)
    return np.random.default_rng(seed)


def docks(w):
    return {d.objectName(): d for d in w.findChildren(QDockWidget)}


def test_an_exercise_hides_the_answer_and_submit_reveals_and_scores(make_window, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "practice.sqlite"))
    w = make_window()
    p = w.teaching.practice_panel
    p._scene_for, p._run, p.rng = (lambda ex: w.session.scene), sync, left_rng()
    w.fluoro_panel._run = sync
    assert docks(w)["risk-dock"].isVisible() and not docks(w)["practice-dock"].isVisible()
    menu = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions()}["Practice"]
    new = next(a for a in menu.actions() if a.text() == "&New exercise")
    new.trigger()
    ex = p.practice.exercise
    assert ex.side.value == "left" and ex.level.value == "built-in" and docks(w)["practice-dock"].isVisible()
    # hidden: the risk panel and the docks that show clearances; the roots and vessels
    for name in ("risk-dock", "structures-dock", "map-dock", "playback-dock", "scenario-dock"):
        assert not docks(w)[name].isVisible(), name
    assert all(not w.view.actors[n].GetVisibility() for n in HIDDEN)
    assert w.view.visible["left ilium"] and w.view.visible["skin"]  # (the skin waits for the aim to rest)
    assert w.session.trajectory == ex.start_trajectory()
    # aim at the root: the needle is grey and its marks are only the skin and bone crossings
    w.session.update(lateral_deg=ROOT_LATERAL, inferior_deg=0.0, depth_mm=140.0)
    ev = w.session.report.evaluation
    assert any(h.structure == "left S2 root" for h in ev.hits)
    shown = [h for h in ev.hits if h.structure not in HIDDEN and 0 <= h.depth_mm <= ev.depth_mm]
    assert w.view._needle["hits"].n_points == len(shown)
    assert not w.view.highlighted  # no structure lit up as near
    for word in ("SAFE", "CAUTION", "DANGER"):
        assert word not in w.status.text().upper()
    # one shot: the radiograph keeps the needle of the shot as the aim moves on
    p.take_shot()
    shot = w.fluoro_panel.shot_report
    assert p.practice.fluoro_shots == 1 and shot is w.session.report and p.shots.text() == "shots: 1"
    w.session.update(depth_mm=130.0)
    assert w.fluoro_panel.shot_report is shot
    # Submit: everything back, the score the Qt-free layer gives, the envelope aim drawn beside
    aim = w.session.trajectory
    p.submit()
    assert not p.hidden and docks(w)["risk-dock"].isVisible()
    assert w.status.text().startswith("DANGER")  # the verdict is back in the status bar
    assert all(w.view.actors[n].GetVisibility() for n in HIDDEN) and w.fluoro_panel.live
    expected = score_attempt(w.session.scene, aim, fluoro_shots=1)
    res = p.practice.result
    assert res.score.total == expected.total and res.score.reasons == expected.reasons
    assert "touches the left S2 root" in p.result.toPlainText()
    assert f"{expected.total:.1f} / 100" in p.title.text()
    assert w.view._needle["compare"].n_points > 0  # the envelope's aim
    assert not p.submit_button.isEnabled() and p.new_button.isEnabled()
    # the log, the progress view and the export
    (row,) = p.log.attempts()
    assert row.score == expected.total and row.fluoro_shots == 1 and row.level == "built-in"
    dialog = p.show_progress()
    (line,) = dialog.figure.axes[0].get_lines()
    assert list(line.get_ydata()) == [expected.total]
    assert "built-in: 1 attempt" in dialog.summary.text()
    dialog.close()
    assert p.export(tmp_path / "out.csv") == 1
    assert len(list(csv.DictReader(open(tmp_path / "out.csv")))) == 1


def test_a_second_exercise_starts_hidden_again_and_a_bad_log_is_reported(make_window, tmp_path, monkeypatch):
    path = tmp_path / "practice.sqlite"
    path.write_bytes(b"garbage" * 50)
    monkeypatch.setenv(ENV_VAR, str(path))
    w = make_window()
    p = w.teaching.practice_panel
    p._scene_for, p._run, p.rng = (lambda ex: w.session.scene), sync, left_rng()
    p.new_exercise("built-in")
    assert any("set-aside" in m and "renamed" in m for m in w.boxes)  # said once, in a box
    p.new_exercise("built-in")  # before submitting: a fresh exercise, still hidden
    assert p.hidden and not docks(w)["risk-dock"].isVisible() and p.practice.fluoro_shots == 0
    p.submit()
    p.new_exercise("built-in")
    assert p.hidden and all(not w.view.actors[n].GetVisibility() for n in HIDDEN)
    assert len(p.log.attempts()) == 1
    assert isinstance(p.practice.exercise.start_trajectory(), Trajectory)


def test_an_individual_that_does_not_build_is_redrawn_then_reported(make_window, tmp_path, monkeypatch):
    from needlesim.anatomy.params import AnatomyError
    from needlesim.gui.practice_dock import BUILD_TRIES

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "practice.sqlite"))
    w = make_window()
    p = w.teaching.practice_panel
    tried = []

    def refuse(ex):
        tried.append(ex.seed)
        raise AnatomyError("the built anatomy failed 1 check(s): left S3 sleeve: overlap")

    p._scene_for, p._run = refuse, sync
    p.new_exercise("small pelvis")
    assert len(tried) == BUILD_TRIES and len(set(tried)) == BUILD_TRIES  # a new individual each time
    assert len(w.boxes) == 1 and "no exercise could be prepared" in w.boxes[0]
    assert p.practice is None and not p.hidden and p.new_button.isEnabled() and not p.submit_button.isEnabled()


def _overlaps(panel):
    """Pairs of the panel's visible widgets (its layout's, in panel coordinates) that overlap."""
    from PySide6.QtWidgets import QWidget

    shown = [c for c in panel.findChildren(QWidget) if c.parent() is panel and c.isVisible()]
    return [(a, b) for i, a in enumerate(shown) for b in shown[i + 1:] if a.geometry().intersects(b.geometry())]


@pytest.mark.parametrize("size", [(1700, 1000), (1280, 800)])
def test_the_score_is_the_last_thing_in_the_dock_and_nothing_overlaps(make_window, tmp_path, monkeypatch, qtbot, size):
    """After Submit the score text runs to the bottom of the dock: the log buttons are not
    under it (where its cut last line looked overlapped by them), no emptied label takes room
    above it, and no two widgets overlap, at the screenshots' size and a laptop's."""
    from needlesim.core.model.scene import Side
    from needlesim.teaching.exercise import Exercise, Level

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "practice.sqlite"))
    w = make_window()
    w.resize(*size)
    p = w.teaching.practice_panel
    p._scene_for, p._run = (lambda ex: w.session.scene), sync
    w.teaching.show("practice")
    p._start(Exercise("tremor-demo", Level.TREMOR, Side.LEFT, tremor=True), w.session.scene)
    assert p.instructions.isVisible() and p.instructions.text()
    w.session.update(lateral_deg=ROOT_LATERAL, inferior_deg=0.0, depth_mm=60.0)
    p.submit()
    qtbot.wait(50)
    assert not _overlaps(p)
    result = p.result.geometry()
    below = [c for c in (p.progress_button, p.export_button, p.new_button, p.submit_button, p.title)
             if c.geometry().top() > result.top()]
    assert not below, [c.text() for c in below]
    assert p.height() - result.bottom() <= p.layout().contentsMargins().bottom() + 2
    assert not p.instructions.isVisible()  # emptied at Submit: its room goes to the score
    assert p.progress_button.isEnabled() and p.export_button.isEnabled()
    p._start(Exercise("tremor-demo-2", Level.TREMOR, Side.LEFT, tremor=True), w.session.scene)
    assert p.instructions.isVisible() and p.instructions.text()  # back for the next exercise
