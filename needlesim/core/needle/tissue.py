"""The tissue path: which tissue the needle axis is in along its length.

Each structure's hits give the intervals the axis spends inside it. A bone with no marrow
mesh of its own is split by its cortical thickness ``c``: entering through a surface whose
normal makes angle ``theta`` with the needle, the axis crosses ``c / |cos theta|`` of cortex
before it reaches marrow (the cortex is taken as locally flat; the factor is capped at
:data:`MAX_OBLIQUITY` for grazing entries). Where the two cortices meet, it is all cortex.
Where several structures overlap, the most important one names the stretch: a critical
structure, then marrow, bone, joint, other, soft tissue (inside the skin), outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model.results import Breach, PathSegment, Tissue
from ..model.scene import Role, Structure
from ..tolerances import TOL

#: How far past an ambiguous hit (a ray through an edge or vertex) the inside/outside
#: probe is taken, mm (or half the way to the next hit, if that is nearer).
PROBE_STEP_MM = 1e-3

#: Cap on 1/|cos theta| for the cortex crossed by an oblique needle (about 84 degrees).
MAX_OBLIQUITY = 10.0

_PRIORITY = {Tissue.CRITICAL: 6, Tissue.MARROW: 5, Tissue.CORTEX: 4, Tissue.JOINT: 3,
             Tissue.OTHER: 2, Tissue.SOFT_TISSUE: 1, Tissue.OUTSIDE: 0}


@dataclass(frozen=True)
class Interval:
    start: float
    end: float
    tissue: Tissue
    structure: Structure


def _role_tissue(s: Structure) -> Tissue:
    if s.critical:
        return Tissue.CRITICAL
    return {Role.SKIN: Tissue.SOFT_TISSUE, Role.MARROW: Tissue.MARROW, Role.JOINT: Tissue.JOINT,
            Role.CORTICAL_BONE: Tissue.CORTEX, Role.SACRUM: Tissue.CORTEX}.get(s.role, Tissue.OTHER)


def clean_crossings(depth: np.ndarray, entering: np.ndarray, inside_at: Callable[[float], bool]
                    ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Turn one closed structure's raw hits (depth order) into strictly alternating
    crossings.

    A ray through a shared edge or vertex meets several triangles at one depth, some
    facing each way, and a float32 backend may report just one of them, facing either
    way. Hits closer than ``TOL.merge_mm`` form one event; an event that is a single hit
    consistent with the state before it toggles the state; any other event is settled by
    ``inside_at(depth)``, a point-in-mesh probe just past it (a tangent touch then leaves
    no crossing at all).

    Returns ``(keep, entering, start_inside)``: indices of the hits that are real
    crossings, their direction, and whether the cast began inside the structure.
    """
    n = len(depth)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool), False
    cuts = np.flatnonzero(np.diff(depth) > TOL.merge_mm) + 1
    groups = np.split(np.arange(n), cuts)
    first = groups[0]
    if len(first) == 1:
        state = not bool(entering[first[0]])
    else:
        state = inside_at(float(depth[first[0]]) - PROBE_STEP_MM)
    start_inside, keep, direction = state, [], []
    for k, g in enumerate(groups):  # per crossing event, a handful per structure
        t = float(depth[g[0]])
        if len(g) == 1 and bool(entering[g[0]]) != state:
            after = not state
        else:
            gap = (float(depth[groups[k + 1][0]]) - t) if k + 1 < len(groups) else np.inf
            after = inside_at(t + min(gap / 2, PROBE_STEP_MM))
        if after != state:
            match = [i for i in g if bool(entering[i]) == after]
            keep.append(match[0] if match else g[0])
            direction.append(after)
        state = after
    return np.array(keep, dtype=np.int64), np.array(direction, dtype=bool), start_inside


def inside_intervals(depth: np.ndarray, entering: np.ndarray, cosine: np.ndarray, start: float,
                     end: float, start_inside: bool = False) -> list[tuple[float, float, float, float]]:
    """Intervals ``(a, b, cos_a, cos_b)`` inside one closed structure, from its strictly
    alternating crossings (see :func:`clean_crossings`)."""
    out, inside, a, ca = [], start_inside, start, 1.0
    for t, ent, c in zip(depth, entering, cosine):
        if ent and not inside:
            a, ca, inside = t, c, True
        elif not ent and inside:
            out.append((a, t, ca, c))
            inside = False
    if inside:
        out.append((a, end, ca, 1.0))
    return [iv for iv in out if iv[1] > iv[0]]


def structure_intervals(s: Structure, iv: list[tuple[float, float, float, float]], split_marrow: bool
                        ) -> list[Interval]:
    """Label one structure's inside intervals; bone is split into cortex and marrow."""
    tissue = _role_tissue(s)
    if not (split_marrow and s.is_bone and not s.critical):
        return [Interval(a, b, tissue, s) for a, b, _, _ in iv]
    out = []
    for a, b, ca, cb in iv:
        ka = s.cortical_thickness_mm * min(1.0 / max(abs(ca), 1e-12), MAX_OBLIQUITY)
        kb = s.cortical_thickness_mm * min(1.0 / max(abs(cb), 1e-12), MAX_OBLIQUITY)
        if a + ka < b - kb:
            out += [Interval(a, a + ka, Tissue.CORTEX, s), Interval(a + ka, b - kb, Tissue.MARROW, s),
                    Interval(b - kb, b, Tissue.CORTEX, s)]
        else:
            out.append(Interval(a, b, Tissue.CORTEX, s))
    return out


def tissue_path(intervals: list[Interval], start: float, end: float) -> list[PathSegment]:
    """Cut ``[start, end]`` at every interval end and name each piece by priority."""
    cuts = sorted({start, end} | {x for iv in intervals for x in (iv.start, iv.end) if start < x < end})
    segs: list[PathSegment] = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a <= TOL.merge_mm:  # a cast starting on a surface can leave a sliver
            continue
        tissue, name = _label((a + b) / 2, intervals)
        if segs and segs[-1].tissue is tissue and segs[-1].structure == name:
            segs[-1] = PathSegment(segs[-1].start_mm, b, tissue, name)
        else:
            segs.append(PathSegment(a, b, tissue, name))
    return segs


def _label(x: float, intervals: list[Interval]) -> tuple[Tissue, str | None]:
    best, name = Tissue.OUTSIDE, None
    for iv in intervals:
        if iv.start <= x < iv.end and _PRIORITY[iv.tissue] > _PRIORITY[best]:
            best, name = iv.tissue, (None if iv.tissue is Tissue.SOFT_TISSUE else iv.structure.name)
    return best, name


def breaches(intervals: list[Interval], tip: float) -> list[Breach]:
    """Every place the needle leaves a bone before its tip, and what it goes into."""
    out = []
    seen = set()
    for iv in sorted(intervals, key=lambda i: i.end):
        s = iv.structure
        if not (s.is_bone and not s.critical) or not (0.0 <= iv.end < tip):
            continue
        # a bone's cortex and marrow pieces share ends: report each exit once
        inside_after = any(j.structure is s and j.start <= iv.end < j.end for j in intervals)
        if inside_after or (s.name, round(iv.end, 9)) in seen:
            continue
        seen.add((s.name, round(iv.end, 9)))
        tissue, name = _label(iv.end + 1e-6, intervals)
        into = tissue.value if name is None else f"the {name}"
        out.append(Breach(s.name, float(iv.end), into))
    return out
