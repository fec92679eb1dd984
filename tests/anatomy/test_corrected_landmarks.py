"""``--landmarks FILE`` on ``check``, ``sweep``, ``map`` and ``report``: a corrected 3D Slicer
markups file replaces the scene's landmarks, checked whole (one line, exit 2, nothing written),
and the built anatomy is rebuilt where it is built from a moved landmark."""

from __future__ import annotations

import json

import numpy as np
import pytest

from needlesim.anatomy.corrected import MAX_OFF_BONE_MM, apply_landmarks_file, bone_distance_mm
from needlesim.cli import main
from needlesim.core.api import check
from needlesim.core.model.trajectory import Trajectory
from needlesim.core.verdict.report import report_to_dict
from needlesim.core.errors import NeedlesimError
from needlesim.core.io import markups
from needlesim.core.io.builtin import load_builtin_scene

AIM = ["--lateral", "30", "--inferior", "22.5", "--depth", "60"]


@pytest.fixture(scope="module")
def builtin():
    return load_builtin_scene()


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _bad_files(builtin, folder) -> dict[str, tuple[object, str]]:
    lm = builtin.landmarks
    nan = markups.write_points(folder / "nan.mrk.json", {"left-entry": lm["left-psis"]})
    doc = json.loads(nan.read_text())
    doc["markups"][0]["controlPoints"][0]["position"][1] = float("nan")
    nan.write_text(json.dumps(doc))  # json writes the NaN literal, as a careless script would
    return {
        "unknown": (markups.write_points(folder / "u.mrk.json", {"left-pisis": lm["left-psis"], "left-entry": lm["left-entry"]}),
                    r"1 unknown landmark name.*'left-pisis' \(did you mean 'left-psis'\?\)"),
        "nan": (nan, "'left-entry' has a non-finite coordinate"),
        "far": (markups.write_points(folder / "f.mrk.json", {"left-psis": lm["left-psis"] * np.array([1, 1, 1]) + [0, -60, 0],
                                                             "right-psis": lm["right-psis"]}),
                r"1 landmark\(s\) lie far from the bone \(left-psis (5[5-9]|60) mm"),
        "side": (markups.write_points(folder / "s.mrk.json", {"left-entry": lm["right-entry"]}),
                 "wrong side of the midline.*: left-entry"),
        "empty": (markups.write_points(folder / "e.mrk.json", {}), "places no landmark"),
    }


def test_every_fault_of_a_landmarks_file_is_named(builtin, tmp_path):
    for kind, (path, message) in _bad_files(builtin, tmp_path).items():
        with pytest.raises(NeedlesimError, match=message):
            apply_landmarks_file(builtin, path)


def test_the_bone_distance_is_the_surface_distance(builtin):
    """A point 30 mm straight out from a bone vertex along its normal (on the convex iliac
    crest) is 30 mm from the bone; a vertex is 0 mm."""
    crest = builtin["left ilium"].mesh
    top = int(np.argmax(crest.vertices[:, 2]))
    p = crest.vertices[top] + 30.0 * crest.vertex_normals[top]
    d = bone_distance_mm(builtin, np.array([crest.vertices[top], p]))
    assert d[0] == pytest.approx(0.0, abs=1e-9) and d[1] == pytest.approx(30.0, abs=1.0)
    assert d[1] > MAX_OFF_BONE_MM


@pytest.mark.parametrize("command", ["check", "report"])
def test_a_bad_landmarks_file_exits_2_with_one_line_and_writes_nothing(builtin, tmp_path, capsys, command):
    path, _ = _bad_files(builtin, tmp_path)["far"]
    out = tmp_path / "card.html"
    argv = ["check", "--entry", "left-psis", *AIM] if command == "check" else \
        ["report", "--entry", "left-psis", *AIM, "--no-images", "-o", str(out)]
    assert main([*argv, "--landmarks", str(path)]) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"needlesim {command}: error: {path}: 1 landmark(s) lie far from the bone")
    assert not out.exists()


def test_moving_only_an_entry_replaces_it_and_keeps_the_anatomy(builtin, tmp_path):
    moved = builtin.landmarks["left-entry"] + np.array([0.0, 0.0, 3.0])
    path = markups.write_points(tmp_path / "fix.mrk.json", {"left-entry": moved,
                                                           "left-psis": builtin.landmarks["left-psis"]})
    c = apply_landmarks_file(builtin, path)
    assert c.moved == ("left-entry",) and not c.rebuilt  # left-psis given unchanged: not moved
    assert c.scene.geometry_key == builtin.geometry_key
    assert np.allclose(c.scene.landmarks["left-entry"], moved)
    assert np.allclose(c.scene.landmarks["right-entry"], builtin.landmarks["right-entry"])
    assert c.scene.metadata["landmarks_file"]["moved"] == ["left-entry"]


def test_report_names_the_landmarks_file_on_the_card(builtin, tmp_path):
    path = markups.write_points(tmp_path / "fix.mrk.json", {"left-entry": builtin.landmarks["left-psis"]})
    out = tmp_path / "card.html"
    assert main(["report", "--entry", "left-entry", *AIM, "--no-images", "-o", str(out),
                 "--landmarks", str(path)]) == 0
    assert f"landmarks from {path}: moved left-entry" in out.read_text()


@pytest.mark.slow
def test_moving_a_psis_rebuilds_the_anatomy_and_check_aims_from_the_moved_point(builtin, tmp_path, capsys):
    """The left PSIS moved 7 mm onto the harvest entry point: ``check --entry left-psis`` now
    starts there (the same hits as an aim from those coordinates), the anatomy built from the
    PSIS (the left superior gluteal vessels) is rebuilt, and the right side's is unchanged."""
    target = builtin.landmarks["left-entry"]
    path = markups.write_points(tmp_path / "psis.mrk.json", {"left-psis": target})
    c = apply_landmarks_file(builtin, path)
    assert c.rebuilt and c.moved == ("left-psis",)
    assert np.linalg.norm(c.scene.landmarks["left-psis"] - target) < 1e-3  # the same frame
    assert np.allclose(c.scene["sacrum"].vertices, builtin["sacrum"].vertices, atol=1e-3)
    left, right = "left superior gluteal artery", "right superior gluteal artery"
    assert not np.array_equal(c.scene[left].vertices, builtin[left].vertices)
    assert np.allclose(c.scene[right].vertices, builtin[right].vertices, atol=1e-3)

    aim = [*AIM, "--json"]
    assert main(["check", "--entry", "left-psis", *aim, "--landmarks", str(path)]) == 0
    corrected = json.loads(capsys.readouterr().out)
    assert main(["check", "--entry", "left-psis", *aim]) == 0
    original = json.loads(capsys.readouterr().out)
    from_point = report_to_dict(check(c.scene, Trajectory(tuple(target), 30.0, 22.5, 60.0, side="left")))
    assert corrected["scene"]["landmarks_file"]["rebuilt"] is True
    assert corrected["scene"]["geometry_key"] == c.scene.geometry_key != original["scene"]["geometry_key"]
    assert corrected["entry_point"] != original["entry_point"]
    assert np.allclose(corrected["entry_point"], target, atol=1e-3)
    assert corrected["hits"] != original["hits"]
    assert [h["structure"] for h in corrected["hits"]] == [h["structure"] for h in from_point["hits"]]
    assert np.allclose([h["depth_mm"] for h in corrected["hits"]], [h["depth_mm"] for h in from_point["hits"]],
                       atol=1e-3)
