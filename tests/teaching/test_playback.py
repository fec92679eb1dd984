"""Playback pauses where the engine says the needle breaches or touches, and every frame
has the verdict ``check`` gives at that depth."""

from __future__ import annotations

from dataclasses import replace

import pytest

from needlesim.core.api import check
from needlesim.core.model.results import Tissue
from needlesim.core.verdict.risk import Verdict
from needlesim.teaching import EventKind, Playback, load_scenario, run_scenario
from needlesim.teaching.playback import advance


@pytest.fixture(scope="module")
def nam(builtin_scene):
    s = load_scenario("nam2019-left-s2")
    return s, Playback(builtin_scene, run_scenario(s, scene=builtin_scene))


def test_playback_pauses_at_the_depths_the_engine_reports(nam):
    _, pb = nam
    ev = pb.evaluation
    sij = next(b for b in ev.breaches if b.through == "sacroiliac joint")
    assert pb.pause_event.depth_mm == sij.depth_mm and pb.pause_event.kind is EventKind.BREACH
    s2 = ev.contact("left S2 root").contact_depth_mm
    stops = [e for e in pb.events if e.pauses]
    assert [e.depth_mm for e in stops] == sorted(e.depth_mm for e in stops)
    contact = next(e for e in stops if e.kind is EventKind.CONTACT)
    assert contact.depth_mm == s2 and contact.message == f"touches the left S2 root at {s2:.1f} mm"
    assert contact.message == "touches the left S2 root at 78.2 mm"
    # the bone is reached where the report's soft tissue ends
    bone = next(e for e in pb.events if e.kind is EventKind.BONE)
    assert bone.depth_mm == ev.soft_tissue_mm and bone.depth_mm < sij.depth_mm


def test_advancing_stops_at_each_breach_and_contact_then_the_full_depth(nam):
    _, pb = nam
    pos, stops = 0.0, []
    for _ in range(1000):
        pos, event = advance(pos, 0.1, 10.0, pb)
        if event is not None:
            stops.append(event)
        if pos >= pb.depth_mm:
            break
    assert pos == pb.depth_mm
    assert stops == [e for e in pb.events if e.pauses]
    with pytest.raises(ValueError):
        advance(0.0, 0.1, 0.0, pb)


@pytest.mark.parametrize("name", ["nam2019-left-s2", "csf-leak-right-s1-sleeve", "too-inferior-sciatic-notch",
                                  "kitchel-recommended"])
def test_every_frame_has_the_verdict_check_gives_at_its_depth(builtin_scene, name):
    s = load_scenario(name)
    pb = Playback(builtin_scene, run_scenario(s, scene=builtin_scene))
    depths = sorted({5.0, 30.0, 50.0, 60.0} | {round(e.depth_mm + 0.05, 2) for e in pb.events}
                    | {round(e.depth_mm - 0.05, 2) for e in pb.events})
    for d in depths:
        if not 0 < d <= s.trajectory.depth_mm:
            continue
        r = check(builtin_scene, replace(s.trajectory, depth_mm=d), envelope=s.envelope)
        f = pb.frame(d)
        assert f.verdict is r.verdict, (d, [x.text for x in r.reasons])
        assert [x.text for x in f.reasons] == [x.text for x in r.reasons], d
        near = dict(f.clearances)
        for c in r.evaluation.contacts:
            assert near[c.structure] == pytest.approx(c.clearance_mm, abs=1e-9)
        last = r.evaluation.path[-1]
        assert (f.tissue, f.structure) == (last.tissue, last.structure), d


def test_the_read_out_follows_the_tip(nam):
    _, pb = nam
    soft = pb.evaluation.soft_tissue_mm
    f = pb.frame(soft - 1.0)
    assert f.tissue is Tissue.SOFT_TISSUE and f.verdict is Verdict.CAUTION  # outside the envelope's angles
    assert pb.frame(soft + 1.0).tissue is Tissue.CORTEX
    assert pb.frame(pb.depth_mm).verdict is Verdict.DANGER
    assert pb.frame(500).depth_mm == pb.depth_mm and pb.frame(-3).depth_mm == 0.0
    assert "soft tissue 0-" in pb.frame(60).readout() and "cortex" in pb.frame(60).readout()
    d = pb.depths()
    assert d[0] == 0 and d[-1] == pb.depth_mm
    assert all(round(e.depth_mm, 6) in set(d) for e in pb.events)


