"""The anterior pelvic plane (APP) frame and the mid-sagittal plane of a pelvis.

Both are found from the bone meshes alone, in whatever right-handed frame they come in.

The neutral frame (the "APP frame") is RAS-like and in mm:

- origin: the midpoint of the two anterior superior iliac spines (ASIS);
- ``x``: from the left ASIS to the right ASIS (to the patient's right);
- ``y``: the unit normal of the APP, pointing anteriorly. The APP is the plane through both
  ASIS and the midpoint of the two pubic tubercles (the most anterior point of each pubis in
  this frame); ``x`` lies in it, so ``y`` is exactly perpendicular to ``x``;
- ``z = x cross y``: superior.

In neutral standing the APP is vertical and coronal (Lewinnek et al., J Bone Joint Surg Am
1978;60:217), so the neutral frame is the pelvis as it stands; prone on a table it lies on the
APP, so neutral ``-y`` is "up, towards the operator".

The APP is a supporting plane of the pelvis: every point of the ilia and pubes lies behind it.
It is found by a fixed-point iteration: take the most anterior vertex of each ilium and each
pubis along the current ``y``, put the plane through them, repeat (it settles in a few steps).
The frame passes through those support vertices; the ``*-asis`` *landmarks* are the centres of
the regions where the plane touches each ilium (:func:`.landmarks_ilium.asis`), a few mm from
the vertices and, unlike them, stable under surface noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from needlesim.core.errors import LandmarkError

#: The bones a pelvis must have; an optional ``"coccyx"`` is ignored by the landmarks.
REQUIRED_BONES = (
    "sacrum",
    "left ilium",
    "right ilium",
    "left ischium",
    "right ischium",
    "left pubis",
    "right pubis",
)

#: The APP iteration stops when no support point moves more than this, mm (well below a
#: vertex spacing, so the support vertices are then the same vertices).
APP_CONVERGED_MM = 1e-6
#: ... and gives up after this many steps (it settles in 2-5 steps on real pelves; a cycle
#: between two support vertices would mean a flat anterior face, reported as an error).
APP_MAX_ITERATIONS = 50
#: Points sampled on the bones for the symmetry fit (enough for a 1-2 mm spacing on the
#: bones' scale, few enough to keep the ICP well under a second).
MIDLINE_SAMPLES = 8000
#: Steps of the mirror ICP; it converges in 10-20 from the APP start.
MIDLINE_ICP_ITERATIONS = 40
#: Fraction of mirrored points, the worst matched, left out of each ICP step: a real pelvis
#: is not symmetric and the asymmetric parts should not pull the plane.
MIDLINE_TRIM_FRACTION = 0.2
#: Bones used for the symmetry fit (the coccyx often leans to one side).
MIDLINE_BONES = REQUIRED_BONES


@dataclass(frozen=True)
class Plane:
    """A plane: a point on it and its unit normal, in mm (input frame)."""

    point: np.ndarray
    normal: np.ndarray

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of ``points`` ((n, 3) or (3,), mm) along the normal, mm."""
        return (np.asarray(points, float) - self.point) @ self.normal


