"""The main window, driven as a user would: every binding both ways, picking, undo,
sessions, exports and bad input (which must keep the state)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from needlesim.core.verdict.risk import Verdict
from tests.conftest import R8G


def test_sliders_write_the_session_and_the_risk_panel_follows(make_window):
    w = make_window()
    tp, s = w.trajectory_panel, w.session
    tp.lateral.spin.setValue(12.5)
    assert s.trajectory.lateral_deg == 12.5
    tp.inferior.slider.setValue(-35)  # slider units are 0.1 deg
    assert s.trajectory.inferior_deg == pytest.approx(-3.5)
    tp.depth.spin.setValue(75.0)
    assert s.trajectory.depth_mm == 75.0
    # model -> widgets
    s.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=75.0)
    assert tp.lateral.value() == 0.0 and tp.lateral.slider.value() == 0
    assert tp.projected.text().startswith("On images: axial 0.0°, sagittal 0.0°")
    # the risk panel shows the verdict and reasons of the session's report
    assert s.report.verdict is Verdict.DANGER
    assert w.risk_panel.banner.text() == "DANGER"
    assert "leaves the left ilium through its cortex at 70.0 mm" in w.risk_panel.reasons.text()
    assert w.risk_panel.clearances.rowCount() == len(s.scene.critical)
    s.update(depth_mm=60.0)
    assert w.risk_panel.banner.text() == "CAUTION"  # outside the envelope's angles, no breach


def test_envelope_band_is_drawn_on_the_sliders(make_window):
    w = make_window()
    assert w.trajectory_panel.lateral.slider.band == (250, 350)   # 25-35 deg in 0.1 deg units
    assert w.trajectory_panel.inferior.slider.band == (200, 250)
    w.session.set_settings(envelope="kitchel")
    assert w.trajectory_panel.lateral.slider.band == (350, 450)


def test_side_and_entry_controls(make_window):
    w = make_window()
    tp, s = w.trajectory_panel, w.session
    tp.side.setCurrentText("right")
    assert s.trajectory.side.value == "right" and s.trajectory.entry == "right-psis"
    tp.entry.setCurrentText("left-psis")
    assert s.trajectory.entry == "left-psis" and s.trajectory.side.value == "left"
    assert tp.side.currentText() == "left"


def test_bad_value_keeps_the_state_and_says_why(make_window):
    w = make_window()
    before = w.session.trajectory
    assert not w.session.update(lateral_deg=80.0, inferior_deg=80.0)
    assert w.session.trajectory == before
    assert w.errors and "anterior" in w.errors[-1]


def test_pick_on_bone_skin_miss_and_lock(make_window):
    w = make_window()
    s = w.session
    assert w.handle_pick(np.array([-20.0, 20.0, 5.0]), "left ilium")
    assert s.trajectory.entry == (-20.0, 20.0, 5.0) and s.trajectory.side.value == "left"
    # on the skin: the bone entry is where the current aim from there meets bone
    s.update(lateral_deg=0.0, inferior_deg=0.0)
    assert w.handle_pick(np.array([10.0, -30.0, 0.0]), "skin")
    assert s.trajectory.entry == pytest.approx((10.0, 20.0, 0.0))
    assert s.trajectory.side.value == "right"
    before = s.trajectory
    assert not w.handle_pick(None, None)
    assert "missed" in w.errors[-1] and s.trajectory == before
    s.set_locked(True)
    assert not w.handle_pick(np.array([-20.0, 20.0, 5.0]), "left ilium")
    assert "locked" in w.errors[-1] and s.trajectory == before
    assert not w.trajectory_panel.lateral.isEnabled()


def test_pick_through_the_renderer(make_window, qtbot):
    w = make_window()
    w.set_view("posterior")
    w._arm_pick(True)
    size = w.plotter.window_size
    w.pick_display(size[0] // 2, size[1] // 2)  # the middle of the posterior view: the skin
    entry = w.session.trajectory.entry
    assert isinstance(entry, tuple), w.errors
    assert entry[1] == pytest.approx(20.0)  # the bone behind the skin along the aim: the slab's back


def test_undo_redo(make_window):
    w = make_window()
    s = w.session
    s.update(lateral_deg=10.0)
    s.update(lateral_deg=20.0)
    w.undo_action.trigger()
    assert s.trajectory.lateral_deg == 10.0 and w.trajectory_panel.lateral.value() == 10.0
    w.undo_action.trigger()
    assert s.trajectory.lateral_deg == 30.0
    assert not w.undo_action.isEnabled()
    w.redo_action.trigger()
    assert s.trajectory.lateral_deg == 10.0


def test_keyboard_nudges(make_window, qtbot):
    w = make_window()
    w.nudge("lateral_deg", 0.5)
    w.nudge("depth_mm", -0.5)
    assert w.session.trajectory.lateral_deg == 30.5 and w.session.trajectory.depth_mm == 59.5


def test_save_and_reopen_a_session(make_window, tmp_path):
    w = make_window()
    w.session.update(lateral_deg=5.0, inferior_deg=10.0, depth_mm=75.0)
    w.session.save_current("medial")
    w.session.update(lateral_deg=30.0)
    path = tmp_path / "s.json"
    assert w.save_session(path)
    verdict = w.session.report.verdict
    w2 = make_window()
    w2.session.update(lateral_deg=-10.0)
    assert w2.open_session(path)
    assert w2.session.trajectory == w.session.trajectory
    assert w2.session.report.verdict is verdict
    assert list(w2.session.saved) == ["medial"] and w2.session.saved["medial"].lateral_deg == 5.0


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "something-else"}),
                                     json.dumps({"format": "needlesim-session", "version": 1, "trajectory": {"x": 1}}),
                                     json.dumps({"format": "needlesim-session", "version": 99})])
def test_corrupt_or_foreign_session_keeps_the_state(make_window, tmp_path, content):
    w = make_window()
    w.session.update(lateral_deg=12.0)
    before, report = w.session.trajectory, w.session.report
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert not w.open_session(path)
    assert w.session.trajectory == before and w.session.report is report
    assert "bad.json" in w.errors[-1]


def test_broken_scene_keeps_the_state(make_window, tmp_path):
    w = make_window()
    scene = w.session.scene
    (tmp_path / "scene.toml").write_text('[scene]\nname = "x"\n[[structure]]\nname = "a"\nrole = "skin"\nmesh = "missing.ply"\n')
    assert not w.open_scene(tmp_path / "scene.toml")
    assert w.session.scene is scene and "missing.ply" in w.errors[-1]
    (tmp_path / "bad.ply").write_bytes(b"ply\nnonsense")
    (tmp_path / "scene.toml").write_text('[scene]\nname = "x"\n[[structure]]\nname = "a"\nrole = "skin"\nmesh = "bad.ply"\n')
    assert not w.open_scene(tmp_path / "scene.toml")
    assert w.session.scene is scene


def test_exports(make_window, tmp_path):
    from needlesim.core.io.markups import read_points

    w = make_window()
    assert w.export_screenshot(tmp_path / "shot.png")
    assert (tmp_path / "shot.png").stat().st_size > 1000
    assert w.export_markups(tmp_path / "needle.mrk.json")
    pts = read_points(tmp_path / "needle.mrk.json")
    ev = w.session.report.evaluation
    assert pts["skin puncture"] == pytest.approx(ev.skin_puncture) and pts["tip"] == pytest.approx(ev.tip)
    doc = json.loads((tmp_path / "needle.mrk.json").read_text())
    assert doc["markups"][0]["type"] == "Line"


def test_structures_panel_toggles_visibility_and_opacity(make_window):
    w = make_window()
    item = w.structure_panel.items["left S2 root"]
    item.setCheckState(0, item.checkState(0).__class__.Unchecked)
    assert not w.view.actors["left S2 root"].GetVisibility()
    w.structure_panel.tree.setCurrentItem(item)
    w.structure_panel.opacity.setValue(40)
    assert w.view.actors["left S2 root"].GetProperty().GetOpacity() == pytest.approx(0.4)


def test_structures_within_the_margin_are_highlighted(make_window):
    w = make_window()
    w.session.update(entry=(-33.5, 20.0, 0.0), side="left", lateral_deg=0.0, inferior_deg=0.0, depth_mm=110.0)
    c = w.session.report.evaluation.contact("left S2 root")
    assert c.clearance_mm == pytest.approx(4 - R8G)
    assert w.view.highlighted == {"left S2 root"}


def test_compare_draws_a_second_needle(make_window):
    w = make_window()
    w.session.save_current("a")
    w.session.update(lateral_deg=10.0)
    w.session.set_compare("a")
    assert w.view._needle["compare"].n_cells > 0
    w.session.set_compare(None)
    assert w.view._needle["compare"].n_cells == 0


def test_rendered_pixels(make_window):
    """A real render: the verdict banner is coloured by the verdict, and the 3D view shows
    the model at its centre and only background once every structure is hidden."""
    w = make_window()
    w.session.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=75.0)  # danger (breach)
    banner = w.risk_panel.banner.grab().toImage()
    c = banner.pixelColor(5, banner.height() // 2)
    assert (c.red(), c.green(), c.blue()) == (0xC6, 0x28, 0x28)
    w.set_view("posterior")
    img = w.plotter.screenshot(return_img=True)
    h, wid = img.shape[:2]
    probe = (h // 2, wid // 2 + wid // 10)  # on the bone slab, off the needle
    corner = img[5, wid // 2].astype(int)
    assert np.abs(img[probe].astype(int) - corner).sum() > 30  # the model is drawn there
    for name in w.view.actors:
        w.view.set_visible(name, False)
    w.plotter.render()
    img2 = w.plotter.screenshot(return_img=True)
    assert np.abs(img2[probe].astype(int) - img2[probe[0], 2].astype(int)).sum() < 30  # background only


def test_scene_loads_off_the_gui_thread(make_window, tmp_path, qtbot, analytic_scene):
    from tests.conftest import write_manifest

    w = make_window()
    folder = write_manifest(analytic_scene, tmp_path)
    w.open_scene_async(folder / "scene.toml")
    assert w.statusBar().currentMessage().startswith("Loading scene.toml")  # returned at once
    qtbot.waitUntil(lambda: w.session.scene_source.endswith("scene.toml"), timeout=20000)
    assert w.session.scene.names == analytic_scene.names
    assert w.session.report is not None
    scene = w.session.scene
    w.open_scene_async(tmp_path / "nope.toml")
    qtbot.waitUntil(lambda: bool(w.errors) and "no such scene manifest" in w.errors[-1], timeout=20000)
    assert w.session.scene is scene


def test_light_detail_while_dragging_and_full_detail_at_rest(make_window, qtbot):
    from needlesim.core.model.scene import Role, Scene, Structure
    from tests.conftest import box

    w = make_window()
    big = Structure.from_trimesh("big bone", Role.CORTICAL_BONE, box([-5, 200, -5], [5, 210, 5]).subdivide().subdivide()
                                 .subdivide().subdivide().subdivide())
    w.session.set_scene(Scene(tuple(w.session.scene) + (big,), landmarks=w.session.scene.landmarks), "x")
    full = len(big.faces)
    w.trajectory_panel.lateral.spin.setValue(31.0)
    assert w.view.interactive
    assert w.view.actors["big bone"].GetMapper().GetInput().GetNumberOfCells() < full
    assert not w.view.actors["skin"].GetVisibility()
    qtbot.waitUntil(lambda: not w.view.interactive, timeout=3000)
    assert w.view.actors["big bone"].GetMapper().GetInput().GetNumberOfCells() == full
    assert w.view.actors["skin"].GetVisibility()


def test_every_valid_value_shows_unclamped(make_window):
    w = make_window()
    assert w.session.update(lateral_deg=-60.0, inferior_deg=25.0, depth_mm=250.0)
    tp = w.trajectory_panel
    assert (tp.lateral.value(), tp.inferior.value(), tp.depth.value()) == (-60.0, 25.0, 250.0)


def test_mesh_files_with_assigned_roles_become_a_scene(make_window, tmp_path, qtbot):
    from needlesim.gui.dialogs import MeshRolesDialog
    from tests.conftest import box

    box([-50, 0, -50], [50, 20, 50]).export(tmp_path / "left_ilium.stl")
    box([-5, 40, -5], [5, 60, 5]).export(tmp_path / "nerve_thing.ply")
    dialog = MeshRolesDialog([str(tmp_path / "left_ilium.stl"), str(tmp_path / "nerve_thing.ply")])
    qtbot.addWidget(dialog)
    (_, role0, side0, _), (_, role1, _, units1) = dialog.rows
    assert (role0.currentText(), side0.currentText(), role1.currentText()) == ("cortical_bone", "left", "nerve")
    scene = dialog.build_scene()
    assert scene.names == ["left ilium", "nerve thing"] and scene["nerve thing"].critical
    units1.setCurrentText("m")  # 20 m across: refused with the file named
    from needlesim.core.errors import MeshError

    with pytest.raises(MeshError, match="nerve_thing.ply"):
        dialog.build_scene()


def test_recent_files_geometry_and_about(make_window, tmp_path, settings):
    from needlesim._version import __version__
    from needlesim.gui.dialogs import ABOUT_HTML

    w = make_window()
    assert w.save_session(tmp_path / "a.json")
    assert settings.value("recent", [], type=list)[0] == str(tmp_path / "a.json")
    assert [a.text() for a in w.recent_menu.actions()] == [str(tmp_path / "a.json")]
    w.close()
    assert settings.value("geometry") is not None
    text = ABOUT_HTML.format(version=__version__)
    assert __version__ in text and "CC BY 4.0" in text and "10.48539/HBM427.CCRP.887" in text


def test_landmarks_are_shown_and_can_be_named_or_hidden(make_window):
    w = make_window()
    assert len(w.view._landmark_actors) == 1  # points, no names by default
    pts = w.view._landmark_actors[0].GetMapper().GetInput().GetNumberOfPoints()
    assert pts == len(w.session.scene.landmarks)
    w.labels_action.trigger()
    assert len(w.view.labels.actors) == len(w.session.scene.landmarks)  # one name each
    w.landmarks_action.trigger()
    assert w.view._landmark_actors == [] and w.view.labels.actors == []


def test_tabbed_docks_show_whole_titles_and_buttons_need_no_special_glyphs(make_window, qtbot):
    """Seen on screen: tabs read "Risk ..." and "Fluoros...", and the playback's U+23EE glyph
    drew as an empty box in a font without it. Titles are whole (scroll arrows if they do not
    fit) and the media buttons use Qt's icons with plain text."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    w = make_window()
    qtbot.wait(10)
    bars = [b for b in w.findChildren(QTabBar) if b.count()]
    titles = {b.tabText(i) for b in bars for i in range(b.count())}
    assert {"Risk map", "Fluoroscopy", "Advance the needle"} <= titles
    assert all(b.elideMode() == Qt.TextElideMode.ElideNone for b in bars)
    p = w.teaching.playback_panel
    for button in (p.play_button, p.restart_button):
        assert button.text().isascii() and not button.icon().isNull()
    p.play_button.setChecked(True)
    assert p.play_button.text() == "Pause"
    p.play_button.setChecked(False)
    assert p.play_button.text() == "Play"
