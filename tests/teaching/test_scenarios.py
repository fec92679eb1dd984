"""Every built-in scenario gives the verdict it claims; the loader refuses bad files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from needlesim.core.geometry.raycast import Backend
from needlesim.core.verdict.risk import Rule
from needlesim.teaching import Playback, ScenarioError, list_scenarios, load_scenario, parse_scenario, run_scenario
from needlesim.teaching.scenario import CAMERA_VIEWS, MAX_SCENARIO_BYTES, read_scenario_file

GOOD = """
name = "mine"
title = "My aim"
citation = "Me, 2026."
narrative = "A test."
[scene]
builtin = true
[aim]
entry = "left-entry"
lateral_deg = 30.0
inferior_deg = 22.5
depth_mm = 60.0
[camera]
view = "axial"
[expect]
verdict = "safe"
"""


@pytest.mark.parametrize("name", list_scenarios())
@pytest.mark.parametrize("backend", [Backend.EMBREE, Backend.EXACT])
def test_every_scenario_gives_the_verdict_it_claims(builtin_scene, name, backend):
    s = load_scenario(name)
    r = run_scenario(s, scene=builtin_scene, backend=backend)
    reasons = [x.text for x in r.reasons]
    assert r.verdict is s.expected_verdict, reasons
    touched = {x.structure for x in r.reasons if x.rule is Rule.CONTACT}
    assert set(s.touches) <= touched, (s.touches, reasons)
    pause = Playback(builtin_scene, r).pause_event
    if s.first_event is None:
        assert pause is None, pause
    else:
        assert pause is not None and pause.message.startswith(s.first_event), (s.first_event, pause)


def test_the_library_has_the_cases_of_the_issue():
    names = set(list_scenarios())
    assert {"envelope-centre-left", "envelope-centre-right", "nam2019-left-s2", "csf-leak-right-s1-sleeve",
            "too-inferior-sciatic-notch", "perpendicular-si-joint", "kitchel-recommended",
            "hirahara2018-recommended", "dsouza2021-recommended"} <= names
    for n in names:
        s = load_scenario(n)
        assert s.name == n and len(s.narrative) > 100 and s.citation and s.camera.view in CAMERA_VIEWS
        assert s.scene.builtin
    nam = load_scenario("nam2019-left-s2").trajectory
    assert nam.lateral_deg < 0 and nam.depth_mm > 60  # too medial and too deep
    assert load_scenario("dsouza2021-recommended").trajectory.inferior_deg < 0  # cephalad
    perp = load_scenario("perpendicular-si-joint").trajectory
    assert perp.lateral_deg == 0 and perp.inferior_deg == 0
    for n, env in (("kitchel-recommended", "kitchel"), ("hirahara2018-recommended", "hirahara2018"),
                   ("dsouza2021-recommended", "dsouza2021")):
        s = load_scenario(n)
        assert s.envelope == env
        from needlesim.core.verdict.envelope import load_envelope

        assert load_envelope(env).contains(s.trajectory)  # each paper's own aim, inside its own rule


def test_the_nam_scenario_touches_s2_deeper_than_the_envelope_allows(builtin_scene):
    r = run_scenario(load_scenario("nam2019-left-s2"), scene=builtin_scene)
    c = r.evaluation.contact("left S2 root")
    assert 60 < c.contact_depth_mm < 80 and c.touches
    assert "touches the left S2 root at 78.2 mm" in [x.text for x in r.reasons]


def test_a_scenario_round_trips_through_its_toml():
    s = load_scenario("nam2019-left-s2")
    back = parse_scenario(s.to_toml())
    assert back.trajectory == s.trajectory and back.touches == s.touches and back.narrative == s.narrative
    assert back.expected_verdict is s.expected_verdict and back.first_event == s.first_event


def test_a_user_scenario_file_opens(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(GOOD)
    s = load_scenario(p)
    assert s.name == "mine" and s.trajectory.depth_mm == 60.0 and s.camera.view == "axial"


def _problems(text: str, tmp_path: Path) -> list[str]:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as e:
        read_scenario_file(p)
    assert all(line.startswith(str(p) + ": ") for line in str(e.value).splitlines())
    return e.value.problems


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("depth_mm = 60.0", "depth_mm = nan"), "aim.depth_mm must be finite"),
    (lambda t: t.replace("depth_mm = 60.0", 'depth_mm = "60"'), "aim.depth_mm must be a number"),
    (lambda t: t.replace("depth_mm = 60.0", "depth_mm = 900.0"), "depth 900 mm is out of range"),
    (lambda t: t.replace("lateral_deg = 30.0", "lateral_deg = true"), "aim.lateral_deg must be a number"),
    (lambda t: t.replace('verdict = "safe"', 'verdict = "fine"'), "expect.verdict must be one of"),
    (lambda t: t.replace('view = "axial"', 'view = "top"'), "camera.view must be one of"),
    (lambda t: t.replace("builtin = true", "seed = -3"), "scene.seed must be a whole number"),
    (lambda t: t.replace("builtin = true", "builtin = true\nseed = 3"), "exactly one of"),
    (lambda t: t.replace('citation = "Me, 2026."\n', ""), "missing 'citation'"),
    (lambda t: t + 'script = "import os"\n', "unknown key 'script'"),
    (lambda t: t.replace("[camera]", "[camera]\nfov = 3"), "unknown key 'fov' in [camera]"),
    (lambda t: t.replace('entry = "left-entry"', "entry = [1, 2]"), "aim.entry must be a landmark name"),
])
def test_a_bad_field_gets_one_clear_line(tmp_path, edit, expected):
    problems = _problems(edit(GOOD), tmp_path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_every_problem_is_reported_one_line_each(tmp_path):
    text = GOOD.replace("depth_mm = 60.0", "depth_mm = inf").replace('verdict = "safe"', 'verdict = 3') + "x = 1\n"
    problems = _problems(text, tmp_path)
    assert len(problems) == 3, problems


def test_files_that_are_not_scenarios_are_refused_without_running_anything(tmp_path):
    marker = tmp_path / "ran"
    code = tmp_path / "evil.toml"
    code.write_text(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('x')\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_scenario_file(code)
    assert not marker.exists()
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_scenario_file(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ScenarioError, match="not a regular file"):
            read_scenario_file("/dev/zero")
    big = tmp_path / "big.toml"
    big.write_text(GOOD + "#" * MAX_SCENARIO_BYTES)
    with pytest.raises(ScenarioError, match="too large"):
        read_scenario_file(big)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ScenarioError, match="empty"):
        read_scenario_file(empty)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        read_scenario_file(binary)
    with pytest.raises(ScenarioError, match="cannot open"):
        read_scenario_file(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario("no-such-scenario")


def test_camera_views_are_the_viewers_views():
    pytest.importorskip("pyvista")
    from needlesim.viz.scene_view import VIEWS

    assert set(CAMERA_VIEWS) == set(VIEWS)
    assert math.isfinite(load_scenario("nam2019-left-s2").camera.zoom)
