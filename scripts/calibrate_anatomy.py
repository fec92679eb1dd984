"""Measure the built-in scene and drawn individuals against the published numbers.

    python3 scripts/calibrate_anatomy.py [--individuals 100] [--cache build/calibration.jsonl]
                                         [--workers N | --scheduler tcp://HOST:PORT]
                                         [-o docs/anatomy-calibration.md]

Individuals (``needlesim.anatomy.individuals``, seeds 0..N-1) are built on every core (or a
Dask cluster) by :func:`needlesim.sweeps.builds.build_many`, their scenes kept in
``build/individuals/`` (keyed by their parameters), and their measures appended to the
cache as they finish, so an interrupted run resumes. The table gives each measure's
published value, the default scene's value, the share of individuals within the published
mean +/- 2 SD, every individual that could not be built with its reason, and the build time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from needlesim.anatomy.calibration import TARGETS, measure  # noqa: E402
from needlesim.anatomy.individuals import draw_morphometry  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402
from needlesim.sweeps.api import default_workers  # noqa: E402
from needlesim.sweeps.builds import BuildCache, build_many  # noqa: E402
from needlesim.sweeps.runner import SceneSource  # noqa: E402

TEMPLATE = load_builtin_scene()


def individuals(n: int, cache: Path, *, workers: int, scheduler: str | None) -> list[dict]:
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[row["seed"]] = row
    todo = [draw_morphometry(s) for s in range(n) if s not in done]
    t0 = time.perf_counter()

    def record(outcome) -> None:
        m = draw_morphometry(outcome.seed)
        row = {"seed": m.seed, "sex": m.sex, "ok": outcome.reason is None, "build_seconds": outcome.seconds}
        row |= outcome.extra if row["ok"] else {"error": outcome.reason}
        with cache.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        done[m.seed] = row

    outcomes = build_many(SceneSource(), todo, BuildCache(cache.parent / "individuals", TEMPLATE.geometry_key),
                          workers=workers, scheduler=scheduler, then=measure, progress=True, label="individuals",
                          on_outcome=record)
    if todo:
        wall = time.perf_counter() - t0
        print(f"built {len(outcomes)} individuals in {wall:.0f} s on {workers if scheduler is None else scheduler} "
              f"workers: {wall / len(outcomes):.1f} s per individual (wall)", flush=True)
    return [done[s] for s in range(n)]


def table(default: dict, rows: list[dict]) -> str:
    ok = [r for r in rows if r["ok"]]
    lines = [f"Built with `python3 scripts/calibrate_anatomy.py --individuals {len(rows)}`: "
             f"{len(ok)} of {len(rows)} individuals built.", "",
             "| measure | published | source | default scene | individuals: median | within mean +/- 2 SD |",
             "|---|---|---|---|---|---|"]
    for t in TARGETS:
        pub = f"{t.mean:g} +/- {t.sd:g}" if t.sd is not None else f"{t.mean:g}"
        vals = np.array([r[t.key] for r in ok if np.isfinite(r.get(t.key, np.nan))])
        share = "-" if t.sd is None or not len(vals) else f"{np.mean([t.inside_2sd(v) for v in vals]) * 100:.0f} %"
        med = f"{np.median(vals):.1f}" if len(vals) else "-"
        mark = "" if t.inside_2sd(default[t.key]) else " (outside)"
        lines.append(f"| {t.label} ({t.unit or 'fraction'}) | {pub} | {t.source} | {default[t.key]:.1f}{mark} | {med} | {share} |")
    failed = [r for r in rows if not r["ok"]]
    lines += ["", "Individuals that could not be built: " + ("none." if not failed else "")]
    lines += [f"- seed {r['seed']} ({r['sex']}): {r['error']}" for r in failed]
    secs = np.array([r["build_seconds"] for r in ok if r.get("build_seconds") is not None])
    if len(secs):
        lines += ["", f"Build time per individual (one process, on a machine shared with other jobs): median "
                      f"{np.median(secs):.1f} s, range {secs.min():.1f}-{secs.max():.1f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "calibration.jsonl")
    ap.add_argument("--workers", type=int, default=default_workers(), help="processes (default: every core)")
    ap.add_argument("--scheduler", default=None, help="a Dask scheduler address instead of local processes")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "anatomy-calibration.md")
    args = ap.parse_args(argv)
    default = measure(TEMPLATE)
    rows = individuals(args.individuals, args.cache, workers=args.workers, scheduler=args.scheduler)
    args.output.write_text("# Calibration table (generated)\n\n" + table(default, rows))
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
