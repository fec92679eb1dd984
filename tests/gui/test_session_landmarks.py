"""A session saved after Rebuild in the Landmarks dock reopens, in a fresh window, on the same
corrected landmarks and scene source; the landmarks are applied on the worker and the window
keeps its state until the whole session is ready (a bad landmark: one message, nothing changed).

The fast tests use the analytic scene, on which the dock's real rebuild cannot run (it lacks the
landmarks the anatomy needs): its ``LandmarkReview.rebuild`` is replaced by one that only takes
the moved points. The slow test runs the real rebuild on the built-in scene."""

from __future__ import annotations

import json

import numpy as np
import pytest

from needlesim.session import CORRECTED
from tests.gui.conftest import landmark_panel as _panel


def _rebuild(panel, qtbot, timeout):
    with qtbot.waitSignal(panel.rebuilt, timeout=timeout) as rebuilt:
        assert panel.rebuild() is not None
    assert rebuilt.args[0] is not None, panel.window.errors
    return rebuilt.args[0]


def _open(window, qtbot, path, timeout):
    """Open ``path``; (whether it was taken, whether the opening ended well)."""
    with qtbot.waitSignal(window.session_opener.finished, timeout=timeout) as finished:
        taken = window.open_session(path)
    return taken, finished.args[0]


@pytest.fixture()
def quick_rebuild(monkeypatch):
    from needlesim.anatomy.review_model import LandmarkReview

    monkeypatch.setattr(LandmarkReview, "rebuild", lambda self, **_: self.scene.with_landmarks(self.points))


def test_a_rebuilt_session_reopens_on_its_corrected_landmarks(make_window, qtbot, tmp_path, quick_rebuild):
    w = make_window()
    panel = _panel(w, qtbot)
    panel.move("left-psis", np.array([10.0, 5.0, 3.0]))  # behind the slab: onto its back face
    _rebuild(panel, qtbot, 10_000)
    assert w.session.scene_source == "analytic" + CORRECTED
    assert np.allclose(w.session.scene.landmarks["left-psis"], [10.0, 20.0, 3.0])
    w.session.update(lateral_deg=12.0)
    path = tmp_path / "s.json"
    assert w.save_session(path)
    assert json.loads(path.read_text())["scene"] == "analytic"

    w2 = make_window()
    before = w2.session.scene
    assert np.allclose(before.landmarks["left-psis"], [0.0, 20.0, 0.0])
    taken, ok = _open(w2, qtbot, path, 20_000)
    assert taken and ok, w2.errors
    s2 = w2.session
    assert s2.scene is not before and s2.scene_source == w.session.scene_source
    assert {k: list(v) for k, v in s2.scene.landmarks.items()} == {k: list(v) for k, v in w.session.scene.landmarks.items()}
    assert s2.trajectory == w.session.trajectory and s2.report.evaluation.trajectory == s2.trajectory
    assert CORRECTED.strip() in w2.windowTitle()
    # saved again from the reopened window: the same file contents, the base source kept
    assert w2.save_session(tmp_path / "t.json")
    a, b = json.loads(path.read_text()), json.loads((tmp_path / "t.json").read_text())
    assert a["scene"] == b["scene"] == "analytic" and a["landmarks"] == b["landmarks"]


def test_a_bad_landmark_in_a_session_changes_nothing(make_window, qtbot, tmp_path, quick_rebuild):
    w = make_window()
    panel = _panel(w, qtbot)
    panel.move("left-psis", np.array([10.0, 5.0, 3.0]))
    _rebuild(panel, qtbot, 10_000)
    path = tmp_path / "far.json"
    assert w.save_session(path)
    doc = json.loads(path.read_text())
    doc["landmarks"]["left-psis"] = [0.0, 30.0, 900.0]  # 800 mm above the slab
    path.write_text(json.dumps(doc))

    w2 = make_window()
    w2.session.update(lateral_deg=-10.0)
    s = w2.session
    state = (s.scene, s.scene_source, s.trajectory, s.report)
    taken, ok = _open(w2, qtbot, path, 20_000)
    assert not ok
    assert (s.scene, s.scene_source, s.trajectory, s.report) == state
    assert len(w2.boxes) == 1 and "far.json" in w2.boxes[0] and "left-psis 800 mm" in w2.boxes[0]
    assert "\n" not in w2.boxes[0]


