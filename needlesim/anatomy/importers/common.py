"""What every importer shares: the options, the pelvis an importer reads, the errors, the
human-size check, the names of bones, and the split of a whole hip bone for the landmark search.

An importer reads a source (a glTF, a folder of meshes, a label map) into a :class:`RawPelvis`:
closed bone meshes in RAS mm keyed by their scene names (``sacrum``, ``coccyx``, ``left ilium``
... or, for a hip bone not split into ilium, ischium and pubis, ``left hip bone``), an optional
skin and what it read from where. :mod:`.pipeline` then does the rest, the same for all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from needlesim.anatomy.params import AnatomyParams
from needlesim.core.errors import NeedlesimError
from needlesim.core.io import human_size

#: Names of a whole hip bone in the scene.
HIP_BONE = "{side} hip bone"
SIDES = ("left", "right")
#: The hip bone's parts, as the landmark search names them.
HIP_PARTS = ("ilium", "ischium", "pubis")

ProgressCallback = Callable[[str, float], None]
CancelFlag = Callable[[], bool]


class ImportFailed(NeedlesimError):
    """An import failed; the message says what and what the user can do. Nothing was written."""


class ImportCancelled(ImportFailed):
    """The user cancelled the import; nothing was written."""


@dataclass(frozen=True)
class ImportOptions:
    """How to import: units and frame of the source, soft tissue, landmarks, parameters.

    Parameters
    ----------
    units : str or None
        ``"mm"``, ``"cm"`` or ``"m"``; ``None``: the format's own (glTF: m; NIfTI: its header)
        or, for mesh files, inferred from the pelvis's size.
    frame : str
        ``"RAS"`` or ``"LPS"`` for mesh files (glTF and NIfTI define their own).
    soft_tissue_mm : float or None
        Model the soft tissue as this depth over the bone (:mod:`.softtissue`). Required when
        the source has no skin; with a skin it replaces it.
    landmarks_file : Path or None
        A 3D Slicer markups JSON whose points override (or stand in for) the found landmarks.
    name : str or None
        The scene title (default: from the source).
    """

    units: str | None = None
    frame: str = "RAS"
    soft_tissue_mm: float | None = None
    landmarks_file: Path | None = None
    name: str | None = None
    params: AnatomyParams = field(default_factory=AnatomyParams)


@dataclass(frozen=True)
class RawPelvis:
    """What an importer read: bones and skin in RAS mm, and where they came from."""

    bones: Mapping[str, trimesh.Trimesh]
    skin: trimesh.Trimesh | None
    name: str
    source: Mapping[str, str]
    marrow_faces: Mapping[str, np.ndarray] = field(default_factory=dict)


def check_cancel(cancel: CancelFlag | None) -> None:
    """Raise :class:`ImportCancelled` if the flag is set."""
    if cancel is not None and cancel():
        raise ImportCancelled("import cancelled: nothing was written")


def pelvis_size_mm(meshes: Mapping[str, trimesh.Trimesh]) -> float:
    """The largest extent of the union of ``meshes``' boxes, mm."""
    return human_size.extent_mm(meshes.values())


def check_human_size(meshes: Mapping[str, trimesh.Trimesh], *, units: str = "mm", what: str = "the pelvis") -> float:
    """Refuse a pelvis whose size is not a human one; return its size in mm.

    ``meshes`` are already converted to mm from ``units``. The check, its range and its
    message are :func:`needlesim.core.io.human_size.check_pelvis_size` (the one the scene
    loader's sizes share), naming the ``--units`` that would give a human pelvis.
    """
    return human_size.check_pelvis_size(meshes.values(), units=units, what=what, error=ImportFailed)


def infer_units(meshes_in_file_units: Mapping[str, trimesh.Trimesh]) -> str:
    """The unit (mm, cm or m) in which the pelvis has a human size; raise if none fits."""
    return human_size.infer_units(meshes_in_file_units.values(), error=ImportFailed)


# --- bone names ------------------------------------------------------------------------------

