"""Exact distance queries against brute force and against trimesh, on random input."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from needlesim.core.geometry.clearance import ClearanceIndex
from needlesim.core.geometry.proximity import (closest_point_on_triangles, first_contact_depth, first_contact_per_group,
                                              segment_triangles_distance)
from needlesim.core.geometry.soup import TriangleSoup


def random_meshes(rng):
    meshes = [trimesh.creation.icosphere(subdivisions=3, radius=8.0), trimesh.creation.cylinder(4.0, 40.0, sections=24),
              trimesh.creation.box(extents=[30, 5, 12]), trimesh.creation.torus(12.0, 3.0)]
    out = []
    for m in meshes:
        m = m.copy()
        m.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
        m.apply_translation(rng.uniform(-40, 40, 3))
        out.append(m)
    return out


def test_closest_point_on_triangles_matches_trimesh():
    rng = np.random.default_rng(3)
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=10)
    for p in rng.uniform(-20, 20, (30, 3)):
        got = closest_point_on_triangles(p, mesh.triangles)
        d = np.linalg.norm(got - p, axis=1)
        _, dist, _ = trimesh.proximity.closest_point(mesh, p[None])
        assert d.min() == pytest.approx(dist[0], abs=1e-9)


def test_segment_distance_is_never_beaten_by_samples():
    """The exact distance is <= the distance of any sampled pair, and attained."""
    rng = np.random.default_rng(4)
    tri = rng.uniform(-10, 10, (200, 3, 3))
    for _ in range(10):
        p, q = rng.uniform(-20, 20, (2, 3))
        d, a, b = segment_triangles_distance(p, q, tri)
        assert np.allclose(np.linalg.norm(a - b, axis=1), d)
        s = np.linspace(0, 1, 101)[:, None]
        samples = p + s * (q - p)
        for k in range(0, 200, 20):
            cp = np.array([closest_point_on_triangles(x, tri[k:k + 1])[0] for x in samples])
            assert d[k] <= np.linalg.norm(cp - samples, axis=1).min() + 1e-9


def test_clearance_index_equals_brute_force():
    rng = np.random.default_rng(5)
    meshes = random_meshes(rng)
    index = ClearanceIndex([(m.vertices, m.faces) for m in meshes])
    for _ in range(40):
        p, q = rng.uniform(-60, 60, (2, 3))
        dist, on_seg, on_mesh, exact = index.query(p, q)
        assert exact.all()
        for g, m in enumerate(meshes):
            brute = segment_triangles_distance(p, q, m.triangles)[0].min()
            assert dist[g] == pytest.approx(brute, abs=1e-9)
            assert np.linalg.norm(on_seg[g] - on_mesh[g]) == pytest.approx(dist[g], abs=1e-9)


def test_first_contact_depth_is_where_distance_reaches_the_radius():
    rng = np.random.default_rng(6)
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=10)
    for _ in range(20):
        o = rng.uniform(-30, 30, 3)
        o = o / np.linalg.norm(o) * 30
        d = -o / np.linalg.norm(o) + rng.normal(0, 0.2, 3)
        d /= np.linalg.norm(d)
        t = first_contact_depth(o, d, 1.5, mesh.triangles).min()
        if not np.isfinite(t):
            continue
        _, at, _ = trimesh.proximity.closest_point(mesh, (o + t * d)[None])
        _, before, _ = trimesh.proximity.closest_point(mesh, (o + (t - 1e-3) * d)[None])
        assert at[0] == pytest.approx(1.5, abs=1e-9)
        assert before[0] > 1.5


def test_beyond_the_horizon_the_clearance_is_an_upper_bound_and_flagged():
    rng = np.random.default_rng(7)
    meshes = random_meshes(rng)
    index = ClearanceIndex([(m.vertices, m.faces) for m in meshes])
    p, q = np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 5.0])
    exact_d, *_ = index.query(p, q)
    d, on_seg, on_mesh, exact = index.query(p, q, horizon_mm=20.0)
    for g in range(len(meshes)):
        if exact[g]:
            assert d[g] == pytest.approx(exact_d[g], abs=1e-9)
        else:
            assert exact_d[g] > 20.0 - 1e-9 and exact_d[g] <= d[g] <= exact_d[g] + 15.0
            assert np.linalg.norm(on_seg[g] - on_mesh[g]) == pytest.approx(d[g])


def test_first_contact_per_group_is_the_minimum_over_every_triangle():
    """The pruned per-mesh first contact equals the exact solve of every triangle, for rays
    that start inside a mesh's reach, graze, pass by, point away or hit head on."""
    rng = np.random.default_rng(7)
    meshes = random_meshes(rng)
    soup = TriangleSoup.from_meshes([(m.vertices, m.faces) for m in meshes])
    seen = set()
    for k in range(200):
        target = meshes[k % len(meshes)].vertices[rng.integers(len(meshes[k % len(meshes)].vertices))]
        o = rng.uniform(-70, 70, 3) if k % 5 else target + rng.normal(0, 1.0, 3)
        d = target - o + rng.normal(0, 6.0, 3)
        d = d / np.linalg.norm(d) * (1 if k % 7 else -1)
        radius = float(rng.choice([0.0, 1.25, 3.25, 9.0]))
        brute = np.full(soup.n_geoms, np.inf)
        np.minimum.at(brute, soup.geom, first_contact_depth(o, d, radius, soup.triangles))
        got = first_contact_per_group(o, d, radius, soup.triangles, soup.centers, soup.radii, soup.geom, soup.n_geoms)
        assert np.array_equal(got, brute)  # the same numbers, bit for bit
        seen |= {"touch" if np.isfinite(brute).any() else "miss", "at 0" if (brute == 0).any() else "later"}
    assert seen == {"touch", "miss", "at 0", "later"}


def test_first_contact_per_group_solves_few_triangles(monkeypatch):
    import needlesim.core.geometry.proximity as proximity

    mesh = trimesh.creation.icosphere(subdivisions=4, radius=10.0)  # 5120 triangles
    soup = TriangleSoup.from_meshes([(mesh.vertices, mesh.faces)])
    solved = []
    real = proximity.first_contact_depth
    monkeypatch.setattr(proximity, "first_contact_depth", lambda o, d, r, t: solved.append(len(t)) or real(o, d, r, t))
    o, d = np.array([0.0, -40.0, 0.0]), np.array([0.0, 1.0, 0.0])
    got = first_contact_per_group(o, d, 1.5, soup.triangles, soup.centers, soup.radii, soup.geom, 1)
    assert got[0] == pytest.approx(40.0 - 10.0 - 1.5, abs=0.05)  # the sphere's facets sit inside its radius
    assert sum(solved) < 100
