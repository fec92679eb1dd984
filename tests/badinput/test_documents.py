"""Manifests, markups, envelopes and sessions (issue 10 items 8 and 10): every attack is
refused with one line per problem naming the file and field, or read correctly; a string
is never read as a boolean, a table never as a name."""

from __future__ import annotations

import json

import pytest

from tests.badinput.conftest import guarded, human_scene

DEEP = 5000


def _load(path):
    from needlesim.core.io.manifest import load_scene

    s = load_scene(path)
    return {st.name: st.critical for st in s}


def _manifest_cases():
    root_line = 'mesh = "root.stl"'
    return {
        # (old, new) replacements in the human-sized manifest -> expected word in the error
        "units-list": (('units = "mm"', 'units = ["mm"]'), "units"),
        "units-number": (('units = "mm"', "units = 10"), "units"),
        "nul-in-path": ((root_line, 'mesh = "ro\\u0000ot.stl"'), "NUL"),
        "control-char-in-name": (('name = "sacrum"', 'name = "sa\\u0007crum"'), "control"),
        "deep-toml-array": (('name = "human-sized"', "name = " + "[" * DEEP + "]" * DEEP), "nested"),
        "deep-inline-table": (('name = "human-sized"', "x = " + "{a=" * DEEP + "1" + "}" * DEEP), "nested"),
        "400-digit-int": ((root_line, root_line + "\ncortical_thickness_mm = " + "9" * 400), "cortical_thickness_mm"),
        "critical-string": ((root_line, root_line + '\ncritical = "false"'), "true or false"),
        "critical-int": ((root_line, root_line + "\ncritical = 0"), "true or false"),
        "name-table": (('name = "sacrum"', "name = {a=1}"), "name"),
        "name-empty": (('name = "sacrum"', 'name = ""'), "name"),
        "name-huge": (('name = "sacrum"', 'name = "' + "s" * 5000 + '"'), "name"),
        "role-number": (('role = "sacrum"', "role = 5"), "role"),
        "side-bool": (('side = "left"\nlevel', "side = true\nlevel"), "side"),
        "level-int": (('level = "S1"', "level = 1"), "level"),
        "mesh-list": ((root_line, 'mesh = ["root.stl"]'), "mesh"),
        "allow-open-string": ((root_line, root_line + '\nallow_open = "yes"'), "allow_open"),
        "landmark-short": (("left-psis = [-60.0, -20.0, 40.0]", "left-psis = [1.0, 2.0]"), "left-psis"),
        "landmark-strings": (("left-psis = [-60.0, -20.0, 40.0]", 'left-psis = ["a", 2.0, 3.0]'), "left-psis"),
        "landmark-nan": (("left-psis = [-60.0, -20.0, 40.0]", "left-psis = [nan, 2.0, 3.0]"), "left-psis"),
        "landmark-inf": (("left-psis = [-60.0, -20.0, 40.0]", "left-psis = [inf, 2.0, 3.0]"), "left-psis"),
        "landmark-points-array": (("[scene.landmark_points]\nleft-psis = [-60.0, -20.0, 40.0]", "landmark_points = 5"),
                                  "landmark_points"),
        "thickness-nan": ((root_line, root_line + "\ncortical_thickness_mm = nan"), "cortical_thickness_mm"),
        "thickness-zero": ((root_line, root_line + "\ncortical_thickness_mm = 0"), "positive"),
        "description-int": (('name = "human-sized"', 'name = "x"\ndescription = 5'), "description"),
        "unknown-top-key": (("[scene]", "bogus = 1\n[scene]"), "bogus"),
        "unknown-scene-key": (('name = "human-sized"', 'name = "x"\nunist = "mm"'), "did you mean 'units'"),
        "structure-misspelt": (("[[structure]]\nname = \"left ilium\"", "[[structurx]]\nname = \"left ilium\""),
                               "did you mean 'structure'"),
        "duplicate-key": (('name = "sacrum"', 'name = "sacrum"\nname = "b"'), "TOML"),
        "marrow-list": ((root_line, root_line + '\nmarrow_surface = ["x"]'), "marrow_surface"),
        "path-escape": ((root_line, 'mesh = "../../etc/passwd"'), "leaves the scene folder"),
    }


MANIFEST = _manifest_cases()


@pytest.mark.parametrize("case", list(MANIFEST))
def test_manifest_attack_is_one_clear_line(tmp_path, case):
    (old, new), word = MANIFEST[case]
    path = human_scene(tmp_path)
    text = path.read_text()
    assert old in text, case
    path.write_text(text.replace(old, new, 1))
    out = guarded(_load, path, timeout=30)
    assert out.kind == "error", out
    assert out.one_line, out.message
    assert "scene.toml" in out.message and word in out.message, out.message


