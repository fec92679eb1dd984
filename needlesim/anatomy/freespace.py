"""The space outside the bones on a voxel grid, and paths planned through it.

A :class:`FreeSpace` voxelises closed bone meshes in a box (one ray per grid column along
``z``, inside where the crossing count is odd, per bone so that touching or overlapping bones
do not cancel), keeps the clearance of every voxel (Euclidean distance to the nearest bone
voxel, mm), and finds least-cost paths between points: the cost of a step grows as the
clearance falls, so a path runs down the middle of a tunnel, and steps closer to bone than a
required clearance are forbidden. Paths are kept inside a corridor around a guide polyline so
that a root cannot leave its canal and come back in round the outside.

numpy, scipy and trimesh only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import trimesh
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from needlesim.anatomy.params import AnatomyError

#: Cost of a step is its length times ``1 + CLEARANCE_WEIGHT_MM / clearance``: at 1 mm from
#: bone a step costs four times its length, at 6 mm one and a half.
CLEARANCE_WEIGHT_MM = 3.0
#: Sub-voxel shift of the column rays, as a fraction of a voxel, so that no ray runs exactly
#: through a mesh vertex or edge of an axis-aligned mesh.
COLUMN_JITTER = 0.0137
#: Extra width of the cheap first pass that picks a corridor's voxels, mm (the exact test
#: follows; this only has to exceed the rounding difference between the two).
CORRIDOR_SLACK_MM = 1e-6
#: The 13 "forward" neighbour offsets of the 26-neighbourhood.
_OFFSETS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                     if (i, j, k) > (0, 0, 0)])


def _inside_columns(mesh: trimesh.Trimesh, origin: np.ndarray, voxel: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Boolean (nx, ny, nz) occupancy of one closed mesh by column ray parity."""
    nx, ny, nz = shape
    gx = origin[0] + (np.arange(nx) + COLUMN_JITTER) * voxel
    gy = origin[1] + (np.arange(ny) + 2 * COLUMN_JITTER) * voxel
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    z0 = min(origin[2], mesh.bounds[0, 2]) - 1.0
    origins = np.stack([xx.ravel(), yy.ravel(), np.full(xx.size, z0)], axis=1)
    occ = np.zeros(shape, dtype=bool)
    lo, hi = mesh.bounds[0, :2], mesh.bounds[1, :2]
    keep = np.all((origins[:, :2] >= lo) & (origins[:, :2] <= hi), axis=1)
    if not keep.any():
        return occ
    idx = np.flatnonzero(keep)
    loc, ray, _ = mesh.ray.intersects_location(origins[idx], np.tile([0.0, 0.0, 1.0], (len(idx), 1)), multiple_hits=True)
    zc = origin[2] + (np.arange(nz) + 0.5) * voxel
    key = np.unique(np.stack([ray.astype(float), np.round(loc[:, 2], 5)], axis=1), axis=0)
    ray, hz = key[:, 0].astype(np.int64), key[:, 1]
    count = np.bincount(ray, minlength=len(idx))
    last = np.cumsum(count) - 1
    drop = np.zeros(len(ray), dtype=bool)
    drop[last[count % 2 == 1]] = True  # a grazing ray: ignore its highest crossing
    ray, hz = ray[~drop], hz[~drop]
    toggles = np.zeros((len(idx), nz + 1), dtype=np.int8)
    np.add.at(toggles, (ray, np.searchsorted(zc, hz)), 1)
    inside = (np.cumsum(toggles[:, :nz], axis=1) % 2).astype(bool)
    occ.reshape(nx * ny, nz)[idx] = inside
    return occ


def distance_to_occupied(occupied: np.ndarray, voxel_mm: float) -> np.ndarray:
    """(nx, ny, nz) float, mm: the distance from each voxel centre to the nearest occupied
    one; the same numbers, bit for bit, as ``ndimage.distance_transform_edt(~occupied,
    sampling=voxel_mm)``, which spends most of its time building a full index grid to
    subtract: here each axis's offsets are taken from its feature index by broadcasting."""
    feature = ndimage.distance_transform_edt(~occupied, sampling=voxel_mm, return_distances=False,
                                             return_indices=True)
    total = None
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = -1
        step = feature[axis] - np.arange(occupied.shape[axis], dtype=feature.dtype).reshape(shape)
        step = step.astype(np.float64)
        step *= float(voxel_mm)
        np.multiply(step, step, step)
        total = step if total is None else np.add(total, step, out=total)
    return np.sqrt(total, out=total)


