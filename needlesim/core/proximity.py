"""Exact float64 distance queries between a needle (a segment or a moving point) and
triangles, vectorised over the triangles. Used for every clearance, on every backend, and
for contact depths on the exact backend.

Formulas follow Ericson, *Real-Time Collision Detection* (2005), 5.1.5 (closest point on
a triangle) and 5.1.9 (closest points of two segments).
"""

from __future__ import annotations

import numpy as np

from .raycast import ray_triangle
from .tolerances import TOL


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...j,...j->...", a, b)


def closest_point_on_triangles(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Closest point to ``p`` (3,) on each triangle of ``tri`` (m, 3, 3): (m, 3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac = b - a, c - a
    ap, bp, cp = p - a, p - b, p - c
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        out = a + ab * (vb / denom)[:, None] + ac * (vc / denom)[:, None]  # face region
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        w_ac = d2 / (d2 - d6)
        v_ab = d1 / (d1 - d3)
    # regions in reverse priority so that the first matching one (Ericson's order) wins
    regions = [
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), b + (c - b) * w_bc[:, None]),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + ac * w_ac[:, None]),
        ((d6 >= 0) & (d5 <= d6), c),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + ab * v_ab[:, None]),
        ((d3 >= 0) & (d4 <= d3), b),
        ((d1 <= 0) & (d2 <= 0), a),
    ]
    for cond, q in regions:
        out = np.where(cond[:, None], q, out)
    return out


def closest_points_segment_segments(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray,
                                    q2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points between segment ``p1-q1`` (3,) and each segment ``p2[i]-q2[i]``.

    Returns ``(on_first, on_second)``, both (m, 3)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, f = float(d1 @ d1), _dot(d2, d2), _dot(d2, r)
    c, b = r @ d1, d2 @ d1
    denom = a * e - b * b
    e_safe = np.where(e > 0, e, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > TOL.parallel_det * max(a, 1.0) * np.maximum(e, 1.0),
                     np.clip((b * f - c * e) / denom, 0, 1), 0.0) if a > 0 else np.zeros_like(e)
        t = np.where(e > 0, (b * s + f) / e_safe, 0.0)
        s_lo = np.clip(-c / a, 0, 1) if a > 0 else np.zeros_like(e)
        s_hi = np.clip((b - c) / a, 0, 1) if a > 0 else np.zeros_like(e)
    s = np.where(t < 0, s_lo, np.where(t > 1, s_hi, s))
    t = np.clip(t, 0, 1)
    return p1 + s[:, None] * d1, p2 + t[:, None] * d2


def segment_triangles_distance(p: np.ndarray, q: np.ndarray, tri: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact distance from the segment ``p-q`` to each triangle.

    Returns ``(distance (m,), on_segment (m, 3), on_triangle (m, 3))``."""
    m = len(tri)
    cands_seg = np.empty((6, m, 3))
    cands_tri = np.empty((6, m, 3))
    for k, end in enumerate((p, q)):
        cands_seg[k] = end
        cands_tri[k] = closest_point_on_triangles(end, tri)
    for k in range(3):
        a, b = tri[:, k], tri[:, (k + 1) % 3]
        cands_seg[2 + k], cands_tri[2 + k] = closest_points_segment_segments(p, q, a, b)
    # the segment crossing the triangle's interior: distance 0
    length = float(np.linalg.norm(q - p))
    d = (q - p) / length if length > 0 else np.array([0.0, 0.0, 1.0])
    t, hit = ray_triangle(p, d, tri)
    hit &= (t >= 0) & (t <= length)
    x = p + np.where(hit, t, 0.0)[:, None] * d
    cands_seg[5] = np.where(hit[:, None], x, cands_seg[0])
    cands_tri[5] = np.where(hit[:, None], x, cands_tri[0])
    dist = np.linalg.norm(cands_seg - cands_tri, axis=2)  # (6, m)
    best = dist.argmin(axis=0)
    idx = np.arange(m)
    return dist[best, idx], cands_seg[best, idx], cands_tri[best, idx]


def first_contact_depth(origin: np.ndarray, direction: np.ndarray, radius: float,
                        tri: np.ndarray) -> np.ndarray:
    """For each triangle, the smallest ``t >= 0`` at which the point ``origin + t *
    direction`` comes within ``radius`` of it (``inf`` if never): the ray against the
    triangle's Minkowski sum with a ball (two offset faces, three edge cylinders, three
    corner spheres). The origin already within ``radius`` gives 0."""
    m = len(tri)
    best = np.full(m, np.inf)
    start = np.linalg.norm(closest_point_on_triangles(origin, tri) - origin, axis=1)
    best[start <= radius] = 0.0
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    nl = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, nl, out=np.zeros_like(n), where=nl > 0)
    for sign in (1.0, -1.0):  # the two faces of the slab
        t, hit = ray_triangle(origin, direction, tri + sign * radius * n[:, None, :])
        best = np.where(hit & (t >= 0), np.minimum(best, t), best)
    for k in range(3):
        best = np.minimum(best, _ray_sphere(origin, direction, tri[:, k], radius))
        best = np.minimum(best, _ray_capsule_side(origin, direction, tri[:, k], tri[:, (k + 1) % 3], radius))
    return best


def _ray_sphere(o: np.ndarray, d: np.ndarray, centers: np.ndarray, r: float) -> np.ndarray:
    w = o - centers
    b = w @ d
    disc = b * b - (_dot(w, w) - r * r)
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    return np.where((disc >= 0) & (t >= 0), t, np.inf)


def _ray_capsule_side(o: np.ndarray, d: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    e = b - a
    el = np.linalg.norm(e, axis=1)
    u = np.divide(e, el[:, None], out=np.zeros_like(e), where=el[:, None] > 0)
    w = o - a
    dp = d - (u @ d)[:, None] * u
    wp = w - _dot(w, u)[:, None] * u
    aa, bb, cc = _dot(dp, dp), _dot(wp, dp), _dot(wp, wp) - r * r
    disc = bb * bb - aa * cc
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-bb - np.sqrt(disc)) / aa
        s = _dot(w, u) + t * (u @ d)
    ok = (aa > TOL.parallel_det) & (disc >= 0) & (t >= 0) & (s >= 0) & (s <= el)
    return np.where(ok, t, np.inf)
