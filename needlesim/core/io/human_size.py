"""Is this scene the size of a human? The check that catches meshes in the wrong unit.

A bone exported in centimetres and read as millimetres is 10 times too small, and the
needle then misses it: a wrong ``safe``. Every structure is measured (its extent, and the
thickness 4V/A of a closed mesh) against the human range of its role, and all the bones
together against the range of a pelvis (:data:`needlesim.core.tolerances.HUMAN_SIZE`,
with the sources). A structure outside its range is refused with one line naming it, its
size and the unit that would bring it into range.

A structure whose manifest entry declares its own ``units`` overrides the check: it is
loaded with a :class:`NeedlesimWarning` instead (the author has stated the unit of that
very file; a scene-wide default is not enough, since that is how a stray cm mesh slips in).

The same measure, ranges and message serve the importers (:func:`check_pelvis_size`,
:func:`infer_units`: a whole adult pelvis, ``HUMAN_SIZE["whole_pelvis"]``); only the fix named
at the end differs, a manifest key (:data:`MANIFEST_FIX`) or a command-line option
(:data:`OPTION_FIX`).

Sizes cannot catch every error: a structure whose real sizes span more than a factor of
10 with its neighbours' (a small bone scaled 10x is the size of a big one) relies on the
manifest's units and on the pelvis-wide check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import MeshError, NeedlesimWarning
from ..model.conventions import UNIT_TO_MM
from ..tolerances import HUMAN_SIZE, SizeRange


#: The fix a message names, for a mesh of a scene manifest ...
MANIFEST_FIX = 'its mesh is likely in {unit} (set units = "{unit}")'
#: ... and for a mesh read by ``needlesim import`` (its ``--units`` option).
OPTION_FIX = "it looks like {unit}: pass --units {unit}"
#: When no unit fits.
NO_UNIT_FITS = "no unit of mm, cm or m makes it human-sized: is it scaled?"


@dataclass(frozen=True)
class SizeProblem:
    """One structure (or the pelvis) outside its human range."""

    what: str
    extent_mm: float
    thickness_mm: float | None
    expected: SizeRange
    likely_unit: str | None
    overridden: bool
    #: The unit the mesh was read in, when it was said (named in the message).
    units: str | None = None

    def line(self, source: str = "", fix: str = MANIFEST_FIX) -> str:
        """The one-line message; ``fix`` names what to change (``{unit}``: the likely unit)."""
        thick = "" if self.thickness_mm is None else f", {self.thickness_mm:.3g} mm thick"
        read = f" read as {self.units}" if self.units else ""
        lo, hi = self.expected.extent_mm
        want = f"{lo:g}-{hi:g} mm across"
        if self.expected.thickness_mm is not None:
            want += f", {self.expected.thickness_mm[0]:g}-{self.expected.thickness_mm[1]:g} mm thick"
        hint = fix.format(unit=self.likely_unit) if self.likely_unit else NO_UNIT_FITS
        return f"{source + ': ' if source else ''}{self.what} is {self.extent_mm:.4g} mm across{read}{thick}, " \
               f"not human-sized (expected {want}): {hint}"


def measure(mesh) -> tuple[float, float | None]:
    """``(extent_mm, thickness_mm)`` of a trimesh: the largest bounding-box side, and
    4 V / A for a closed mesh (``None`` for an open one)."""
    extent = float(np.ptp(np.asarray(mesh.vertices), axis=0).max())
    thickness = None
    if mesh.is_watertight and mesh.area > 0:
        thickness = float(4.0 * abs(mesh.volume) / mesh.area)
    return extent, thickness


def _fits(r: SizeRange, extent: float, thickness: float | None, scale: float = 1.0) -> bool:
    ok = r.extent_mm[0] <= extent * scale <= r.extent_mm[1]
    if ok and r.thickness_mm is not None and thickness is not None:
        ok = r.thickness_mm[0] <= thickness * scale <= r.thickness_mm[1]
    return ok


def _likely_unit(r: SizeRange, extent: float, thickness: float | None, units: str | None) -> str | None:
    here = UNIT_TO_MM.get(units or "mm", 1.0)
    for name, to_mm in UNIT_TO_MM.items():
        if to_mm != here and _fits(r, extent, thickness, to_mm / here):
            return name
    return None


def size_problems(structures: Sequence, *, units: Mapping[str, str] | None = None,
                  explicit_units: Iterable[str] = ()) -> list[SizeProblem]:
    """Every structure, and the pelvis, outside its human range (empty when all fit).

    ``units`` maps a structure's name to the unit its mesh was read in (for the hint);
    structures named in ``explicit_units`` declared that unit themselves (an override).
    """
    units = dict(units or {})
    explicit = set(explicit_units)
    out = []
    for s in structures:
        r = HUMAN_SIZE[s.role.value]
        extent, thickness = measure(s.mesh)
        if not _fits(r, extent, thickness):
            out.append(SizeProblem(f"structure {s.name!r} ({s.role.value})", extent, thickness, r,
                                   _likely_unit(r, extent, thickness, units.get(s.name)), s.name in explicit))
    bones = [s for s in structures if s.is_bone]
    if bones and not any(p.what.endswith(("(cortical_bone)", "(sacrum)")) for p in out):  # else a consequence
        v = np.vstack([s.vertices for s in bones])
        extent = float(np.ptp(v, axis=0).max())
        r = HUMAN_SIZE["pelvis"]
        if not _fits(r, extent, None):
            bone_units = {units.get(s.name) for s in bones}
            out.append(SizeProblem(f"the pelvis ({len(bones)} bones together)", extent, None, r,
                                   _likely_unit(r, extent, None, bone_units.pop()) if len(bone_units) == 1 else None,
                                   all(s.name in explicit for s in bones)))
    return out


def check_human_size(structures: Sequence, *, source: str, units: Mapping[str, str] | None = None,
                     explicit_units: Iterable[str] = ()) -> None:
    """Refuse (:class:`MeshError`, one line per problem) a scene that is not human-sized;
    warn instead for structures whose own ``units`` were declared."""
    problems = size_problems(structures, units=units, explicit_units=explicit_units)
    for p in problems:
        if p.overridden:
            warnings.warn(p.line(source) + "; loaded because its units are declared", NeedlesimWarning, stacklevel=3)
    refused = [p for p in problems if not p.overridden]
    if not refused:
        return
    if len(refused) > 2 and len(refused) >= len(structures) and len({p.likely_unit for p in refused}) == 1:
        unit = refused[0].likely_unit
        hint = (f"the meshes are likely in {unit} (set [scene] units = \"{unit}\")" if unit
                else "no unit of mm, cm or m makes them human-sized: are they scaled?")
        raise MeshError(f"{source}: no structure is human-sized ({refused[-1].what} is "
                        f"{refused[-1].extent_mm:.4g} mm across): {hint}")
    raise MeshError("\n".join(p.line(source) for p in refused[:8]))


def extent_mm(meshes: Iterable) -> float:
    """The largest side of the box around all of ``meshes`` (trimeshes), mm."""
    v = np.vstack([np.asarray(m.vertices) for m in meshes])
    return float(np.ptp(v, axis=0).max())


def check_pelvis_size(meshes: Iterable, *, units: str = "mm", what: str = "the pelvis", fix: str = OPTION_FIX,
                      kind: str = "whole_pelvis", error: type[Exception] = MeshError) -> float:
    """Refuse (``error``, one line) bones, already converted to mm from ``units``, that are not
    together the size of ``HUMAN_SIZE[kind]``; return their extent, mm."""
    meshes = list(meshes)
    extent = extent_mm(meshes)
    r = HUMAN_SIZE[kind]
    if not _fits(r, extent, None):
        together = f"{len(meshes)} bone{'s' if len(meshes) != 1 else ''} together"
        problem = SizeProblem(f"{what} ({together})", extent, None, r,
                              _likely_unit(r, extent, None, units), False, units)
        raise error(problem.line(fix=fix))
    return extent


def infer_units(meshes_in_file_units: Iterable, *, kind: str = "whole_pelvis",
                error: type[Exception] = MeshError) -> str:
    """The unit (mm, cm or m) in which the bones together have the size of ``HUMAN_SIZE[kind]``."""
    meshes = list(meshes_in_file_units)
    extent, r = extent_mm(meshes), HUMAN_SIZE[kind]
    for unit, to_mm in UNIT_TO_MM.items():
        if _fits(r, extent, None, to_mm):
            return unit
    lo, hi = r.extent_mm
    raise error(f"the pelvis is {extent:.4g} file units across: no unit (mm, cm, m) makes it human-sized "
                f"({lo:g}-{hi:g} mm across); pass --units")