class FreeSpace:
    """Clearance from a set of closed bone meshes on a voxel grid covering ``box``.

    Parameters
    ----------
    bones : sequence of trimesh.Trimesh
        Closed meshes, mm.
    box : (2, 3) float, mm
        The region to voxelise.
    voxel_mm : float
    """

    def __init__(self, bones: Sequence[trimesh.Trimesh], box: np.ndarray, voxel_mm: float) -> None:
        box = np.asarray(box, dtype=float)
        self.voxel = float(voxel_mm)
        self.origin = box[0]
        self.shape = tuple(int(n) for n in np.ceil((box[1] - box[0]) / self.voxel).astype(int))
        occ = np.zeros(self.shape, dtype=bool)
        for mesh in bones:
            if np.all(mesh.bounds[1] >= box[0]) and np.all(mesh.bounds[0] <= box[1]):
                occ |= _inside_columns(mesh, self.origin, self.voxel, self.shape)
        self.occupied = occ
        #: (nx, ny, nz) float, mm: distance from each voxel centre to the nearest bone voxel
        #: centre, less half a voxel (0 inside bone).
        self.clearance = np.maximum(distance_to_occupied(occ, self.voxel) - 0.5 * self.voxel, 0.0)

    def centres(self, index: np.ndarray) -> np.ndarray:
        """(n, 3) mm: centres of voxels given as (n, 3) integer indices."""
        return self.origin + (np.asarray(index) + 0.5) * self.voxel

    def index(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) int: the voxel holding each point (clipped into the grid)."""
        ijk = np.floor((np.atleast_2d(points) - self.origin) / self.voxel).astype(int)
        return np.clip(ijk, 0, np.array(self.shape) - 1)

    def clearance_at(self, points: np.ndarray) -> np.ndarray:
        """(n,) mm: clearance interpolated at points; 0 outside the grid (unknown is unsafe)."""
        coords = ((np.atleast_2d(points) - self.origin) / self.voxel - 0.5).T
        return ndimage.map_coordinates(self.clearance, coords, order=1, mode="constant", cval=0.0)

    def nearest_free(self, point: np.ndarray, min_clearance_mm: float, *, within_mm: float = 25.0) -> np.ndarray:
        """The voxel centre nearest ``point`` with at least ``min_clearance_mm`` clearance."""
        lo = self.index(point - within_mm)[0]
        hi = self.index(point + within_mm)[0] + 1
        sub = self.clearance[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] >= min_clearance_mm
        ijk = np.argwhere(sub)
        if len(ijk) == 0:
            raise AnatomyError(f"no free space with {min_clearance_mm:.1f} mm clearance within {within_mm:g} mm of {np.round(point, 1)}")
        c = self.centres(ijk + lo)
        return c[np.argmin(np.linalg.norm(c - point, axis=1))]

    def route(self, waypoints: np.ndarray, *, min_clearance_mm: Sequence[float], corridor_mm: Sequence[float],
              avoid: tuple[np.ndarray, np.ndarray] | None = None, fallback: Sequence[float] = (1.0,),
              allowed: Callable[[np.ndarray], np.ndarray] | None = None,
              what: str = "path") -> tuple[np.ndarray, np.ndarray]:
        """A least-cost path through every waypoint in turn, and the clearance each leg got.

        Parameters
        ----------
        waypoints : (k, 3) float, mm
            The path starts at the first and ends at the last; leg ``i`` stays within
            ``corridor_mm[i]`` of the straight segment between waypoints ``i`` and ``i + 1``.
        min_clearance_mm : (k - 1,) float, mm
            Voxels closer than this to bone (or to ``avoid``) are forbidden on each leg;
            waived next to a leg's ends, which may lie in a narrow place.
        avoid : ((m, 3) points, (m,) radii) or None
            Other tubes (sampled centrelines and radii) to keep clear of, like bone.
        fallback : sequence of float
            Fractions of ``min_clearance_mm`` tried in turn where a leg has no path.
        allowed : callable, (m, 3) points -> (m,) bool, or None
            Where the path may go at all (e.g. one side of the mid-plane); waived next to a
            leg's ends.

        Returns
        -------
        path : (n, 3) float, mm
        need : (n,) float, mm
            The clearance required at each path point (its leg's, after any fallback).
        """
        wp = np.asarray(waypoints, dtype=float)
        tree = cKDTree(avoid[0]) if avoid is not None and len(avoid[0]) else None
        pieces, needs = [], []
        for i in range(len(wp) - 1):
            # the corridor (its voxels, clearances and graph) is the same for every fallback
            corridor = _Corridor(self, wp[i], wp[i + 1], corridor_mm[i], avoid, allowed,
                                 max(fallback) * min_clearance_mm[i], tree)
            for j, f in enumerate(fallback):
                try:
                    leg = corridor.path(f * min_clearance_mm[i], f"{what}, leg {i + 1}")
                    break
                except AnatomyError:
                    if j == len(fallback) - 1:
                        raise
            pieces.append(leg if i == 0 else leg[1:])
            needs.append(np.full(len(pieces[-1]), f * min_clearance_mm[i]))
        return np.vstack(pieces), np.concatenate(needs)

    def leg(self, a: np.ndarray, b: np.ndarray, need: float, corridor: float,
            avoid: tuple[np.ndarray, np.ndarray] | None, what: str,
            allowed: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """The least-cost path from ``a`` to ``b`` within ``corridor`` mm of the segment, never
        closer than ``need`` mm to bone or ``avoid`` except next to its ends (:meth:`route`)."""
        return _Corridor(self, a, b, corridor, avoid, allowed, need).path(need, what)


class _Corridor:
    """The voxels of a :class:`FreeSpace` within ``corridor_mm`` of the segment ``a``-``b``,
    their clearance from bone, their distance to the tubes to ``avoid`` (queried once, up to
    ``max_need_mm + 10``), to the ends and where they are ``allowed``: everything of one leg
    that does not depend on the required clearance, so that fallbacks to a lower one reuse it
    (:meth:`FreeSpace.route`); :meth:`path` then builds the step graph for one clearance.
    """

    def __init__(self, space: FreeSpace, a: np.ndarray, b: np.ndarray, corridor_mm: float,
                 avoid: tuple[np.ndarray, np.ndarray] | None, allowed: Callable[[np.ndarray], np.ndarray] | None,
                 max_need_mm: float, tree: cKDTree | None = None) -> None:
        self.space, self.a, self.b = space, np.asarray(a, float), np.asarray(b, float)
        lo = space.index(np.minimum(a, b) - corridor_mm)[0]
        hi = space.index(np.maximum(a, b) + corridor_mm)[0] + 1
        ijk = _within_segment(space, lo, hi, self.a, self.b, corridor_mm)
        self.pts = space.centres(ijk + lo)
        clear = space.clearance[tuple((ijk + lo).T)]
        self._avoid_d = self._avoid_r = None
        if avoid is not None and len(avoid[0]):
            tree = tree if tree is not None else cKDTree(avoid[0])
            d, k = tree.query(self.pts, distance_upper_bound=max_need_mm + 10.0)
            self._avoid_d, self._avoid_r = d, avoid[1][np.minimum(k, len(avoid[1]) - 1)]
        self.bone_clear = clear
        self.end_mm = np.minimum(np.linalg.norm(self.pts - a, axis=1), np.linalg.norm(self.pts - b, axis=1))
        self.allowed = None if allowed is None else np.asarray(allowed(self.pts), bool)
        self.ijk, self.shape = ijk, tuple(int(n) for n in hi - lo)

    def clearance(self, need: float) -> np.ndarray:
        """(n,) mm: each voxel's clearance from bone and from the tubes to avoid, counting a
        tube only within ``need + 10`` mm (farther ones cannot forbid a step)."""
        if self._avoid_d is None:
            return self.bone_clear
        d = np.where(self._avoid_d < need + 10.0, self._avoid_d, np.inf)
        other = np.where(np.isfinite(d), d - self._avoid_r, np.inf)
        return np.minimum(self.bone_clear, np.maximum(other, 0.0))

    def path(self, need: float, what: str) -> np.ndarray:
        """(n, 3) mm: the least-cost voxel path from ``a`` to ``b`` at ``need`` mm clearance."""
        space, a, b = self.space, self.a, self.b
        clear = self.clearance(need)
        near_end = self.end_mm <= need + 2.0 * space.voxel
        ok = (clear >= need) | (near_end & (clear > 0))
        if self.allowed is not None:
            ok &= self.allowed | near_end
        free = self.pts[ok]
        if len(free) == 0:
            raise AnatomyError(f"{what}: no free space between {np.round(a, 1)} and {np.round(b, 1)}")
        graph = _step_graph(self.ijk[ok], self.shape, 1.0 + CLEARANCE_WEIGHT_MM / np.maximum(clear[ok], 0.1 * space.voxel),
                            space.voxel)
        start = int(np.argmin(np.linalg.norm(free - a, axis=1)))
        goal = int(np.argmin(np.linalg.norm(free - b, axis=1)))
        dist, pred = dijkstra(graph, directed=False, indices=start, return_predecessors=True)
        if not np.isfinite(dist[goal]):
            raise AnatomyError(f"{what}: no path with {need:.1f} mm clearance from {np.round(a, 1)} to {np.round(b, 1)}")
        path = [goal]
        while path[-1] != start:
            path.append(pred[path[-1]])
        return np.vstack([a, free[path[::-1]][1:-1], b])


def _within_segment(space: FreeSpace, lo: np.ndarray, hi: np.ndarray, a: np.ndarray, b: np.ndarray,
                    corridor_mm: float) -> np.ndarray:
    """(n, 3) int, in C order of the box ``lo``..``hi``: the voxels whose centre is within
    ``corridor_mm`` of the segment ``a``-``b``. A separable distance over the box (axis
    vectors broadcast, no per-voxel points) keeps a slightly wider set; the exact test of
    the voxels kept decides."""
    shape = tuple(int(n) for n in hi - lo)
    axes = [space.origin[d] + (np.arange(shape[d]) + lo[d] + 0.5) * space.voxel - a[d] for d in range(3)]
    ab = b - a
    ab2 = max(float(ab @ ab), 1e-12)
    x, y, z = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    t = np.clip((x * ab[0] + y * ab[1] + z * ab[2]) / ab2, 0.0, 1.0)
    d2 = (x - t * ab[0]) ** 2 + (y - t * ab[1]) ** 2 + (z - t * ab[2]) ** 2
    ijk = np.argwhere(d2 <= (corridor_mm + CORRIDOR_SLACK_MM) ** 2)
    pts = space.centres(ijk + lo)  # the exact test, as the points are used
    tt = np.clip((pts - a) @ ab / ab2, 0.0, 1.0)
    return ijk[np.linalg.norm(pts - (a + tt[:, None] * ab), axis=1) <= corridor_mm]


def _step_graph(ijk: np.ndarray, shape: tuple[int, int, int], cost: np.ndarray, voxel: float):
    """The sparse graph of steps between 26-neighbouring voxels ``ijk`` ((n, 3) int in C order
    of a box of ``shape``): a step's weight is its length times the mean cost of its ends.
    Node numbers are looked up in the box padded by one empty voxel, so that a neighbour's
    flat index needs no bounds test."""
    n = np.array(shape) + 2
    flat = np.ravel_multi_index(tuple((ijk + 1).T), tuple(n))
    node = np.full(int(np.prod(n)), -1, dtype=np.int64)
    node[flat] = np.arange(len(ijk))
    rows, cols, weights = [], [], []
    for off in _OFFSETS:
        dst = node[flat + int(off[0] * n[1] * n[2] + off[1] * n[2] + off[2])]
        s = np.flatnonzero(dst >= 0)
        e = dst[s]
        rows.append(s)
        cols.append(e)
        weights.append(np.linalg.norm(off) * voxel * 0.5 * (cost[s] + cost[e]))
    m = len(ijk)
    return coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m)).tocsr()


def smooth_path(path: np.ndarray, space: FreeSpace, min_clearance_mm: np.ndarray | float, *,
                sigma_mm: float = 2.0, step_mm: float = 1.0) -> np.ndarray:
    """Resample a voxel path every ``step_mm`` and smooth it (Gaussian, ``sigma_mm``), keeping
    the ends; where smoothing would bring a point closer to bone than the raw path allows,
    that point keeps less of the smoothing.

    ``min_clearance_mm`` is a scalar or one value per point of ``path`` (interpolated by
    arc length).
    """
    from needlesim.anatomy.tubes import resample_polyline

    raw, s = resample_polyline(path, step_mm)
    s_raw = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    need = np.interp(s, s_raw, np.broadcast_to(np.asarray(min_clearance_mm, float), (len(path),)))
    smoothed = ndimage.gaussian_filter1d(raw, sigma_mm / step_mm, axis=0, mode="nearest")
    weight = np.ones(len(raw))
    weight[[0, -1]] = 0.0
    for _ in range(6):
        out = raw + weight[:, None] * (smoothed - raw)
        bad = space.clearance_at(out) < np.minimum(need, space.clearance_at(raw))
        if not bad.any():
            break
        weight[ndimage.binary_dilation(bad, iterations=2)] *= 0.5
    return out
