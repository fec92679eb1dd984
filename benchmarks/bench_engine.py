"""Engine benchmark: full single evaluations per second (the interactive path) and
all-hits rays per second, against pyvista's ``multi_ray_trace`` and a per-ray VTK
``vtkOBBTree.IntersectWithLine`` loop (the approach of 3D Slicer's
PercutaneousApproachAnalysis) on the same rays, in the same run.

    python benchmarks/bench_engine.py [--evaluations 500] [--rays 20000] [--obb-rays 2000]

The scene is the built-in one, subdivided until it has at least 300k triangles; while
the built-in scene has fewer than 8 critical structures, 16 stand-in root tubes are
added beside the sacrum so that clearances have something to measure.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from needlesim.anatomy.tubes import tube  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402
from needlesim.core.needle.engine import Engine  # noqa: E402
from needlesim.core.model.scene import Role, Scene, Structure  # noqa: E402
from needlesim.core.model.trajectory import Trajectory  # noqa: E402


def benchmark_scene(min_triangles: int = 300_000) -> Scene:
    scene = load_builtin_scene()
    structures = list(scene.structures)
    while sum(len(s.faces) for s in structures) < min_triangles:
        structures = [s.with_mesh(*trimesh.remesh.subdivide(s.vertices, s.faces)) if not s.critical else s
                      for s in structures]
    if len(scene.critical) < 8:
        c = scene["sacrum"].vertices.mean(axis=0)
        for i in range(16):
            side = -1 if i % 2 == 0 else 1
            level = i // 4
            p0, p1 = c + [side * 10, 0, 20 - 12 * level], c + [side * 45, 25, -10 - 12 * level]
            name = f"{'left' if side < 0 else 'right'} stand-in root {i}"
            structures.append(Structure.from_trimesh(name, Role.NERVE_ROOT, tube(np.array([p0, p1]), 2.5)))
    return scene.with_structures(structures)


def entry_points(scene: Scene) -> dict[str, np.ndarray]:
    """The PSIS landmarks if the scene has them, else the most posterior ilium points."""
    out = {}
    for side in ("left", "right"):
        if f"{side}-psis" in scene.landmarks:
            out[side] = scene.landmark(f"{side}-psis")
        else:
            v = scene[f"{side} ilium"].vertices
            out[side] = v[np.argmin(v[:, 1])]
    return out


def time_evaluations(engine: Engine, entries: dict, n: int, rng) -> np.ndarray:
    trajs = [Trajectory(tuple(entries[side]), rng.uniform(-15, 45), rng.uniform(-5, 35), rng.uniform(20, 80), side=side)
             for side in rng.choice(["left", "right"], n)]
    for t in trajs[:10]:  # warm caches
        engine.evaluate(t)
    times = np.empty(n)
    for i, t in enumerate(trajs):
        t0 = time.perf_counter()
        engine.evaluate(t)
        times[i] = time.perf_counter() - t0
    return times


def make_rays(engine: Engine, entries: dict, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    origins, dirs = [], []
    for side in rng.choice(["left", "right"], n):
        t = Trajectory(tuple(entries[side]), rng.uniform(-15, 45), rng.uniform(-5, 35), 60, side=side)
        d = np.asarray(t.direction)
        p, _ = engine.skin_puncture(entries[side], d)
        origins.append(p - d)
        dirs.append(d)
    return np.array(origins), np.array(dirs)


def rate(fn, n: int) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return n / (time.perf_counter() - t0), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluations", type=int, default=500)
    ap.add_argument("--rays", type=int, default=20_000)
    ap.add_argument("--obb-rays", type=int, default=2_000)
    ap.add_argument("--length", type=float, default=150.0, help="ray length, mm")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    scene = benchmark_scene()
    n_tri = sum(len(s.faces) for s in scene)
    n_crit = sum(len(s.faces) for s in scene.critical)
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, trimesh {trimesh.__version__}")
    print(f"scene: {n_tri:,} triangles in {len(scene)} structures, {len(scene.critical)} critical ({n_crit:,} triangles)")
    entries = entry_points(scene)
    results = {}
    for backend in ("embree", "exact"):
        t0 = time.perf_counter()
        engine = Engine(scene, backend=backend, needle_diameter_mm=3.26)
        build = time.perf_counter() - t0
        n = args.evaluations if backend == "embree" else max(args.evaluations // 10, 20)
        times = time_evaluations(engine, entries, n, rng) * 1e3
        results[backend] = np.median(times)
        print(f"single evaluation [{backend}]: median {np.median(times):.2f} ms, p90 {np.percentile(times, 90):.2f} ms, "
              f"{1e3 / np.median(times):,.0f} evaluations/s (engine built in {build:.2f} s)")
    engine = Engine(scene, backend="embree", needle_diameter_mm=3.26)
    origins, dirs = make_rays(engine, entries, args.rays, rng)
    ours, hits = rate(lambda: engine.caster.all_hits(origins, dirs, args.length), len(origins))
    print(f"all-hits rays [needlesim embree batch]: {ours:,.0f} rays/s ({len(hits) / len(origins):.1f} hits per ray)")
    import pyvista as pv
    import vtk

    merged = trimesh.util.concatenate([s.mesh for s in scene])
    poly = pv.PolyData(merged.vertices, np.hstack([np.full((len(merged.faces), 1), 3), merged.faces]).ravel())
    pv_rate, (pts, _, _) = rate(lambda: poly.multi_ray_trace(origins, dirs * args.length, first_point=False), len(origins))
    print(f"all-hits rays [pyvista multi_ray_trace]: {pv_rate:,.0f} rays/s ({len(pts) / len(origins):.1f} hits per ray)"
          f" -> needlesim is {ours / pv_rate:.1f}x")
    obb = vtk.vtkOBBTree()
    obb.SetDataSet(poly)
    obb.BuildLocator()
    m = min(args.obb_rays, len(origins))

    def obb_loop():
        pts, ids = vtk.vtkPoints(), vtk.vtkIdList()
        for o, d in zip(origins[:m], dirs[:m]):
            obb.IntersectWithLine(o, o + args.length * d, pts, ids)
    obb_rate, _ = rate(obb_loop, m)
    print(f"all-hits rays [vtkOBBTree per-ray loop, {m} rays]: {obb_rate:,.0f} rays/s -> needlesim is {ours / obb_rate:.0f}x")
    target = 2.0
    print(f"target: one full evaluation under {target} ms median -> "
          f"{'met' if results['embree'] < target else 'NOT met'} ({results['embree']:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
