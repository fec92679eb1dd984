"""FreeSpace on synthetic geometry: the clearance field, and least-cost paths through a tunnel."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy import ndimage

from needlesim.anatomy.freespace import FreeSpace, distance_to_occupied
from needlesim.anatomy.params import AnatomyError


@pytest.mark.parametrize("voxel_mm", [0.5, 1.0, 0.37])
def test_distance_to_occupied_is_scipys_edt_bit_for_bit(voxel_mm):
    rng = np.random.default_rng(3)
    occ = ndimage.binary_dilation(rng.random((40, 37, 31)) < 0.002, iterations=2)
    assert np.array_equal(distance_to_occupied(occ, voxel_mm), ndimage.distance_transform_edt(~occ, sampling=voxel_mm))


@pytest.fixture(scope="module")
def tunnel() -> FreeSpace:
    """Bone round a straight square tunnel 8 mm across along x through (y, z) = (0, 0): two
    slabs above and below, two walls beside."""
    parts = [trimesh.creation.box(extents=(60.0, 60.0, 26.0)).apply_translation((0, 0, s * 17.0)) for s in (-1, 1)]
    parts += [trimesh.creation.box(extents=(60.0, 26.0, 8.0)).apply_translation((0, s * 17.0, 0)) for s in (-1, 1)]
    return FreeSpace(parts, np.array([[-35.0, -35.0, -35.0], [35.0, 35.0, 35.0]]), 0.5)


def test_a_path_runs_down_the_middle_of_the_tunnel(tunnel):
    a, b = np.array([-40.0, 0.0, 0.0]), np.array([40.0, 0.0, 0.0])
    path, need = tunnel.route(np.array([a, b]), min_clearance_mm=[2.0], corridor_mm=[10.0])
    inner = path[np.abs(path[:, 0]) < 25.0]
    assert len(inner) > 80  # 0.5 mm steps through 50 mm
    assert np.abs(inner[:, 1:]).max() <= 0.5 + 1e-9  # at most one voxel off the axis
    assert np.all(tunnel.clearance_at(inner) >= 2.0) and np.all(need == 2.0)


def test_a_fallback_gives_the_path_of_the_lower_clearance(tunnel):
    """4 mm of clearance is impossible in a tunnel 8 mm across; the fallback to half of it must
    find exactly the path a direct search at 2 mm finds (the corridor is reused)."""
    a, b = np.array([-40.0, 0.0, 0.0]), np.array([40.0, 0.0, 0.0])
    with pytest.raises(AnatomyError, match="no path with 4.0 mm"):
        tunnel.leg(a, b, 4.0, 10.0, None, "test")
    path, need = tunnel.route(np.array([a, b]), min_clearance_mm=[4.0], corridor_mm=[10.0], fallback=(1.0, 0.5))
    assert np.array_equal(path, tunnel.leg(a, b, 2.0, 10.0, None, "test")) and np.all(need == 2.0)
    avoid = (np.array([[0.0, 0.0, 0.0]]), np.array([0.1]))  # a thin tube across the tunnel at its middle
    path, _ = tunnel.route(np.array([a, b]), min_clearance_mm=[4.0], corridor_mm=[10.0], fallback=(1.0, 0.5),
                           avoid=avoid)
    assert np.array_equal(path, tunnel.leg(a, b, 2.0, 10.0, avoid, "test"))
    mid = path[np.argmin(np.abs(path[:, 0]))]
    assert np.linalg.norm(mid[1:]) > 1.0  # it went round the tube
