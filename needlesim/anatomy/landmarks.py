"""Pelvic and sacral landmarks found by geometry on any real pelvis.

:func:`find_pelvis_landmarks` takes the pelvic bones as closed meshes in mm, in any
right-handed frame, keyed ``"sacrum"``, ``"left ilium"``, ``"right ilium"``, ``"left
ischium"``, ``"right ischium"``, ``"left pubis"``, ``"right pubis"`` (an extra ``"coccyx"``
is ignored), and returns :class:`PelvisLandmarks` in the same frame. It relies on the bone
names and on their left/right labels, nothing else: not on the axes, the mesh resolution or
the vertex order.

Landmarks (kebab-case; "left"/"right" are the patient's; definitions in the modules named):

- ``left-asis``, ``right-asis``: the anterior superior iliac spines, the points where the
  anterior pelvic plane (APP) touches each ilium (:mod:`.pelvic_frame`);
- ``pubic-symphysis``: the most anterior-superior point of the symphysis, mid-gap
  (:mod:`.landmarks_ilium`);
- ``{side}-psis``, ``{side}-entry``: the PSIS apex and the bone-marrow harvest entry, "the
  most medial PSIS" (Hirahara et al. 2018) (:mod:`.landmarks_ilium`);
- ``{side}-sciatic-notch-top``: the top of the greater sciatic notch (:mod:`.landmarks_ilium`);
- ``{side}-si-joint-posterior``: the most posterior point of the sacroiliac joint
  (:mod:`.landmarks_ilium`);
- ``{side}-s{1..4}-{dorsal,ventral}-foramen``: centres of the openings of the sacral foramina;
  the axis ``{side}-s{1..4}-foramen`` of each side and level runs from the dorsal opening
  centre towards the ventral one (:mod:`.foramina`);
- ``sacral-canal-s1``, ``sacral-hiatus``: the ends of the roofed sacral canal; the axis
  ``sacral-canal`` is the line fitted to its centreline, pointing caudally (:mod:`.foramina`).

The neutral matrix maps the input frame into the APP frame (x right along the inter-ASIS
line, y anterior normal to the APP, z superior, origin mid-ASIS); the midline is the
mid-sagittal plane fitted by mirror symmetry (:mod:`.pelvic_frame`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import trimesh

from needlesim.anatomy import foramina as _foramina
from needlesim.anatomy import landmarks_ilium as _ilium
from needlesim.anatomy.pelvic_frame import PelvicFrame, Plane, anterior_pelvic_plane, midline_plane
from needlesim.core.errors import LandmarkError

SIDES = ("left", "right")
LEVELS = tuple(range(1, _foramina.N_LEVELS + 1))

#: Every point name :func:`find_pelvis_landmarks` returns, in a stable order.
LANDMARK_NAMES: tuple[str, ...] = (
    "left-asis",
    "right-asis",
    "pubic-symphysis",
    *(f"{side}-{name}" for side in SIDES for name in ("psis", "entry", "sciatic-notch-top", "si-joint-posterior")),
    *(f"{side}-s{level}-{surface}-foramen" for side in SIDES for level in LEVELS for surface in ("dorsal", "ventral")),
    "sacral-canal-s1",
    "sacral-hiatus",
)
#: Every axis name, in a stable order.
AXIS_NAMES: tuple[str, ...] = (*(f"{side}-s{level}-foramen" for side in SIDES for level in LEVELS), "sacral-canal")


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=float)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class PelvisLandmarks:
    """Landmarks of one pelvis, all in the frame of the meshes they were found on, mm.

    Attributes
    ----------
    points : mapping of str to (3,) float, mm
        Every landmark point by kebab-case name.
    axes : mapping of str to ((3,) float mm, (3,) float unit)
        Lines: ``{side}-s{level}-foramen`` (the dorsal opening centre, direction to the
        ventral opening centre) and ``sacral-canal`` (a point on the line fitted to the canal
        centreline, direction caudal).
    canal_polyline : (n, 3) float, mm
        The sacral canal centreline from S1 to the hiatus.
    neutral_matrix : (4, 4) float
        Maps these coordinates into the APP ("neutral") frame, mm.
    midline : Plane
        The mid-sagittal plane of the pelvis (all bones but the coccyx), fitted by mirror
        symmetry; its normal points to the patient's right.
    sacral_midline : Plane
        The sacrum's own mid-sagittal plane, fitted through the midpoints of the paired
        foramina (:func:`needlesim.anatomy.foramina.sacral_midplane`); normal to the right.
    """

    points: Mapping[str, np.ndarray]
    axes: Mapping[str, tuple[np.ndarray, np.ndarray]]
    canal_polyline: np.ndarray
    neutral_matrix: np.ndarray
    midline: Plane
    sacral_midline: Plane

    def as_points(self) -> dict[str, np.ndarray]:
        """A flat ``name -> (3,) float`` (mm) dict of every landmark point (copies)."""
        return {name: np.array(point) for name, point in self.points.items()}

    def transformed(self, matrix: np.ndarray) -> PelvisLandmarks:
        """The same landmarks after the affine ``matrix`` (4, 4) moved the pelvis.

        Points map by ``matrix``; directions by its linear part (renormalised); the midline
        normal by the inverse transpose; ``neutral_matrix`` becomes ``neutral @ inv(matrix)``
        (rigid only if ``matrix`` is).
        """
        matrix = np.asarray(matrix, dtype=float)
        linear = matrix[:3, :3]

        def point(p: np.ndarray) -> np.ndarray:
            return np.asarray(p) @ linear.T + matrix[:3, 3]

        def unit(v: np.ndarray) -> np.ndarray:
            return v / np.linalg.norm(v)

        def plane(p: Plane) -> Plane:
            return Plane(point(p.point), unit(np.linalg.inv(linear).T @ p.normal))

        return _build(
            {name: point(p) for name, p in self.points.items()},
            {name: (point(p), unit(linear @ d)) for name, (p, d) in self.axes.items()},
            point(self.canal_polyline),
            self.neutral_matrix @ np.linalg.inv(matrix),
            plane(self.midline),
            plane(self.sacral_midline),
        )


def _build(
    points: Mapping[str, np.ndarray],
    axes: Mapping[str, tuple[np.ndarray, np.ndarray]],
    polyline: np.ndarray,
    neutral: np.ndarray,
    midline: Plane,
    sacral_midline: Plane,
) -> PelvisLandmarks:
    def plane(p: Plane) -> Plane:
        return Plane(_frozen(p.point), _frozen(p.normal))

    return PelvisLandmarks(
        MappingProxyType({k: _frozen(v) for k, v in points.items()}),
        MappingProxyType({k: (_frozen(p), _frozen(d)) for k, (p, d) in axes.items()}),
        _frozen(polyline),
        _frozen(neutral),
        plane(midline),
        plane(sacral_midline),
    )


def _hip_landmarks(
    bones: Mapping[str, trimesh.Trimesh], frame: PelvicFrame, midline: Plane, sacrum_samples: np.ndarray
) -> dict[str, np.ndarray]:
    """PSIS, entry, sciatic notch top and posterior SI joint on both sides."""
    points = {}
    for side in SIDES:
        ilium = bones[f"{side} ilium"]
        samples = _ilium.surface_samples(ilium, seed=0)
        points[f"{side}-psis"] = _ilium.psis(ilium, samples, frame)
        points[f"{side}-entry"] = _ilium.harvest_entry(ilium, samples, frame, midline)
        hip = trimesh.util.concatenate([ilium, bones[f"{side} ischium"], bones[f"{side} pubis"]])
        points[f"{side}-sciatic-notch-top"] = _ilium.sciatic_notch_top(hip, frame)
        points[f"{side}-si-joint-posterior"] = _ilium.si_joint_posterior(samples, sacrum_samples, frame, side)
    return points


def _sacral_landmarks(
    sacrum: trimesh.Trimesh, frame: PelvicFrame
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, Plane]:
    """Foramen centres and axes, canal ends, canal axis and centreline, sacral mid-plane."""
    sf = _foramina.sacral_frame(sacrum, frame)
    found = _foramina.find_foramina(sacrum, sf)
    points = {f"{f.side}-s{f.level}-{f.surface}-foramen": f.centre for f in found}
    axes = {f"{side}-s{level}-foramen": _foramina.foramen_axis(found, side, level) for side in SIDES for level in LEVELS}
    canal = _foramina.find_sacral_canal(sacrum, sf, found)
    points["sacral-canal-s1"] = canal.s1_entrance
    points["sacral-hiatus"] = canal.hiatus
    centre = canal.polyline.mean(0)
    direction = np.linalg.svd(canal.polyline - centre)[2][0]
    direction = direction if direction @ (canal.hiatus - canal.s1_entrance) > 0 else -direction
    axes["sacral-canal"] = (centre, direction)
    return points, axes, canal.polyline, _foramina.sacral_midplane(found)


def _check_sides(points: Mapping[str, np.ndarray], midline: Plane, sacral_midline: Plane) -> None:
    """Raise if a sided landmark came out on the wrong side of its midline."""
    for name, point in points.items():
        side = name.split("-")[0]
        plane = sacral_midline if name.endswith("foramen") else midline
        if side in SIDES and (plane.signed_distance(point) < 0) != (side == "left"):
            raise LandmarkError(f"landmark {name!r} was found on the wrong side of the midline; check the bone labels")


def find_pelvis_landmarks(bones: Mapping[str, trimesh.Trimesh]) -> PelvisLandmarks:
    """Find every pelvic and sacral landmark (see the module docstring).

    Parameters
    ----------
    bones : mapping of str to trimesh.Trimesh
        Closed bone meshes in mm, any right-handed frame, keys as in the module docstring.

    Returns
    -------
    PelvisLandmarks
        In the frame of ``bones``.

    Raises
    ------
    LandmarkError
        If a bone is missing or a landmark cannot be found; the message names it and why.
    """
    frame = anterior_pelvic_plane(bones)
    midline = midline_plane(bones, frame)
    points = {
        "left-asis": frame.left_asis,
        "right-asis": frame.right_asis,
        "pubic-symphysis": _ilium.pubic_symphysis(
            _ilium.surface_samples(bones["left pubis"]), _ilium.surface_samples(bones["right pubis"]), frame
        ),
    }
    points |= _hip_landmarks(bones, frame, midline, _ilium.surface_samples(bones["sacrum"], seed=1))
    sacral_points, axes, polyline, sacral_midline = _sacral_landmarks(bones["sacrum"], frame)
    points |= sacral_points
    _check_sides(points, midline, sacral_midline)
    points = {name: points[name] for name in LANDMARK_NAMES}
    axes = {name: axes[name] for name in AXIS_NAMES}
    return _build(points, axes, polyline, frame.neutral_matrix, midline, sacral_midline)
