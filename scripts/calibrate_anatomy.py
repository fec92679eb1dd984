"""Measure the built-in scene and drawn individuals against the published numbers.

    python3 scripts/calibrate_anatomy.py [--individuals 100] [--cache build/calibration.jsonl]
                                         [-o docs/anatomy-calibration.md]

Individuals are built one by one (``needlesim.anatomy.individuals``, seeds 0..N-1) and their
measures appended to the cache as they finish, so an interrupted run resumes. The table
gives each measure's published value, the default scene's value, and the share of
individuals within the published mean +/- 2 SD.
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
from needlesim.anatomy.individuals import draw_morphometry, make_individual  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402


def individuals(n: int, cache: Path) -> list[dict]:
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[row["seed"]] = row
    template = load_builtin_scene()
    for seed in range(n):
        if seed in done:
            continue
        m = draw_morphometry(seed)
        t0 = time.perf_counter()
        try:
            row = {"seed": seed, "sex": m.sex, "ok": True, **measure(make_individual(template, m))}
        except Exception as exc:  # noqa: BLE001 - a failed individual is a finding, recorded
            row = {"seed": seed, "sex": m.sex, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        row["seconds"] = time.perf_counter() - t0
        with cache.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        done[seed] = row
        print(f"seed {seed}: {'ok' if row['ok'] else row['error']} ({row['seconds']:.1f} s)", flush=True)
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
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "calibration.jsonl")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "anatomy-calibration.md")
    args = ap.parse_args(argv)
    default = measure(load_builtin_scene())
    rows = individuals(args.individuals, args.cache)
    args.output.write_text("# Calibration table (generated)\n\n" + table(default, rows))
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
