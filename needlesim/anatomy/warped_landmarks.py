"""Landmarks carried through a smooth warp, and checked on the warped bone.

An individual (:mod:`needlesim.anatomy.individuals`) is a known smooth map of the template
pelvis, so its landmarks are the template's landmarks mapped by the same map: no search on
the warped bone, which can fail where the warp changed a shape the search relies on. What
the warp cannot guarantee (it is smooth, not shape-preserving) is then **checked** on the
warped bone, relative to the template, so nothing here is tuned to one pelvis:

- a landmark on the bone surface (distance under :data:`ON_SURFACE_MM` on the template) is
  still within :data:`SURFACE_TOLERANCE_MM` of the warped surface;
- a landmark that was outside the bone (a foramen opening centre, the canal ends, the
  mid-gap of the symphysis) is still outside it, and one inside is still inside;
- every foramen is still open: its dorsal-to-ventral axis crosses the warped sacrum no more
  often than on the template, and the middle of the axis keeps at least
  :data:`OPEN_FRACTION` of the template's clearance to the bone;
- the sacral canal centreline stays in the lumen: no more of its points inside bone than on
  the template.

Definitions are kept: a foramen axis is recomputed from the mapped dorsal and ventral
centres, the canal axis is refitted to the mapped centreline, the neutral (APP) frame and the
ASISs (where that plane touches the ilia) are found again on the warped bones
(:func:`anterior_pelvic_plane`, a supporting plane, which a warp moves, and
:func:`.landmarks_ilium.asis`), and the mid-sagittal planes are mapped by the warp's local
Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import trimesh

from needlesim.anatomy import landmarks_ilium as _ilium
from needlesim.anatomy.landmarks import PelvisLandmarks
from needlesim.anatomy.params import AnatomyError
from needlesim.anatomy.pelvic_frame import Plane, anterior_pelvic_plane
from needlesim.anatomy.tubefit import BoneDistance

#: A template landmark nearer the bone than this is "on the surface", mm (the landmark
#: finders put surface points on the mesh; 0.5 mm allows for the float32 of a PLY file).
ON_SURFACE_MM = 0.5
#: How far a surface landmark may end up from the warped surface, mm: the warp moves a
#: point inside a triangle and the triangle's corners alike to second order; 1 mm is well
#: under the 2-3 mm spacing of the bone meshes.
SURFACE_TOLERANCE_MM = 1.0
#: A warped foramen keeps at least this share of its template clearance at mid-axis (the
#: warp scales the sacrum by 0.8-1.2; under half means the hole has all but closed).
OPEN_FRACTION = 0.5
#: Step of the central differences of the warp's Jacobian, mm.
JACOBIAN_STEP_MM = 0.5

Warp = Callable[[np.ndarray], np.ndarray]


class LandmarkWarpError(AnatomyError):
    """A landmark carried through the warp does not fit the warped bone (the message says
    which and why)."""


def _frozen(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=float)
    out.flags.writeable = False
    return out


def jacobian(warp: Warp, point: np.ndarray, step_mm: float = JACOBIAN_STEP_MM) -> np.ndarray:
    """(3, 3): the warp's derivative at ``point`` by central differences."""
    e = np.eye(3) * step_mm
    probes = np.vstack([point + e, point - e])
    out = warp(probes)
    return (out[:3] - out[3:]).T / (2 * step_mm)


def _plane(warp: Warp, plane: Plane) -> Plane:
    j = jacobian(warp, plane.point)
    n = np.linalg.solve(j.T, plane.normal)  # normals map by the inverse transpose
    return Plane(_frozen(warp(plane.point[None])[0]), _frozen(n / np.linalg.norm(n)))


def _axes(points: Mapping[str, np.ndarray], polyline: np.ndarray, names) -> dict:
    out = {}
    for name in names:
        if name == "sacral-canal":
            centre = polyline.mean(0)
            d = np.linalg.svd(polyline - centre)[2][0]
            d = d if d @ (polyline[-1] - polyline[0]) > 0 else -d
            out[name] = (_frozen(centre), _frozen(d))
            continue
        dorsal, ventral = (points[name.replace("-foramen", f"-{w}-foramen")] for w in ("dorsal", "ventral"))
        d = ventral - dorsal
        out[name] = (_frozen(dorsal), _frozen(d / np.linalg.norm(d)))
    return out


def with_points(lm: PelvisLandmarks, points: Mapping[str, np.ndarray]) -> PelvisLandmarks:
    """``lm`` with the given points in place of its own of the same name (a landmark
    corrected by hand), and the foramen and canal axes recomputed from them."""
    merged = {k: _frozen(points[k]) if k in points else v for k, v in lm.points.items()}
    return replace(lm, points=MappingProxyType(merged),
                   axes=MappingProxyType(_axes(merged, np.asarray(lm.canal_polyline), lm.axes)))


