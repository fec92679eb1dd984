"""Ray casting against a :class:`TriangleSoup`: every hit along each ray.

Two backends, always chosen explicitly and recorded in every report:

``Backend.EMBREE``
    Intel Embree through ``embreex`` (float32, BVH, millions of rays per second). Each
    round casts every live ray once; a ray is re-launched just past its hit until it
    leaves the range, so *one all-hits cast per direction gives every depth*. Meshes whose
    boxes come close are cast in separate layers, so that no relaunch can step over
    another mesh's surface (:class:`EmbreeCaster`). Hit depths
    are then recomputed in float64 on the hit triangle's plane, so they agree with the
    exact backend to ~1e-9 mm wherever both hit the same triangle.
``Backend.EXACT``
    A float64 Moller-Trumbore test against every triangle that passes a bounding-sphere
    broad phase. The reference: slower, with no dependency but numpy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from .layers import MAX_LAYERS, Layer, NearCells, separated_layers
from .soup import TriangleSoup
from ..tolerances import TOL


class Backend(str, enum.Enum):
    EMBREE = "embree"
    EXACT = "exact"


@dataclass(frozen=True)
class RayHits:
    """Every hit of a batch of rays, sorted by ray then depth.

    Attributes
    ----------
    ray : (k,) int      which ray
    t : (k,) float, mm  distance from the ray's origin
    geom : (k,) int     which mesh of the soup
    face : (k,) int     which triangle of the soup
    entering : (k,) bool  the ray crosses the surface from outside to inside
    """

    ray: np.ndarray
    t: np.ndarray
    geom: np.ndarray
    face: np.ndarray
    entering: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def for_ray(self, i: int) -> "RayHits":
        lo, hi = np.searchsorted(self.ray, [i, i + 1])
        return RayHits(*(a[lo:hi] for a in (self.ray, self.t, self.geom, self.face, self.entering)))


def embree_available() -> bool:
    try:
        import embreex.rtcore_scene  # noqa: F401
    except ImportError:
        return False
    return True


def make_caster(soup: TriangleSoup, backend: Backend | str):
    """A caster of ``backend`` over ``soup``: an object with ``all_hits(origins, directions,
    t_max)`` returning :class:`RayHits`."""
    backend = Backend(backend)
    if backend is Backend.EMBREE:
        return EmbreeCaster(soup)
    return ExactCaster(soup)


def _finish(soup: TriangleSoup, ray, t, face, directions) -> RayHits:
    """Sort hits, add entering flags and merge duplicates at shared edges/vertices."""
    ray, t, face = (np.asarray(a) for a in (ray, t, face))
    # casters emit each ray's hits nearly in depth order, so a stable sort by ray and then
    # a check is cheaper than a three-key lexsort; fall back to it when needed
    order = np.argsort(ray, kind="stable")
    r, tt = ray[order], t[order]
    if np.any((r[1:] == r[:-1]) & (tt[1:] < tt[:-1])):
        order = np.lexsort((face, t, ray))
    ray, t, face = ray[order], t[order], face[order]
    geom = soup.geom[face]
    entering = np.einsum("ij,ij->i", soup.normals[face], directions[ray]) < 0
    keep = np.ones(len(t), dtype=bool)
    if len(t) > 1:
        # a ray through an edge or vertex shared by two triangles of one mesh meets both
        # at one depth; that is one crossing (hits sorted by ray then t, so compare
        # each hit with every earlier one of the same ray within merge_mm)
        same = (ray[1:] == ray[:-1]) & (np.abs(t[1:] - t[:-1]) <= TOL.merge_mm)
        for k in np.flatnonzero(same) + 1:
            j = k - 1
            while j >= 0 and ray[j] == ray[k] and t[k] - t[j] <= TOL.merge_mm:
                if keep[j] and geom[j] == geom[k] and entering[j] == entering[k]:
                    keep[k] = False
                    break
                j -= 1
    return RayHits(ray[keep], t[keep], geom[keep], face[keep], entering[keep])


class EmbreeCaster:
    """All-hits casting with Embree; geometry re-centred on its box for float32 precision.

    Embree gives one nearest hit per cast, so a ray is relaunched a small step past each
    hit, and a surface of another mesh within that step could be skipped. Every ray is
    cast once through all meshes; around each hit where another *layer* of meshes has a
    surface within twice the step (:class:`~needlesim.core.geometry.layers.NearCells`),
    those layers, in which no two meshes come that close
    (:func:`~needlesim.core.geometry.layers.separated_layers`), are cast again over a few
    steps. So every crossing of every mesh is found whatever the spacing between surfaces
    of different meshes (touching, overlapping or microns apart), at the cost of a few
    short casts where surfaces of different meshes are close.
    """

    backend = Backend.EMBREE

    def __init__(self, soup: TriangleSoup) -> None:
        self.soup = soup
        tri = soup.triangles.reshape(-1, 3)
        self.origin = (tri.min(axis=0) + tri.max(axis=0)) / 2 if len(tri) else np.zeros(3)
        extent = float(np.ptp(tri, axis=0).max()) if len(tri) else 1.0
        self.step = max(TOL.embree_step_mm, TOL.embree_step_rel * extent)
        _ = soup.normals  # computed once here, not on the first cast
        groups = separated_layers(soup, 2 * self.step)
        self.full = self._layer(np.arange(len(soup))) if len(soup) else None
        self.layers = [self._layer(np.concatenate([np.arange(soup.geom_starts[g], soup.geom_starts[g + 1])
                                                   for g in geoms])) for geoms in groups] if len(groups) > 1 else []
        self.near = None  # which rays need the layers; None: one layer is all of it, or every ray does
        if 1 < len(groups) <= MAX_LAYERS:
            layer_of_geom = np.zeros(soup.n_geoms, np.int64)
            for i, geoms in enumerate(groups):
                layer_of_geom[geoms] = i
            self.layer_of_face = layer_of_geom[soup.geom]
            self.near = NearCells(soup, layer_of_geom, 2 * self.step)

    def _layer(self, faces: np.ndarray) -> Layer:
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        scene = rtcore_scene.EmbreeScene()
        tri = self.soup.triangles[faces].reshape(-1, 3) - self.origin
        TriangleMesh(scene, tri.astype(np.float32), np.arange(len(tri), dtype=np.int32).reshape(-1, 3))
        # Embree builds its BVH on the first query: do it now, not on a slider move
        scene.run(np.zeros((1, 3), np.float32), np.array([[0, 0, 1]], np.float32))
        return Layer(scene, faces, tri.min(axis=0) - self.step, tri.max(axis=0) + self.step)

    def all_hits(self, origins: np.ndarray, directions: np.ndarray, t_max: float | np.ndarray,
                 *, max_rounds: int = 256) -> RayHits:
        """Every hit within ``t_max`` of each ray; ``max_rounds`` bounds the hits per ray
        and cast (1: at least the nearest hit of each ray)."""
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        n = len(origins)
        t_max = np.broadcast_to(np.asarray(t_max, dtype=np.float64), (n,))
        if len(self.soup) == 0 or n == 0:
            return _finish(self.soup, np.zeros(0, int), np.zeros(0), np.zeros(0, int), directions)
        d32 = directions.astype(np.float32)
        ray, face, t = self._cast(self.full, np.arange(n), origins, directions, d32, t_max, max_rounds)
        if self.layers and self.near is None:  # too many layers to tell apart: every ray, every layer
            parts = [self._cast(layer, np.arange(n), origins, directions, d32, t_max, max_rounds)
                     for layer in self.layers]
            ray, face, t = (np.concatenate(a) for a in zip(*parts))
        elif self.layers:
            ray, face, t = self._add_skipped(ray, face, t, origins, directions, d32, max_rounds)
        ok = (t >= 0) & (t <= t_max[ray])
        return _finish(self.soup, ray[ok], t[ok], face[ok], directions)

    def _add_skipped(self, ray, face, t, origins, directions, d32, max_rounds):
        """Add the hits the relaunch may have stepped over: around each hit whose cell holds
        other layers, those layers are cast over ``[t - step, t + 2 step]`` (a skipped
        surface lies within one step past the hit; its layer marks the hit's cell)."""
        others = self.near.other_layers(origins[ray] + t[:, None] * directions[ray], self.layer_of_face[face])
        near = np.flatnonzero(others)
        parts = [(ray, face, t)]
        for i, layer in enumerate(self.layers):
            w = near[(others[near] >> np.uint64(i)) & np.uint64(1) == 1]
            if not len(w):
                continue
            r, t0 = ray[w], t[w] - self.step
            o = origins[r] + t0[:, None] * directions[r]
            k, f, tk = self._many_rays(layer, np.arange(len(w)), o, directions[r], d32[r],
                                       np.full(len(w), 3 * self.step), max_rounds)
            parts.append((r[k], f, tk + t0[k]))
        if len(parts) == 1:
            return ray, face, t
        new_ray, new_face, new_t = (np.concatenate(a) for a in zip(*parts[1:]))
        # a ray crosses a triangle once: drop what the first cast (or another window) found
        m = len(self.soup)
        _, first = np.unique(new_ray * m + new_face, return_index=True)
        first = first[~np.isin((new_ray * m + new_face)[first], ray * m + face)]
        return np.concatenate([ray, new_ray[first]]), np.concatenate([face, new_face[first]]), \
            np.concatenate([t, new_t[first]])

    def _cast(self, layer: Layer, live: np.ndarray, origins, directions, d32, t_max, max_rounds):
        if len(origins) == 1:  # the interactive path: scalars, no fancy indexing
            return self._one_ray(layer, origins[0], directions[0], d32, float(t_max[0]), max_rounds)
        return self._many_rays(layer, live, origins, directions, d32, t_max, max_rounds)

    def _many_rays(self, layer, live, origins, directions, d32, t_max, max_rounds):
        """One embree call per round for every live ray; Embree returns only the triangle
        (asking it for distances is several times slower), and the depth is solved in
        float64 on that triangle's plane."""
        n = len(origins)
        base = origins - self.origin
        t0, last = np.zeros(n), np.full(n, -1)
        out_ray, out_face, out_t = [], [], []
        for _ in range(max_rounds):
            o = (base[live] + t0[live, None] * directions[live]).astype(np.float32)
            prim = layer.scene.run(o, d32[live], dists=(t_max[live] - t0[live]).astype(np.float32))
            hit = prim != -1
            rays, face = live[hit], layer.faces[prim[hit]]
            t = self._plane_t(origins[rays], directions[rays], face)
            fresh = face != last[rays]
            out_ray.append(rays[fresh]); out_face.append(face[fresh]); out_t.append(t[fresh])
            last[rays] = face
            t0[rays] = np.maximum(t, t0[rays]) + self.step
            live = rays[t0[rays] < t_max[rays]]
            if len(live) == 0:
                break
        return np.concatenate(out_ray), np.concatenate(out_face), np.concatenate(out_t)

    def _one_ray(self, layer, origin: np.ndarray, d: np.ndarray, d32: np.ndarray, t_max: float,
                 max_rounds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        base = origin - self.origin
        o32, dist = np.empty((1, 3), np.float32), np.empty(1, np.float32)
        normals, corner = self.soup.normals, self.soup.triangles[:, 0]
        faces, ts, last, t0 = [], [], -1, 0.0
        for _ in range(max_rounds):
            o32[0] = base + t0 * d
            dist[0] = t_max - t0
            prim = int(layer.scene.run(o32, d32, dists=dist)[0])
            if prim == -1:
                break
            prim = int(layer.faces[prim])
            nrm = normals[prim]
            denom = float(d @ nrm)
            t = float((corner[prim] - origin) @ nrm) / denom if abs(denom) > TOL.parallel_det else t0
            if prim != last:
                faces.append(prim)
                ts.append(t)
            last = prim
            t0 = max(t, t0) + self.step
            if t0 >= t_max:
                break
        return np.zeros(len(faces), np.int64), np.array(faces, dtype=np.int64), np.array(ts, dtype=np.float64)

    def _plane_t(self, o: np.ndarray, d: np.ndarray, face: np.ndarray) -> np.ndarray:
        """The float64 depth of each ray on its hit triangle's plane."""
        n = self.soup.normals[face]
        p0 = self.soup.triangles[face, 0]
        denom = np.einsum("ij,ij->i", d, n)
        num = np.einsum("ij,ij->i", p0 - o, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / denom
        return np.where(np.abs(denom) > TOL.parallel_det, t, 0.0)


class ExactCaster:
    """Float64 Moller-Trumbore against every triangle near each ray (reference backend)."""

    backend = Backend.EXACT

    def __init__(self, soup: TriangleSoup) -> None:
        self.soup = soup

    def all_hits(self, origins: np.ndarray, directions: np.ndarray, t_max: float | np.ndarray) -> RayHits:
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        t_max = np.broadcast_to(np.asarray(t_max, dtype=np.float64), (len(origins),))
        rays, ts, faces = [], [], []
        for i, (o, d) in enumerate(zip(origins, directions)):  # reference path: per ray
            cand = self.soup.near_line(o, d, 0.0, float(t_max[i]))
            t, ok = ray_triangle(o, d, self.soup.triangles[cand])
            ok &= (t >= 0) & (t <= t_max[i])
            rays.append(np.full(ok.sum(), i)); ts.append(t[ok]); faces.append(cand[ok])
        return _finish(self.soup, np.concatenate(rays), np.concatenate(ts), np.concatenate(faces), directions)


def ray_triangle(origin: np.ndarray, direction: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Watertight ray-triangle test (Woop, Benthin & Wald, JCGT 2013) in float64 for one
    ray against ``triangles`` (m, 3, 3).

    Each edge function is computed from per-vertex values only, so a triangle and its
    neighbour compute the same number (negated) on their shared edge: a ray through an
    edge or a vertex can never slip between triangles, as it can with Moller-Trumbore.
    Edges and corners count as inside (so such a ray meets every triangle there, which
    :func:`needlesim.core.needle.tissue.clean_crossings` then settles).

    Returns ``(t, hit)``: the distance along the ray to each triangle's plane and whether
    the ray meets the triangle."""
    d = np.asarray(direction, dtype=np.float64)
    kz = int(np.argmax(np.abs(d)))
    kx, ky = (kz + 1) % 3, (kz + 2) % 3
    if d[kz] < 0:
        kx, ky = ky, kx
    sx, sy, sz = d[kx] / d[kz], d[ky] / d[kz], 1.0 / d[kz]
    rel = triangles - origin  # (m, 3 corners, 3)
    x = rel[:, :, kx] - sx * rel[:, :, kz]
    y = rel[:, :, ky] - sy * rel[:, :, kz]
    ax, bx, cx = x[:, 0], x[:, 1], x[:, 2]
    ay, by, cy = y[:, 0], y[:, 1], y[:, 2]
    u = cx * by - cy * bx
    v = ax * cy - ay * cx
    w = bx * ay - by * ax
    hit = ((u >= 0) & (v >= 0) & (w >= 0)) | ((u <= 0) & (v <= 0) & (w <= 0))
    det = u + v + w
    hit &= det != 0
    z = sz * rel[:, :, kz]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (u * z[:, 0] + v * z[:, 1] + w * z[:, 2]) / det
    return np.where(hit, t, 0.0), hit


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product; several times faster than ``np.cross`` on small arrays."""
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape)
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out
