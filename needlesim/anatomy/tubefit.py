"""Tubes fitted to the space they run in: a centreline and radius profile, thinned where bone
is nearer than the wanted radius, and a swelling (a ganglion) or a rounded end.

numpy, scipy and trimesh only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from needlesim.anatomy.tubes import DEFAULT_SECTIONS, resample_polyline, tube
from needlesim.core.model.scene import Level, Role, Side, Structure


@dataclass(frozen=True)
class Tube:
    """A built tubular structure before it becomes a :class:`Structure`.

    Attributes
    ----------
    centreline : (n, 3) float, mm
    radius_mm : (n,) float, mm
        Radius at each centreline point, after thinning.
    nominal_radius_mm : (n,) float, mm
        The wanted radius before thinning.
    """

    name: str
    role: Role
    side: Side
    level: Level | None
    centreline: np.ndarray
    radius_mm: np.ndarray
    nominal_radius_mm: np.ndarray

    @property
    def arc_mm(self) -> np.ndarray:
        """(n,) mm: arc length at each centreline point."""
        return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self.centreline, axis=0), axis=1))])

    @property
    def thinned_fraction(self) -> float:
        """Share of the length where the tube had to be thinner than wanted (> 2 %)."""
        return float(np.mean(self.radius_mm < 0.98 * self.nominal_radius_mm))

    def mesh(self, *, sections: int = DEFAULT_SECTIONS) -> trimesh.Trimesh:
        return tube(self.centreline, self.radius_mm, sections=sections)

    def structure(self) -> Structure:
        return Structure.from_trimesh(self.name, self.role, self.mesh(), side=self.side, level=self.level,
                                      source="needlesim.anatomy (built on the pelvis)")


class BoneDistance:
    """Exact unsigned distance from points to the nearest of a set of bone meshes, and whether
    points are inside any of them."""

    def __init__(self, bones: list[trimesh.Trimesh]) -> None:
        self.bones = bones
        self._all = trimesh.util.concatenate(bones)

    def distance(self, points: np.ndarray) -> np.ndarray:
        _, d, _ = trimesh.proximity.closest_point(self._all, np.atleast_2d(points))
        return d

    def inside(self, points: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(points)
        out = np.zeros(len(p), dtype=bool)
        for bone in self.bones:
            lo, hi = bone.bounds
            near = np.all((p >= lo) & (p <= hi), axis=1)
            if near.any():
                out[near] |= bone.contains(p[near])
        return out


def fitted_radius(centreline: np.ndarray, nominal_mm: np.ndarray, bones: BoneDistance, margin_mm: float,
                  *, floor_mm: float = 0.3) -> np.ndarray:
    """The nominal radius, thinned to keep ``margin_mm`` from bone (never under ``floor_mm``).

    The thinning is spread over neighbouring rings (a running minimum over 3 points), so the
    linear surface between two rings does not cut a corner of bone.
    """
    from scipy.ndimage import minimum_filter1d

    room = bones.distance(centreline) - margin_mm
    room = minimum_filter1d(room, 3, mode="nearest")
    return np.maximum(np.minimum(nominal_mm, room), floor_mm)


def swelling(arc_mm: np.ndarray, centre_mm: float, length_mm: float, factor: float) -> np.ndarray:
    """(n,) multiplier: ``factor`` at ``centre_mm``, easing (cos^2) to 1 at +/- half the length."""
    x = np.clip((arc_mm - centre_mm) / (0.5 * length_mm), -1.0, 1.0)
    return 1.0 + (factor - 1.0) * np.cos(0.5 * np.pi * x) ** 2


def rounded_end(arc_mm: np.ndarray, length_mm: float, *, tip_fraction: float = 0.05) -> np.ndarray:
    """(n,) multiplier closing the far end of a tube as a half-ellipsoid of ``length_mm``."""
    start = arc_mm[-1] - length_mm
    u = np.clip((arc_mm - start) / length_mm, 0.0, 1.0)
    return np.maximum(np.sqrt(np.clip(1.0 - u**2, 0.0, 1.0)), tip_fraction)


def resampled(points: np.ndarray, step_mm: float = 1.0) -> np.ndarray:
    return resample_polyline(np.asarray(points, dtype=float), step_mm)[0]


def point_at(centreline: np.ndarray, arc_mm: float) -> np.ndarray:
    """The point ``arc_mm`` along a polyline (clamped to its ends)."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centreline, axis=0), axis=1))])
    return np.array([np.interp(arc_mm, s, centreline[:, k]) for k in range(3)])


def project(centreline: np.ndarray, point: np.ndarray) -> float:
    """Arc length (mm) of the point of a densely sampled polyline nearest ``point``."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centreline, axis=0), axis=1))])
    return float(s[np.argmin(np.linalg.norm(centreline - point, axis=1))])