def warp_landmarks(lm: PelvisLandmarks, warp: Warp, bones: Mapping[str, trimesh.Trimesh]) -> PelvisLandmarks:
    """``lm`` of the template mapped by ``warp`` onto the warped ``bones`` (module docstring)."""
    names = list(lm.points)
    mapped = warp(np.array([lm.points[n] for n in names]))
    points = dict(zip(names, mapped))
    frame = anterior_pelvic_plane(bones)
    for side in ("left", "right"):
        ilium = bones[f"{side} ilium"]
        points[f"{side}-asis"] = _ilium.asis(ilium, _ilium.surface_samples(ilium, seed=0), frame)
    polyline = warp(np.asarray(lm.canal_polyline))
    return replace(lm, points=MappingProxyType({k: _frozen(v) for k, v in points.items()}),
                   axes=MappingProxyType(_axes(points, polyline, lm.axes)), canal_polyline=_frozen(polyline),
                   neutral_matrix=_frozen(frame.neutral_matrix), midline=_plane(warp, lm.midline),
                   sacral_midline=_plane(warp, lm.sacral_midline))


def _foramen_pairs(points: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    for name, dorsal in points.items():
        if name.endswith("-dorsal-foramen"):
            ventral = points.get(name.replace("-dorsal-", "-ventral-"))
            if ventral is not None:
                out.append((name.replace("-dorsal", ""), dorsal, ventral))
    return out


def _crossings(sacrum: trimesh.Trimesh, a: np.ndarray, b: np.ndarray) -> int:
    d = b - a
    length = float(np.linalg.norm(d))
    loc, _, _ = sacrum.ray.intersects_location(a[None], (d / length)[None], multiple_hits=True)
    return int(np.sum(np.linalg.norm(loc - a, axis=1) < length)) if len(loc) else 0


def check_warped_landmarks(template: PelvisLandmarks, template_bones: Mapping[str, trimesh.Trimesh],
                           warped: PelvisLandmarks, warped_bones: Mapping[str, trimesh.Trimesh]) -> None:
    """Raise :class:`LandmarkWarpError` naming every landmark that the warp broke (module
    docstring); the checks compare the warped pelvis with the template, never with a number
    of this or that pelvis."""
    names = [n for n in template.points if n in warped.points]
    t_pts = np.array([template.points[n] for n in names])
    w_pts = np.array([warped.points[n] for n in names])
    t_bone, w_bone = BoneDistance(list(template_bones.values())), BoneDistance(list(warped_bones.values()))
    t_d, w_d = t_bone.distance(t_pts), w_bone.distance(w_pts)
    t_in, w_in = t_bone.inside(t_pts), w_bone.inside(w_pts)
    problems = [f"{n} is {w:.1f} mm off the warped bone surface" for n, t, w in zip(names, t_d, w_d)
                if t < ON_SURFACE_MM and w > SURFACE_TOLERANCE_MM]
    problems += [f"{n} moved {'into' if w else 'out of'} the bone" for n, t, w, d in zip(names, t_in, w_in, t_d)
                 if t != w and d >= ON_SURFACE_MM]
    problems += _foramen_problems(template, template_bones["sacrum"], warped, warped_bones["sacrum"])
    t_canal = int(t_bone.inside(template.canal_polyline).sum())
    w_canal = int(w_bone.inside(warped.canal_polyline).sum())
    if w_canal > t_canal:
        problems.append(f"the sacral canal centreline enters bone at {w_canal - t_canal} more points")
    if problems:
        raise LandmarkWarpError("the warp broke landmarks: " + "; ".join(problems))


def _foramen_problems(template: PelvisLandmarks, t_sacrum: trimesh.Trimesh,
                      warped: PelvisLandmarks, w_sacrum: trimesh.Trimesh) -> list[str]:
    t_pairs = {k: (a, b) for k, a, b in _foramen_pairs(template.points)}
    w_pairs = {k: (a, b) for k, a, b in _foramen_pairs(warped.points) if k in t_pairs}
    if not w_pairs:
        return []
    keys = sorted(w_pairs)
    t_mid = np.array([(t_pairs[k][0] + t_pairs[k][1]) / 2 for k in keys])
    w_mid = np.array([(w_pairs[k][0] + w_pairs[k][1]) / 2 for k in keys])
    t_room = trimesh.proximity.closest_point(t_sacrum, t_mid)[1]
    w_room = trimesh.proximity.closest_point(w_sacrum, w_mid)[1]
    out = []
    for k, tr, wr in zip(keys, t_room, w_room):
        if _crossings(w_sacrum, *w_pairs[k]) > _crossings(t_sacrum, *t_pairs[k]):
            out.append(f"{k} is blocked by bone between its openings")
        elif wr < OPEN_FRACTION * tr:
            out.append(f"{k} has closed to {wr:.1f} mm of room (template {tr:.1f} mm)")
    return out
