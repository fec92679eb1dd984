"""The landmark review dock: the list with confidence colours, the points on the bone, a drag
of the handle that keeps the landmark on the bone, Slicer markups save/load, and Rebuild on
a worker thread (cancel leaves the scene; a moved landmark moves what is built on it).

The fast tests use the analytic scene (a slab bone y in [20, 40], ``left-psis`` and
``right-psis`` on its back at (0, 20, 0)): a drag's answer is the nearest point of the slab, known exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from needlesim.core.io import markups
from tests.gui.conftest import landmark_panel as _panel


def _drag(panel, point) -> None:
    """Move the handle to ``point`` and release it, as VTK does at the end of a drag."""
    panel.handle.SetCenter(*map(float, point))
    panel.handle.InvokeEvent("EndInteractionEvent")


def test_dragging_the_handle_slides_the_landmark_along_the_bone(make_window, qtbot):
    w = make_window()
    panel = _panel(w, qtbot)
    names = [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())]
    assert names == ["left-psis", "right-psis"]
    assert panel.marks.shown and w.plotter.actors.get("landmark-review") is not None
    assert panel.handle is None  # no handle until a landmark is selected
    panel.select("left-psis")
    assert np.allclose(panel.handle.GetCenter(), [0.0, 20.0, 0.0])
    moved = []
    panel.landmarkMoved.connect(lambda name, p: moved.append((name, p)))
    _drag(panel, [10.0, 5.0, 3.0])  # off the bone, behind it: back onto the slab's back face
    assert moved and moved[-1][0] == "left-psis" and np.allclose(moved[-1][1], [10.0, 20.0, 3.0])
    _drag(panel, [-20.0, 27.0, 8.0])  # into the bone: out to the nearest face (y = 20, 7 mm away)
    assert np.allclose(panel.review.points["left-psis"], [-20.0, 20.0, 8.0])
    assert np.allclose(panel.handle.GetCenter(), [-20.0, 20.0, 8.0])  # the handle follows the landmark
    assert panel.table.item(0, 2).text() == f"{np.hypot(20.0, 8.0):.1f} mm"
    assert "1 moved" in panel.summary.text()
    assert np.allclose(w.session.scene.landmarks["left-psis"], [0.0, 20.0, 0.0])  # the scene waits for Rebuild
    panel.reset()
    assert panel.table.item(0, 2).text() == "" and np.allclose(panel.review.points["left-psis"], [0.0, 20.0, 0.0])


def test_save_and_load_round_trip_and_low_confidence_is_coloured(make_window, qtbot, tmp_path):
    from needlesim.gui.landmark_dock import ROW_COLORS
    from needlesim.anatomy.review_model import Band
    from needlesim.viz.review_marks import BAND_COLORS, band_rgb

    w = make_window()
    panel = _panel(w, qtbot)
    panel.select("left-psis")
    _drag(panel, [30.0, 0.0, -12.0])
    path = tmp_path / "corrected.mrk.json"
    assert panel.save(path)
    cp = json.loads(path.read_text())["markups"][0]["controlPoints"]
    assert [(c["label"], c["description"]) for c in cp] == [("left-psis", "confidence=1.00"),
                                                             ("right-psis", "confidence=1.00")]
    assert np.allclose(cp[0]["position"], [30.0, 20.0, -12.0])
    panel.reset()
    assert panel.load(path)
    assert np.allclose(panel.review.points["left-psis"], [30.0, 20.0, -12.0])
    assert panel.table.item(0, 2).text() == f"{np.hypot(30.0, 12.0):.1f} mm"
    # a file from Slicer (LPS) giving the point a low confidence: the row and the point turn red
    doubt = markups.write_points(tmp_path / "doubt.mrk.json", {"left-psis": np.array([5.0, 20.0, 5.0])},
                                 descriptions={"left-psis": "confidence=0.31"})
    assert panel.load(doubt)
    assert panel.table.item(0, 1).text() == "0.31"
    assert panel.table.item(0, 0).background().color().name() == ROW_COLORS[Band.DOUBTFUL]
    drawn = w.plotter.actors["landmark-review"].mapper.dataset
    colours = drawn.point_data[drawn.point_data.keys()[0]]
    assert np.array_equal(colours, band_rgb(["doubtful", "ok"])) and BAND_COLORS["doubtful"] == "#d7263d"


def test_a_bad_file_or_a_failed_rebuild_is_shown_and_nothing_changes(make_window, qtbot, tmp_path):
    w = make_window()
    scene = w.session.scene
    panel = _panel(w, qtbot)
    far = markups.write_points(tmp_path / "far.mrk.json", {"left-psis": np.array([0.0, 20.0, 900.0])})
    assert not panel.load(far)
    assert "left-psis lies 800 mm from every bone" in w.boxes[-1]
    assert np.allclose(panel.review.points["left-psis"], [0.0, 20.0, 0.0])
    with qtbot.waitSignal(panel.rebuilt, timeout=60_000) as rebuilt:
        assert panel.rebuild() is not None
    assert rebuilt.args[0] is None and w.session.scene is scene
    assert "left-asis" in w.boxes[-1]  # the analytic scene lacks the landmarks the anatomy needs
    assert panel.rebuild_button.isEnabled() and not panel.progress.isVisible()


@pytest.mark.slow
def test_a_moved_landmark_rebuilds_what_is_built_on_it(make_window, qtbot):
    """The left sciatic notch's top moved 6 mm down along the bone: cancelled, nothing changes;
    rebuilt, the left superior gluteal artery (which leaves below the notch's top) follows it,
    the right one stays close to where it was and the dural sac (built on the sacrum) is the same."""
    from needlesim.core.io.builtin import load_builtin_scene

    w = make_window(load_builtin_scene())
    before = w.session.scene
    panel = _panel(w, qtbot)
    name = "left-sciatic-notch-top"
    panel.select(name)
    start = panel.review.points[name].copy()
    _drag(panel, start + [0.0, 0.0, -6.0])
    shift = panel.review.points[name] - start
    assert shift[2] == pytest.approx(-6.0, abs=0.5)
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000) as cancelled:
        panel.rebuild()
        panel.cancel_button.click()
    assert cancelled.args[0] is None and w.session.scene is before
    assert "rebuild cancelled" in w.errors[-1] and not w.boxes  # a cancel is no error box
    with qtbot.waitSignal(panel.rebuilt, timeout=600_000) as rebuilt:
        panel.rebuild()
        qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60_000)  # progress is shown
    after = rebuilt.args[0]
    assert after is not None and w.session.scene is after, w.errors
    assert w.session.scene_source.endswith("(landmarks corrected)")
    assert np.allclose(after.landmarks[name], start + shift, atol=1e-3)
    # the superior gluteal artery leaves the pelvis just below the notch's top: it follows it
    left = after["left superior gluteal artery"].mesh.centroid - before["left superior gluteal artery"].mesh.centroid
    right = after["right superior gluteal artery"].mesh.centroid - before["right superior gluteal artery"].mesh.centroid
    assert left[2] < shift[2] / 4  # measured: -2.3 mm for a 6.1 mm move down
    assert np.linalg.norm(right) < abs(left[2]) / 2  # the other side: 0.7 mm, the free-space grid spans both notches
    assert np.allclose(after["dural sac"].mesh.vertices, before["dural sac"].mesh.vertices, atol=1e-4)  # PLY float32
    assert panel.review.moved == [] and panel.review.confidence[name] == 1.0  # the new scene's own record
