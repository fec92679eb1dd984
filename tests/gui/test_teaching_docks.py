"""The teaching docks, driven as a user would: scenarios, playback, the risk map, the
fluoroscope, the comparison and the plan card (the analytic scene of tests/conftest.py:
skin from y=-30, a bone slab y 20-40, a root at x=-40, y=80)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool

from needlesim.core.api import check
from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching import Playback
from needlesim.teaching.playback import EventKind

#: From left-psis (0, 20, 0) straight at the root axis (-40, 80, z=0): sin L = 40 / |(40, 60)|.
ROOT_LATERAL = math.degrees(math.asin(40 / math.hypot(40, 60)))


def sync(fn, done, failed):
    """Run a worker job at once (the tests' injected runner)."""
    try:
        done(fn())
    except Exception as exc:  # noqa: BLE001
        failed(str(exc))


def test_the_docks_and_menus_are_there(make_window):
    w = make_window()
    titles = {d.windowTitle() for d in w.teaching.docks.values()}
    assert titles == {"Scenario", "Advance the needle", "Risk map", "Fluoroscopy", "Practice", "Harvest plan"}
    menus = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions()}
    assert "Scenarios" in menus
    items = [a.text() for a in menus["Scenarios"].actions()]
    assert any("Nam et al. 2019" in t for t in items) and "Needle 1 mm deeper" in items
    file_items = [a.text().replace("&", "") for a in menus["File"].actions()]
    assert "Open scenario…" in file_items and "Export plan card…" in file_items


def test_playback_pauses_where_the_engine_says_the_needle_touches_the_root(make_window):
    w = make_window()
    w.session.update(lateral_deg=ROOT_LATERAL, inferior_deg=0.0, depth_mm=140.0)
    p = w.teaching.playback_panel
    report = check(w.session.scene, w.session.trajectory)
    contact = report.evaluation.contact("left S2 root").contact_depth_mm
    breach = report.evaluation.breaches[0].depth_mm
    assert breach < contact < 140
    p.seek(0.0)
    p.play_button.setChecked(True)
    stops = []
    for _ in range(400):
        p._on_tick(0.1)
        if not p.play_button.isChecked():
            stops.append((p.position_mm, p.message.text()))
            if p.position_mm >= p.playback.depth_mm:
                break
            p.play_button.setChecked(True)
    assert stops[0] == (pytest.approx(breach), f"Paused: {report.evaluation.breaches[0].describe()}")
    assert stops[1] == (pytest.approx(contact), f"Paused: touches the left S2 root at {contact:.1f} mm")
    # the frame's report went to the session: the risk panel shows the needle at that depth
    p.seek(contact - 5)
    assert w.session.report.evaluation.depth_mm == pytest.approx(contact - 5)
    assert w.session.trajectory.depth_mm == 140.0  # the aim itself is untouched
    assert "touches" not in w.risk_panel.reasons.text()
    p.step(10.0)
    assert w.session.report.verdict.value == "danger" and p.slider.value() == round((contact + 5) * 10)
    p.slider.setValue(200)  # scrub to 20 mm
    assert p.position_mm == 20.0 and "soft tissue" in p.depth_label.text()


def test_a_hidden_playback_does_no_work_per_move_and_is_current_when_shown_or_used(make_window, qtbot, monkeypatch):
    import needlesim.gui.playback_dock as playback_dock

    w = make_window()
    p = w.teaching.playback_panel
    built = []
    real = playback_dock.Playback
    monkeypatch.setattr(playback_dock, "Playback", lambda scene, report: built.append(report) or real(scene, report))
    w.teaching.show("map")  # the map's tab in front: the playback is hidden
    qtbot.waitUntil(lambda: not p.active)
    shown = p.depth_label.text()
    for depth in (70.0, 80.0, 90.0):
        w.session.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=depth)
    assert built == [] and p.depth_label.text() == shown  # nothing built or written while hidden
    p.step(-10.0)  # a keyboard step while hidden: from the current aim's full depth
    assert len(built) == 1 and built[0].evaluation.depth_mm == 90.0
    assert w.session.report.evaluation.depth_mm == pytest.approx(80.0)
    w.session.update(depth_mm=100.0)
    assert len(built) == 1
    w.teaching.show("playback")  # shown: built once, for the aim now
    qtbot.waitUntil(lambda: p.active)
    assert len(built) == 2 and p.playback.depth_mm == 100.0 and "100.0 mm" in p.depth_label.text()
    w.session.update(depth_mm=101.0)  # shown: follows every move
    assert len(built) == 3 and "101.0 mm" in p.depth_label.text()


