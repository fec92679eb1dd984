"""Pelvic and sacral landmarks found by geometry on any real pelvis.

:func:`find_pelvis_landmarks` takes the pelvic bones as closed meshes in mm, in any
right-handed frame, keyed ``"sacrum"``, ``"left ilium"``, ``"right ilium"``, ``"left
ischium"``, ``"right ischium"``, ``"left pubis"``, ``"right pubis"`` (an extra ``"coccyx"``
is ignored), and returns :class:`PelvisLandmarks` in the same frame. It relies on the bone
names and on their left/right labels, nothing else: not on the axes, the mesh resolution or
the vertex order.

Landmarks (kebab-case; "left"/"right" are the patient's; definitions in the modules named):

- ``left-asis``, ``right-asis``: the anterior superior iliac spines, where the anterior pelvic
  plane (APP, :mod:`.pelvic_frame`) touches each ilium: the centre of the touching cap
  (:mod:`.landmarks_ilium`), within a few mm of the support vertex the frame passes through;
- ``pubic-symphysis``: the most anterior-superior point of the symphysis, mid-gap
  (:mod:`.landmarks_ilium`);
- ``{side}-psis``, ``{side}-entry``: the PSIS apex and the bone-marrow harvest entry, "the
  most medial PSIS" (Hirahara et al. 2018) (:mod:`.landmarks_ilium`);
- ``{side}-sciatic-notch-top``: the top of the greater sciatic notch (:mod:`.landmarks_ilium`);
- ``{side}-si-joint-posterior``: the most posterior point of the sacroiliac joint
  (:mod:`.landmarks_ilium`);
- ``{side}-s{level}-{dorsal,ventral}-foramen``: centres of the openings of the sacral foramina,
  for every level found (usually S1-S4; S5 where a first coccygeal segment is fused; a closed
  foramen is simply absent and named in ``missing``); the axis ``{side}-s{level}-foramen`` of
  each side and level with both openings runs from the dorsal opening centre towards the
  ventral one (:mod:`.foramina`, :mod:`.foramen_levels`);
- ``sacral-canal-s1``, ``sacral-hiatus``: the ends of the roofed sacral canal; the axis
  ``sacral-canal`` is the line fitted to its centreline, pointing caudally (:mod:`.foramina`).

Each landmark has a **confidence** in 0..1 (``PelvisLandmarks.confidence``): 1 means every check
the search makes on it passed with margin, and each doubt multiplies it by a stated factor; it
is a score for the reviewer ("look here first"), not a calibrated probability. Foramina: size,
partner on the other side, level counted across a missing row, fifth row
(:mod:`.foramen_levels`). Paired hip landmarks and the ASIS: how well the left one mirrors the
right across the fitted midline. Midline landmarks: how close they lie to it. A landmark given
by hand (:func:`landmarks_from_points`) has confidence 1. ``log`` says what the search saw.

The neutral matrix maps the input frame into the APP frame (x right along the inter-ASIS
line, y anterior normal to the APP, z superior, origin mid-ASIS); the midline is the
mid-sagittal plane fitted by mirror symmetry (:mod:`.pelvic_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import trimesh

from needlesim.anatomy import foramina as _foramina
from needlesim.anatomy import landmarks_ilium as _ilium
from needlesim.anatomy.pelvic_frame import PelvicFrame, Plane, anterior_pelvic_plane, midline_plane
from needlesim.core.errors import LandmarkError

SIDES = ("left", "right")
#: The usual sacral levels with foramina (the nominal landmark names; more or fewer are found).
LEVELS = tuple(range(1, _foramina.N_LEVELS + 1))
#: Landmarks the anatomy cannot be built without (the foramina are checked by side: each side
#: needs at least one level with both openings).
REQUIRED: tuple[str, ...] = (
    "left-asis", "right-asis", "pubic-symphysis",
    *(f"{side}-{name}" for side in SIDES for name in ("psis", "entry", "sciatic-notch-top", "si-joint-posterior")),
    "sacral-canal-s1", "sacral-hiatus",
)
#: Mirror agreement of paired landmarks: full confidence while the left landmark lies within
#: this of the right one mirrored across the midline, mm (the largest tolerable placement error,
#: 2.7 mm, IR survey 2018, rounded up) ...
MIRROR_FREE_MM = 3.0
#: ... falling linearly to :data:`MIN_FOUND_CONFIDENCE` at this share of the inter-ASIS distance
#: further (a tenth of the pelvis's width: a landmark on another feature lies further off).
MIRROR_SCALE = 0.1
#: The lowest confidence of a landmark that was found (0 is kept for "not found").
MIN_FOUND_CONFIDENCE = 0.1

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
    confidence : mapping of str to float
        Every point's confidence, 0..1 (module docstring).
    log : tuple of str
        What the search saw, in sentences ("5 ventral foramina on the left: ...").
    missing : tuple of str
        Names of the optional landmarks not found (e.g. a closed foramen's openings).
    levels : mapping of str to tuple of int
        By side (``"left"``, ``"right"``), the sacral levels with both foramen openings (an
        axis, and so a root).
    """

    points: Mapping[str, np.ndarray]
    axes: Mapping[str, tuple[np.ndarray, np.ndarray]]
    canal_polyline: np.ndarray
    neutral_matrix: np.ndarray
    midline: Plane
    sacral_midline: Plane
    confidence: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    log: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    levels: Mapping[str, tuple[int, ...]] = field(
        default_factory=lambda: MappingProxyType({side: LEVELS for side in SIDES}))

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
            self.confidence, self.log, self.missing, self.levels,
        )


