"""Import a folder of labelled bone meshes (STL, OBJ, PLY, VTP/VTK, GLB), e.g. TotalSegmentator's.

Which file is which bone comes from a small manifest, ``pelvis.toml`` in the folder::

    units = "mm"          # optional: mm, cm or m (default: --units, else inferred from the size)
    frame = "RAS"         # optional: RAS or LPS (default: --frame, else RAS)
    [bones]
    "left hip bone" = "hip_left.stl"
    sacrum = ["sacrum.stl", "vertebrae_S1.stl"]   # several files are joined
    skin = "skin.ply"                              # optional

or, without it, from the file names (:data:`~.common.NAME_RULES`): TotalSegmentator's
``hip_left``, ``hip_right``, ``sacrum``, ``vertebrae_S1`` (joined to the sacrum), the HRA's node
names, and ``left_ilium``-style names. Other files (``femur_left``, ``vertebrae_L5``) are
ignored and listed in the scene's source. A whole hip bone (not split into ilium, ischium and
pubis, no marrow surface) is kept whole; its marrow is by the cortical-thickness rule.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import trimesh

from needlesim.anatomy.importers.common import (ImportFailed, ImportOptions, RawPelvis, check_frame,
                                               check_human_size, infer_units, merge_meshes, scene_name)
from needlesim.core.errors import NeedlesimError, NeedlesimWarning
from needlesim.core.io.manifest import resolve_inside
from needlesim.core.io.meshio import SUPPORTED, read_mesh, to_ras_mm, validate_mesh
from needlesim.core.model.conventions import UNIT_TO_MM

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MANIFEST = "pelvis.toml"
SCENE_NAMES = ("sacrum", "coccyx", "skin", *(f"{s} {p}" for s in ("left", "right")
                                             for p in ("hip bone", "ilium", "ischium", "pubis")))


def _from_manifest(folder: Path) -> tuple[dict[str, list[Path]], dict]:
    path = folder / MANIFEST
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc})") from None
    unknown = set(doc) - {"units", "frame", "bones"}
    bad = [k for k in doc.get("bones", {}) if k not in SCENE_NAMES]
    if unknown or bad or not isinstance(doc.get("bones"), dict):
        raise ImportFailed(f"{path}: expected units, frame and a [bones] table of {', '.join(SCENE_NAMES)}; "
                           f"got {sorted(unknown | set(bad)) or 'no [bones] table'}")
    files = {k: [resolve_inside(folder, f, path, k) for f in ([v] if isinstance(v, str) else v)]
             for k, v in doc["bones"].items()}
    return files, {k: doc[k] for k in ("units", "frame") if k in doc}


def _by_name(folder: Path) -> tuple[dict[str, list[Path]], list[str]]:
    files: dict[str, list[Path]] = {}
    ignored = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in SUPPORTED:
            continue
        name = scene_name(p.name[: -len(p.suffix)])
        if name is None:
            ignored.append(p.name)
        else:
            files.setdefault(name, []).append(p)
    return files, ignored


def _read(files: dict[str, list[Path]]) -> dict[str, trimesh.Trimesh]:
    try:
        return {name: merge_meshes([read_mesh(p) for p in paths]) for name, paths in files.items()}
    except NeedlesimError as exc:
        raise ImportFailed(str(exc)) from None


def _convert(meshes: dict[str, trimesh.Trimesh], files: dict, units: str, frame: str) -> dict[str, trimesh.Trimesh]:
    out = {}
    for name, mesh in meshes.items():
        with warnings.catch_warnings():
            if name == "skin":
                warnings.simplefilter("ignore", NeedlesimWarning)  # a skin may be open
            try:
                out[name] = validate_mesh(to_ras_mm(mesh, units=units, frame=frame), files[name][0], what=name)
            except NeedlesimError as exc:
                raise ImportFailed(str(exc)) from None
    return out


def read_mesh_folder(folder: Path, options: ImportOptions) -> RawPelvis:
    """Read a folder of labelled meshes (module docstring) into a :class:`RawPelvis`."""
    if not folder.is_dir():
        raise ImportFailed(f"{folder}: not a folder of mesh files")
    has_manifest = (folder / MANIFEST).is_file()
    files, head = _from_manifest(folder) if has_manifest else (_by_name(folder)[0], {})
    ignored = [] if has_manifest else _by_name(folder)[1]
    if not files:
        raise ImportFailed(f"{folder}: no mesh file is named as a pelvic bone (e.g. hip_left.stl, sacrum.stl); "
                           f"name them so or write a {MANIFEST} (see docs/anatomy.md)")
    raw = _read(files)
    units = options.units or head.get("units")
    frame = options.frame if options.frame != "RAS" or "frame" not in head else head["frame"]
    bones_raw = {k: m for k, m in raw.items() if k != "skin"}
    if units is None:
        units = infer_units(bones_raw)
    elif units not in UNIT_TO_MM:
        raise ImportFailed(f"units {units!r}: use mm, cm or m")
    meshes = _convert(raw, files, units, frame)
    bones = {k: m for k, m in meshes.items() if k != "skin"}
    check_human_size(bones, units=units)
    if "sacrum" in bones and any("left" in k for k in bones) and any("right" in k for k in bones):
        check_frame(bones, frame=frame)
    source = {"importer": "needlesim import meshes", "folder": folder.name, "units": units, "frame": frame,
              "files": "; ".join(f"{k}: {', '.join(p.name for p in v)}" for k, v in sorted(files.items()))}
    if ignored:
        source["ignored_files"] = ", ".join(ignored)
    return RawPelvis(bones, meshes.get("skin"), f"{folder.name} (labelled meshes), imported", source)


def reader(folder: str | Path, options: ImportOptions) -> Callable[[], RawPelvis]:
    """A reader for :func:`.pipeline.import_pelvis`."""
    return lambda: read_mesh_folder(Path(folder), options)