def test_a_safe_aim_never_pauses(builtin_scene):
    s = load_scenario("envelope-centre-left")
    pb = Playback(builtin_scene, run_scenario(s, scene=builtin_scene))
    assert pb.pause_event is None
    # before the bone the tip is in soft tissue: caution (issue 10 item 3), as check says
    assert pb.frame(10).verdict is Verdict.CAUTION
    assert [r.rule.value for r in pb.frame(10).reasons] == ["no_bone"]
    assert all(pb.frame(d).verdict is Verdict.SAFE for d in (35, 60))
    assert pb.frame(60).tissue is Tissue.MARROW


def test_the_report_at_a_depth_is_the_report_check_gives_there(builtin_scene, nam):
    s, pb = nam
    for d in (45.0, 70.0):
        r = check(builtin_scene, replace(s.trajectory, depth_mm=d), envelope=s.envelope)
        a = pb.report_at(d)
        assert a.verdict is r.verdict and [x.text for x in a.reasons] == [x.text for x in r.reasons]
        assert a.evaluation.path == r.evaluation.path and a.evaluation.breaches == r.evaluation.breaches
        assert a.evaluation.tip == pytest.approx(r.evaluation.tip)
        assert a.evaluation.bone_mm == pytest.approx(r.evaluation.bone_mm)


def test_the_full_depth_frame_is_the_report_itself_with_no_second_query(builtin_scene, nam, monkeypatch):
    s, _ = nam
    report = run_scenario(s, scene=builtin_scene)
    pb = Playback(builtin_scene, report)
    calls = []
    index = pb.engine.clearance_index
    real = index.query
    monkeypatch.setattr(index, "query", lambda *a, **k: calls.append(1) or real(*a, **k))
    f = pb.frame(pb.depth_mm)
    assert not calls  # the engine measured these clearances for the report already
    ev = report.evaluation
    assert dict(f.clearances) == {c.structure: c.clearance_mm for c in ev.contacts}
    assert f.clearances[0][1] == min(c.clearance_mm for c in ev.contacts)
    assert f.verdict is report.verdict and [r.text for r in f.reasons] == [r.text for r in report.reasons]
    shallower = pb.frame(pb.depth_mm - 20.0)  # a shallower needle is measured again
    assert len(calls) == 1 and dict(shallower.clearances) != dict(f.clearances)


def test_the_frame_texts_read_as_words(builtin_scene, nam):
    """Seen in a rendered video: "tip at 0.0 mm in outside the body" and "nearest: left S2
    root -1.1 mm". At the skin the tip is outside the body; a touched structure is a contact."""
    _, pb = nam
    assert pb.frame(0.0).tip_text == "tip at 0.0 mm outside the body"
    assert pb.frame(45.0).tip_text.startswith("tip at 45.0 mm in ")
    end = pb.frame(pb.depth_mm)
    assert end.clearances[0][1] < 0
    name, c = end.clearances[0]
    assert end.nearest_text(3).startswith(f"{name} touches ({-c:.1f} mm overlap), ")
    assert end.nearest_text(3).count(" mm") == 3
    far = pb.frame(20.0)  # the nearest structure beyond the 25 mm horizon: an upper bound
    assert far.clearances[0][1] > 25.0 and far.clearances[0][0] in far.upper_bounds
    assert far.nearest_text(1) == f"{far.clearances[0][0]} ~{far.clearances[0][1]:.1f} mm"


def test_a_clearance_beyond_the_exact_horizon_reads_as_an_upper_bound(analytic_scene):
    """Straight through the analytic slab to 60 mm: the root (x=-40, y=80, radius 2.5) and the
    vessel (r=10 at x=40, y=120) stay beyond the 25 mm horizon, where a clearance is an upper
    bound; the read-out marks it '~' as the risk panel and the CLI do, at every depth."""
    from needlesim.core.model.trajectory import Trajectory

    report = check(analytic_scene, Trajectory("left-psis", 0.0, 0.0, 60.0))
    assert not any(c.clearance_exact for c in report.evaluation.contacts)
    pb = Playback(analytic_scene, report)
    for depth in (10.0, 40.0, 60.0):
        text = pb.frame(depth).nearest_text(2)
        assert text.count("~") == 2, text
    end = pb.frame(60.0)
    root, true = dict(end.clearances)["left S2 root"], (40.0 ** 2 + 50.0 ** 2) ** 0.5 - 2.5 - 1.63  # tip at y=30
    assert root >= true - 0.01 and true > 25.0  # an upper bound (vertex-based here: the prism's facets are long)
