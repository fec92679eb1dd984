"""A harvest plan is saved with the session and read back whole; a bad one is refused."""

from __future__ import annotations

import json

import pytest

from needlesim.core.model.scene import Side
from needlesim.session import Session
from needlesim.session_io import SessionError, read_session, save_session
from needlesim.teaching.harvest import HarvestPlan, Pass, Site

PLAN = HarvestPlan((Site((-50.0, -30.0, 0.0), Side.LEFT, (Pass(0.0, 0.0, 64.0), Pass(10.0, 5.0, 60.0)), "left"),
                    Site((50.0, -30.0, 0.0), Side.RIGHT, (Pass(20.0, 20.0, 64.0),), "right")))


def test_the_plan_round_trips_through_a_session_file(tmp_path, analytic_scene):
    s = Session(analytic_scene, scene_source="analytic")
    seen = []
    s.harvest_changed.connect(seen.append)
    s.set_harvest(PLAN)
    assert seen == [PLAN]
    path = save_session(tmp_path / "s.json", s)
    data = read_session(path)
    assert data.harvest == PLAN
    fresh = Session(analytic_scene, scene_source="analytic")
    fresh.apply_session(analytic_scene, data)
    assert fresh.harvest == PLAN
    s.set_harvest(None)
    assert read_session(save_session(tmp_path / "t.json", s)).harvest is None


@pytest.mark.parametrize("change, message", [
    (lambda h: h["sites"][0]["passes"].append([95.0, 0.0, 60.0]), "harvest site 1, pass 3"),
    (lambda h: h["sites"][0].update(side="up"), "side"),
    (lambda h: h["sites"][0].update(passes=[]), "passes"),
    (lambda h: h["sites"][1]["passes"][0].append(1.0), "passes"),
])
def test_a_bad_plan_in_a_session_file_is_refused(tmp_path, analytic_scene, change, message):
    s = Session(analytic_scene, scene_source="analytic")
    s.set_harvest(PLAN)
    path = save_session(tmp_path / "s.json", s)
    doc = json.loads(path.read_text())
    change(doc["harvest"])
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=message):
        read_session(path)
