"""Exact float64 distance queries between a needle (a segment or a moving point) and
triangles, vectorised over the triangles. Used for every clearance, on every backend, and
for contact depths on the exact backend.

Formulas follow Ericson, *Real-Time Collision Detection* (2005), 5.1.5 (closest point on
a triangle) and 5.1.9 (closest points of two segments).
"""

from __future__ import annotations

import numpy as np

from .raycast import ray_triangle
from ..tolerances import TOL


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...j,...j->...", a, b)


def _barycentric_closest(p: np.ndarray, a: np.ndarray, ab: np.ndarray, ac: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(v, w)`` of the closest point ``a + v ab + w ac`` to ``p`` on each
    triangle, region by region (Ericson 5.1.5), as (m,) arrays."""
    ap = p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    abab, abac, acac = _dot(ab, ab), _dot(ab, ac), _dot(ac, ac)
    d3, d4 = d1 - abab, d2 - abac  # ab.(p-b), ac.(p-b)
    d5, d6 = d1 - abac, d2 - acac  # ab.(p-c), ac.(p-c)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v, w = vb / denom, vc / denom  # face region
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        w_ac = d2 / (d2 - d6)
        v_ab = d1 / (d1 - d3)
    # regions in reverse priority, so that the first matching one (Ericson's order) wins
    for cond, rv, rw in (
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), 1 - w_bc, w_bc),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), 0.0, w_ac),
        ((d6 >= 0) & (d5 <= d6), 0.0, 1.0),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), v_ab, 0.0),
        ((d3 >= 0) & (d4 <= d3), 1.0, 0.0),
        ((d1 <= 0) & (d2 <= 0), 0.0, 0.0),
    ):
        v = np.where(cond, rv, v)
        w = np.where(cond, rw, w)
    return v, w


def closest_point_on_triangles(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Closest point to ``p`` ((3,) or one per triangle, (m, 3)) on each triangle of
    ``tri`` (m, 3, 3): (m, 3)."""
    a = tri[:, 0]
    ab, ac = tri[:, 1] - a, tri[:, 2] - a
    v, w = _barycentric_closest(p, a, ab, ac)
    return a + ab * v[:, None] + ac * w[:, None]


def closest_points_segment_segments(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray,
                                    q2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points between segment ``p1-q1`` (3,) and each segment ``p2[i]-q2[i]``.

    Returns ``(on_first, on_second)``, both (m, 3)."""
    s, t = _segment_params(p1, q1, p2, q2)
    return p1 + s[:, None] * (q1 - p1), p2 + t[:, None] * (q2 - p2)


def _segment_params(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Parameters ``(s, t)`` in [0, 1] of the closest points (Ericson 5.1.9)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, f = float(d1 @ d1), _dot(d2, d2), _dot(d2, r)
    c, b = r @ d1, d2 @ d1
    if a <= 0:  # the first segment is a point
        return np.zeros(len(e)), np.clip(np.where(e > 0, f / np.where(e > 0, e, 1.0), 0.0), 0, 1)
    denom = a * e - b * b
    e_safe = np.where(e > 0, e, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > TOL.parallel_det * a * np.maximum(e, 1.0), np.clip((b * f - c * e) / denom, 0, 1), 0.0)
        t = np.where(e > 0, (b * s + f) / e_safe, 0.0)
    s = np.where(t < 0, np.clip(-c / a, 0, 1), np.where(t > 1, np.clip((b - c) / a, 0, 1), s))
    return s, np.clip(t, 0, 1)


def segment_triangles_distance(p: np.ndarray, q: np.ndarray, tri: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact distance from the segment ``p-q`` to each triangle.

    The minimum is at an end of the segment against the triangle, at the segment against
    one of the triangle's edges, or zero where the segment crosses the triangle. The two
    ends and the three edges are each solved in one stacked call (numpy's per-call cost
    dominates the small inputs of an interactive evaluation).

    Returns ``(distance (m,), on_segment (m, 3), on_triangle (m, 3))``."""
    m = len(tri)
    seg = q - p
    a = tri[:, 0]
    ab, ac = tri[:, 1] - a, tri[:, 2] - a
    ends = np.empty((2 * m, 3))
    ends[:m], ends[m:] = p, q
    v, w = _barycentric_closest(ends, np.concatenate([a, a]), np.concatenate([ab, ab]), np.concatenate([ac, ac]))
    e0 = tri.transpose(1, 0, 2).reshape(3 * m, 3)
    e1 = tri[:, [1, 2, 0]].transpose(1, 0, 2).reshape(3 * m, 3)
    s_edge, t_edge = _segment_params(p, q, e0, e1)
    length = float(np.sqrt(seg @ seg))
    t, hit = ray_triangle(p, seg / length if length > 0 else np.array([0.0, 0.0, 1.0]), tri)
    hit &= (t >= 0) & (t <= length)
    s_all = np.concatenate([np.zeros(m), np.ones(m), s_edge, np.where(hit, t / max(length, 1e-300), 0.0)])
    on_tri = np.concatenate([
        np.concatenate([a, a]) + np.concatenate([ab, ab]) * v[:, None] + np.concatenate([ac, ac]) * w[:, None],
        e0 + (e1 - e0) * t_edge[:, None],
        np.zeros((m, 3)),
    ])
    on_seg = p + s_all[:, None] * seg
    on_tri[5 * m:] = on_seg[5 * m:]
    diff = on_seg - on_tri
    dist2 = np.einsum("ij,ij->i", diff, diff).reshape(6, m)
    dist2[5, ~hit] = np.inf
    best = dist2.argmin(axis=0) * m + np.arange(m)
    return np.sqrt(dist2.ravel()[best]), on_seg[best], on_tri[best]


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
    # each kind of feature in one stacked call (numpy's per-call cost dominates these
    # small inputs): the two faces of the slab, then the three corners and the three edges
    shift = radius * n[:, None, :]
    t, hit = ray_triangle(origin, direction, np.concatenate([tri + shift, tri - shift]))
    faces = np.where(hit & (t >= 0), t, np.inf).reshape(2, m).min(axis=0)
    a = tri.transpose(1, 0, 2).reshape(3 * m, 3)          # corner k of every triangle, k = 0, 1, 2
    b = tri[:, [1, 2, 0]].transpose(1, 0, 2).reshape(3 * m, 3)  # the next corner: edges a-b
    edges = np.minimum(_ray_sphere(origin, direction, a, radius), _ray_capsule_side(origin, direction, a, b, radius))
    return np.minimum(best, np.minimum(faces, edges.reshape(3, m).min(axis=0)))


#: Slack on the bounding-sphere bounds, mm: far above their rounding error, far below
#: anything that matters, so the pruning never drops a triangle that could be first.
BOUND_SLACK_MM = 1e-6


def first_contact_per_group(origin: np.ndarray, direction: np.ndarray, radius: float, tri: np.ndarray,
                            centers: np.ndarray, radii: np.ndarray, group: np.ndarray, n_groups: int
                            ) -> np.ndarray:
    """Per group, the smallest :func:`first_contact_depth` over its triangles: the same
    numbers as ``np.minimum.at`` over every triangle, with few solved exactly.

    Per triangle, the point comes within ``radius`` of it no sooner than it enters the
    ball of ``radius`` plus the bounding radius around the centroid (a lower bound), and
    no later than it enters the ball of ``radius`` around the centroid, a point of the
    triangle (an upper bound, where it exists). Only the triangles whose lower bound is
    below their group's smallest upper bound can be first; only they are solved, in one
    call (numpy's per-call cost dominates these small inputs).

    Parameters
    ----------
    origin, direction : (3,) float, mm and unit
    radius : float, mm
    tri : (m, 3, 3) float, mm
    centers, radii : (m, 3) and (m,) float, mm: each triangle's centroid and the distance
        from it to its farthest corner
    group : (m,) int in ``[0, n_groups)``
    n_groups : int

    Returns
    -------
    (n_groups,) float, mm (``inf`` for a group never within ``radius``)
    """
    out = np.full(n_groups, np.inf)
    w = centers - origin
    b = w @ direction
    ww = np.einsum("ij,ij->i", w, w)
    lo_c, hi_c = ww - (radii + radius) ** 2, ww - radius * radius
    lo_disc, hi_disc = b * b - lo_c, b * b - hi_c
    with np.errstate(invalid="ignore"):
        lower = np.where(lo_c <= 0, 0.0, b - np.sqrt(lo_disc)) - BOUND_SLACK_MM
        upper = np.where(hi_c <= 0, 0.0, b - np.sqrt(hi_disc)) + BOUND_SLACK_MM
    upper = np.where((hi_c <= 0) | ((hi_disc >= 0) & (b >= 0)), upper, np.inf)
    reach = np.full(n_groups, np.inf)
    np.minimum.at(reach, group, upper)
    # a triangle whose grown ball lies behind the origin is never reached
    cand = np.flatnonzero(((lo_c <= 0) | ((lo_disc >= 0) & (b >= 0))) & (lower <= reach[group]))
    if len(cand):
        np.minimum.at(out, group[cand], first_contact_depth(origin, direction, radius, tri[cand]))
    return out


def first_contact_depths(origins: np.ndarray, directions: np.ndarray, radius: float,
                         tri: np.ndarray) -> np.ndarray:
    """Row by row, :func:`first_contact_depth` of the ray ``origins[i] + t *
    directions[i]`` against the single triangle ``tri[i]``: many rays against their own
    candidate triangles in one vectorised call (the batched sweep's exact contacts).

    Parameters
    ----------
    origins, directions : (m, 3) float, mm and unit
    radius : float, mm
    tri : (m, 3, 3) float, mm

    Returns
    -------
    (m,) float, mm (``inf`` where the ray never comes within ``radius``)
    """
    best = np.full(len(tri), np.inf)
    start = np.linalg.norm(closest_point_on_triangles(origins, tri) - origins, axis=1)
    best[start <= radius] = 0.0
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    nl = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, nl, out=np.zeros_like(n), where=nl > 0)
    for sign in (1.0, -1.0):  # the two faces of the slab (edges and corners: below)
        best = np.minimum(best, _ray_triangle_rows(origins, directions, tri + sign * radius * n[:, None, :]))
    for k in range(3):
        best = np.minimum(best, _ray_sphere(origins, directions, tri[:, k], radius))
        best = np.minimum(best, _ray_capsule_side(origins, directions, tri[:, k], tri[:, (k + 1) % 3], radius))
    return best


def _ray_triangle_rows(o: np.ndarray, d: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(m,) depth ``t >= 0`` of ray ``i`` on triangle ``i`` (Moller-Trumbore, edges
    included), ``inf`` if it misses. Used only for the faces of a Minkowski slab, whose
    edges the capsules cover exactly, so a ray slipping through an edge changes nothing."""
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(d, e2)
    det = _dot(e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = o - tri[:, 0]
        u = _dot(s, p) * inv
        q = np.cross(s, e1)
        v = _dot(d, q) * inv
        t = _dot(e2, q) * inv
    ok = (np.abs(det) > TOL.parallel_det) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0)
    return np.where(ok, t, np.inf)


def _ray_sphere(o: np.ndarray, d: np.ndarray, centers: np.ndarray, r: float) -> np.ndarray:
    """Ray(s) ``o + t d`` ((3,) or one per sphere) against spheres: first ``t >= 0``."""
    w = o - centers
    b = _dot(w, d)
    disc = b * b - (_dot(w, w) - r * r)
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    return np.where((disc >= 0) & (t >= 0), t, np.inf)


def _ray_capsule_side(o: np.ndarray, d: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Ray(s) ``o + t d`` ((3,) or one per edge) against the cylinders of radius ``r``
    around the edges ``a-b`` (their sides; the ends are the corner spheres)."""
    e = b - a
    el = np.linalg.norm(e, axis=1)
    u = np.divide(e, el[:, None], out=np.zeros_like(e), where=el[:, None] > 0)
    w = o - a
    ud = _dot(u, d)
    dp = d - ud[:, None] * u
    wp = w - _dot(w, u)[:, None] * u
    aa, bb, cc = _dot(dp, dp), _dot(wp, dp), _dot(wp, wp) - r * r
    disc = bb * bb - aa * cc
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-bb - np.sqrt(disc)) / aa
        s = _dot(w, u) + t * ud
    ok = (aa > TOL.parallel_det) & (disc >= 0) & (t >= 0) & (s >= 0) & (s <= el)
    return np.where(ok, t, np.inf)