def test_the_map_cell_under_the_aim_has_the_verdict_of_check_and_a_click_sets_the_aim(qtbot, analytic_scene):
    from matplotlib.backend_bases import MouseEvent

    from needlesim.gui.map_dock import RiskMapPanel
    from needlesim.session import Controller, Session

    s = Session(analytic_scene)
    controller = Controller(s)  # psygnal holds it weakly: keep it
    controller.refresh()
    panel = RiskMapPanel(s, run=sync)
    qtbot.addWidget(panel)
    panel.set_active(True)
    assert panel.map is not None and panel.map.entry == s.trajectory.entry
    for lat, inf, depth in ((30, 22, 60), (0, 0, 75), (round(ROOT_LATERAL), 0, 140), (round(ROOT_LATERAL), 0, 110)):
        s.update(lateral_deg=lat, inferior_deg=inf, depth_mm=depth)
        assert panel.map.verdict_at(lat, inf, depth).name == s.report.verdict.name
    x, y = panel.ax.transData.transform((12.0, -7.0))
    MouseEvent("button_press_event", panel.canvas, x, y, button=1)._process()
    assert (s.trajectory.lateral_deg, s.trajectory.inferior_deg) == (12.0, -7.0)
    marker = panel.ax.lines[0].get_data()
    assert (marker[0][0], marker[1][0]) == (12.0, -7.0)  # the aim's mark follows


def test_a_hidden_map_does_not_redraw_as_the_aim_moves_and_a_shown_one_only_moves_its_mark(qtbot, analytic_scene):
    from needlesim.gui.map_dock import RiskMapPanel
    from needlesim.session import Controller, Session

    s = Session(analytic_scene)
    controller = Controller(s)  # psygnal holds it weakly: keep it
    controller.refresh()
    panel = RiskMapPanel(s, run=sync)
    qtbot.addWidget(panel)
    panel.set_active(True)
    clears = []
    real = panel.ax.clear
    panel.ax.clear = lambda: clears.append(1) or real()
    for lat in (10.0, 11.0, 12.5):  # same depth: the verdicts shown stay, the mark moves
        s.update(lateral_deg=lat)
        assert clears == [] and panel.ax.lines[0].get_data() == ([lat], [s.trajectory.inferior_deg])
    s.update(depth_mm=110.0)  # the verdicts at a new depth: drawn again
    assert len(clears) == 1 and "110 mm" in panel.ax.get_title()
    panel.set_active(False)  # hidden (another tab in front)
    for lat in (-5.0, 0.0, 5.0):
        s.update(lateral_deg=lat, depth_mm=100.0 + lat)
    assert len(clears) == 1
    panel.set_active(True)  # shown again: the current aim and depth
    assert len(clears) == 2 and "105 mm" in panel.ax.get_title()
    assert panel.ax.lines[0].get_data() == ([5.0], [s.trajectory.inferior_deg])
    assert panel.map.verdict_at(5, round(s.trajectory.inferior_deg), 105.0).name == s.report.verdict.name


def test_the_fluoroscope_draws_the_needle_without_recasting(qtbot, monkeypatch, analytic_scene):
    from needlesim.gui.fluoro_dock import FluoroPanel
    from needlesim.session import Controller, Session
    from needlesim.teaching import fluoro

    s = Session(analytic_scene)
    controller = Controller(s)  # psygnal holds it weakly: keep it
    controller.refresh()
    panel = FluoroPanel(s, run=sync, pixels=64)
    qtbot.addWidget(panel)
    calls = []
    real = fluoro.bone_image
    monkeypatch.setattr(fluoro, "bone_image", lambda *a, **k: calls.append(1) or real(*a, **k))
    panel.set_active(True)
    assert len(calls) == 1 and panel.shown.shape == (64, 64)
    before = panel.shown.copy()
    s.update(lateral_deg=10.0, depth_mm=90.0)
    assert len(calls) == 1 and not np.array_equal(before, panel.shown)  # needle moved, bone not recast
    panel.view_box.setCurrentText("lateral")
    assert len(calls) == 2 and panel.image.carm.orbit_deg == 90.0
    panel.tilt.setValue(12.0)
    assert panel.view_box.currentText() == "free angle" and len(calls) == 3