def _build(
    points: Mapping[str, np.ndarray],
    axes: Mapping[str, tuple[np.ndarray, np.ndarray]],
    polyline: np.ndarray,
    neutral: np.ndarray,
    midline: Plane,
    sacral_midline: Plane,
    confidence: Mapping[str, float] | None = None,
    log: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
    levels: Mapping[str, tuple[int, ...]] | None = None,
) -> PelvisLandmarks:
    def plane(p: Plane) -> Plane:
        return Plane(_frozen(p.point), _frozen(p.normal))

    confidence = {k: float((confidence or {}).get(k, 1.0)) for k in points}
    levels = {side: tuple(int(v) for v in (levels or {}).get(side, LEVELS)) for side in SIDES}
    return PelvisLandmarks(
        MappingProxyType({k: _frozen(v) for k, v in points.items()}),
        MappingProxyType({k: (_frozen(p), _frozen(d)) for k, (p, d) in axes.items()}),
        _frozen(polyline),
        _frozen(neutral),
        plane(midline),
        plane(sacral_midline),
        MappingProxyType(confidence), tuple(log), tuple(missing), MappingProxyType(levels),
    )


def landmark_names(levels: Mapping[str, tuple[int, ...]]) -> tuple[str, ...]:
    """Every point name for the given levels by side, in a stable order (for the usual S1-S4
    on both sides, :data:`LANDMARK_NAMES`)."""
    return (
        *LANDMARK_NAMES[:11],
        *(f"{side}-s{level}-{surface}-foramen" for side in SIDES for level in sorted(levels.get(side, ()))
          for surface in ("dorsal", "ventral")),
        "sacral-canal-s1",
        "sacral-hiatus",
    )