#: File- or node-name rules, tried in order: (pattern, scene name with ``{side}``). Covers
#: TotalSegmentator's names (``hip_left``, ``sacrum``, ``vertebrae_S1``), the HRA's
#: (``VH_F_ilium_compact_bone_L``) and plain English (``left_ilium``, ``ilium_r``).
_SIDE = r"(?P<side>left|right|l|r)"
_HIP = r"(hip|hip[_ ]bone|os_coxae|innominate)"
NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), name) for p, name in (
        (r"^(vertebrae?_)?s1$|^sacrum$|_sacrum$|^sacrum_", "sacrum"),
        (r"coccyx", "coccyx"),
        (rf"^{_HIP}[_ -]{_SIDE}$", HIP_BONE),
        (rf"^{_SIDE}[_ -]{_HIP}$", HIP_BONE),
        *((p, f"{{side}} {part}") for part in HIP_PARTS
          for p in (rf"^{_SIDE}[_ -]{part}$", rf"^{part}[_ -]{_SIDE}$", rf"{part}_compact_bone_{_SIDE}$")),
        (r"^skin$|_skin$", "skin"),
    )
)
_SIDES = {"l": "left", "r": "right", "left": "left", "right": "right"}


def scene_name(stem: str) -> str | None:
    """The scene name a file or node stem stands for (``hip_left`` -> ``left hip bone``;
    ``vertebrae_S1`` -> ``sacrum``), or ``None`` if it is not a pelvic bone or skin."""
    for pattern, name in NAME_RULES:
        m = pattern.search(stem)
        if m:
            side = m.groupdict().get("side")
            return name.format(side=_SIDES[side.lower()]) if side else name
    return None


def merge_meshes(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh of several (e.g. TotalSegmentator's ``sacrum`` and ``vertebrae_S1``)."""
    return meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes)


def check_bones(bones: Mapping[str, trimesh.Trimesh]) -> None:
    """Raise :class:`ImportFailed` unless the pelvis is complete: a sacrum and, per side,
    either a whole hip bone or its ilium, ischium and pubis."""
    missing = [] if "sacrum" in bones else ["sacrum"]
    for side in SIDES:
        parts = [f"{side} {p}" for p in HIP_PARTS]
        if HIP_BONE.format(side=side) not in bones and not all(p in bones for p in parts):
            missing.append(f"the {side} hip bone (or its ilium, ischium and pubis)")
    if missing:
        raise ImportFailed(f"the pelvis lacks {', '.join(missing)}; found {', '.join(sorted(bones)) or 'no bones'}")
    for name, mesh in bones.items():
        if not (mesh.is_watertight and mesh.is_winding_consistent):
            raise ImportFailed(f"{name}: the bone surface is not closed (holes or inconsistent winding); "
                               "repair it (e.g. fill holes in 3D Slicer) and import again")


def _hip_centre(bones: Mapping[str, trimesh.Trimesh], side: str) -> np.ndarray:
    name = HIP_BONE.format(side=side)
    hip = bones[name] if name in bones else bones[f"{side} ilium"]
    return np.asarray(hip.centroid)


def check_frame(bones: Mapping[str, trimesh.Trimesh], *, frame: str = "RAS") -> None:
    """Refuse bones that are not in RAS: the left hip bone must be at smaller x than the
    right (RAS: +x is the patient's right) and the sacrum behind them (smaller y). Both fail
    for LPS coordinates read as RAS, and the message says so."""
    left, right = _hip_centre(bones, "left"), _hip_centre(bones, "right")
    sacrum = np.asarray(bones["sacrum"].centroid)
    failed = []
    if not left[0] < right[0]:
        failed.append("the left hip bone is not to the left (x) of the right one")
    if not sacrum[1] < (left[1] + right[1]) / 2:
        failed.append("the sacrum is not behind (y) the hip bones")
    if failed:
        other = "LPS" if frame == "RAS" else "RAS"
        hint = f"the coordinates look like {other}: pass --frame {other}" if len(failed) == 2 else \
            "check the left/right names and the frame"
        raise ImportFailed(f"the pelvis is not in the {frame} frame read as given ({'; '.join(failed)}): {hint}")
