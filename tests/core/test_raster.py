"""Crossings of a ray grid by projection (core/geometry/raster.py): the same crossings as
the exact caster, every closed mesh balanced even where pixel centres fall exactly on
edges and vertices, and a clear refusal when a triangle is behind the pinhole."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from needlesim.core.geometry.raster import RayGrid, grid_crossings
from needlesim.core.geometry.raycast import ExactCaster
from needlesim.core.geometry.soup import TriangleSoup
from tests.conftest import box

X, Y, Z = np.eye(3)


def parallel(pixels=32, width=100.0, start=-200.0):
    """Rays along +y from the plane y = ``start``: u = +x, v = +z."""
    return RayGrid(np.array([0.0, start, 0.0]), X, Z, Y, width, pixels)


def pinhole(pixels=32, width=200.0, source=-500.0, focal=1000.0):
    return RayGrid(np.array([0.0, source, 0.0]), X, Z, Y, width, pixels, focal)


def soup_of(*meshes):
    return TriangleSoup.from_meshes([(m.vertices, m.faces) for m in meshes])


def per_ray(c, n_rays):
    """(n_rays,) signed path length inside (sum of exit t minus entry t) and crossing counts."""
    signed = np.where(c.entering, -c.t, c.t)
    return (np.bincount(c.ray, weights=signed, minlength=n_rays),
            np.bincount(c.ray[c.entering], minlength=n_rays), np.bincount(c.ray[~c.entering], minlength=n_rays))


@pytest.mark.parametrize("grid", [parallel(), pinhole()], ids=["parallel", "pinhole"])
def test_the_same_crossings_as_the_exact_caster(grid):
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=30.0)
    mesh.apply_translation([3.3, 10.0, -2.1])
    soup = soup_of(mesh)
    origins, dirs = grid.rays()
    got = grid_crossings(soup, grid, 2000.0)
    ref = ExactCaster(soup).all_hits(origins, dirs, 2000.0)
    assert len(got) == len(ref) > 100
    key = lambda ray, face: ray * len(soup) + face  # noqa: E731
    a, b = np.argsort(key(got.ray, got.face)), np.argsort(key(ref.ray, ref.face))
    assert np.array_equal(key(got.ray, got.face)[a], key(ref.ray, ref.face)[b])
    assert got.t[a] == pytest.approx(ref.t[b], abs=1e-9)
    assert np.array_equal(got.entering[a], ref.entering[b])


def test_a_sphere_gives_its_chords_in_parallel_rays():
    # the polyhedron lies between its inscribed sphere (the nearest face plane) and the
    # sphere through its vertices, so every chord lies between theirs
    r = 40.0
    soup = soup_of(trimesh.creation.icosphere(subdivisions=5, radius=r))
    r_in = float(np.min(np.abs(np.einsum("ij,ij->i", soup.normals, soup.triangles[:, 0]))))
    assert 0.999 * r < r_in < r
    grid = parallel(pixels=64, width=100.0)
    length, _, _ = per_ray(grid_crossings(soup, grid, 1000.0), 64 * 64)
    c = grid.centres_mm()
    x, z = np.meshgrid(c, -c)
    d2 = (x * x + z * z).ravel()
    chord = lambda radius: 2 * np.sqrt(np.maximum(radius * radius - d2, 0.0))  # noqa: E731
    assert np.all(length >= chord(r_in) - 1e-9) and np.all(length <= chord(r) + 1e-9)
    assert (chord(r) > 0).sum() > 1500  # most of the detector looks through the sphere


def test_pixel_centres_on_edges_and_vertices_are_counted_once():
    # a box whose corners and face diagonals fall exactly on pixel centres: 16 px over 64 mm
    # puts centres at -30, -26, ..., 30 (exact in binary); the box spans -18..18
    grid = parallel(pixels=16, width=64.0)
    c = grid.centres_mm()
    assert 18.0 in c and -18.0 in c
    soup = soup_of(box([-18, -18, -18], [18, 18, 18]))
    cr = grid_crossings(soup, grid, 1000.0)
    length, entries, exits = per_ray(cr, 16 * 16)
    assert np.array_equal(entries, exits)  # every ray balanced, on the diagonals and corners too
    x, z = np.meshgrid(c, -c)
    strictly = ((np.abs(x) < 18) & (np.abs(z) < 18)).ravel()
    on_diagonal = ((np.abs(x) == np.abs(z)) & (np.abs(x) < 18)).ravel()
    assert on_diagonal.sum() >= 8  # the test means something: centres on the face diagonals
    assert np.all(entries[strictly] == 1)  # exactly once through the front and once the back
    assert length[strictly] == pytest.approx(36.0, abs=1e-12)
    closed = ((np.abs(x) <= 18) & (np.abs(z) <= 18)).ravel()
    rim = closed & ~strictly
    assert set(np.unique(length[rim])) <= {0.0, 36.0}  # a grazing ray: through or past, never half
    assert np.all(length[~closed] == 0)


def test_a_fan_of_triangles_around_a_pixel_centre_covers_it_once():
    # a closed double pyramid whose apexes project onto one pixel centre
    grid = parallel(pixels=16, width=32.0)  # centres at -15, -13, ..., 15
    ring = [(10 * np.cos(a), 0.0, 10 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 7)[:-1]]
    verts = np.array([[1.0, -10.0, 1.0], [1.0, 10.0, 1.0]] + ring)
    faces = [[0, 2 + (i + 1) % 6, 2 + i] for i in range(6)] + [[1, 2 + i, 2 + (i + 1) % 6] for i in range(6)]
    mesh = trimesh.Trimesh(verts, faces, process=False)
    mesh.fix_normals()
    assert mesh.is_watertight and mesh.volume > 0
    _, entries, exits = per_ray(grid_crossings(soup_of(mesh), grid, 1000.0), 16 * 16)
    c = grid.centres_mm()
    k = int(np.flatnonzero(c == 1.0)[0])
    row = int(np.flatnonzero(-c == 1.0)[0])
    assert entries[row * 16 + k] == 1 and exits[row * 16 + k] == 1
    assert np.array_equal(entries, exits)


def test_an_edge_on_triangle_is_not_a_crossing():
    tri = TriangleSoup.from_meshes([(np.array([[-10.0, 0, -10], [10, 0, 10], [10, 30, 10]]), np.array([[0, 1, 2]]))])
    assert len(grid_crossings(tri, parallel(), 1000.0)) == 0


def test_a_triangle_behind_the_pinhole_is_refused():
    soup = soup_of(box([-20, -600, -20], [20, -400, 20]))  # around the source at y = -500
    with pytest.raises(ValueError, match="behind"):
        grid_crossings(soup, pinhole(), 2000.0)


def test_t_max_and_an_empty_soup():
    soup = soup_of(box([-20, -20, -20], [20, 20, 20]))
    grid = parallel()
    near = grid_crossings(soup, grid, 200.0)  # the front face at t = 180, the back at 220
    assert len(near) and np.all(near.entering) and near.t == pytest.approx(180.0)
    assert len(grid_crossings(TriangleSoup.from_meshes([]), grid, 1000.0)) == 0
