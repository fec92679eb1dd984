"""The GUI opens a session whole or not at all (issue 10 item 10, issue 11 item 7): a
session with a bad field anywhere changes nothing (trajectory, report, saved aims,
settings) and says why; a good one is applied in one step."""

from __future__ import annotations

import json

import pytest


def _doc(w, **changes):
    t = w.session.trajectory.to_dict()
    doc = {"format": "needlesim-session", "version": 1, "scene": "analytic",
           "trajectory": dict(t, lateral_deg=20.0), "envelope": "kitchel", "margin_mm": 7.0, "backend": "exact",
           "saved": {"mine": dict(t, depth_mm=40.0)}, "compare": "mine"}
    for key, value in changes.items():
        if "." in key:
            a, b = key.split(".", 1)
            doc[a] = dict(doc[a], **{b: value}) if not isinstance(doc[a], dict) or b not in doc[a] or not isinstance(doc[a][b], dict) else doc[a]
            if isinstance(doc[a].get(b), dict) and isinstance(value, dict):
                doc[a][b] = value
        else:
            doc[key] = value
    return doc


def _state(s):
    return (s.trajectory, s.report, dict(s.saved), s.compare, s.envelope.name, s.margin_mm, s.backend, s.scene)


@pytest.mark.parametrize("changes", [
    {"envelope": "no-such-envelope"},
    {"backend": "gpu"},
    {"margin_mm": 1e9},
    {"saved": {"bad": {"entry": "no-such-landmark", "lateral_deg": 1.0, "inferior_deg": 1.0, "depth_mm": 10.0}}},
    {"saved": {"bad": {"entry": "left-psis", "lateral_deg": 1.0, "inferior_deg": 1.0, "depth_mm": 1e9}}},
    {"camera": {"position": [1, 2], "focal_point": [0, 0, 0], "view_up": [0, 0, 1]}},
], ids=["envelope", "backend", "margin", "saved-landmark", "saved-depth", "camera"])
def test_a_session_bad_anywhere_changes_nothing(make_window, tmp_path, changes):
    w = make_window()
    w.session.update(lateral_deg=12.0)
    w.session.save_current("before")
    before = _state(w.session)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc(w, **changes)))
    assert not w.open_session(path)
    assert _state(w.session) == before
    assert "bad.json" in w.errors[-1] and "\n" not in w.errors[-1]
    assert w.trajectory_panel.saved.count() == 1


def test_a_good_session_is_applied_whole(make_window, tmp_path):
    w = make_window()
    path = tmp_path / "good.json"
    doc = _doc(w)
    path.write_text(json.dumps(doc))
    changes = []
    w.session.trajectory_changed.connect(lambda t: changes.append((t.lateral_deg, w.session.margin_mm,
                                                                   w.session.backend.value, list(w.session.saved))))
    assert w.open_session(path)
    s = w.session
    assert s.trajectory.lateral_deg == 20.0 and s.envelope.name == "kitchel" and s.margin_mm == 7.0
    assert s.backend.value == "exact" and list(s.saved) == ["mine"] and s.compare == "mine"
    assert s.report.evaluation.backend.value == "exact"
    assert changes and all(c == (20.0, 7.0, "exact", ["mine"]) for c in changes)  # never half a session
    assert w.trajectory_panel.saved.count() == 1


@pytest.mark.slow
def test_a_session_with_100000_saved_aims_is_refused_not_aborted(make_window, tmp_path):
    from needlesim.session_io import MAX_SAVED

    w = make_window()
    before = _state(w.session)
    doc = _doc(w)
    doc["saved"] = {f"aim {i}": doc["trajectory"] for i in range(100_000)}
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc))
    assert not w.open_session(path)
    assert _state(w.session) == before
    assert "100,000 saved trajectories" in w.errors[-1] and f"{MAX_SAVED:,}" in w.errors[-1]


def test_a_session_at_the_saved_limit_opens(make_window, tmp_path):
    from needlesim.session_io import MAX_SAVED

    w = make_window()
    doc = _doc(w)
    doc["saved"] = {f"aim {i}": doc["trajectory"] for i in range(MAX_SAVED)}
    path = tmp_path / "limit.json"
    path.write_text(json.dumps(doc))
    assert w.open_session(path), w.errors
    assert w.trajectory_panel.saved.count() == MAX_SAVED