def test_critical_false_is_false_and_true_is_true(tmp_path):
    path = human_scene(tmp_path)
    path.write_text(path.read_text().replace('mesh = "root.stl"', 'mesh = "root.stl"\ncritical = false', 1)
                    .replace('mesh = "sacrum.ply"', 'mesh = "sacrum.ply"\ncritical = true', 1))
    out = guarded(_load, path)
    assert out.kind == "ok" and out.value == {"left ilium": False, "sacrum": True, "left S1 root": False}, out


def test_several_problems_one_line_each(tmp_path):
    path = human_scene(tmp_path)
    path.write_text(path.read_text().replace('mesh = "root.stl"', 'mesh = "root.stl"\ncritical = "no"\nallow_open = 1'))
    out = guarded(_load, path)
    lines = out.message.splitlines()
    assert out.kind == "error" and len(lines) == 2 and "critical" in lines[0] and "allow_open" in lines[1], out


# -- markups ----------------------------------------------------------------------------------
def _points(path):
    from needlesim.core.io.markups import read_points

    return {k: [float(x) for x in v] for k, v in read_points(path).items()}


def _mk(points):
    return {"markups": [{"type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": points}]}


MARKUPS = {
    "controlPoints-int": '{"markups": [{"controlPoints": 5}]}',
    "markups-object": '{"markups": {}}',
    "top-list": "[1, 2, 3]",
    "position-string": json.dumps(_mk([{"label": "a", "position": "1,2,3"}])),
    "position-short": json.dumps(_mk([{"label": "a", "position": [1, 2]}])),
    "position-nan": '{"markups": [{"controlPoints": [{"label": "a", "position": [NaN, 1, 2]}]}]}',
    "position-1e400": '{"markups": [{"controlPoints": [{"label": "a", "position": [1e400, 1, 2]}]}]}',
    "position-400-digits": '{"markups": [{"controlPoints": [{"label": "a", "position": [' + "9" * 400 + ', 1, 2]}]}]}',
    "int-5000-digits": '{"markups": [], "x": ' + "9" * 5000 + "}",
    "label-object": json.dumps(_mk([{"label": {"a": 1}, "position": [1, 2, 3]}])),
    "label-nul": json.dumps(_mk([{"label": "a\u0000b", "position": [1, 2, 3]}])),
    "system-xyz": '{"markups": [{"coordinateSystem": "XYZ", "controlPoints": []}]}',
    "units-cm": '{"markups": [{"coordinateUnits": "cm", "controlPoints": []}]}',
    "repeated-label": json.dumps(_mk([{"label": "a", "position": [1, 2, 3]}, {"label": "a", "position": [1, 2, 3]}])),
    "deep": '{"markups": ' + "[" * DEEP + "]" * DEEP + "}",
    "empty": "",
    "not-utf8": "\xff\xfe{}",
    "truncated": '{"markups": [{"controlPoints": [{"label": "a", "posi',
}


@pytest.mark.parametrize("case", list(MARKUPS))
def test_markups_attack_is_one_clear_line(tmp_path, case):
    path = tmp_path / "lm.mrk.json"
    path.write_bytes(MARKUPS[case].encode("latin-1" if case == "not-utf8" else "utf-8"))
    out = guarded(_points, path)
    assert out.kind == "error" and out.one_line and "lm.mrk.json" in out.message, out


def test_good_markups_read(tmp_path):
    path = tmp_path / "lm.mrk.json"
    path.write_text(json.dumps({"markups": [{"coordinateSystem": "LPS", "controlPoints": [
        {"label": "left-psis", "position": [40, 80, 20], "orientation": [1] * 9}], "display": {"x": [1]}}]}))
    assert guarded(_points, path).value == {"left-psis": [-40.0, -80.0, 20.0]}


# -- envelopes --------------------------------------------------------------------------------
def _env(path):
    from needlesim.core.verdict.envelope import load_envelope

    e = load_envelope(path)
    return e.depth_mm.min, e.depth_mm.max


HEAD = 'name = "x"\ntitle = "t"\ncitation = "c"\n'
ENVELOPES = {
    "min-above-max": HEAD + "[depth_mm]\nmin = 60\nmax = 10\n",
    "min-string": HEAD + '[depth_mm]\nmin = "a"\n',
    "max-nan": HEAD + "[depth_mm]\nmax = nan\n",
    "max-inf": HEAD + "[depth_mm]\nmax = inf\n",
    "max-400-digits": HEAD + "[depth_mm]\nmax = " + "9" * 400 + "\n",
    "unknown-bound": HEAD + "[depth_mm]\nmid = 3\n",
    "unknown-key": HEAD + "colour = 1\n",
    "no-name": 'title = "t"\ncitation = "c"\n',
    "name-table": 'name = {a = 1}\ntitle = "t"\ncitation = "c"\n',
    "bounds-number": HEAD + "depth_mm = 5\n",
    "bool-bound": HEAD + "[depth_mm]\nmax = true\n",
    "deep": HEAD + "summary = " + "[" * DEEP + "]" * DEEP + "\n",
    "not-toml": "this is not toml ][",
    "empty": "",
}


