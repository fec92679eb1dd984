"""A session saved after the anatomy was rebuilt on corrected landmarks reopens on the same
corrected anatomy (issue 12's landmark review): the file records the scene's original source
and the corrected landmarks (RAS mm), and opening checks them against that scene and applies
them as ``--landmarks FILE`` does. Qt-free, on the analytic scene (a bone slab y in [20, 40],
x and z in [-100, 100]; ``left-psis`` and ``right-psis`` at (0, 20, 0)); the scene has no built
anatomy, so its landmarks are only replaced (the rebuild is the GUI's slow test)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from needlesim.session import CORRECTED, Session
from needlesim.session_io import MAX_LANDMARKS, SessionError, read_session, save_session, session_scene

MOVED = {"left-psis": [10.0, 20.0, 3.0], "right-psis": [-7.5, 20.0, 41.25]}


def _loader(scene):
    seen = []

    def load(source):
        seen.append(source)
        return scene

    return load, seen


def _corrected_session(analytic_scene) -> Session:
    """The analytic scene with MOVED landmarks, as a rebuild leaves it: its landmark record
    has the search's confidence of the one not moved by hand (0.31)."""
    from dataclasses import replace
    from types import SimpleNamespace

    record = SimpleNamespace(confidence={"left-psis": 1.0, "right-psis": 0.31}, missing=(), log=())
    corrected = replace(analytic_scene.with_landmarks({k: np.array(v) for k, v in MOVED.items()}),
                        metadata={"anatomy": SimpleNamespace(landmarks=record)})
    s = Session(analytic_scene, scene_source="analytic")
    s.set_corrected_scene(corrected)
    return s


def test_the_corrected_landmarks_round_trip(tmp_path, analytic_scene):
    s = _corrected_session(analytic_scene)
    assert s.scene_source == "analytic" + CORRECTED and s.scene_base == "analytic"
    path = save_session(tmp_path / "s.json", s)
    doc = json.loads(path.read_text())
    assert doc["scene"] == "analytic" and doc["version"] == 2  # the source it can be opened from
    assert doc["landmarks"] == MOVED and doc["landmark_confidence"] == {"left-psis": 1.0, "right-psis": 0.31}
    data = read_session(path)
    assert {k: list(v) for k, v in data.landmarks.items()} == MOVED and data.scene_source == s.scene_source
    assert data.landmark_confidence == {"left-psis": 1.0, "right-psis": 0.31}
    load, seen = _loader(analytic_scene)
    scene = session_scene(data, load)
    assert seen == ["analytic"]
    assert scene is not analytic_scene and np.array_equal(scene.landmarks["left-psis"], [10.0, 20.0, 3.0])
    assert np.array_equal(analytic_scene.landmarks["left-psis"], [0.0, 20.0, 0.0])  # the base is untouched
    fresh = Session(analytic_scene, scene_source="analytic")
    fresh.apply_session(scene, data)
    assert fresh.scene_source == s.scene_source and fresh.scene_base == "analytic"
    again = json.loads(save_session(tmp_path / "t.json", fresh).read_text())
    assert again["scene"] == "analytic" and again["landmarks"] == MOVED  # saved again, the same
    fresh.set_scene(analytic_scene, "analytic")  # another scene: no longer corrected
    assert fresh.scene_base is None and "landmarks" not in json.loads(save_session(tmp_path / "u.json", fresh).read_text())


def test_a_session_without_corrections_is_written_and_read_as_before(tmp_path, analytic_scene):
    s = Session(analytic_scene, scene_source="analytic")
    doc = json.loads(save_session(tmp_path / "s.json", s).read_text())
    assert doc["version"] == 1 and "landmarks" not in doc  # an older needlesim still reads it
    data = read_session(tmp_path / "s.json")
    assert data.landmarks is None and data.scene_source == "analytic"
    load, seen = _loader(analytic_scene)
    assert session_scene(data, load) is analytic_scene and seen == ["analytic"]


def _write(tmp_path, analytic_scene, landmarks, confidence=None) -> object:
    path = save_session(tmp_path / "bad.json", _corrected_session(analytic_scene))
    doc = json.loads(path.read_text())
    doc["landmarks"] = landmarks
    doc["landmark_confidence"] = {k: 1.0 for k in landmarks} if confidence is None else confidence
    path.write_text(json.dumps(doc))  # json writes a NaN literal, as a careless script would
    return path


@pytest.mark.parametrize("landmarks, message", [
    ({"left-psis": [float("nan"), 20.0, 0.0]}, r"bad\.json: landmarks\.left-psis\.0: .*finite"),
    ({"left-psis": [0.0, 20.0]}, r"bad\.json: landmarks\.left-psis"),
    ({}, r"bad\.json: landmarks"),
    ({f"left-s{i}-dorsal-foramen": [0.0, 20.0, 0.0] for i in range(MAX_LANDMARKS + 1)}, "landmarks"),
], ids=["nan", "two-values", "empty", "too-many"])
def test_a_malformed_landmark_is_refused_on_reading(tmp_path, analytic_scene, landmarks, message):
    path = _write(tmp_path, analytic_scene, landmarks)
    with pytest.raises(SessionError, match=message):
        read_session(path)


@pytest.mark.parametrize("confidence, message", [
    ({"left-psis": 1.5}, r"bad\.json: landmark_confidence\.left-psis"),
    ({"left-psis": 1.0, "left-asis": 0.5}, r"bad\.json: landmark_confidence: 'left-asis' not in landmarks"),
], ids=["over-1", "stray"])
def test_a_bad_confidence_is_refused_on_reading(tmp_path, analytic_scene, confidence, message):
    path = _write(tmp_path, analytic_scene, {"left-psis": [1.0, 20.0, 0.0]}, confidence)
    with pytest.raises(SessionError, match=message):
        read_session(path)


@pytest.mark.parametrize("landmarks, message", [
    ({"left-pisis": [1.0, 20.0, 0.0]}, r"bad\.json: corrected landmarks: 1 unknown .*'left-pisis' \(did you mean 'left-psis'\?\)"),
    # the slab is x, z in [-100, 100]: 800 mm above its top face
    ({"left-psis": [0.0, 30.0, 900.0], "right-psis": [0.0, 20.0, 0.0]}, r"bad\.json: corrected landmarks: .*\(left-psis 800 mm"),
], ids=["unknown", "far-off-bone"])
def test_a_landmark_that_does_not_fit_the_scene_is_refused_on_opening(tmp_path, analytic_scene, landmarks, message):
    data = read_session(_write(tmp_path, analytic_scene, landmarks))
    with pytest.raises(SessionError, match=message):
        session_scene(data, _loader(analytic_scene)[0])


def test_a_session_saved_with_the_corrected_source_name_says_what_was_lost(tmp_path, analytic_scene):
    """Sessions written before this fix named the scene 'X (landmarks corrected)' and no landmarks."""
    path = save_session(tmp_path / "old.json", Session(analytic_scene, scene_source="analytic"))
    doc = json.loads(path.read_text())
    doc["scene"] = "builtin" + CORRECTED
    path.write_text(json.dumps(doc))
    data = read_session(path)
    load, seen = _loader(analytic_scene)
    with pytest.raises(SessionError, match=r"old\.json: the scene 'builtin \(landmarks corrected\)' was saved without its corrected landmarks.*open 'builtin'"):
        session_scene(data, load)
    assert seen == []
