"""Every crossing of a regular grid of rays with a triangle soup, found by projection.

A detector's rays all leave one point (a pinhole: the X-ray source) or run parallel, so a
ray meets a triangle exactly when its pixel centre lies inside the triangle's projection
onto the detector. Projecting the triangles once and testing each against the pixel
centres under its 2D bounding box gives every crossing of every ray, in float64, with no
ray cast and no relaunch: nothing can be stepped over, so a closed mesh always balances
(as many entries as exits on every ray). This is what a digitally reconstructed radiograph
needs; a ray's path length inside a closed mesh is the sum of ``-t`` over its entries and
``+t`` over its exits, so the crossings need no sorting.

Watertight by construction (the rule of Woop, Benthin & Wald, JCGT 2013, in 2D, plus the
top-left tie rule of rasterisers): each edge function is computed from per-vertex values
relative to the pixel centre, so two triangles sharing an edge compute the same number,
negated; a pixel centre exactly on an edge or a vertex is settled as if it were moved by
an infinitesimal ``(-1, -delta)`` (top-left rule), so it falls in exactly one of the
triangles around it, never both or neither.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .soup import TriangleSoup

#: Threads testing triangles (numpy releases the GIL in its array loops): the 2 cores.
THREADS = 2
_POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="raster")

#: Candidate (triangle, pixel) pairs tested at once; bounds the memory of one chunk
#: (about 30 float64 arrays of this length, ~250 MB at 2**20).
CHUNK_PAIRS = 2**20


@dataclass(frozen=True)
class RayGrid:
    """``pixels x pixels`` rays through a square detector.

    Pixel ``(row, col)`` is at ``x = c[col] * u + y * v`` with ``c[k] = (k + 0.5) / pixels *
    width_mm - width_mm / 2`` and ``y = -c[row]`` (rows from the top, ``+v`` first).

    Parameters
    ----------
    origin : (3,) mm. With ``focal_mm``: the pinhole every ray leaves from. Without: the
        centre of the plane, normal to ``beam``, the parallel rays start from.
    u, v, beam : (3,) orthonormal: the detector's rightward and upward axes and the ray
        direction (the detector's normal).
    width_mm : the detector's side, mm.
    pixels : pixels a side.
    focal_mm : pinhole to detector distance, mm; ``None`` for parallel rays.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    beam: np.ndarray
    width_mm: float
    pixels: int
    focal_mm: float | None = None

    def centres_mm(self) -> np.ndarray:
        """(pixels,) pixel centre coordinates along an axis, mm."""
        n = self.pixels
        return (np.arange(n) + 0.5) / n * self.width_mm - self.width_mm / 2

    def rays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(origins, directions)``, each (pixels**2, 3), row-major from the top row;
        directions are unit."""
        c = self.centres_mm()
        x, y = np.meshgrid(c, -c)
        offsets = x.reshape(-1, 1) * self.u + y.reshape(-1, 1) * self.v
        if self.focal_mm is None:
            origins = self.origin + offsets
            return origins, np.broadcast_to(self.beam, origins.shape).copy()
        d = self.beam * self.focal_mm + offsets
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return np.broadcast_to(self.origin, d.shape).copy(), d

    def to_pixels(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(col, row, depth)`` of ``points`` (k, 3): fractional pixel coordinates (a pixel
        centre is at whole numbers) and the depth along ``beam`` from ``origin``, mm.
        Computed component by component (no dot-product kernel, whose summation order
        may vary), so a vertex shared by two triangles projects to the same bits."""
        rel = [points[:, i] - self.origin[i] for i in range(3)]
        dot = lambda a: rel[0] * a[0] + rel[1] * a[1] + rel[2] * a[2]  # noqa: E731
        x, y, depth = dot(self.u), dot(self.v), dot(self.beam)
        if self.focal_mm is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                x, y = x * self.focal_mm / depth, y * self.focal_mm / depth
        n, w = self.pixels, self.width_mm
        return (x + w / 2) / w * n - 0.5, (w / 2 - y) / w * n - 0.5, depth


@dataclass(frozen=True)
class Crossings:
    """Every crossing of a grid's rays with a soup, in no particular order.

    Attributes
    ----------
    ray : (k,) int      which ray (``row * pixels + col``)
    t : (k,) float, mm  distance from the ray's origin
    face : (k,) int     which triangle of the soup
    entering : (k,) bool  the ray crosses from outside to inside (against the normal)
    """

    ray: np.ndarray
    t: np.ndarray
    face: np.ndarray
    entering: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def grid_crossings(soup: TriangleSoup, grid: RayGrid, t_max: float) -> Crossings:
    """Every crossing within ``0 <= t <= t_max`` of the rays of ``grid`` (numbered as
    :meth:`RayGrid.rays` orders them) with the triangles of ``soup``.

    Raises
    ------
    ValueError
        If a triangle has a corner at or behind the pinhole (or the parallel rays' start
        plane): its projection is not the set of rays that meet it.
    """
    if len(soup) == 0:
        return _empty()
    col, row, depth = grid.to_pixels(soup.triangles.reshape(-1, 3))
    if not np.all(depth > 0):
        raise ValueError("a triangle lies at or behind the rays' origin: it cannot be projected")
    X, Y = col.reshape(-1, 3), row.reshape(-1, 3)
    n = grid.pixels
    c0, c1 = np.maximum(np.ceil(X.min(1)), 0), np.minimum(np.floor(X.max(1)), n - 1)
    r0, r1 = np.maximum(np.ceil(Y.min(1)), 0), np.minimum(np.floor(Y.max(1)), n - 1)
    area2 = (X[:, 1] - X[:, 0]) * (Y[:, 2] - Y[:, 0]) - (Y[:, 1] - Y[:, 0]) * (X[:, 2] - X[:, 0])
    tri = np.flatnonzero((c1 >= c0) & (r1 >= r0) & (area2 != 0))
    if not len(tri):
        return _empty()
    # every triangle positively oriented: swap b and c of the others (an exact relabelling)
    X, Y = X[tri], Y[tri]
    neg = area2[tri] < 0
    X[neg] = X[neg][:, [0, 2, 1]]
    Y[neg] = Y[neg][:, [0, 2, 1]]
    dx, dy = np.roll(X, -1, axis=1) - X, np.roll(Y, -1, axis=1) - Y  # edges a->b, b->c, c->a
    top_left = (dy > 0) | ((dy == 0) & (dx < 0))
    tris = _Tris(tuple(np.ascontiguousarray(X.T)), tuple(np.ascontiguousarray(Y.T)), top_left,
                 c0[tri], r0[tri], (r1 - r0 + 1)[tri].astype(np.int64), _planes(soup, grid, tri), tri)
    width = (c1 - c0 + 1)[tri].astype(np.int64)
    jobs = []
    for w in np.unique(width):  # one job per box width (chunked), so a row of a box is one array row
        group = np.flatnonzero(width == w)
        chunks = max(1, int(tris.rows[group].sum() * w) // CHUNK_PAIRS)
        jobs += [(part, int(w)) for part in np.array_split(group, chunks)]
    found = list(_POOL.map(lambda job: _inside(tris, grid, *job), jobs))
    ray, t, face, entering = (np.concatenate(a) for a in zip(*found))
    ok = (t >= 0) & (t <= t_max)
    if not ok.all():
        ray, t, face, entering = ray[ok], t[ok], face[ok], entering[ok]
    return Crossings(ray, t, face, entering)


@dataclass(frozen=True)
class _Tris:
    """The projected, positively oriented triangles under test, their pixel boxes and planes."""

    X: tuple  #: 3 (m,) corner columns, pixels
    Y: tuple  #: 3 (m,) corner rows
    top_left: np.ndarray  #: (m, 3) bool, per edge a->b, b->c, c->a
    c0: np.ndarray  #: (m,) first column of the box
    r0: np.ndarray  #: (m,) first row
    rows: np.ndarray  #: (m,) rows in the box
    plane: tuple  #: 4 (m,): n . (p0 - origin), n . beam, n . u, n . v
    face: np.ndarray  #: (m,) the triangle in the soup


def _planes(soup: TriangleSoup, grid: RayGrid, tri: np.ndarray) -> tuple:
    nrm = soup.normals[tri]
    return (np.einsum("ij,ij->i", nrm, soup.triangles[tri, 0] - grid.origin), nrm @ grid.beam,
            nrm @ grid.u, nrm @ grid.v)


def _inside(tris: _Tris, grid: RayGrid, part: np.ndarray, w: int) -> tuple:
    """(ray, t, face, entering) of the pixel centres inside the triangles ``part``, whose
    boxes are ``w`` columns wide: one (triangle, row) pair per box row, times ``w`` columns."""
    h = tris.rows[part]
    which = np.repeat(part, h)
    row = tris.r0[which] + (np.arange(len(which)) - np.repeat(np.cumsum(h) - h, h))
    col = tris.c0.take(which)[:, None] + np.arange(w)  # (pairs, w)
    # edge function of a->b at (col, row): (xa - col)(yb - row) - (ya - row)(xb - col), as
    # xa yb' - ya' xb + col (ya' - yb') with y' = y - row: linear along the row, and still
    # exactly negated for the edge b->a of the neighbouring triangle (every term is)
    x = [X.take(which) for X in tris.X]
    y = [Y.take(which) - row for Y in tris.Y]
    e = [(x[i] * y[j] - y[i] * x[j])[:, None] + col * (y[i] - y[j])[:, None]
         for i, j in ((0, 1), (1, 2), (2, 0))]
    low = np.minimum(np.minimum(e[0], e[1]), e[2])
    inside = low > 0
    tie = np.flatnonzero(low == 0)  # on an edge or a vertex: the top-left rule settles it
    if len(tie):
        ok = np.ones(len(tie), bool)
        for i in range(3):
            ei = e[i].ravel()[tie]
            ok &= (ei > 0) | ((ei == 0) & tris.top_left[which[tie // w], i])
        inside.ravel()[tie] = ok
    p, k = np.nonzero(inside)
    hit = which[p]
    r, c = row[p].astype(np.int64), (tris.c0.take(hit) + k).astype(np.int64)
    t, denom = _depth(grid, [a.take(hit) for a in tris.plane], r, c)
    return r * grid.pixels + c, t, tris.face.take(hit), denom < 0


def _depth(grid: RayGrid, plane: list, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of each ray on its triangle's plane, and ``n . direction``."""
    k, nb, nu, nv = plane
    cm = grid.centres_mm()
    x, y = cm.take(col), -cm.take(row)
    if grid.focal_mm is None:  # origin_pixel = origin + x u + y v, direction = beam
        return (k - x * nu - y * nv) / nb, nb
    f = grid.focal_mm  # direction = (f beam + x u + y v) / length
    denom = (f * nb + x * nu + y * nv) / np.sqrt(f * f + x * x + y * y)
    return k / denom, denom


def _empty() -> Crossings:
    return Crossings(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool))
