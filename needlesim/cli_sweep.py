"""The ``needlesim sweep`` and ``needlesim map`` commands (wired in by :mod:`needlesim.cli`).

Each command's ``func`` takes the parsed arguments and returns an exit status; a user's
error raises a :class:`~needlesim.core.errors.NeedlesimError`, which ``main`` prints as
one line (exit 2). Nothing is written unless the whole sweep succeeds; an interrupted
sweep leaves its finished chunks in ``<output>.parts/`` and the same command resumes it.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path


#: What argparse should take for a value, not an option: a negative number or a range
#: starting with one, so that ``--lateral -30:60:1`` works without an ``=``.
_NEGATIVE_VALUE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[\d.]+(:-?[\d.]+){1,2}$|^-[\d.]+(,-?[\d.]+)+$")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` and ``map`` to the ``needlesim`` sub-command parsers."""
    _add_sweep(sub)
    _add_map(sub)
    for name in ("sweep", "map"):
        sub.choices[name]._negative_number_matcher = _NEGATIVE_VALUE  # ranges such as -30:60:1


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    from .cli import add_landmarks_option
    from .help import doc_reference
    from .sweeps import defaults as D

    s = sub.add_parser("sweep", help="evaluate a grid of aims and write one table",
                       description="Evaluate every lateral x inferior aim from each entry, at every depth, and "
                                   "write one tidy table (Parquet, or CSV by extension). Angles in degrees, depths "
                                   f"in mm from the skin puncture (see {doc_reference('conventions.md')}). Ranges are "
                                   "start:stop:step with stop included.")
    s.add_argument("--entry", default=None, help="entry landmark (default left-psis)")
    s.add_argument("--entries", default=None, help="several entry landmarks, comma separated")
    s.add_argument("--lateral", default="-30:60:1", metavar="RANGE", help="lateral angles, deg (default -30:60:1)")
    s.add_argument("--inferior", default="-30:60:1", metavar="RANGE", help="inferior angles, deg (default -30:60:1)")
    s.add_argument("--depth", default="0:100:1", metavar="RANGE", help="depths for verdicts, mm (default 0:100:1)")
    s.add_argument("--scene", type=Path, help="scene manifest or folder (default: the built-in scene)")
    s.add_argument("--envelope", default="nam2019", help="envelope name or TOML file (default nam2019)")
    s.add_argument("--margin", type=float, default=None, metavar="MM", help="caution margin (default 5 mm)")
    s.add_argument("--needle", type=float, default=None, metavar="MM", help="needle outer diameter (default 3.26, 8 G)")
    s.add_argument("--backend", choices=["embree", "exact"], default="embree", help="ray-casting backend")
    s.add_argument("--max-length", type=float, default=None, metavar="MM",
                   help="how far along each line contacts are sought (default 150 mm)")
    s.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default: every core)")
    s.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="run on this Dask scheduler")
    s.add_argument("--mc-samples", type=int, default=0, metavar="N",
                   help="Monte Carlo hand-error samples per aim (writes breach probabilities instead)")
    s.add_argument("--angle-sd", type=float, default=D.ANGLE_SD_DEG, metavar="DEG",
                   help=f"angle error s.d. per axis (default {D.ANGLE_SD_DEG:.2f}: mean 3.4 deg, Gruber-Rouh 2015)")
    s.add_argument("--entry-sd", type=float, default=D.ENTRY_SD_MM, metavar="MM",
                   help=f"entry error s.d. per axis (default {D.ENTRY_SD_MM:g} mm, assumed)")
    s.add_argument("--depth-sd", type=float, default=D.DEPTH_SD_MM, metavar="MM",
                   help=f"depth error s.d. (default {D.DEPTH_SD_MM:g} mm, assumed)")
    s.add_argument("--seed", type=int, default=D.DEFAULT_SEED, help="random seed (default fixed: reproducible)")
    s.add_argument("--phantoms", default=None, metavar="N",
                   help=f"sweep the aims over N phantom individuals warped from the scene (seeded by --seed; "
                        f"cached in OUTPUT.phantoms/; more than {D.MAX_PHANTOMS_WITHOUT_CONFIRM} needs --yes) and "
                        "write the fraction of anatomies in which each aim is danger / caution")
    s.add_argument("--yes", action="store_true", help="run even a very large sweep")
    s.add_argument("-o", "--output", required=True, type=Path, help="output .parquet or .csv")
    add_landmarks_option(s)
    s.set_defaults(func=cmd_sweep)