@pytest.mark.parametrize("case", list(ENVELOPES))
def test_envelope_attack_is_one_clear_line(tmp_path, case):
    path = tmp_path / "env.toml"
    path.write_text(ENVELOPES[case])
    out = guarded(_env, str(path))
    assert out.kind == "error" and out.one_line and "env.toml" in out.message, out


def test_unknown_envelope_name():
    out = guarded(_env, "nope")
    assert out.kind == "error" and "unknown envelope 'nope'" in out.message


# -- sessions (core) --------------------------------------------------------------------------
def _good_session() -> dict:
    t = {"entry": "left-psis", "lateral_deg": 30.0, "inferior_deg": 20.0, "depth_mm": 60.0, "side": "left"}
    return {"format": "needlesim-session", "version": 1, "scene": "analytic", "trajectory": t,
            "envelope": "nam2019", "margin_mm": 5.0, "backend": "exact", "saved": {"a": dict(t, lateral_deg=10.0)},
            "compare": "a", "camera": None}


def _read(path):
    from needlesim.session_io import read_session

    d = read_session(path)
    return d.margin_mm, d.backend, sorted(d.saved), d.compare


def _set(d, dotted, value):
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d[k]
    d[keys[-1]] = value


SESSIONS = {
    "version-huge": ("version", 10**400),
    "version-bool": ("version", True),
    "margin-huge-int": ("margin_mm", 10**400),
    "margin-1e9": ("margin_mm", 1e9),
    "margin-negative": ("margin_mm", -1.0),
    "margin-string": ("margin_mm", "5"),
    "backend-gpu": ("backend", "gpu"),
    "envelope-unknown": ("envelope", "nope"),
    "envelope-table": ("envelope", {"a": 1}),
    "lateral-huge-int": ("trajectory.lateral_deg", 10**400),
    "lateral-out-of-range": ("trajectory.lateral_deg", 89.0),
    "depth-negative": ("trajectory.depth_mm", -5.0),
    "entry-two-numbers": ("trajectory.entry", [1.0, 2.0]),
    "entry-nul": ("trajectory.entry", "left\u0000psis"),
    "side-up": ("trajectory.side", "up"),
    "trajectory-list": ("trajectory", [1, 2]),
    "saved-list": ("saved", [1, 2]),
    "saved-bad-aim": ("saved.a.depth_mm", "deep"),
    "camera-short": ("camera", {"position": [1, 2], "focal_point": [0, 0, 0], "view_up": [0, 0, 1]}),
    "format-foreign": ("format", "something-else"),
    "scene-int": ("scene", 5),
    "unknown-key": ("colour", "red"),
}


def _write_session(path, doc):
    text = json.dumps(doc)
    path.write_text(text)


@pytest.mark.parametrize("case", list(SESSIONS))
def test_session_attack_is_one_clear_line(tmp_path, case):
    import sys

    sys.set_int_max_str_digits(0)  # to write the 400-digit cases
    doc = _good_session()
    _set(doc, *SESSIONS[case])
    path = tmp_path / "s.json"
    _write_session(path, doc)
    out = guarded(_read, path)
    assert out.kind == "error" and out.one_line and "s.json" in out.message, out


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"format": "needlesim-session", "version": 1, "trajectory": '
                                  + "[" * DEEP + "]" * DEEP + "}", '{"margin_mm": NaN}', "\xff"],
                         ids=["empty", "truncated", "list", "null", "deep", "nan", "not-utf8"])
def test_session_garbage_is_one_clear_line(tmp_path, text):
    path = tmp_path / "s.json"
    path.write_bytes(text.encode("latin-1"))
    out = guarded(_read, path)
    assert out.kind == "error" and out.one_line, out


def test_a_session_with_too_many_saved_aims_is_refused_with_the_limit(tmp_path):
    from needlesim.session_io import MAX_SAVED

    doc = _good_session()
    doc["saved"] = {f"aim {i}": doc["trajectory"] for i in range(100_000)}
    path = tmp_path / "s.json"
    _write_session(path, doc)
    out = guarded(_read, path)
    assert out.kind == "error" and out.one_line and "100,000 saved trajectories" in out.message, out
    assert f"{MAX_SAVED:,}" in out.message


def test_a_good_session_reads_whole(tmp_path):
    path = tmp_path / "s.json"
    _write_session(path, _good_session())
    assert guarded(_read, path).value == (5.0, "exact", ["a"], "a")
