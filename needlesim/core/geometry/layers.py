"""Keeping Embree's relaunch from stepping over a surface.

Embree gives one nearest hit per cast, so the caster relaunches a ray a small step past each
hit; a surface of another mesh within that step would be skipped (at the sacroiliac joint
the ilium and the sacrum are closer than that). Two structures make this impossible:

*layers* (:func:`separated_layers`)
    groups of meshes whose boxes are pairwise farther apart than twice the step, so two
    surfaces one ray crosses within a step of each other belong to one mesh. Cast layer by
    layer, nothing is skipped.
*near cells* (:class:`NearCells`)
    a sparse grid marking, per cell, the layers with a triangle within twice the step of it.
    A hit can be followed, within the step, by another mesh's surface only if its cell holds
    another layer; so after one cast through all meshes, only those layers are cast again,
    and only over a few steps around such a hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .soup import TriangleSoup

#: At most this many layers are told apart by the cells' bit masks (uint64); a scene with
#: more casts every ray through every layer.
MAX_LAYERS = 64


def geom_boxes(soup: TriangleSoup, geoms) -> tuple[np.ndarray, np.ndarray]:
    """(g, 3) lower and upper corners of each mesh ``geoms`` of ``soup``."""
    tri, st = soup.triangles, soup.geom_starts
    lo = np.array([tri[st[g]:st[g + 1]].reshape(-1, 3).min(axis=0) for g in geoms])
    hi = np.array([tri[st[g]:st[g + 1]].reshape(-1, 3).max(axis=0) for g in geoms])
    return lo, hi


def separated_layers(soup: TriangleSoup, gap_mm: float) -> list[list[int]]:
    """The soup's non-empty meshes in layers whose meshes' boxes are pairwise more than
    ``gap_mm`` apart along some axis (so any two of their surfaces are more than
    ``gap_mm`` apart). Greedy, largest box first; one mesh per layer at worst."""
    geoms = [g for g in range(soup.n_geoms) if soup.geom_starts[g + 1] > soup.geom_starts[g]]
    if not geoms:
        return []
    lo, hi = geom_boxes(soup, geoms)
    order = np.argsort(-np.prod(hi - lo, axis=1), kind="stable")
    layers: list[list[int]] = []
    for i in order:
        for layer in layers:
            if all(np.any((lo[i] > hi[j] + gap_mm) | (hi[i] < lo[j] - gap_mm)) for j in layer):
                layer.append(int(i))
                break
        else:
            layers.append([int(i)])
    return [sorted(geoms[j] for j in layer) for layer in layers]


@dataclass(frozen=True, eq=False)
class Layer:
    """One Embree scene, the soup face of each of its primitives, and the (padded,
    re-centred) box around them."""

    scene: object
    faces: np.ndarray  #: (p,) soup face of each Embree primitive
    lo: np.ndarray  #: (3,)
    hi: np.ndarray  #: (3,)

    def crossed(self, origins: np.ndarray, directions: np.ndarray, t_max: np.ndarray) -> np.ndarray:
        """Indices of the rays whose segment ``[0, t_max]`` (re-centred origins) meets the
        box (a slab test, vectorised over rays): the others cannot hit this layer."""
        par = directions == 0  # parallel to a slab: inside it for every t, or never
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (self.lo - origins) / directions, (self.hi - origins) / directions
        near = np.where(par, -np.inf, np.minimum(a, b)).max(axis=1)
        far = np.where(par, np.inf, np.maximum(a, b)).min(axis=1)
        ok_par = np.all(~par | ((origins >= self.lo) & (origins <= self.hi)), axis=1)
        return np.flatnonzero(ok_par & (far >= np.maximum(near, 0.0)) & (near <= t_max))


class NearCells:
    """Per grid cell, a bit mask of the layers with a triangle within ``pad_mm`` of it.

    Parameters
    ----------
    soup : TriangleSoup
    layer_of_geom : (n_geoms,) int
    pad_mm : float
        How far from a triangle its cells reach (twice the relaunch step).
    """

    def __init__(self, soup: TriangleSoup, layer_of_geom: np.ndarray, pad_mm: float) -> None:
        lo = soup.triangles.min(axis=1) - pad_mm
        hi = soup.triangles.max(axis=1) + pad_mm
        self.h = max(float(np.median((hi - lo).max(axis=1))), 4 * pad_mm)
        self.base = lo.min(axis=0)
        c0, c1 = self._cell(lo), self._cell(hi)
        self.dims = c1.max(axis=0) + 1
        span = c1 - c0 + 1
        count = span.prod(axis=1)
        rows = np.repeat(np.arange(len(lo)), count)
        k = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
        ny, nz = span[rows, 1], span[rows, 2]
        keys = self._key(c0[rows] + np.stack([k // (ny * nz), (k // nz) % ny, k % nz], axis=1))
        bits = np.left_shift(np.uint64(1), layer_of_geom[soup.geom[rows]].astype(np.uint64))
        order = np.argsort(keys, kind="stable")
        keys, bits = keys[order], bits[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.keys, self.masks = keys[starts], np.bitwise_or.reduceat(bits, starts)

    def _cell(self, p: np.ndarray) -> np.ndarray:
        return np.floor((p - self.base) / self.h).astype(np.int64)

    def _key(self, cell: np.ndarray) -> np.ndarray:
        return (cell[:, 0] * self.dims[1] + cell[:, 1]) * self.dims[2] + cell[:, 2]

    def other_layers(self, points: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """(k,) uint64 bit mask of the layers other than ``layer[i]`` with a triangle within
        the pad of ``points[i]`` (k, 3), mm (bit ``j``: layer ``j``)."""
        if not len(self.keys):
            return np.zeros(len(points), np.uint64)
        cell = self._cell(points)
        inside = np.all((cell >= 0) & (cell < self.dims), axis=1)
        key = self._key(np.where(inside[:, None], cell, 0))
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        mask = np.where(inside & (self.keys[at] == key), self.masks[at], np.uint64(0)).astype(np.uint64)
        return mask & ~np.left_shift(np.uint64(1), layer.astype(np.uint64))
