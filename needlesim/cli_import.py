"""The ``needlesim import`` command (wired in by :mod:`needlesim.cli`): bring your own pelvis.

``needlesim import hra|meshes|nifti SOURCE -o FOLDER`` writes a scene folder that ``check``,
``sweep``, ``map`` and the app use unchanged. The work is
:func:`needlesim.anatomy.importers.pipeline.import_pelvis`; this module parses, shows the
stages on the terminal and prints one line at the end. The app's File > Import pelvis runs
the same parse and import (:func:`parse_import`, :func:`run_import`). A failure is one line (exit 2) and
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .anatomy.importers.pipeline import ImportResult


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``import`` (with ``hra``, ``meshes``, ``nifti``) to the ``needlesim`` sub-commands."""
    imp = sub.add_parser("import", help="import a pelvis (HRA glTF, labelled meshes, CT label map) as a scene",
                         description="Import a pelvis and build the dural sac, sacral roots, sciatic nerves and "
                                     "superior gluteal vessels onto it; writes a scene folder. See "
                                     "docs/anatomy.md, 'Your own pelvis'.")
    kinds = imp.add_subparsers(dest="kind", metavar="KIND", parser_class=type(imp), required=True)
    h = kinds.add_parser("hra", help="a HuBMAP HRA pelvis glTF (VH_F_Pelvis.glb, VH_M_Pelvis.glb, ...)")
    h.add_argument("pelvis", type=Path, help="the pelvis .glb")
    h.add_argument("--skin", type=Path, help="the same body's skin .glb (VH_F_Skin.glb); else give --soft-tissue-mm")
    m = kinds.add_parser("meshes", help="a folder of labelled bone meshes (STL, OBJ, PLY, VTP, GLB)")
    m.add_argument("folder", type=Path, help="the folder (file names such as hip_left.stl, or a pelvis.toml)")
    m.add_argument("--units", choices=["mm", "cm", "m"], help="the meshes' units (default: inferred from the size)")
    m.add_argument("--frame", choices=["RAS", "LPS"], default="RAS", help="the meshes' frame (default RAS)")
    n = kinds.add_parser("nifti", help="a CT label map (.nii/.nii.gz; TotalSegmentator labels by default)")
    n.add_argument("label_map", type=Path, help="the label map, or a folder of one mask per bone")
    n.add_argument("--labels", metavar="NAME=V[+V],...",
                   help="label values, e.g. 'sacrum=25+26,hip_left=77,hip_right=78' (default: TotalSegmentator v2)")
    for p in (h, m, n):
        _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path, required=True, help="the scene folder to create (must not exist)")
    p.add_argument("--soft-tissue-mm", type=float, metavar="MM",
                   help="model the soft tissue as this depth over the bone (needed without a skin; e.g. 30)")
    p.add_argument("--landmarks", type=Path, metavar="FILE",
                   help="a 3D Slicer markups JSON whose points replace the found landmarks")
    p.add_argument("--name", help="the scene's title (default: from the source)")
    p.add_argument("--tilt-deg", type=float, help="pelvic tilt, + anterior (default 0)")
    p.add_argument("--dural-level", help="where the dural sac ends, e.g. S2-mid (default S2-upper-mid)")
    p.set_defaults(func=cmd_import)


class StageProgress:
    """The import's stages on one terminal line (silent when stderr is not a terminal)."""

    def __init__(self, stages: tuple[str, ...], stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.stages, self.t0 = stages, time.monotonic()

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        done = int(30 * fraction)
        k = self.stages.index(stage) + 1 if stage in self.stages else len(self.stages)
        self.stream.write(f"\rimport [{'#' * done}{'-' * (30 - done)}] {k}/{len(self.stages)} {stage:<22}"
                          f" {time.monotonic() - self.t0:5.1f} s ")
        self.stream.flush()
        if stage == "done":
            self.stream.write("\n")


def _options(args: argparse.Namespace):
    from dataclasses import replace

    from .anatomy.importers.common import ImportOptions
    from .anatomy.params import AnatomyParams

    params = AnatomyParams()
    if args.tilt_deg is not None:
        params = replace(params, tilt_deg=args.tilt_deg)
    if args.dural_level is not None:
        params = replace(params, dural_tip=args.dural_level)
    return ImportOptions(units=getattr(args, "units", None), frame=getattr(args, "frame", "RAS"),
                         soft_tissue_mm=args.soft_tissue_mm, landmarks_file=args.landmarks, name=args.name,
                         params=params)


def _reader(args: argparse.Namespace, options):
    from .anatomy.importers import hra, meshes, nifti

    if args.kind == "hra":
        return hra.reader(args.pelvis, args.skin, options)
    if args.kind == "meshes":
        return meshes.reader(args.folder, options)
    labels = nifti.parse_labels(args.labels) if args.labels else None
    return nifti.reader(args.label_map, options, labels)


def parse_import(argv: list[str]) -> argparse.Namespace:
    """The arguments of ``needlesim import ...`` (``argv`` starts with ``"import"``), parsed by
    the command's own parser; a bad one raises :class:`ImportFailed` with the parser's line.
    The app's File > Import pelvis builds such a list, so it runs exactly what the command would."""
    import contextlib
    import io

    from .anatomy.importers.common import ImportFailed
    from .cli import build_parser

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            args = build_parser().parse_args(argv)
    except SystemExit:
        raise ImportFailed(said.getvalue().strip().splitlines()[-1] if said.getvalue().strip()
                           else f"not a valid import: {' '.join(argv)}") from None
    if getattr(args, "func", None) is not cmd_import:
        raise ImportFailed(f"not an import command: {' '.join(argv)}")
    return args


def run_import(args: argparse.Namespace, *, progress: Callable[[str, float], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> ImportResult:
    """Run a parsed ``needlesim import`` (:func:`parse_import`) with ``progress(stage, fraction)``
    and ``cancel()`` as :func:`~.anatomy.importers.pipeline.import_pelvis` takes them."""
    from .anatomy.importers.pipeline import import_pelvis

    options = _options(args)
    return import_pelvis(_reader(args, options), args.output, options, progress=progress, cancel=cancel)


def cmd_import(args: argparse.Namespace) -> int:
    """Run ``needlesim import KIND``."""
    from .anatomy.importers.pipeline import STAGES

    try:
        result = run_import(args, progress=StageProgress(STAGES))
    except KeyboardInterrupt:
        print(f"\nneedlesim import: interrupted; nothing was written to {args.output}", file=sys.stderr)
        raise
    scene = result.scene
    soft = dict(scene.metadata.get("source", {})).get("soft_tissue", "")
    built = sum(1 for s in scene.structures if s.critical)
    print(f"wrote {result.folder}: {len(scene.structures)} structures ({built} built), {len(scene.landmarks)} "
          f"landmarks, pelvis {result.size_mm:.0f} mm across; soft tissue {soft}; {result.seconds:.1f} s")
    return 0
