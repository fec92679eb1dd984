"""Pelvic and sacral landmarks found by geometry (``needlesim.anatomy.landmarks``).

On the real Visible Human Female pelvis: every landmark in its anatomical place, distances
against published figures, the same landmarks after rigid moves, anisotropic scaling and
decimation, and clear errors when a landmark cannot exist.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from needlesim.anatomy import landmarks_ilium
from needlesim.anatomy.landmarks import AXIS_NAMES, LANDMARK_NAMES, PelvisLandmarks, find_pelvis_landmarks
from needlesim.anatomy.landmarks_ilium import ASIS_CAP_MM
from needlesim.anatomy.pelvic_frame import PelvicFrame, anterior_pelvic_plane
from needlesim.core.errors import LandmarkError

#: The HuBMAP sources: ``../shared`` beside the checkout, or where ``$NEEDLESIM_SHARED`` says.
SHARED = Path(os.environ.get("NEEDLESIM_SHARED") or Path(__file__).resolve().parents[2].parent / "shared")
PELVIS_GLB = SHARED / "anatomy" / "hra-female-pelvis" / "VH_F_Pelvis.glb"

#: glTF node of each bone; only the closed compact-bone meshes (the spongy ones are open
#: patches lying on the compact surface).
NODES = {"sacrum": "VH_F_sacrum", "coccyx": "VH_F_coccyx"} | {
    f"{side} {bone}": f"VH_F_{bone}_compact_bone_{s}"
    for side, s in (("left", "L"), ("right", "R"))
    for bone in ("ilium", "ischium", "pubis")
}
#: glTF (m; +X left, +Y superior, +Z anterior) to RAS mm: RAS = (-X, Z, Y) * 1000.
GLTF_TO_RAS = np.array([[-1000.0, 0, 0, 0], [0, 0, 1000.0, 0], [0, 1000.0, 0, 0], [0, 0, 0, 1]])

SIDES = ("left", "right")
LEVELS = (1, 2, 3, 4)
FORAMINA = [f"{side}-s{level}-{surface}-foramen" for side in SIDES for level in LEVELS for surface in ("dorsal", "ventral")]
FORAMEN_AXES = [f"{side}-s{level}-foramen" for side in SIDES for level in LEVELS]
POINT_NAMES = {
    "left-asis", "right-asis", "pubic-symphysis", "sacral-canal-s1", "sacral-hiatus",
    *(f"{side}-{name}" for side in SIDES for name in ("psis", "entry", "sciatic-notch-top", "si-joint-posterior")),
    *FORAMINA,
}

#: How far a landmark may drift from the moved original after a perturbation, mm, by class.
#: Centroids (foramen openings, PSIS and entry caps) moved at most 1.9 mm over 20 random
#: 10 % scalings and 4 decimations (to 30-60 % of the faces); 3 mm is the largest tolerable
#: placement error of the 2018 IR survey (2.7 mm) rounded up. Extremes and edges (the ASIS cap
#: hangs on the APP's support vertices, which decimation moves by about an edge length; the
#: posterior end of a joint, the notch apex, the ends of the canal's roof) get 5 mm; they moved
#: at most 2.8 mm.
TOLERANCE_MM = {
    "foramen": 3.0,
    "psis": 3.0,
    "entry": 3.0,
    "asis": 5.0,
    "pubic-symphysis": 5.0,
    "sciatic-notch-top": 5.0,
    "si-joint-posterior": 5.0,
    "canal": 5.0,
}
#: How far a foramen or canal axis may turn after a perturbation, degrees. The foramen axes
#: join two openings 3-23 mm apart (S4 to S1), each good to about 1-2 mm; the short S4 axes
#: turned at most 21 degrees over 20 random 10 % scalings, the canal axis 0.3 degrees.
AXIS_TOLERANCE_DEG = {"foramen": 30.0, "canal": 5.0}
#: Detection time allowed on this pelvis, s (it runs in tests and in the scene build).
MAX_SECONDS = 10.0


def landmark_class(name: str) -> str:
    if name.endswith("foramen"):
        return "foramen"
    if name.startswith("sacral-"):
        return "canal"
    side, _, rest = name.partition("-")
    return rest if side in SIDES else name


def load_vhf_pelvis() -> dict[str, trimesh.Trimesh]:
    """The Visible Human Female pelvic bones, closed meshes in RAS mm."""
    scene = trimesh.load(PELVIS_GLB, force="scene")
    bones = {}
    for name, node in NODES.items():
        transform, geometry = scene.graph[node]
        mesh = scene.geometry[geometry].copy()
        mesh.apply_transform(GLTF_TO_RAS @ transform)
        bones[name] = mesh
    return bones




@pytest.fixture(scope="module")
def bones() -> dict[str, trimesh.Trimesh]:
    if not PELVIS_GLB.is_file():
        pytest.skip(f"the Visible Human Female pelvis is not at {PELVIS_GLB} (a checkout without shared/)")
    return load_vhf_pelvis()


@pytest.fixture(scope="module")
def detected(bones) -> tuple[PelvisLandmarks, float]:
    start = time.perf_counter()
    found = find_pelvis_landmarks(bones)
    return found, time.perf_counter() - start


@pytest.fixture(scope="module")
def landmarks(detected) -> PelvisLandmarks:
    return detected[0]


@pytest.fixture(scope="module")
def neutral(landmarks) -> dict[str, np.ndarray]:
    """Every landmark in the APP frame: x right, y anterior, z superior, mm."""
    m = landmarks.neutral_matrix
    return {name: m[:3, :3] @ p + m[:3, 3] for name, p in landmarks.points.items()}


def moved(bones, matrix):
    return {name: mesh.copy().apply_transform(matrix) for name, mesh in bones.items()}


def drift_by_class(found: PelvisLandmarks, expected: PelvisLandmarks) -> dict[str, float]:
    drift: dict[str, float] = {}
    for name, point in expected.points.items():
        cls = landmark_class(name)
        drift[cls] = max(drift.get(cls, 0.0), float(np.linalg.norm(found.points[name] - point)))
    return drift


def turn_by_class(found: PelvisLandmarks, expected: PelvisLandmarks) -> dict[str, float]:
    turn: dict[str, float] = {}
    for name, (_, direction) in expected.axes.items():
        cls = "canal" if name == "sacral-canal" else "foramen"
        angle = np.degrees(np.arccos(np.clip(found.axes[name][1] @ direction, -1.0, 1.0)))
        turn[cls] = max(turn.get(cls, 0.0), float(angle))
    return turn


def assert_follows(found: PelvisLandmarks, expected: PelvisLandmarks, label: str) -> None:
    drift = drift_by_class(found, expected)
    turn = turn_by_class(found, expected)
    print(f"\n{label}: max drift by class (mm): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(drift.items()))
          + "; axes turned (deg): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(turn.items())))
    bad = {k: round(v, 2) for k, v in drift.items() if v > TOLERANCE_MM[k]}
    bad |= {f"{k} axis": round(v, 1) for k, v in turn.items() if v > AXIS_TOLERANCE_DEG[k]}
    assert not bad, f"{label}: landmarks drifted beyond tolerance: {bad} (tolerances {TOLERANCE_MM}, {AXIS_TOLERANCE_DEG})"


# --- the result itself ---------------------------------------------------------------------

def test_every_landmark_and_axis_is_there(landmarks):
    assert set(landmarks.points) == POINT_NAMES
    assert tuple(landmarks.points) == LANDMARK_NAMES and tuple(landmarks.axes) == AXIS_NAMES
    flat = landmarks.as_points()
    assert set(flat) == POINT_NAMES
    assert all(p.shape == (3,) and np.isfinite(p).all() for p in flat.values())
    assert set(landmarks.axes) == set(FORAMEN_AXES) | {"sacral-canal"}
    for point, direction in landmarks.axes.values():
        assert point.shape == direction.shape == (3,)
        assert np.linalg.norm(direction) == pytest.approx(1.0)
    assert landmarks.canal_polyline.ndim == 2 and len(landmarks.canal_polyline) >= 10


def test_detection_is_fast_enough(detected):
    print(f"\ndetection took {detected[1]:.2f} s")
    assert detected[1] < MAX_SECONDS


def test_neutral_matrix_is_rigid_and_puts_the_app_support_points_on_the_x_axis(bones, landmarks, neutral):
    m = landmarks.neutral_matrix
    assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-9)
    assert np.linalg.det(m[:3, :3]) == pytest.approx(1.0)
    frame = anterior_pelvic_plane(bones)
    left, right = (m[:3, :3] @ p + m[:3, 3] for p in (frame.left_asis, frame.right_asis))
    assert np.allclose(left[1:], 0.0, atol=1e-6) and np.allclose(right[1:], 0.0, atol=1e-6)
    assert left[0] == pytest.approx(-right[0]) and right[0] > 0
    # the ASIS landmarks: on the bone where the APP touches it, so behind the plane by at most the cap
    for side in SIDES:
        asis = neutral[f"{side}-asis"]
        assert -ASIS_CAP_MM - 1e-9 <= asis[1] <= 1e-9, (side, asis)
    # the input is RAS already and this pelvis lies near neutral: the frames differ by < 10 deg
    assert np.degrees(np.arccos(np.clip((np.trace(m[:3, :3]) - 1) / 2, -1, 1))) < 10.0


def test_the_asis_is_the_centre_of_the_touching_cap_not_a_sliding_vertex():
    """A rounded tip whose border runs nearly parallel to the plane (an ellipsoid 60 mm long in
    z, radius of curvature 360 mm along it) with 0.3 mm of seeded surface noise, as a voxelised
    bone has: the support vertex slides far along the border; the cap centre stays on the tip."""
    tip = np.array([0.0, 10.0, 0.0])
    mesh = trimesh.creation.icosphere(subdivisions=6)
    mesh.vertices *= [20.0, 10.0, 60.0]
    rng = np.random.default_rng(5)
    noisy = mesh.copy()
    noisy.vertices = mesh.vertices + rng.normal(0.0, 0.3, len(mesh.vertices))[:, None] * mesh.vertex_normals
    frame = PelvicFrame(np.zeros(3), np.eye(3), tip, tip, tip)
    support = noisy.vertices[np.argmax(noisy.vertices[:, 1])]
    found = landmarks_ilium.asis(noisy, landmarks_ilium.surface_samples(noisy), frame)
    assert np.linalg.norm(support - tip) > 5.0  # the single vertex is ill-conditioned here ...
    assert np.linalg.norm(found - tip) < 2.0  # ... the cap's centre is not
    assert found[1] > 10.0 - ASIS_CAP_MM


def test_midline_is_between_the_asis_and_nearly_normal_to_x(landmarks, neutral):
    normal = landmarks.neutral_matrix[:3, :3] @ landmarks.midline.normal
    assert normal[0] > np.cos(np.radians(5.0))
    offset = landmarks.midline.signed_distance(landmarks.points["left-asis"]) + landmarks.midline.signed_distance(
        landmarks.points["right-asis"]
    )
    assert abs(offset) < 15.0  # ASIS about symmetric about the fitted midline


def test_sided_landmarks_are_on_their_side(landmarks):
    for plane in (landmarks.midline, landmarks.sacral_midline):
        for name, point in landmarks.points.items():
            side = name.split("-")[0]
            if side in SIDES:
                distance = plane.signed_distance(point)
                assert (distance < 0) if side == "left" else (distance > 0), name
        for name in ("pubic-symphysis", "sacral-canal-s1", "sacral-hiatus"):
            assert abs(plane.signed_distance(landmarks.points[name])) < 10.0, name
    angle = np.degrees(np.arccos(landmarks.midline.normal @ landmarks.sacral_midline.normal))
    assert angle < 10.0, "the sacrum's mirror plane is far from the pelvis's"


def test_foramina_are_ordered_and_dorsal_behind_ventral(neutral):
    for side in SIDES:
        for surface in ("dorsal", "ventral"):
            z = [neutral[f"{side}-s{level}-{surface}-foramen"][2] for level in LEVELS]
            assert z == sorted(z, reverse=True), f"{side} {surface} foramina not S1 above S4: {z}"
        for level in LEVELS:
            dorsal, ventral = neutral[f"{side}-s{level}-dorsal-foramen"], neutral[f"{side}-s{level}-ventral-foramen"]
            assert dorsal[1] < ventral[1], f"{side} S{level}: dorsal foramen not behind the ventral one"


def test_foramen_axes_run_through_free_tunnels(bones, landmarks, neutral):
    sacrum = bones["sacrum"]
    for side in SIDES:
        for level in LEVELS:
            point, direction = landmarks.axes[f"{side}-s{level}-foramen"]
            ventral = landmarks.points[f"{side}-s{level}-ventral-foramen"]
            assert np.allclose(point, landmarks.points[f"{side}-s{level}-dorsal-foramen"])
            length = np.linalg.norm(ventral - point)
            assert np.allclose(point + length * direction, ventral)
            inside = sacrum.contains(point + np.outer(np.linspace(0.0, length, 21), direction))
            assert not inside.any(), f"the {side} S{level} foramen axis crosses bone"
            turn = landmarks.neutral_matrix[:3, :3] @ direction
            assert turn[1] > 0.5, "foramen axis not running ventrally"


def test_hip_landmarks_are_where_anatomy_puts_them(neutral):
    n = neutral
    for side in SIDES:
        psis, s2 = n[f"{side}-psis"], n[f"{side}-s2-dorsal-foramen"]
        assert psis[1] < s2[1] and psis[2] > s2[2], "PSIS not posterior and superior of the S2 dorsal foramen"
        assert abs(psis[0]) > abs(s2[0]), "PSIS not lateral of the S2 dorsal foramen"
        entry = n[f"{side}-entry"]
        assert abs(entry[0]) < abs(psis[0]) and np.linalg.norm(entry - psis) < 15.0, "entry not on the medial PSIS"
        notch, si = n[f"{side}-sciatic-notch-top"], n[f"{side}-si-joint-posterior"]
        assert notch[2] < psis[2] and notch[1] > psis[1], "notch top not below and in front of the PSIS"
        assert abs(notch[0]) > abs(si[0]), "notch top not lateral of the SI joint"
        assert abs(si[0]) < abs(psis[0]) and si[1] > psis[1], "SI joint edge not medial and anterior of the PSIS"
        asis = n[f"{side}-asis"]
        assert all(asis[1] > p[1] for k, p in n.items() if not k.endswith("asis")), "ASIS not the most anterior"
    sym = n["pubic-symphysis"]
    assert all(sym[2] < p[2] for k, p in n.items() if k != "pubic-symphysis"), "symphysis not the most inferior"
    assert all(sym[1] > p[1] for k, p in n.items() if not k.endswith("asis") and k != "pubic-symphysis")
    assert abs(sym[1]) < 20.0, "symphysis far from the anterior pelvic plane"


def test_sacral_canal_runs_from_s1_down_to_the_hiatus(landmarks, neutral):
    n = neutral
    top, hiatus = n["sacral-canal-s1"], n["sacral-hiatus"]
    assert top[2] > max(n[f"{s}-s1-dorsal-foramen"][2] for s in SIDES)
    assert hiatus[2] < min(n[f"{s}-s3-dorsal-foramen"][2] for s in SIDES)
    for side in SIDES:  # the canal lies between the dorsal and ventral foramina
        level = n[f"{side}-s2-dorsal-foramen"][1], n[f"{side}-s2-ventral-foramen"][1]
        middle = landmarks.canal_polyline[np.argmin(np.abs(
            (landmarks.canal_polyline - landmarks.points[f"{side}-s2-dorsal-foramen"]) @ landmarks.axes["sacral-canal"][1]))]
        y = (landmarks.neutral_matrix[:3, :3] @ middle + landmarks.neutral_matrix[:3, 3])[1]
        assert level[0] - 5.0 < y < level[1]
    direction = landmarks.neutral_matrix[:3, :3] @ landmarks.axes["sacral-canal"][1]
    assert direction[2] < 0, "canal axis does not point caudally"


# --- published numbers (one real person: printed, checked for plausibility) -------------------

#: (label, pairs of landmarks, published mean mm, SD mm, source). Sides measured separately.
PUBLISHED = [
    ("PSIS to S2 dorsal foramen", [(f"{s}-psis", f"{s}-s2-dorsal-foramen") for s in SIDES], 22.0, 6.2,
     "Surg Radiol Anat doi 10.1007/s00276-010-0735-0"),
    ("S2 dorsal foramina left-right", [("left-s2-dorsal-foramen", "right-s2-dorsal-foramen")], 29.8, 2.7, "same"),
    ("S1 to S2 dorsal foramen", [(f"{s}-s1-dorsal-foramen", f"{s}-s2-dorsal-foramen") for s in SIDES], 14.2, 2.7, "same"),
    ("S2 to S3 dorsal foramen", [(f"{s}-s2-dorsal-foramen", f"{s}-s3-dorsal-foramen") for s in SIDES], 12.8, 1.5, "same"),
    ("PSIS to greater sciatic notch", [(f"{s}-psis", f"{s}-sciatic-notch-top") for s in SIDES], 53.0, 7.1,
     "Sittitavornwong 2013, 39 ilia"),
    ("PSIS to SI joint (women)", [(f"{s}-psis", f"{s}-si-joint-posterior") for s in SIDES], 16.9, 5.3,
     "Hamann-Todd safety-zone study, n=100"),
]
#: Published figures this pelvis is known to lie outside of (mean +/- 3 SD), with what it
#: measures. Its sacrum is large: 128 mm wide against 103.6 +/- 6.8 mm (dry-bone study), and
#: its foramina sit wide apart; the detector was not tuned to these numbers.
OUTSIDE_3SD = {
    "S2 dorsal foramina left-right": "52 mm on this pelvis",
    "S1 to S2 dorsal foramen": "21 mm left, 25 mm right on this pelvis",
    "S2 to S3 dorsal foramen": "about 20 mm each side on this pelvis",
    "PSIS to greater sciatic notch": "81-82 mm on this pelvis: our notch landmark is its apex (deepest"
    " point), about 30 mm anterior of where the level upper border of the notch begins behind",
}


def _published_params():
    for label, pairs, mean, sd, source in PUBLISHED:
        marks = [pytest.mark.xfail(strict=True, reason=OUTSIDE_3SD[label])] if label in OUTSIDE_3SD else []
        yield pytest.param(label, pairs, mean, sd, source, id=label.replace(" ", "-"), marks=marks)


def _measure(landmarks, pairs):
    return [float(np.linalg.norm(landmarks.points[a] - landmarks.points[b])) for a, b in pairs]


@pytest.mark.parametrize("label, pairs, mean, sd, source", list(_published_params()))
def test_distances_against_published_mean_3sd(landmarks, label, pairs, mean, sd, source):
    values = _measure(landmarks, pairs)
    print(f"\n{label}: measured {', '.join(f'{v:.1f}' for v in values)} mm; published {mean} +/- {sd} mm ({source})")
    assert all(mean - 3 * sd <= v <= mean + 3 * sd for v in values)


@pytest.mark.parametrize("label, pairs, mean", [(p[0], p[1], p[2]) for p in PUBLISHED])
def test_distances_are_the_right_size(landmarks, label, pairs, mean):
    """Every published distance, within a factor of two: a landmark on the wrong structure
    (the next foramen, the other spine) would break this."""
    assert all(mean / 2 <= v <= mean * 2 for v in _measure(landmarks, pairs)), _measure(landmarks, pairs)


# --- robustness ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_landmarks_follow_rigid_motions(bones, landmarks, seed):
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.random(random_state=seed).as_matrix()
    matrix[:3, 3] = np.random.default_rng(seed).uniform(-500.0, 500.0, 3)
    found = find_pelvis_landmarks(moved(bones, matrix))
    assert_follows(found, landmarks.transformed(matrix), f"rigid motion, seed {seed}")
    assert np.allclose(found.neutral_matrix, landmarks.transformed(matrix).neutral_matrix, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_landmarks_follow_anisotropic_scaling(bones, landmarks, seed):
    rng = np.random.default_rng(seed)
    axes = Rotation.random(random_state=seed).as_matrix()
    scales = rng.permutation([0.9, 1.1, rng.uniform(0.9, 1.1)])
    matrix = np.eye(4)
    matrix[:3, :3] = axes @ np.diag(scales) @ axes.T
    found = find_pelvis_landmarks(moved(bones, matrix))
    assert_follows(found, landmarks.transformed(matrix), f"scaling {np.round(scales, 3)}, seed {seed}")


@pytest.mark.slow
def test_landmarks_survive_decimation(bones, landmarks):
    pytest.importorskip("fast_simplification", reason="trimesh's quadric decimation needs fast-simplification")
    decimated = {name: mesh.simplify_quadric_decimation(percent=0.5) for name, mesh in bones.items()}
    kept = sum(len(m.faces) for m in decimated.values()) / sum(len(m.faces) for m in bones.values())
    assert 0.4 < kept < 0.7
    assert_follows(find_pelvis_landmarks(decimated), landmarks, f"decimation to {kept:.0%} of the faces")


def test_the_committed_meshes_give_the_same_landmarks(landmarks):
    """``meshes/*.ply`` (RAS mm, the same bones moved into their neutral frame) agree with the
    landmarks found on the GLB, moved the same way."""
    files = {name: Path(__file__).resolve().parents[2] / "meshes" / (name.replace(" ", "_") + ".ply") for name in NODES}
    if not all(f.is_file() for f in files.values()):
        pytest.skip("meshes/*.ply not built yet")
    found = find_pelvis_landmarks({name: trimesh.load(f, force="mesh") for name, f in files.items()})
    moved = landmarks.transformed(landmarks.neutral_matrix)
    assert_follows(found, moved, "meshes/*.ply")
    assert max(np.linalg.norm(found.points[k] - p) for k, p in moved.points.items()) < 0.1


def test_transformed_moves_points_axes_and_frame(landmarks):
    matrix = np.diag([1.1, 0.9, 1.0, 1.0])
    matrix[:3, 3] = [5.0, -7.0, 11.0]
    moved_marks = landmarks.transformed(matrix)
    for name, p in landmarks.points.items():
        assert np.allclose(moved_marks.points[name], matrix[:3, :3] @ p + matrix[:3, 3])
    p = landmarks.points["left-psis"]
    assert np.allclose(moved_marks.neutral_matrix @ np.r_[matrix[:3, :3] @ p + matrix[:3, 3], 1.0],
                       landmarks.neutral_matrix @ np.r_[p, 1.0])
    assert all(np.linalg.norm(d) == pytest.approx(1.0) for _, d in moved_marks.axes.values())
    with pytest.raises(ValueError):
        moved_marks.points["left-psis"][0] = 0.0  # read-only


# --- failures ------------------------------------------------------------------------------

def test_a_sacrum_without_foramina_is_refused(bones):
    filled = dict(bones, sacrum=bones["sacrum"].convex_hull)
    with pytest.raises(LandmarkError, match=r"found no ventral sacral foramina on the left and right .*place them by hand"):
        find_pelvis_landmarks(filled)


@pytest.mark.parametrize("missing", ["sacrum", "left ilium", "right pubis"])
def test_a_missing_bone_is_named(bones, missing):
    partial = {name: mesh for name, mesh in bones.items() if name != missing}
    with pytest.raises(LandmarkError, match=repr(missing)):
        find_pelvis_landmarks(partial)


def test_swapped_sides_are_refused(bones):
    swapped = {name.replace("left", "tmp").replace("right", "left").replace("tmp", "right"): m for name, m in bones.items()}
    with pytest.raises(LandmarkError, match="left/right"):
        find_pelvis_landmarks(swapped)
