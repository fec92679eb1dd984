"""Landmarks placed or corrected by hand (a 3D Slicer markups JSON) merged with found ones.

A point in the file replaces the found point of the same name (names as in
:data:`needlesim.anatomy.landmarks.LANDMARK_NAMES`); when the search failed, the file must
hold every landmark. What depends on the points is derived again from the merged set: each
foramen axis (dorsal to ventral centre), and, if the file moves them, the APP frame (from the
ASISs and the symphysis, which stands in for the pubic tubercles), the midline (the plane
through mid-ASIS normal to the inter-ASIS line), the sacral mid-plane (through the foramen
midpoints) and the canal (a straight line from its S1 entrance to the hiatus, where the search
fitted a curve).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from needlesim.anatomy.importers.common import ImportFailed
from needlesim.anatomy.landmarks import AXIS_NAMES, LANDMARK_NAMES, PelvisLandmarks, SIDES
from needlesim.anatomy.pelvic_frame import Plane
from needlesim.core.io import markups

FRAME_POINTS = ("left-asis", "right-asis", "pubic-symphysis")
CANAL_POINTS = ("sacral-canal-s1", "sacral-hiatus")
#: Points of the straight canal line used when the canal ends are placed by hand.
CANAL_LINE_POINTS = 20


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def read_landmarks(path: Path) -> dict[str, np.ndarray]:
    """The points of a markups file (RAS mm), refusing an empty one."""
    points = markups.read_points(path)
    if not points:
        raise ImportFailed(f"{path}: the markups file holds no points")
    return points


def app_matrix(points: Mapping[str, np.ndarray]) -> np.ndarray:
    """(4, 4): the APP frame from the ASISs and the symphysis (y anterior, away from the sacrum)."""
    la, ra, sym = (np.asarray(points[k], float) for k in FRAME_POINTS)
    x = _unit(ra - la)
    y = _unit(np.cross(x, sym - la))
    if (np.asarray(points["sacral-canal-s1"]) - (la + ra) / 2) @ y > 0:
        y = -y
    axes = np.stack([x, y, np.cross(x, y)])
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = axes, -axes @ ((la + ra) / 2)
    return m


def _sacral_midline(points: Mapping[str, np.ndarray]) -> Plane:
    pairs = [(points[f"left-s{lv}-{s}-foramen"], points[f"right-s{lv}-{s}-foramen"])
             for lv in range(1, 5) for s in ("dorsal", "ventral")
             if f"left-s{lv}-{s}-foramen" in points and f"right-s{lv}-{s}-foramen" in points]
    mids = np.array([(a + b) / 2 for a, b in pairs])
    normal = _unit(np.mean([b - a for a, b in pairs], axis=0))
    return Plane(mids.mean(0), normal)


def merge(found: PelvisLandmarks | None, given: Mapping[str, np.ndarray], path: Path) -> PelvisLandmarks:
    """The found landmarks with the ``given`` ones (from ``path``) in their place."""
    if found is None:
        missing = [n for n in LANDMARK_NAMES if n not in given]
        if missing:
            raise ImportFailed(f"{path}: the landmark search failed, so the file must place every landmark; "
                               f"it lacks {len(missing)}: {', '.join(missing)}")
    points = {**(dict(found.points) if found else {}), **{k: np.asarray(v, float) for k, v in given.items()}}
    moved = set(given) if found else set(points)
    axes = dict(found.axes) if found else {}
    for side in SIDES:
        for lv in range(1, 5):
            d, v = points[f"{side}-s{lv}-dorsal-foramen"], points[f"{side}-s{lv}-ventral-foramen"]
            axes[f"{side}-s{lv}-foramen"] = (d, _unit(v - d))
    polyline = found.canal_polyline if found else None
    if moved & set(CANAL_POINTS):
        s1, hiatus = points["sacral-canal-s1"], points["sacral-hiatus"]
        polyline = np.linspace(s1, hiatus, CANAL_LINE_POINTS)
        axes["sacral-canal"] = ((s1 + hiatus) / 2, _unit(hiatus - s1))
    neutral, midline = (found.neutral_matrix, found.midline) if found else (None, None)
    if moved & set(FRAME_POINTS):
        neutral = app_matrix(points)
        midline = Plane((points["left-asis"] + points["right-asis"]) / 2, neutral[0, :3].copy())
    sacral = found.sacral_midline if found and not any("foramen" in k for k in moved) else _sacral_midline(points)
    return PelvisLandmarks(points, {k: axes[k] for k in AXIS_NAMES}, np.asarray(polyline), np.asarray(neutral),
                           midline, sacral)
