"""Breach probability: converges to 0 and 1 where it must, Wilson intervals, bit-exact
seeds, and a Dask LocalCluster on loopback gives the local table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needlesim.sweeps import sweep
from needlesim.sweeps.montecarlo import HandError, breach_probability, counts_by_depth, wilson

MC = dict(lateral_deg="20:40:10", inferior_deg="0:20:10", depths_mm="10:150:35")


def test_wilson_matches_the_textbook():
    lo, hi = wilson(np.array([0, 5, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(lo, [0.0, 0.236593, 0.722467], atol=1e-6)
    np.testing.assert_allclose(hi, [0.277533, 0.763407, 1.0], atol=1e-6)


def test_counts_by_depth():
    t = np.array([[1.0, 2.0, np.nan, np.inf], [5.0, 5.0, 5.0, 0.0]])
    np.testing.assert_array_equal(counts_by_depth(t, np.array([0.0, 2.0, 5.0]), strict=False), [[0, 2, 2], [1, 1, 4]])
    np.testing.assert_array_equal(counts_by_depth(t, np.array([0.0, 2.0, 5.0]), strict=True), [[0, 1, 2], [0, 1, 1]])


def test_probabilities_converge_to_zero_and_one(analytic_scene):
    df = breach_probability(analytic_scene, samples=400, workers=1, **MC)
    shallow = df[df.depth_mm == 10]  # in the soft tissue: nothing to touch, no bone to leave
    assert (shallow.p_any == 0).all() and (shallow.p_any_hi < 0.01).all()
    deep = df[df.depth_mm == 150]  # far past the inner table of the slab (70 / d_y <= 100 mm)
    assert (deep.p_breach == 1).all() and (deep.p_any == 1).all() and (deep.p_any_lo > 0.99).all()
    # straight onto the root's vertex from (-40, 20, 0): contact at 77.5 + 30 - r = 105.87 mm
    scene = analytic_scene.with_landmarks({**analytic_scene.landmarks, "left-root-line": [-40.0, 20.0, 0.0]})
    root = breach_probability(scene, samples=400, workers=1, hand_error=HandError(0.3, 0.3, 0.3),
                              lateral_deg="0", inferior_deg="0", depths_mm=[60.0, 150.0], entries=("left-root-line",))
    assert list(root["p_contact[left S2 root]"]) == [0.0, 1.0]
    assert list(root["p_contact[left gluteal artery]"]) == [0.0, 0.0]


def test_no_error_equals_the_sweep(analytic_scene):
    """With zero hand error every sample is the nominal aim: P(any) is the danger verdict."""
    grid = dict(lateral_deg="-30:60:15", inferior_deg="-30:45:15", depths_mm="0:150:10")
    mc = breach_probability(analytic_scene, samples=3, workers=1, hand_error=HandError(0.0, 0.0, 0.0), **grid)
    sw = sweep(analytic_scene, workers=1, **grid)
    for depth in (60.0, 100.0, 150.0):
        p = mc[mc.depth_mm == depth].p_any.to_numpy()
        danger = (sw[f"verdict_{depth:g}mm"].astype(str) == "danger").to_numpy(float)
        danger[~sw.feasible.to_numpy()] = np.nan
        np.testing.assert_array_equal(p, danger)


def test_seeded_runs_are_bit_identical(analytic_scene):
    a = breach_probability(analytic_scene, samples=300, seed=3, workers=1, **MC)
    b = breach_probability(analytic_scene, samples=300, seed=3, workers=2, **MC)
    c = breach_probability(analytic_scene, samples=300, seed=4, workers=1, **MC)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a.equals(c)


def test_dask_local_cluster_equals_local(scene_dir):
    distributed = pytest.importorskip("distributed")
    grid = dict(lateral_deg="-30:60:1", inferior_deg="-30:60:1", depths_mm="0:100:10")
    local = sweep(scene_dir, workers=1, **grid)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        remote = sweep(scene_dir, scheduler=cluster.scheduler_address, **grid)
        mc_remote = breach_probability(scene_dir, samples=50, scheduler=cluster.scheduler_address, **MC)
    pd.testing.assert_frame_equal(local, remote)
    pd.testing.assert_frame_equal(mc_remote, breach_probability(scene_dir, samples=50, workers=1, **MC),
                                  check_exact=True)


def test_unreachable_scheduler_is_one_clear_error(analytic_scene):
    pytest.importorskip("distributed")
    from needlesim.sweeps.cluster import ClusterError

    with pytest.raises(ClusterError, match="cannot reach"):
        import needlesim.sweeps.cluster as cl

        cl.CONNECT_TIMEOUT_S, old = 1, cl.CONNECT_TIMEOUT_S
        try:
            sweep(analytic_scene, scheduler="tcp://127.0.0.1:9", lateral_deg="0", inferior_deg="0", depths_mm="10")
        finally:
            cl.CONNECT_TIMEOUT_S = old