def _add_map(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("map", help="draw a risk map from a sweep table",
                       description="Heat map of the maximum safe depth (or, for a Monte Carlo table, P(contact "
                                   "or dangerous breach)) over lateral x inferior angle, hatched where the needle "
                                   "is short of the bone at every safe depth, with the envelope's box and its "
                                   "centre, and a panel naming the first critical structure touched.")
    m.add_argument("table", type=Path, help="a table written by needlesim sweep")
    m.add_argument("--entry", default=None, help="which entry of the table (default: the first)")
    m.add_argument("--depth", type=float, default=None, metavar="MM",
                   help="depth for a Monte Carlo table (default: the envelope's maximum or the deepest)")
    m.add_argument("-o", "--output", required=True, type=Path, help="output .png or .svg")
    m.add_argument("--landmarks", type=Path, metavar="FILE",
                   help="the corrected landmarks file the table must have been swept with (refused otherwise)")
    m.set_defaults(func=cmd_map)


def _entries(args: argparse.Namespace) -> list[str]:
    from .core.errors import LandmarkError

    names = [e.strip() for e in args.entries.split(",")] if args.entries else []
    if args.entry:
        names.insert(0, args.entry)
    names = list(dict.fromkeys(n for n in names if n)) or ["left-psis"]
    if any("," in n for n in names):
        raise LandmarkError("sweep entries are landmark names")
    return names


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run ``needlesim sweep``."""
    from .core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM, DEFAULT_NEEDLE_DIAMETER_MM
    from .sweeps.grid import GridError

    if args.phantoms is not None and args.mc_samples:
        raise GridError("--phantoms and --mc-samples cannot be combined (yet): run them separately")
    if args.workers is not None and args.workers < 1:
        raise GridError(f"--workers must be at least 1, got {args.workers}")
    common = dict(entries=_entries(args), lateral_deg=args.lateral, inferior_deg=args.inferior,
                  depths_mm=args.depth, envelope=args.envelope,
                  margin_mm=DEFAULT_MARGIN_MM if args.margin is None else args.margin,
                  needle_diameter_mm=DEFAULT_NEEDLE_DIAMETER_MM if args.needle is None else args.needle,
                  backend=args.backend, max_length_mm=DEFAULT_MAX_LENGTH_MM if args.max_length is None
                  else args.max_length, workers=args.workers, scheduler=args.scheduler,
                  output=args.output, confirm=args.yes)
    t0 = time.perf_counter()
    try:
        frame, what = _run(args, common)
    except KeyboardInterrupt:
        kept = (f"built individuals in {args.output}.phantoms/" if args.phantoms
                else f"finished chunks in {args.output}.parts/")
        print(f"needlesim sweep: {kept} are kept; run the same command again to resume", file=sys.stderr)
        raise
    print(f"wrote {args.output}: {what} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _scene(args: argparse.Namespace):
    """The scene to sweep: the path as given, or, with ``--landmarks``, the corrected scene."""
    if args.landmarks is None:
        return args.scene
    from .cli import _load_scene, corrected_scene

    scene, corrected = corrected_scene(_load_scene(args.scene), args.landmarks)
    print(f"needlesim sweep: {corrected.describe()}", file=sys.stderr)
    return scene


def _run(args: argparse.Namespace, common: dict) -> tuple[object, str]:
    scene = _scene(args)
    if args.phantoms is not None:
        from .sweeps.population import population_sweep

        frame = population_sweep(scene, phantoms=args.phantoms, seed=args.seed, **common)
        meta = frame.attrs["needlesim"]
        what = (f"{len(frame):,} aim x depth rows over {meta['n_built']} individuals "
                f"({meta['n_skipped']} skipped)")
    elif args.mc_samples:
        from .sweeps.montecarlo import HandError, breach_probability

        err = HandError(angle_sd_deg=args.angle_sd, entry_sd_mm=args.entry_sd, depth_sd_mm=args.depth_sd)
        frame = breach_probability(scene, samples=args.mc_samples, hand_error=err, seed=args.seed, **common)
        what = f"{len(frame):,} aim x depth rows, {args.mc_samples} samples each"
    else:
        from .sweeps.api import sweep

        frame = sweep(scene, **common)
        what = f"{len(frame):,} directions"
    return frame, what


def cmd_map(args: argparse.Namespace) -> int:
    """Run ``needlesim map``."""
    from .sweeps.maps import save_map

    save_map(args.table, args.output, entry=args.entry, depth_mm=args.depth, landmarks=args.landmarks)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
