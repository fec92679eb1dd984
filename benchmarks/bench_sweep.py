"""Sweep benchmark: the angle map for one entry at 0.5 deg over lateral -30..60 and
inferior -30..60 (32,761 directions; first contact with every critical structure at the
needle's radius and at the margin; every depth to 100 mm), on one core and on a warm pool
of worker processes; the same forward rays through pyvista's ``multi_ray_trace`` and a
per-ray ``vtkOBBTree`` loop, as ratios; optionally the Monte Carlo target (1000 samples
per aim on a 1 deg grid).

    python benchmarks/bench_sweep.py [--workers 2] [--obb-rays 2000] [--mc-samples 1000]

The scene is :func:`bench_engine.benchmark_scene` (the built-in one, subdivided to 300k
triangles, with stand-in roots while it has few critical structures).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import benchmark_scene, entry_points  # noqa: E402

from needlesim.core.needle.engine import Engine  # noqa: E402
from needlesim.core.verdict.envelope import load_envelope  # noqa: E402
from needlesim.core.batch.sweep import sweep_entry  # noqa: E402
from needlesim.core.tolerances import CAST_LEAD_IN_MM  # noqa: E402
from needlesim.sweeps.grid import SweepJob  # noqa: E402
from needlesim.sweeps.montecarlo import HandError, MonteCarloJob  # noqa: E402
from needlesim.sweeps.runner import SceneSource, _pool_chunk, _pool_init  # noqa: E402

ENTRY = "left-entry-bench"


def make_job(scene, step: float, chunk: int) -> SweepJob:
    grid = tuple(np.round(np.arange(-30, 60 + 1e-9, step), 9).tolist())
    return SweepJob(scene.geometry_key, (ENTRY,), (tuple(scene.landmark(ENTRY)),), grid, grid,
                    tuple(np.arange(0, 101.0).tolist()), "nam2019", 5.0, 3.26, "embree", 150.0, chunk, "bench")


def timed_pool(scene, job, workers: int) -> tuple[float, float]:
    """(seconds for the whole job on a warm pool, seconds to start the pool)."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, initializer=_pool_init, initargs=(SceneSource(scene=scene), job)) as pool:
        list(pool.map(_pool_chunk, [job] * workers, [(0, 0, 1)] * workers))  # every worker built its engine
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        list(pool.map(_pool_chunk, [job] * len(job.chunks()), job.chunks()))
        return time.perf_counter() - t1, start


def compare_vtk(scene, engine, r, obb_rays: int, ours_rate: float) -> None:
    import pyvista as pv
    import trimesh
    import vtk

    ok = r.feasible
    origins, dirs = r.puncture[ok] - CAST_LEAD_IN_MM * r.directions[ok], r.directions[ok]
    merged = trimesh.util.concatenate([s.mesh for s in scene])
    poly = pv.PolyData(merged.vertices, np.hstack([np.full((len(merged.faces), 1), 3), merged.faces]).ravel())
    t0 = time.perf_counter()
    poly.multi_ray_trace(origins, dirs * 151.0, first_point=False)
    pv_rate = len(origins) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    engine.caster.all_hits(origins, dirs, 151.0)
    fwd_rate = len(origins) / (time.perf_counter() - t0)
    obb = vtk.vtkOBBTree()
    obb.SetDataSet(poly)
    obb.BuildLocator()
    m = min(obb_rays, len(origins))
    pts, ids = vtk.vtkPoints(), vtk.vtkIdList()
    t0 = time.perf_counter()
    for o, d in zip(origins[:m], dirs[:m]):
        obb.IntersectWithLine(o, o + 151.0 * d, pts, ids)
    obb_rate = m / (time.perf_counter() - t0)
    print(f"same forward rays, all hits: needlesim {fwd_rate:,.0f} rays/s, pyvista multi_ray_trace {pv_rate:,.0f} "
          f"rays/s, vtkOBBTree loop {obb_rate:,.0f} rays/s")
    print(f"whole sweep (4 casts + contacts + verdicts per direction, 1 core): {ours_rate:,.0f} directions/s -> "
          f"{ours_rate / pv_rate:.1f}x pyvista's all-hits alone, {ours_rate / obb_rate:,.0f}x the OBB-tree loop")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--step", type=float, default=0.5, help="grid step, deg")
    ap.add_argument("--obb-rays", type=int, default=2000)
    ap.add_argument("--mc-samples", type=int, default=0, help="also time Monte Carlo on a 1 deg grid (e.g. 1000)")
    args = ap.parse_args(argv)
    scene = benchmark_scene()
    scene = scene.with_landmarks({**scene.landmarks, ENTRY: entry_points(scene)["left"]})
    print(f"scene: {sum(len(s.faces) for s in scene):,} triangles, {len(scene.critical)} critical structures")
    engine = Engine(scene, needle_diameter_mm=3.26, margin_mm=5.0)
    job = make_job(scene, args.step, 2048)
    lat, inf = job.angles(0, job.n_directions)
    env = load_envelope("nam2019")
    sweep_entry(engine, ENTRY, lat[:100], inf[:100], depths_mm=job.depths_mm, envelope=env)  # warm
    t0 = time.perf_counter()
    r = sweep_entry(engine, ENTRY, lat, inf, depths_mm=job.depths_mm, envelope=env)
    one = time.perf_counter() - t0
    print(f"angle map, {len(r):,} directions ({r.feasible.sum():,} feasible) x {len(r.depths_mm)} depths, "
          f"{len(r.critical_names)} critical structures at radius and margin:")
    print(f"  1 core, one batch: {one:.3f} s ({len(r) / one:,.0f} directions/s)")
    pool_s, start_s = timed_pool(scene, make_job(scene, args.step, -(-job.n_directions // args.workers)), args.workers)
    print(f"  {args.workers} worker processes (warm; pool start and engine builds {start_s:.1f} s): {pool_s:.3f} s "
          f"({len(r) / pool_s:,.0f} directions/s); target < 0.5 s -> {'met' if pool_s < 0.5 else 'NOT met'}")
    compare_vtk(scene, engine, r, args.obb_rays, len(r) / one)
    if args.mc_samples:
        mc = MonteCarloJob(make_job(scene, 1.0, 2048), args.mc_samples, HandError(), 1)
        t1 = time.perf_counter()
        with ProcessPoolExecutor(args.workers, initializer=_pool_init, initargs=(SceneSource(scene=scene), mc)) as pool:
            t0 = time.perf_counter()
            list(pool.map(_pool_chunk, [mc] * len(mc.chunks()), mc.chunks()))
            mc_s = time.perf_counter() - t0
        n = mc.sweep.n_directions * mc.samples
        print(f"Monte Carlo: {n:,} trajectories ({mc.samples} per aim, 1 deg grid) on {args.workers} workers: "
              f"{mc_s:.1f} s ({n / mc_s:,.0f}/s; pool start {t0 - t1:.1f} s); target < 30 s -> "
              f"{'met' if mc_s < 30 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