def _ordered(points: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``points`` with the nominal names first, in :data:`LANDMARK_NAMES` order, then the rest."""
    every = {int(k.split("-")[1][1:]) for k in points if k.endswith("-foramen") and k.split("-")[1][1:].isdigit()}
    order = landmark_names({side: tuple(sorted(every)) for side in SIDES})
    return {k: points[k] for k in (*order, *sorted(set(points) - set(order))) if k in points}


def _hip_landmarks(
    bones: Mapping[str, trimesh.Trimesh], frame: PelvicFrame, midline: Plane, sacrum_samples: np.ndarray
) -> dict[str, np.ndarray]:
    """ASIS, PSIS, entry, sciatic notch top and posterior SI joint on both sides."""
    points = {}
    for side in SIDES:
        ilium = bones[f"{side} ilium"]
        samples = _ilium.surface_samples(ilium, seed=0)
        points[f"{side}-asis"] = _ilium.asis(ilium, samples, frame)
        points[f"{side}-psis"] = _ilium.psis(ilium, samples, frame)
        points[f"{side}-entry"] = _ilium.harvest_entry(ilium, samples, frame, midline)
        hip = trimesh.util.concatenate([ilium, bones[f"{side} ischium"], bones[f"{side} pubis"]])
        points[f"{side}-sciatic-notch-top"] = _ilium.sciatic_notch_top(hip, frame)
        points[f"{side}-si-joint-posterior"] = _ilium.si_joint_posterior(samples, sacrum_samples, frame, side)
    return points


@dataclass(frozen=True)
class _Sacral:
    points: dict[str, np.ndarray]
    axes: dict[str, tuple[np.ndarray, np.ndarray]]
    polyline: np.ndarray
    midplane: Plane
    survey: _foramina.ForaminaSurvey


def _canal_axis(polyline: np.ndarray, s1: np.ndarray, hiatus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centre = polyline.mean(0)
    direction = np.linalg.svd(polyline - centre)[2][0]
    return centre, (direction if direction @ (hiatus - s1) > 0 else -direction)


def _foramen_axes(points: Mapping[str, np.ndarray]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, tuple[int, ...]]]:
    """The axis of every side and level with both openings, and those levels by side."""
    axes, levels = {}, {side: [] for side in SIDES}
    for name, dorsal in points.items():
        parts = name.split("-")
        if len(parts) == 4 and parts[2] == "dorsal" and f"{parts[0]}-{parts[1]}-ventral-foramen" in points:
            direction = points[f"{parts[0]}-{parts[1]}-ventral-foramen"] - dorsal
            axes[f"{parts[0]}-{parts[1]}-foramen"] = (np.asarray(dorsal), direction / np.linalg.norm(direction))
            levels[parts[0]].append(int(parts[1][1:]))
    return axes, {side: tuple(sorted(v)) for side, v in levels.items()}


def _sacral_landmarks(sacrum: trimesh.Trimesh, frame: PelvicFrame) -> _Sacral:
    """Foramen centres and axes, canal ends, canal axis and centreline, sacral mid-plane."""
    sf = _foramina.sacral_frame(sacrum, frame)
    survey = _foramina.survey_foramina(sacrum, sf)
    found = list(survey.foramina)
    for side in SIDES:
        if not survey.levels[side]:
            raise LandmarkError(f"found no sacral level on the {side} with both a dorsal and a ventral foramen"
                                f" ({'; '.join(survey.log)}); place {side}-s1-dorsal-foramen and"
                                f" {side}-s1-ventral-foramen by hand in a landmarks file")
    points = {f"{f.side}-s{f.level}-{f.surface}-foramen": f.centre for f in found}
    axes, _ = _foramen_axes(points)
    canal = _foramina.find_sacral_canal(sacrum, sf, found)
    points["sacral-canal-s1"] = canal.s1_entrance
    points["sacral-hiatus"] = canal.hiatus
    axes["sacral-canal"] = _canal_axis(canal.polyline, canal.s1_entrance, canal.hiatus)
    return _Sacral(points, axes, canal.polyline, _foramina.sacral_midplane(found), survey)


def _check_sides(points: Mapping[str, np.ndarray], midline: Plane, sacral_midline: Plane) -> None:
    """Raise if a sided landmark came out on the wrong side of its midline."""
    for name, point in points.items():
        side = name.split("-")[0]
        plane = sacral_midline if name.endswith("foramen") else midline
        if side in SIDES and (plane.signed_distance(point) < 0) != (side == "left"):
            raise LandmarkError(f"landmark {name!r} was found on the wrong side of the midline; check the bone labels")


def geometric_confidence(points: Mapping[str, np.ndarray], midline: Plane) -> dict[str, float]:
    """Confidence of the landmarks not judged by the foramen search (module docstring): mirror
    agreement for paired ones, distance from the midline for midline ones."""
    width = float(np.linalg.norm(points["right-asis"] - points["left-asis"])) if "right-asis" in points else 200.0
    scale = MIRROR_SCALE * width

    def score(distance_mm: float) -> float:
        return float(np.clip(1.0 - max(distance_mm - MIRROR_FREE_MM, 0.0) / scale, MIN_FOUND_CONFIDENCE, 1.0))

    out = {}
    for name, p in points.items():
        side, _, rest = name.partition("-")
        other = f"{'right' if side == 'left' else 'left'}-{rest}"
        if side in SIDES and other in points:
            mirrored = points[other] - 2.0 * midline.signed_distance(points[other]) * midline.normal
            out[name] = score(float(np.linalg.norm(p - mirrored)))
        elif side not in SIDES:
            out[name] = score(abs(float(midline.signed_distance(p))))
    return out


def _require(points: Mapping[str, np.ndarray]) -> None:
    missing = [name for name in REQUIRED if name not in points]
    if missing:
        raise LandmarkError(f"could not find the landmark(s) {', '.join(missing)}; place them by hand in a"
                            " landmarks file (3D Slicer markups JSON) and rebuild with it")


def find_pelvis_landmarks(bones: Mapping[str, trimesh.Trimesh], *,
                          progress: Callable[[float, str], None] | None = None) -> PelvisLandmarks:
    """Find every pelvic and sacral landmark (see the module docstring).

    Parameters
    ----------
    bones : mapping of str to trimesh.Trimesh
        Closed bone meshes in mm, any right-handed frame, keys as in the module docstring.
    progress : callable (fraction 0..1, message), optional
        Told as each stage starts.

    Returns
    -------
    PelvisLandmarks
        In the frame of ``bones``, with a confidence per point, what the search saw (``log``)
        and the optional landmarks it could not find (``missing``).

    Raises
    ------
    LandmarkError
        If a bone is missing or a required landmark cannot be found; the message names it and
        asks for it to be placed by hand.
    """
    tell = progress or (lambda fraction, message: None)
    tell(0.0, "finding the anterior pelvic plane and the midline")
    frame = anterior_pelvic_plane(bones)
    midline = midline_plane(bones, frame)
    points = {
        "pubic-symphysis": _ilium.pubic_symphysis(
            _ilium.surface_samples(bones["left pubis"]), _ilium.surface_samples(bones["right pubis"]), frame
        ),
    }
    tell(0.3, "finding the PSIS, the sciatic notches and the sacroiliac joints")
    points |= _hip_landmarks(bones, frame, midline, _ilium.surface_samples(bones["sacrum"], seed=1))
    tell(0.6, "finding the sacral foramina and the sacral canal")
    sacral = _sacral_landmarks(bones["sacrum"], frame)
    points |= sacral.points
    _check_sides(points, midline, sacral.midplane)
    _require(points)
    confidence = geometric_confidence(points, midline) | {
        f"{f.side}-s{f.level}-{f.surface}-foramen": f.confidence for f in sacral.survey.foramina}
    points = _ordered(points)
    tell(1.0, "landmarks found")
    return _build(points, sacral.axes, sacral.polyline, frame.neutral_matrix, midline, sacral.midplane,
                  confidence, sacral.survey.log, sacral.survey.missing, sacral.survey.levels)


def landmarks_from_points(bones: Mapping[str, trimesh.Trimesh], points: Mapping[str, np.ndarray], *,
                          confidence: Mapping[str, float] | None = None,
                          log: tuple[str, ...] = ()) -> PelvisLandmarks:
    """Landmarks taken from given points (e.g. corrected by hand), in the frame of ``bones``.

    The frame, the midline and the canal's centreline still come from the bones (the frame
    from the ASISs and pubic tubercles the search finds, so a corrected ASIS moves only its
    point); the foramen axes and the levels come from the given foramen points, the sacral
    mid-plane from their pairs, and the canal ends from the given points. Points given get
    ``confidence`` (default 1: placed or accepted by a person).

    Raises
    ------
    LandmarkError
        If a required landmark (:data:`REQUIRED`) is not given, or a side has no level with
        both openings, or the canal cannot be found between the given foramina.
    """
    points = {k: np.asarray(v, dtype=float).reshape(3) for k, v in points.items()}
    _require(points)
    axes, levels = _foramen_axes(points)
    for side in SIDES:
        if not levels[side]:
            raise LandmarkError(f"the landmarks give no level on the {side} with both a dorsal and a ventral foramen;"
                                f" place {side}-s1-dorsal-foramen and {side}-s1-ventral-foramen")
    frame = anterior_pelvic_plane(bones)
    midline = midline_plane(bones, frame)
    found = [_foramina.Foramen(k.split("-")[0], int(k.split("-")[1][1:]), k.split("-")[2], p, 0.0)
             for k, p in points.items() if k.endswith("-foramen") and len(k.split("-")) == 4]
    sacral_midline = _foramina.sacral_midplane(found)
    canal = _foramina.find_sacral_canal(bones["sacrum"], _foramina.sacral_frame(bones["sacrum"], frame), found,
                                        check_ends=False)
    axes["sacral-canal"] = _canal_axis(canal.polyline, points["sacral-canal-s1"], points["sacral-hiatus"])
    _check_sides(points, midline, sacral_midline)
    given = {k: float((confidence or {}).get(k, 1.0)) for k in points}
    return _build(_ordered(points), axes, canal.polyline, frame.neutral_matrix, midline, sacral_midline,
                  given, tuple(log), (), levels)