@pytest.mark.slow
def test_a_session_rebuilt_on_the_builtin_scene_reopens_on_the_same_anatomy(make_window, qtbot, tmp_path):
    """Move the left sciatic notch's top 6 mm down, rebuild, save; a fresh window (on the analytic
    scene) opens the session: the built-in scene is read from its folder and rebuilt on the saved
    landmarks on the worker (the window unchanged until it is ready), giving the same landmarks,
    the same source and the same rebuilt artery; a cancelled opening changes nothing."""
    from needlesim.core.io.builtin import load_builtin_scene

    w = make_window(load_builtin_scene(), source="builtin")
    panel = _panel(w, qtbot)
    name = "left-sciatic-notch-top"
    panel.select(name)
    panel.move(name, panel.review.points[name] + [0.0, 0.0, -6.0])
    after = _rebuild(panel, qtbot, 600_000)
    assert w.session.scene_source == "builtin" + CORRECTED
    path = tmp_path / "rebuilt.json"
    assert w.save_session(path)

    w2 = make_window()
    s = w2.session
    state = (s.scene, s.scene_source, s.trajectory)
    with qtbot.waitSignal(w2.session_opener.finished, timeout=600_000) as cancelled:
        assert w2.open_session(path)
        assert (s.scene, s.scene_source, s.trajectory) == state  # nothing yet: the rebuild runs
        qtbot.waitUntil(lambda: w2.session_opener.dialog.value() > 0, timeout=120_000)
        w2.session_opener.cancel()
    assert cancelled.args[0] is False and (s.scene, s.scene_source, s.trajectory) == state
    assert not w2.boxes and "cancelled" in w2.errors[-1]  # a cancel is no error box
    taken, ok = _open(w2, qtbot, path, 600_000)
    assert taken and ok, w2.errors
    assert s.scene_source == "builtin" + CORRECTED and s.trajectory == w.session.trajectory
    assert set(s.scene.landmarks) == set(after.landmarks)
    for k, p in after.landmarks.items():
        assert np.allclose(s.scene.landmarks[k], p, atol=1e-9), k
    artery = "left superior gluteal artery"
    assert np.allclose(s.scene[artery].mesh.vertices, after[artery].mesh.vertices, atol=1e-3)
    # the reopened Landmarks dock shows the search's confidence the review kept, not 1 everywhere
    from needlesim.anatomy.review_model import scene_confidence

    kept, reopened = scene_confidence(after)[0], scene_confidence(s.scene)[0]
    assert reopened == pytest.approx(kept) and min(kept.values()) < 1.0


def test_a_progress_report_overtaken_by_the_end_of_the_job_is_dropped(make_window, qtbot):
    """The worker's last progress report and its result are both queued. A modal progress
    dialog's ``setValue`` runs the event loop, so the result can end the dialog in the middle
    of the report (CI: "'NoneType' object has no attribute 'setLabelText'")."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QProgressDialog

    w = make_window()
    opener = w.session_opener
    opener._name = "Opening s.json"
    opener.dialog = QProgressDialog("opening", "Cancel", 0, 1000, w)
    opener.dialog.setWindowModality(Qt.WindowModality.WindowModal)
    opener.dialog.setMinimumDuration(0)
    opener.dialog.canceled.connect(opener.cancel)
    opener.dialog.show()
    qtbot.waitExposed(opener.dialog)
    opener._on_progress(0.25, "reading the scene")
    QTimer.singleShot(0, opener._end_dialog)  # the job's end, queued behind the report
    opener._on_progress(0.5, "building the roots")
    assert opener.dialog is None