@dataclass(frozen=True)
class PelvicFrame:
    """The APP frame of a pelvis (see the module docstring).

    Attributes
    ----------
    origin : (3,) float, mm
        Midpoint of the two ASIS, in the input frame.
    axes : (3, 3) float
        Rows are the neutral ``x`` (right), ``y`` (anterior), ``z`` (superior) unit vectors
        in the input frame.
    left_asis, right_asis, pubic_tubercle_mid : (3,) float, mm
        The three points the APP passes through, input frame.
    """

    origin: np.ndarray
    axes: np.ndarray
    left_asis: np.ndarray
    right_asis: np.ndarray
    pubic_tubercle_mid: np.ndarray

    @property
    def neutral_matrix(self) -> np.ndarray:
        """(4, 4) rigid matrix mapping input coordinates (mm) into the neutral frame (mm)."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.axes
        matrix[:3, 3] = -self.axes @ self.origin
        return matrix

    def to_neutral(self, points: np.ndarray) -> np.ndarray:
        """Points ((n, 3) or (3,), mm, input frame) in neutral coordinates, mm."""
        return (np.asarray(points, float) - self.origin) @ self.axes.T


def check_bones(bones: Mapping[str, trimesh.Trimesh]) -> None:
    """Raise :class:`LandmarkError` if a required bone is missing or empty."""
    missing = [name for name in REQUIRED_BONES if name not in bones]
    if missing:
        raise LandmarkError(
            f"cannot find pelvic landmarks: bone(s) {', '.join(map(repr, missing))} missing"
            f" (expected {', '.join(REQUIRED_BONES)})"
        )
    for name in REQUIRED_BONES:
        mesh = bones[name]
        if len(mesh.faces) == 0 or not np.isfinite(mesh.vertices).all():
            raise LandmarkError(f"cannot find pelvic landmarks: the {name} mesh is empty or non-finite")


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def coarse_axes(bones: Mapping[str, trimesh.Trimesh]) -> np.ndarray:
    """Rough (3, 3) RAS-like axes (rows) from bone centroids, to start the APP search.

    ``x``: left ilium to right ilium; ``z``: ischia to ilia (superior); ``y = z cross x``.
    Raises :class:`LandmarkError` if the sacrum is not behind the pubes in that frame,
    i.e. the input is mirrored or its left/right labels are swapped.
    """
    centre = {name: bones[name].centroid for name in REQUIRED_BONES}
    x = _unit(centre["right ilium"] - centre["left ilium"])
    up = centre["left ilium"] + centre["right ilium"] - centre["left ischium"] - centre["right ischium"]
    z = _unit(up - x * (up @ x))
    y = np.cross(z, x)
    pubes = (centre["left pubis"] + centre["right pubis"]) / 2.0
    if (pubes - centre["sacrum"]) @ y <= 0.0:
        raise LandmarkError(
            "cannot find the pelvic frame: the pubes are not anterior of the sacrum for the given"
            " left/right labels (a mirrored pelvis, or swapped left/right bones?)"
        )
    return np.stack([x, y, z])


def _support(mesh: trimesh.Trimesh, direction: np.ndarray) -> np.ndarray:
    """The vertex of ``mesh`` farthest along ``direction``."""
    return mesh.vertices[np.argmax(mesh.vertices @ direction)]


def anterior_pelvic_plane(bones: Mapping[str, trimesh.Trimesh]) -> PelvicFrame:
    """Find both ASIS, the pubic tubercles and the APP frame (module docstring).

    Parameters
    ----------
    bones : mapping of str to trimesh.Trimesh
        The pelvic bones in mm, keys as in :data:`REQUIRED_BONES`.

    Returns
    -------
    PelvicFrame
    """
    check_bones(bones)
    axes = coarse_axes(bones)
    previous = None
    for _ in range(APP_MAX_ITERATIONS):
        y = axes[1]
        support = np.stack([_support(bones[name], y) for name in ("left ilium", "right ilium", "left pubis", "right pubis")])
        left_asis, right_asis = support[0], support[1]
        pubic_mid = (support[2] + support[3]) / 2.0
        x = _unit(right_asis - left_asis)
        normal = _unit(np.cross(x, pubic_mid - left_asis))
        normal = normal if normal @ y > 0 else -normal
        axes = np.stack([x, normal, np.cross(x, normal)])
        if previous is not None and np.abs(support - previous).max() <= APP_CONVERGED_MM:
            return PelvicFrame((left_asis + right_asis) / 2.0, axes, left_asis, right_asis, pubic_mid)
        previous = support
    raise LandmarkError(
        f"cannot find the anterior pelvic plane: the ASIS/pubic support points did not settle in"
        f" {APP_MAX_ITERATIONS} iterations"
    )


def _kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation taking ``source`` onto ``target`` (least squares)."""
    cs, ct = source.mean(0), target.mean(0)
    u, _, vt = np.linalg.svd((source - cs).T @ (target - ct))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rotation, ct - rotation @ cs


def midline_plane(
    bones: Mapping[str, trimesh.Trimesh],
    frame: PelvicFrame,
    *,
    names: tuple[str, ...] = MIDLINE_BONES,
    start: Plane | None = None,
) -> Plane:
    """The mid-sagittal plane of the bones ``names``, fitted by symmetry (mirror ICP).

    The bones are sampled, mirrored across ``start`` (default: the neutral ``x = 0`` plane)
    and rigidly registered back onto themselves by trimmed ICP. The composition ``S``
    (mirror, then ICP) is an improper isometry close to a reflection; the plane's normal is
    the eigenvector of the linear part of ``S`` with eigenvalue nearest -1 (pointing to the
    patient's right) and it passes through the mean of the midpoints ``(p + S(p)) / 2``.

    A pelvis that is not symmetric (or was scaled along an oblique axis, which skews it) has
    no exact mirror plane: this is the best rigid one, and it may sit 10-20 mm off the sacrum
    of a skewed pelvis. Sacral landmarks therefore do not use it
    (see :func:`needlesim.anatomy.foramina.sacral_midplane`).
    """
    per_bone = MIDLINE_SAMPLES // len(names)
    points = np.concatenate([trimesh.sample.sample_surface(bones[name], per_bone, seed=k)[0] for k, name in enumerate(names)])
    start = start or Plane(frame.origin, frame.axes[0])
    mirror = np.eye(4)
    mirror[:3, :3] -= 2.0 * np.outer(start.normal, start.normal)
    mirror[:3, 3] = 2.0 * start.normal * (start.point @ start.normal)
    transform = _mirror_icp(points, mirror)
    values, vectors = np.linalg.eig(transform[:3, :3])
    normal = _unit(np.real(vectors[:, np.argmin(np.abs(values + 1.0))]))
    normal = normal if normal @ frame.axes[0] > 0 else -normal
    images = points @ transform[:3, :3].T + transform[:3, 3]
    return Plane(((points + images) / 2.0).mean(0), normal)


def _mirror_icp(points: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Trimmed rigid ICP of the mirrored ``points`` onto themselves; the composed (4, 4)."""
    tree = cKDTree(points)
    transform = mirror.copy()
    keep = int(len(points) * (1.0 - MIDLINE_TRIM_FRACTION))
    for _ in range(MIDLINE_ICP_ITERATIONS):
        moved = points @ transform[:3, :3].T + transform[:3, 3]
        dist, index = tree.query(moved)
        best = np.argsort(dist)[:keep]
        rotation, translation = _kabsch(moved[best], points[index[best]])
        step = np.eye(4)
        step[:3, :3], step[:3, 3] = rotation, translation
        transform = step @ transform
    return transform
