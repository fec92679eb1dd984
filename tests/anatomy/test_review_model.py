"""The landmark review model (Qt-free): drags keep a landmark on its bone at the distance it
was found at, confidence bands, markups round trip, refused files. Synthetic bones with
analytic answers; fast."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from needlesim.anatomy.review_model import (DOUBTFUL_BELOW, REVIEW_BELOW, Band, LandmarkReview, band,
                                            scene_confidence)
from needlesim.core.errors import ManifestError
from needlesim.core.io import markups
from needlesim.core.model.scene import Role, Scene, Structure

R_MM = 50.0


@pytest.fixture()
def ball_scene(tmp_path) -> Scene:
    """A bone ball of radius 50 mm at the origin (an icosphere: its faces lie within 0.2 mm
    of the sphere), a slab bone y in [200, 220]; ``on-ball`` on the ball, ``off-ball`` 6 mm
    off it (a foramen centre), ``on-slab`` on the slab's back."""
    ball = trimesh.creation.icosphere(subdivisions=5, radius=R_MM)
    slab = trimesh.creation.box(extents=(100, 20, 100))
    slab.apply_translation((0, 210, 0))
    return Scene(structures=(Structure.from_trimesh("sacrum", Role.CORTICAL_BONE, ball),
                             Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, slab, side="left")),
                 landmarks={"on-ball": np.array([0.0, -R_MM, 0.0]), "off-ball": np.array([0.0, 0.0, R_MM + 6.0]),
                            "on-slab": np.array([0.0, 200.0, 0.0])},
                 name="ball", source=str(tmp_path / "none.toml"))


def test_a_drag_keeps_a_landmark_on_its_bone_at_its_distance(ball_scene):
    r = LandmarkReview(ball_scene)
    # on the bone: anywhere it is dragged, it lands on the ball's surface along the ray
    for target in ([30.0, -80.0, 10.0], [5.0, -20.0, 5.0], [60.0, 0.0, 0.0]):
        p = r.move("on-ball", np.array(target))
        assert np.linalg.norm(p) == pytest.approx(R_MM, abs=0.25)
        assert np.allclose(p / np.linalg.norm(p), np.array(target) / np.linalg.norm(target), atol=0.01)
    # 6 mm off the bone: it stays 6 mm off (a foramen's centre stays in its opening)
    p = r.move("off-ball", np.array([0.0, 40.0, 80.0]))
    assert np.linalg.norm(p) == pytest.approx(R_MM + 6.0, abs=0.25)
    # a landmark on the slab stays on the slab, never jumps to the nearer ball
    p = r.move("on-slab", np.array([10.0, 120.0, 3.0]))
    assert np.allclose(p, [10.0, 200.0, 3.0], atol=1e-6)
    assert r.confidence["on-ball"] == 1.0 and sorted(r.moved) == ["off-ball", "on-ball", "on-slab"]
    assert r.row("on-slab").moved_mm == pytest.approx(0.0 + np.hypot(10.0, 3.0))
    r.reset()
    assert r.moved == [] and np.allclose(r.points["on-slab"], [0.0, 200.0, 0.0])


def test_confidence_bands():
    assert band(1.0) is Band.OK and band(REVIEW_BELOW) is Band.OK
    assert band(REVIEW_BELOW - 0.01) is Band.REVIEW and band(DOUBTFUL_BELOW) is Band.REVIEW
    assert band(DOUBTFUL_BELOW - 0.01) is Band.DOUBTFUL


def test_confidence_comes_from_the_scene_folder_landmarks_file(ball_scene, tmp_path):
    (tmp_path / "scene.toml").write_text('[scene]\nlandmarks = "lm.mrk.json"\n')
    markups.write_points(tmp_path / "lm.mrk.json", ball_scene.landmarks,
                         descriptions={"on-ball": "confidence=0.42", "off-ball": "confidence=0.85"})
    from dataclasses import replace

    scene = replace(ball_scene, source=str(tmp_path / "scene.toml"))
    assert scene_confidence(scene)[0] == {"on-ball": 0.42, "off-ball": 0.85, "on-slab": 1.0}
    rows = {x.name: x for x in LandmarkReview(scene).rows()}
    assert rows["on-ball"].band is Band.DOUBTFUL and rows["off-ball"].band is Band.REVIEW
    assert rows["on-slab"].band is Band.OK


def test_save_and_load_round_trip_as_slicer_markups(ball_scene, tmp_path):
    r = LandmarkReview(ball_scene)
    moved = r.move("on-slab", np.array([20.0, 150.0, -7.0]))
    path = r.save(tmp_path / "fix.mrk.json")
    doc = json.loads(path.read_text())
    assert doc["markups"][0]["type"] == "Fiducial" and doc["markups"][0]["coordinateSystem"] == "RAS"
    assert {c["label"] for c in doc["markups"][0]["controlPoints"]} == set(ball_scene.landmarks)
    again = LandmarkReview(ball_scene)
    assert again.load(path) == ["on-slab"]
    assert np.allclose(again.points["on-slab"], moved) and again.moved == ["on-slab"]
    assert again.confidence == pytest.approx(r.confidence)


def test_a_file_in_another_frame_or_with_unknown_names_is_refused_and_changes_nothing(ball_scene, tmp_path):
    r = LandmarkReview(ball_scene)
    far = markups.write_points(tmp_path / "far.mrk.json", {"on-slab": np.array([0.0, 200.0, 400.0])})
    with pytest.raises(ManifestError, match=r"on-slab lies 3\d\d mm from every bone: is the file in this scene's frame"):
        r.load(far)
    odd = markups.write_points(tmp_path / "odd.mrk.json", {"left-elbow": np.array([0.0, -R_MM, 0.0])})
    with pytest.raises(ManifestError, match="'left-elbow' is not a landmark needlesim knows"):
        r.load(odd)
    assert r.moved == [] and set(r.points) == set(ball_scene.landmarks)
