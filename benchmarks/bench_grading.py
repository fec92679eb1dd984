"""Grading benchmark: rows per second of ``needlesim grade`` scoring on a generated class
table, against a bare ``check`` of the same aims in the same run.

    python benchmarks/bench_grading.py [--rows 200] [--repeat 5] [--seed 0]

The table has ``--rows`` aims on the built-in scene (both PSIS landmarks, angles and depths
drawn around the default envelope, a few fluoroscopy shots), written as a CSV. Measured, each
the best of ``--repeat`` rounds (the three measures taken in turn in each round), after one
warm-up check (the engine's BVH):

``check``
    the baseline: the row's trajectory built and :func:`needlesim.core.api.check` called
    with the envelope already loaded: the evaluation and verdict every grade is read off;
``grade_row``
    :func:`needlesim.teaching.grading.grade_row` on the row's text cells: parsing, the same
    check, the score with its parts and reasons, the output cells (the scene already loaded);
``needlesim grade``
    the command end to end (``cli.main``): reading the CSV, the scene (cached in the process
    after its first load, as for a second table), every row graded, the CSV written.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from needlesim.cli import main as cli_main  # noqa: E402
from needlesim.core.api import check  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402
from needlesim.core.model.trajectory import Trajectory  # noqa: E402
from needlesim.core.verdict.envelope import load_envelope  # noqa: E402
from needlesim.teaching.grading import SceneCache, grade_row  # noqa: E402

COLUMNS = ("trainee", "entry", "lateral_deg", "inferior_deg", "depth_mm", "fluoro_shots")


def class_table(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` rows of aims around the default envelope (25-35 lateral, 20-25 inferior, <= 60 mm)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append({"trainee": f"trainee {i // 5 + 1:03d}", "entry": ("left-psis", "right-psis")[i % 2],
                     "lateral_deg": f"{rng.normal(30.0, 8.0):.1f}", "inferior_deg": f"{rng.normal(22.5, 6.0):.1f}",
                     "depth_mm": f"{rng.uniform(35.0, 75.0):.1f}", "fluoro_shots": str(int(rng.integers(0, 4)))})
    return rows


def _best(fns, repeat: int) -> list[float]:
    """The best time of each of ``fns`` over ``repeat`` rounds, the measures taken in turn in
    every round (so that load from other processes falls on all of them alike)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = class_table(args.rows, args.seed)
    t = time.perf_counter()
    scene = load_builtin_scene()
    load_s = time.perf_counter() - t
    envelope = load_envelope("nam2019")
    trajectories = [Trajectory(r["entry"], float(r["lateral_deg"]), float(r["inferior_deg"]), float(r["depth_mm"]))
                    for r in rows]
    t = time.perf_counter()
    check(scene, trajectories[0], envelope=envelope)
    warm_s = time.perf_counter() - t
    scenes = SceneCache(loader=lambda folder, seed: scene)

    def bare() -> None:
        for r in rows:
            check(scene, Trajectory(r["entry"], float(r["lateral_deg"]), float(r["inferior_deg"]),
                                    float(r["depth_mm"])), envelope=envelope)

    def graded() -> None:
        for r in rows:
            g = grade_row(r, scenes, envelope=envelope)
            assert g["status"] == "ok", g["reasons"]

    with tempfile.TemporaryDirectory() as tmp:
        table, out = Path(tmp) / "attempts.csv", Path(tmp) / "grades.csv"
        with open(table, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)

        def command() -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # its one "wrote ..." line
                assert cli_main(["grade", str(table), "-o", str(out)]) == 0

        t = time.perf_counter()
        command()  # the first run loads the built-in scene in the process
        first_s = time.perf_counter() - t
        bare_s, grade_s, cli_s = _best([bare, graded, command], args.repeat)
        with open(out, newline="", encoding="utf-8") as fh:
            scores = [float(r["score"]) for r in csv.DictReader(fh)]

    n = len(rows)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"table: {n} aims on the built-in scene ({len(scene.critical)} critical structures), "
          f"scores {min(scores):.1f}-{max(scores):.1f} (median {np.median(scores):.1f}); best of {args.repeat}")
    print(f"scene load {load_s:.2f} s, first check (engine build) {warm_s:.2f} s, "
          f"first `needlesim grade` {first_s:.2f} s")
    print(f"{'measure':<34}{'rows/s':>10}{'ms/row':>10}{'x check':>10}")
    for name, s in (("check (baseline)", bare_s), ("grade_row (parse, check, score)", grade_s),
                    ("needlesim grade (CSV in and out)", cli_s)):
        print(f"{name:<34}{n / s:>10.0f}{1000 * s / n:>10.2f}{s / bare_s:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
