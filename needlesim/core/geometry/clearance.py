"""Exact clearance from a needle segment to many meshes at once, pruned by a two-level
bounding-sphere hierarchy so that an interactive evaluation touches few triangles.

Each mesh's triangles are sorted along a Morton (Z-order) curve of their centroids and
cut into clusters of :data:`CLUSTER_SIZE` neighbours. A query:

1. bounds each mesh from above by the distance to one on-surface point (a triangle
   centroid) per cluster, and each cluster from below by its bounding sphere;
2. keeps the clusters that may hold a closer point, then the triangles in them whose
   bounding sphere and plane may;
3. solves the survivors exactly (:func:`segment_triangles_distance`).

The result is exact: pruning only ever discards triangles that cannot be closest.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .proximity import segment_triangles_distance

#: Triangles per cluster: small enough to prune well, large enough that the cluster pass
#: costs little next to the triangle pass.
CLUSTER_SIZE = 8


def _morton_order(points: np.ndarray) -> np.ndarray:
    """Indices sorting ``points`` (n, 3) along a 30-bit Morton curve of their box."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    q = ((points - lo) / np.maximum(hi - lo, 1e-12) * 1023).astype(np.uint64)
    code = np.zeros(len(points), dtype=np.uint64)
    for bit in range(10):
        for axis in range(3):
            code |= ((q[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(3 * bit + axis)
    return np.argsort(code, kind="stable")


class ClearanceIndex:
    """Per-mesh clusters of triangles for exact segment-to-mesh distances.

    Parameters
    ----------
    meshes : sequence of ``(vertices (n, 3), faces (m, 3))`` in mm.
    """

    def __init__(self, meshes: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        tris, geoms, cl_geom, cl_start = [], [], [], []
        offset = 0
        for g, (v, f) in enumerate(meshes):
            t = np.asarray(v, dtype=np.float64)[np.asarray(f)]
            t = t[_morton_order(t.mean(axis=1))] if len(t) else t
            tris.append(t)
            geoms.append(np.full(len(t), g))
            starts = np.arange(0, len(t), CLUSTER_SIZE) + offset
            cl_start.append(starts)
            cl_geom.append(np.full(len(starts), g))
            offset += len(t)
        self.n_geoms = len(meshes)
        self.triangles = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
        self.geom = np.concatenate(geoms).astype(np.int64) if geoms else np.zeros(0, np.int64)
        self.centers = self.triangles.mean(axis=1)
        self.corners = tuple(np.ascontiguousarray(self.triangles[:, k]) for k in range(3))
        self.radii = np.linalg.norm(self.triangles - self.centers[:, None], axis=2).max(axis=1)
        n = np.cross(self.triangles[:, 1] - self.triangles[:, 0], self.triangles[:, 2] - self.triangles[:, 0])
        ln = np.linalg.norm(n, axis=1, keepdims=True)
        self.normals = np.divide(n, ln, out=np.zeros_like(n), where=ln > 0)
        self.cl_start = np.concatenate(cl_start).astype(np.int64) if cl_start else np.zeros(0, np.int64)
        self.cl_end = np.append(self.cl_start[1:], len(self.triangles))
        self.cl_geom = np.concatenate(cl_geom).astype(np.int64) if cl_geom else np.zeros(0, np.int64)
        self._cluster_spheres()

    def _cluster_spheres(self) -> None:
        """Each cluster's axis-aligned box (of its corners) and one on-surface point."""
        corners_lo = self.triangles.min(axis=1)
        corners_hi = self.triangles.max(axis=1)
        if len(self.cl_start):
            lo = np.minimum.reduceat(corners_lo, self.cl_start)
            hi = np.maximum.reduceat(corners_hi, self.cl_start)
        else:
            lo = hi = np.zeros((0, 3))
        self.cl_center, self.cl_half = (lo + hi) / 2, (hi - lo) / 2
        # the centroid nearest the box centre: an on-surface point for the upper bound
        near = np.linalg.norm(self.centers - np.repeat(self.cl_center, self.cl_end - self.cl_start, 0), axis=1)
        best = np.array([a + np.argmin(near[a:b]) for a, b in zip(self.cl_start, self.cl_end)], dtype=np.int64)
        self.cl_rep = self.centers[best] if len(best) else np.zeros((0, 3))
        self.geom_cl_start = np.searchsorted(self.cl_geom, np.arange(self.n_geoms))

    def query(self, p: np.ndarray, q: np.ndarray, *, horizon_mm: float = np.inf
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per mesh: the distance from segment ``p-q`` to its surface and the two closest
        points. Exact for every mesh that may come within ``horizon_mm`` of the segment; a
        mesh that certainly stays beyond it gets the distance to its nearest cluster
        representative (a point on its surface: an upper bound, within a cluster's size of
        the truth). Distances are from the segment (the needle's axis): a caller reporting
        clearances from the needle's surface passes its horizon plus the radius, as the
        engine does.

        Returns ``(distance (k,), on_segment (k, 3), on_mesh (k, 3), exact (k,) bool)``."""
        k = self.n_geoms
        dist, on_seg, on_mesh = np.full(k, np.inf), np.zeros((k, 3)), np.zeros((k, 3))
        exact = np.ones(k, dtype=bool)
        if not len(self.triangles):
            return dist, on_seg, on_mesh, exact
        # upper bound per mesh: the nearest on-surface representative point of its clusters
        rep_w = _point_segment_offset(self.cl_rep, p, q)
        rep_d = np.sqrt(np.einsum("ij,ij->i", rep_w, rep_w))
        upper = np.minimum.reduceat(rep_d, self.geom_cl_start)
        # supporting-plane bound of the convex distance-to-segment over each cluster's box
        w = _point_segment_offset(self.cl_center, p, q)
        f = np.sqrt(np.einsum("ij,ij->i", w, w))
        grad = w / np.maximum(f, 1e-300)[:, None]
        lower = np.where(f > 0, f - np.einsum("ij,ij->i", np.abs(grad), self.cl_half), 0.0)
        far = np.minimum.reduceat(lower, self.geom_cl_start) > horizon_mm
        if far.any():  # beyond the horizon: the nearest representative point will do
            at_min = np.flatnonzero(rep_d == upper[self.cl_geom])  # clusters are grouped by mesh
            best_rep = at_min[np.r_[True, self.cl_geom[at_min][1:] != self.cl_geom[at_min][:-1]]]
            gf = np.flatnonzero(far)
            rows = best_rep[gf]
            dist[gf], on_mesh[gf], on_seg[gf] = rep_d[rows], self.cl_rep[rows], self.cl_rep[rows] - rep_w[rows]
            exact[gf] = False
            lower = np.where(far[self.cl_geom], np.inf, lower)
        # tighten: the centroids (on the surface) of each mesh's most promising cluster
        at_min = np.flatnonzero(lower == np.minimum.reduceat(lower, self.geom_cl_start)[self.cl_geom])
        best = at_min[np.r_[True, self.cl_geom[at_min][1:] != self.cl_geom[at_min][:-1]]]
        tri_best = _ranges(self.cl_start[best], self.cl_end[best])
        np.minimum.at(upper, self.geom[tri_best], _point_segment_distance(self.centers[tri_best], p, q))
        keep = np.flatnonzero(lower <= upper[self.cl_geom])
        cand = _ranges(self.cl_start[keep], self.cl_end[keep])
        g = self.geom[cand]
        c = self.centers[cand]
        w = _point_segment_offset(c, p, q)
        dc = np.sqrt(np.einsum("ij,ij->i", w, w))
        # tighten each mesh's upper bound with the centroids (on the surface) of the survivors
        np.minimum.at(upper, g, dc)
        # cheap bound first (bounding sphere), the sharper ones on what survives it
        near = dc - self.radii[cand] <= upper[g]
        cand, g, c, w, dc = cand[near], g[near], c[near], w[near], dc[near]
        # distance to the segment is convex: f(x) >= f(c) + grad f(c).(x - c), and the
        # smallest of that over a triangle is at a corner (a supporting-plane lower bound)
        grad = w / np.maximum(dc, 1e-300)[:, None]
        corner = [np.einsum("ij,ij->i", v[cand], grad) for v in self.corners]
        lower_t = dc + np.minimum(np.minimum(corner[0], corner[1]), corner[2]) - np.einsum("ij,ij->i", c, grad)
        lower_t = np.where(dc > 0, lower_t, 0.0)
        # and the distance from the segment to the triangle's plane (0 if it crosses it)
        nrm = self.normals[cand]
        off = np.einsum("ij,ij->i", self.corners[0][cand], nrm)
        hp, hq = nrm @ p - off, nrm @ q - off
        plane = np.where(hp * hq <= 0, 0.0, np.minimum(np.abs(hp), np.abs(hq)))
        sel = (lower_t <= upper[g]) & (plane <= upper[g])
        cand, g = cand[sel], g[sel]
        d, a, b = segment_triangles_distance(p, q, self.triangles[cand])
        first = _first_per_group(d, g)
        dist[g[first]], on_seg[g[first]], on_mesh[g[first]] = d[first], a[first], b[first]
        return dist, on_seg, on_mesh, exact


def _point_segment_offset(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(n, 3): each point minus its closest point on the segment ``p-q``."""
    seg = q - p
    length2 = float(seg @ seg)
    w = x - p
    if length2 > 0:
        w = w - np.clip(w @ seg / length2, 0.0, 1.0)[:, None] * seg
    return w


def _point_segment_distance(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    w = _point_segment_offset(x, p, q)
    return np.sqrt(np.einsum("ij,ij->i", w, w))


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for each pair, without a Python loop."""
    lengths = ends - starts
    if not len(lengths):
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(lengths.sum()) + offsets


def _first_per_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index of the smallest value in each group present (groups in ascending order)."""
    order = np.lexsort((values, group))
    if not len(order):
        return order
    return order[np.r_[True, group[order][1:] != group[order][:-1]]]