def test_a_hidden_fluoroscope_does_not_redraw_and_shows_the_current_needle_when_shown(qtbot, monkeypatch,
                                                                                      analytic_scene):
    from needlesim.gui.fluoro_dock import FluoroPanel
    from needlesim.session import Controller, Session
    from needlesim.teaching import fluoro

    s = Session(analytic_scene)
    controller = Controller(s)  # psygnal holds it weakly: keep it
    controller.refresh()
    panel = FluoroPanel(s, run=sync, pixels=64)
    qtbot.addWidget(panel)
    panel.set_active(True)
    drawn = []
    real = fluoro.radiograph
    monkeypatch.setattr(fluoro, "radiograph", lambda *a, **k: drawn.append(1) or real(*a, **k))
    panel.set_active(False)  # another tab in front
    for lat in (5.0, 10.0, 15.0):
        s.update(lateral_deg=lat, depth_mm=90.0)
    assert drawn == []  # nothing drawn while hidden
    panel.set_active(True)  # shown: once, with the needle as it is now
    assert len(drawn) == 1
    want = real(panel.image, needle=fluoro.report_needle(s.report))
    assert np.array_equal(panel.shown, want)
    s.update(lateral_deg=20.0)
    assert len(drawn) == 2  # shown: follows every move again


def test_comparing_evaluates_the_saved_aim_once_not_on_every_move(make_window, monkeypatch):
    import needlesim.session as session_module

    w = make_window()
    s = w.session
    s.update(lateral_deg=30.0, inferior_deg=22.5, depth_mm=60.0)
    s.save_current("centre")
    s.set_compare("centre")
    calls = []
    real = session_module.check
    monkeypatch.setattr(session_module, "check", lambda scene, t, **k: calls.append(t) or real(scene, t, **k))
    for lat in (25.0, 26.0, 27.0):
        s.update(lateral_deg=lat)
    assert [t.lateral_deg for t in calls] == [25.0, 26.0, 27.0]  # the current aim only
    reference = w.controller.compare_report()
    assert reference.evaluation.trajectory == s.saved["centre"]
    assert reference == real(s.scene, s.saved["centre"], envelope=s.envelope, margin_mm=s.margin_mm,
                             backend=s.backend)
    assert "centre" in w.teaching.compare_box.title()
    s.set_settings(margin_mm=s.margin_mm + 1.0)  # a new margin: the saved aim is evaluated again
    assert w.controller.compare_report().margin_mm == s.margin_mm
    s.save_current("centre")  # saved again under the same name, at the current aim
    assert w.controller.compare_report().evaluation.trajectory == s.trajectory


def test_compare_box_states_the_difference(make_window):
    w = make_window()
    s = w.session
    s.update(lateral_deg=30.0, inferior_deg=22.5, depth_mm=60.0)
    s.save_current("centre")
    s.set_compare("centre")
    s.update(lateral_deg=ROOT_LATERAL, inferior_deg=0.0, depth_mm=140.0)
    box = w.teaching.compare_box
    assert not box.isHidden() and "centre" in box.title()
    dl = round(ROOT_LATERAL - 30.0, 1)
    assert f"This aim is {dl:g} deg more lateral, 22.5 deg more cephalad and 80 mm deeper: touches the left S2 root" \
        in box.text.text()
    s.set_compare(None)
    assert box.isHidden()


def test_opening_scenarios_good_and_bad(make_window, tmp_path):
    w = make_window()
    before = w.session.trajectory
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[aim]\ndepth_mm = nan\n')
    assert not w.teaching.actions.open_scenario(bad)
    assert w.session.trajectory == before and len(w.errors) == 1 and "depth_mm must be finite" in w.errors[0]
    good = tmp_path / "good.toml"
    good.write_text('name = "mine"\ntitle = "Straight in"\ncitation = "Test."\nnarrative = "A test."\n'
                    '[scene]\nfolder = "."\n[aim]\nentry = "left-psis"\nlateral_deg = 0.0\ninferior_deg = 0.0\n'
                    'depth_mm = 75.0\n[expect]\nverdict = "danger"\n')
    from tests.conftest import write_manifest

    write_manifest(w.session.scene, tmp_path)
    assert w.teaching.actions.open_scenario(good)
    QThreadPool.globalInstance().waitForDone(30000)
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    assert w.session.trajectory.depth_mm == 75.0 and w.session.report.verdict.value == "danger"
    assert "Straight in" in w.teaching.scenario_panel.label.text()


def test_export_plan_card_from_the_app(make_window, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    w = make_window()
    w.session.update(lateral_deg=0.0, inferior_deg=0.0, depth_mm=75.0)
    out = tmp_path / "card.pdf"
    assert w.teaching.actions.export_card(out)
    text = " ".join(pypdf.PdfReader(str(out)).pages[0].extract_text().split())
    assert "Verdict: DANGER" in text and "posterior view" in text and "leaves the left ilium" in text
    assert not w.teaching.actions.export_card(tmp_path / "card.docx") and "plan card is .pdf or .html" in w.errors[-1]
