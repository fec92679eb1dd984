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


@dataclass(frozen=True)
class SizeProblem:
    """One structure (or the pelvis) outside its human range."""

    what: str
    extent_mm: float
    thickness_mm: float | None
    expected: SizeRange
    likely_unit: str | None
    overridden: bool

    def line(self, source: str) -> str:
        thick = "" if self.thickness_mm is None else f", {self.thickness_mm:.3g} mm thick"
        lo, hi = self.expected.extent_mm
        want = f"{lo:g}-{hi:g} mm across"
        if self.expected.thickness_mm is not None:
            want += f", {self.expected.thickness_mm[0]:g}-{self.expected.thickness_mm[1]:g} mm thick"
        hint = (f"its mesh is likely in {self.likely_unit} (set units = \"{self.likely_unit}\")"
                if self.likely_unit else "no unit of mm, cm or m makes it human-sized: is it scaled?")
        return f"{source}: {self.what} is {self.extent_mm:.4g} mm across{thick}, not human-sized " \
               f"(expected {want}): {hint}"


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
