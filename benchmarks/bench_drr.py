"""Simulated fluoroscopy benchmark: a 512 x 512 radiograph of the built-in scene (skin and
bones, every ray cast once with all its hits), the live needle overlay on the cached bone
image, and their ratio (what the overlay saves by not recasting), for each standard view.

    python benchmarks/bench_drr.py [--pixels 512] [--repeat 3]

Target: under 0.5 s for the 512 x 512 bone image on 2 cores.
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
    print(f"{'view':<8} {'bone image (s)':>15} {'rays/s':>10} {'overlay (ms)':>13} {'ratio':>7} {'filled px':>10}")
    for name, view in F.VIEWS.items():
        carm = F.CArm(view.orbit_deg, view.tilt_deg, pixels=args.pixels)
        cast = []
        for _ in range(args.repeat):
            F._IMAGES.clear()
            t0 = time.perf_counter()
            img = F.bone_image(scene, carm)
            cast.append(time.perf_counter() - t0)
        over = []
        for _ in range(args.repeat * 5):
            t0 = time.perf_counter()
            F.radiograph(img, needle=needle)
            over.append(time.perf_counter() - t0)
        c, o = float(np.median(cast)), float(np.median(over))
        print(f"{name:<8} {c:>15.2f} {args.pixels ** 2 / c:>10.0f} {o * 1000:>13.1f} {c / o:>6.0f}x "
              f"{img.filled_pixels:>10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
