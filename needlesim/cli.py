"""The ``needlesim`` command: a thin shell over the same API the GUI uses.

Every error a user can cause prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from ._version import __version__

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + line
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .help import doc_reference

    conventions = doc_reference("conventions.md")
    p = _Parser(prog="needlesim", description="Aim a bone-marrow harvest needle and see the risk.")
    p.add_argument("--version", action="version", version=f"needlesim {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    c = sub.add_parser("check", help="evaluate one trajectory and print its verdict",
                       description="Evaluate one trajectory: hits, tissue path, clearances, verdict. "
                                   f"Angles in degrees, depths in mm (see {conventions}).")
    c.add_argument("--entry", required=True,
                   help="bone entry: a landmark name (e.g. left-psis) or coordinates 'x,y,z' in RAS mm")
    c.add_argument("--side", choices=["left", "right"], help="side of entry (inferred from a left-/right- landmark)")
    c.add_argument("--lateral", type=float, required=True, metavar="DEG",
                   help="angle from the para-sagittal plane, + away from the midline")
    c.add_argument("--inferior", type=float, required=True, metavar="DEG",
                   help="angle from the transverse plane, + toward the feet")
    c.add_argument("--depth", type=float, required=True, metavar="MM", help="depth of the tip from the skin puncture")
    c.add_argument("--scene", type=Path, help="scene manifest or folder (default: the built-in scene)")
    c.add_argument("--envelope", default="nam2019", help="envelope name or TOML file (default nam2019)")
    c.add_argument("--margin", type=float, default=None, metavar="MM", help="caution margin (default 5 mm)")
    c.add_argument("--needle", type=float, default=None, metavar="MM", help="needle outer diameter (default 3.26, 8 G)")
    c.add_argument("--backend", choices=["embree", "exact"], default="embree", help="ray-casting backend")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    add_landmarks_option(c)
    c.set_defaults(func=_cmd_check)
    e = sub.add_parser("envelopes", help="list the built-in safe envelopes")
    e.set_defaults(func=_cmd_envelopes)
    d = sub.add_parser("docs", help="where the documentation is (shipped with needlesim)",
                       description="Print the path of each document shipped with needlesim, or of one.")
    d.add_argument("name", nargs="?", help="a document, e.g. conventions (default: list them all)")
    d.set_defaults(func=_cmd_docs)
    n = sub.add_parser("anatomy", help="write the scene of one individual (a warp of the built-in pelvis)",
                       description="Draw published measures for one individual, warp the built-in pelvis and "
                                   "skin to them and rebuild the roots, dura, nerves and vessels. Same seed, same files.")
    n.add_argument("--seed", type=int, required=True)
    n.add_argument("--sex", choices=["female", "male"], help="default: drawn from the seed")
    n.add_argument("--soft-tissue-mm", type=float, help="soft tissue over the PSIS, mm (default: drawn)")
    n.add_argument("--dural-level", help="where the dural sac ends, e.g. S2-mid (default: drawn)")
    n.add_argument("--tilt-deg", type=float, help="pelvic tilt, + anterior (default: drawn)")
    n.add_argument("--template", type=Path, help="a built scene to warp (default: the built-in scene)")
    n.add_argument("-o", "--output", type=Path, required=True, help="folder to write the scene into")
    n.set_defaults(func=_cmd_anatomy)
    from .cli_sweep import add_commands

    add_commands(sub)
    from .cli_teaching import add_commands as add_teaching_commands

    add_teaching_commands(sub)

    from .cli_import import add_commands as add_import_commands

    add_import_commands(sub)
    from .cli_grade import add_commands as add_grade_commands

    add_grade_commands(sub)
    a = sub.add_parser("app", help="open the desktop app (the default with no command)")
    a.add_argument("--scene", type=Path, help="scene manifest or folder (default: the built-in scene)")
    a.add_argument("--session", type=Path, help="a saved session to reopen")
    a.add_argument("--screenshot", type=Path, help="save the window to this PNG after it opens, then quit")
    a.set_defaults(func=_cmd_app)
    return p


LANDMARKS_HELP = ("a corrected 3D Slicer markups JSON (.mrk.json, the scene's frame): its points replace the "
                  "scene's landmarks, and the built anatomy is rebuilt on them where it depends on them")


def add_landmarks_option(p: argparse.ArgumentParser) -> None:
    """The ``--landmarks FILE`` option of ``check``, ``sweep``, ``map`` and ``report``."""
    p.add_argument("--landmarks", type=Path, metavar="FILE", help=LANDMARKS_HELP)


def corrected_scene(scene, path: Path | None):
    """(scene, CorrectedScene or None): ``scene`` with the landmarks file ``path`` applied
    (:mod:`needlesim.anatomy.corrected`); a rebuild is announced on stderr."""
    if path is None:
        return scene, None
    from .anatomy.corrected import apply_landmarks_file

    if sys.stderr.isatty():
        print(f"needlesim: applying {path} (a rebuild of the anatomy takes about 20-40 s)", file=sys.stderr)
    c = apply_landmarks_file(scene, path)
    return c.scene, c


def _parse_entry(text: str) -> str | tuple[float, float, float]:
    if "," not in text:
        return text
    parts = text.split(",")
    try:
        values = tuple(float(x) for x in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        from .core.errors import TrajectoryError

        raise TrajectoryError(f"entry {text!r} is neither a landmark name nor 'x,y,z' coordinates in mm")
    return values  # type: ignore[return-value]


def _load_scene(path: Path | None):
    from .core.io.builtin import load_builtin_scene
    from .core.io.manifest import load_scene

    return load_builtin_scene() if path is None else load_scene(path)


def _cmd_check(args: argparse.Namespace) -> int:
    from .core.api import check
    from .core.verdict.report import format_report, report_to_dict
    from .core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_NEEDLE_DIAMETER_MM
    from .core.model.trajectory import Trajectory

    entry = _parse_entry(args.entry)
    scene, corrected = corrected_scene(_load_scene(args.scene), args.landmarks)
    if isinstance(entry, str):
        scene.landmark(entry)  # an unknown name: say so and list the known ones, before asking for a side
    traj = Trajectory(entry, args.lateral, args.inferior, args.depth, side=args.side,
                      needle_diameter_mm=DEFAULT_NEEDLE_DIAMETER_MM if args.needle is None else args.needle)
    report = check(scene, traj, envelope=args.envelope, backend=args.backend,
                   margin_mm=DEFAULT_MARGIN_MM if args.margin is None else args.margin)
    soft = str(dict(scene.metadata.get("source", {})).get("soft_tissue", ""))  # an import says how it got its skin
    if args.json:
        out = report_to_dict(report)
        out["scene"] = {"name": scene.name, "source": scene.source, "geometry_key": scene.geometry_key,
                        "soft_tissue": soft, "landmarks_file": scene.metadata.get("landmarks_file")}
        print(json.dumps(out, indent=2))
    else:
        print(format_report(report) + (f"\nsoft tissue: {soft}" if soft.startswith("modelled") else "")
              + (f"\n{corrected.describe()}" if corrected else ""))
    return 0


def _cmd_envelopes(args: argparse.Namespace) -> int:
    from .core.verdict.envelope import list_envelopes, load_envelope

    for name in list_envelopes():
        env = load_envelope(name)
        print(f"{name:<14} {env.title}\n{'':<14} {env.citation}")
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from .core.errors import NeedlesimError
    from .help import doc_path, list_docs

    docs = list_docs()
    if not docs:
        raise NeedlesimError("this installation has no documentation; it is in docs/ of the source repository")
    if args.name is None:
        for path in docs:
            print(path)
        return 0
    name = args.name if args.name.endswith(".md") else f"{args.name}.md"
    path = doc_path(name)
    if path is None:
        raise NeedlesimError(f"no document {args.name!r}; there are: {', '.join(p.stem for p in docs)}")
    print(path)
    return 0


def _cmd_anatomy(args: argparse.Namespace) -> int:
    from .anatomy import individuals
    from .anatomy.build import write_scene
    from .sweeps.stages import StageProgress

    m = individuals.draw_morphometry(args.seed, sex=args.sex, soft_tissue_mm=args.soft_tissue_mm,
                                     dural_tip=args.dural_level, tilt_deg=args.tilt_deg)
    stage = StageProgress(("loading the template", *individuals.STAGES, "writing"), label="needlesim anatomy")
    try:
        stage("loading the template")
        template = _load_scene(args.template)
        scene = individuals.make_individual(template, m, on_stage=stage)
        stage("writing")
        folder = write_scene(scene, args.output)
    except BaseException:
        stage.close(done=False)  # the error is the next line, not after a full bar
        raise
    stage.close()
    print(f"wrote {folder}: {m.sex}, sacrum {m.sacrum_width_mm:.1f} x {m.sacrum_height_mm:.1f} mm, "
          f"soft tissue {m.soft_tissue_mm:.1f} mm, dural sac to {m.dural_tip}, tilt {m.tilt_deg:.1f} deg")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from .gui.app import run

    return run(getattr(args, "scene", None), getattr(args, "session", None),
               screenshot=getattr(args, "screenshot", None))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``needlesim`` console script."""
    from .core.errors import NeedlesimError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # no command: open the app
        args = parser.parse_args(["app"])
    try:
        return int(args.func(args))
    except NeedlesimError as exc:
        print(f"needlesim {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("needlesim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
