"""Flat, read-only geometry shared by the ray casters and the clearance code: many meshes
joined into one triangle soup with a per-face mesh index, plus the per-face data every
query needs (unit normals, bounding spheres). Built once per scene and cached by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class TriangleSoup:
    """Meshes joined into one triangle soup.

    Attributes
    ----------
    triangles : (m, 3, 3) float64, mm
    geom : (m,) int
        Which input mesh each triangle came from.
    face : (m,) int
        The triangle's index within its own mesh.
    n_geoms : int
    """

    triangles: np.ndarray
    geom: np.ndarray
    face: np.ndarray
    n_geoms: int

    @classmethod
    def from_meshes(cls, meshes: Sequence[tuple[np.ndarray, np.ndarray]]) -> "TriangleSoup":
        """Join ``(vertices (n, 3), faces (m, 3))`` pairs."""
        tris = [np.asarray(v, dtype=np.float64)[np.asarray(f)] for v, f in meshes]
        geom = [np.full(len(t), i, dtype=np.int64) for i, t in enumerate(tris)]
        face = [np.arange(len(t), dtype=np.int64) for t in tris]
        if not tris:
            tris, geom, face = [np.zeros((0, 3, 3))], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        return cls(np.concatenate(tris), np.concatenate(geom), np.concatenate(face), len(meshes))

    def __len__(self) -> int:
        return len(self.triangles)

    @cached_property
    def normals(self) -> np.ndarray:
        """(m, 3) unit outward normals (counter-clockwise winding); zero for degenerate."""
        t = self.triangles
        n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        length = np.linalg.norm(n, axis=1, keepdims=True)
        return np.divide(n, length, out=np.zeros_like(n), where=length > 0)

    @cached_property
    def centers(self) -> np.ndarray:
        """(m, 3) centroids."""
        return self.triangles.mean(axis=1)

    @cached_property
    def radii(self) -> np.ndarray:
        """(m,) distance from the centroid to the farthest corner: a bounding sphere."""
        return np.linalg.norm(self.triangles - self.centers[:, None, :], axis=2).max(axis=1)

    @cached_property
    def geom_starts(self) -> np.ndarray:
        """(n_geoms + 1,) offsets: the triangles of mesh ``g`` are ``starts[g]:starts[g+1]``
        (the soup is built mesh by mesh, so each mesh's triangles are contiguous)."""
        return np.searchsorted(self.geom, np.arange(self.n_geoms + 1))

    def near_line(self, origin: np.ndarray, direction: np.ndarray, pad: float,
                  t_max: float) -> np.ndarray:
        """Indices of triangles whose bounding sphere comes within ``pad`` of the segment
        ``origin + t * direction``, ``0 <= t <= t_max`` (a conservative broad phase)."""
        return np.flatnonzero(self._near(slice(None), origin, direction, pad, t_max))

    def near_line_subset(self, subset: np.ndarray, origin: np.ndarray, direction: np.ndarray,
                         pad: float, t_max: float) -> np.ndarray:
        """Like :meth:`near_line` among the triangles ``subset``: positions into it."""
        return np.flatnonzero(self._near(subset, origin, direction, pad, t_max))

    def _near(self, which, origin, direction, pad, t_max) -> np.ndarray:
        w = self.centers[which] - origin
        t = np.clip(w @ direction, 0.0, t_max)
        w -= t[:, None] * direction
        return np.einsum("ij,ij->i", w, w) <= (self.radii[which] + pad) ** 2
