"""Simulated fluoroscopy benchmark: a 512 x 512 radiograph of the built-in scene (skin and
bones, every crossing of every ray), for each standard view: the bone image by projection
(the default, core/geometry/raster.py) and by the all-hits embree cast (the previous path,
the baseline) in the same run, their ratio and how far they differ, and the live needle
overlay on the cached bone image (what it saves by not recasting).

    python benchmarks/bench_drr.py [--pixels 512] [--repeat 3]

Target: under 0.5 s for the 512 x 512 bone image on 2 cores. ``cpu`` is the projection's
process CPU time (both threads), which other jobs on the machine do not inflate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from needlesim.core.api import check  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402
from needlesim.core.model.trajectory import Trajectory  # noqa: E402
from needlesim.teaching import fluoro as F  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    scene = load_builtin_scene()
    needle = F.report_needle(check(scene, Trajectory("left-entry", 30.0, 22.5, 60.0)))
    F.bone_image(scene, F.CArm(pixels=32))  # build the soup and the BVH once, outside the timing
    print(f"{'view':<8} {'projection (s)':>14} {'cpu (s)':>8} {'cast (s)':>9} {'speed-up':>9} {'max |dP|':>9} "
          f"{'px dP>0.01':>10} {'filled px':>9} {'overlay (ms)':>12} {'ratio':>7}")
    for name, view in F.VIEWS.items():
        carm = F.CArm(view.orbit_deg, view.tilt_deg, pixels=args.pixels)
        times, images, cpu = {}, {}, []
        for method in (F.Method.PROJECTION, F.Method.CAST):
            runs = []
            for _ in range(args.repeat):
                F._IMAGES.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                images[method] = F.bone_image(scene, carm, method=method)
                runs.append(time.perf_counter() - t0)
                if method is F.Method.PROJECTION:
                    cpu.append(time.process_time() - c0)
            times[method] = float(np.median(runs))
        img = images[F.Method.PROJECTION]
        over = []
        for _ in range(args.repeat * 5):
            t0 = time.perf_counter()
            F.radiograph(img, needle=needle)
            over.append(time.perf_counter() - t0)
        p, c, o = times[F.Method.PROJECTION], times[F.Method.CAST], float(np.median(over))
        diff = np.abs(img.line_integral() - images[F.Method.CAST].line_integral())
        print(f"{name:<8} {p:>14.3f} {float(np.median(cpu)):>8.3f} {c:>9.2f} {c / p:>8.1f}x {diff.max():>9.3f} {int((diff > 0.01).sum()):>10d} "
              f"{img.filled_pixels:>4d}/{images[F.Method.CAST].filled_pixels:<4d} {o * 1000:>12.1f} {p / o:>6.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
