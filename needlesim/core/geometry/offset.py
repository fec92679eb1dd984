"""Offset (dilated) surfaces, so that contact at a distance is a plain ray cast.

A needle of radius ``r`` first touches a structure at the depth where its axis first
meets the structure dilated by ``r`` (its Minkowski sum with a ball: the needle is
treated as a capsule). Casting the axis against a precomputed offset surface keeps that
query on Embree's fast path. The exact backend computes the same Minkowski sum
analytically (:mod:`needlesim.core.contact`).

Each vertex moves to the point that puts every adjacent face plane at distance ``r``
(least squares over the faces' unit normals, weighted by the corner angle), lengthened
where needed so that every adjacent face plane is at least ``r`` away. Flat regions are
then exact and curved ones never inside the Minkowski sum; at a convex edge the offset planes meet in a mitre that
lies outside the rounded Minkowski surface, so the offset surface errs early (the safe
side). The mitre is capped at :data:`MITRE_LIMIT` times ``r``.
"""

from __future__ import annotations

import numpy as np

#: Longest vertex move, in units of the offset distance. A dihedral angle of 40 degrees
#: needs 2.9 r; sharper spikes are capped (they then err slightly late).
MITRE_LIMIT = 3.0


def offset_vertices(vertices: np.ndarray, faces: np.ndarray, distance_mm: float) -> np.ndarray:
    """Vertices of the surface offset outward by ``distance_mm`` (same faces).

    Parameters
    ----------
    vertices : (n, 3) float, mm
    faces : (m, 3) int, counter-clockwise seen from outside
    distance_mm : float, > 0

    Returns
    -------
    (n, 3) float, mm
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    w = _corner_angles(tri)  # (m, 3)
    # normal equations per vertex: sum_i w n n^T x = sum_i w n r
    outer = n[:, :, None] * n[:, None, :]
    a = np.zeros((len(v), 3, 3))
    b = np.zeros((len(v), 3))
    for k in range(3):  # three corners, vectorised over all faces
        np.add.at(a, f[:, k], w[:, k, None, None] * outer)
        np.add.at(b, f[:, k], w[:, k, None] * n)
    move = _solve_normal_equations(a, b * distance_mm, distance_mm)
    # least squares leaves some face planes of a curved neighbourhood nearer than the
    # offset (there the offset surface would sit inside the Minkowski sum and err late):
    # lengthen each move until every adjacent face's plane is at least ``distance_mm`` away
    closest = np.full(len(v), np.inf)
    for k in range(3):
        np.minimum.at(closest, f[:, k], np.einsum("ij,ij->i", n, move[f[:, k]]))
    short = (closest > 0) & (closest < distance_mm) & np.isfinite(closest)
    move[short] *= (distance_mm / closest[short])[:, None]
    return v + _cap(move, distance_mm)


def _corner_angles(tri: np.ndarray) -> np.ndarray:
    out = np.empty(tri.shape[:2])
    for k in range(3):
        e1 = tri[:, (k + 1) % 3] - tri[:, k]
        e2 = tri[:, (k + 2) % 3] - tri[:, k]
        c = np.einsum("ij,ij->i", e1, e2)
        s = np.linalg.norm(np.cross(e1, e2), axis=1)
        out[:, k] = np.arctan2(s, c)
    return out


def _solve_normal_equations(a: np.ndarray, b: np.ndarray, distance: float) -> np.ndarray:
    """Least-squares solve of ``a x = b`` per vertex; rank-deficient directions (a flat
    or cylindrical neighbourhood) get the minimum-norm solution, via the eigenbasis."""
    evals, evecs = np.linalg.eigh(a)
    top = evals.max(axis=1, keepdims=True)
    keep = evals > 1e-6 * np.maximum(top, 1e-300)
    inv = np.divide(1.0, evals, out=np.zeros_like(evals), where=keep)
    coeff = np.einsum("vji,vj->vi", evecs, b) * inv
    move = np.einsum("vij,vj->vi", evecs, coeff)
    return _cap(move, distance)


def _cap(move: np.ndarray, distance: float) -> np.ndarray:
    """Moves no longer than :data:`MITRE_LIMIT` x ``distance``."""
    norm = np.linalg.norm(move, axis=1, keepdims=True)
    cap = MITRE_LIMIT * abs(distance)
    return np.where(norm > cap, move * (cap / np.maximum(norm, 1e-300)), move)
