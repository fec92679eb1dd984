"""Breaches for many needle lines at once: every bone exit classified as
:func:`needlesim.core.needle.breach.classify` does for one (same rules, same order), vectorised.

1. another bone entered within ``JOINT_GAP_MM`` of the exit (after it, or before it where
   the meshes touch or overlap): the sacroiliac joint if either is the sacrum, else a joint;
2. a midline bone is left through its cortex;
3. within ``NOTCH_RADIUS_MM`` of the ``{side}-sciatic-notch-top`` landmark: the notch;
4. the exit face's normal points clearly away from the midline (its cosine with the
   lateral direction above ``TABLE_COSINE``): the outer table; clearly toward it: the
   inner table; in between (the bone's edge): its cortex.

An exit through the outer table is a ``caution``, every other kind ``danger``
(:mod:`needlesim.core.verdict.risk`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..needle.breach import JOINT_GAP_MM, NOTCH_RADIUS_MM, TABLE_COSINE, BreachKind
from ..model.conventions import RIGHT
from ..needle.engine import Engine
from ..model.scene import Role, Side

#: Breach kinds by code (the code is the index; -1: no breach).
KINDS: tuple[BreachKind, ...] = tuple(BreachKind)
#: Codes of the kinds that make the verdict ``danger`` (all but the outer table).
DANGER_CODES = np.array([k is not BreachKind.OUTER_TABLE for k in KINDS])
#: How many bone entries from ``JOINT_GAP_MM`` before the exit on are examined for a joint
#: (a joint has one; the rest allow for re-entries of the same bone in that window).
_JOINT_LOOKAHEAD = 6


@dataclass(frozen=True)
class Exits:
    """Bone exits (depth >= 0) and bone entries of many rays, depth mm from the puncture."""

    ray: np.ndarray  #: (x,) int
    depth: np.ndarray  #: (x,)
    geom: np.ndarray  #: (x,) int, the bone left
    normal: np.ndarray  #: (x, 3) outward normal of the face crossed
    entry_ray: np.ndarray  #: (e,) int, bone entries (any depth), sorted by ray then depth
    entry_depth: np.ndarray  #: (e,)
    entry_geom: np.ndarray  #: (e,) int


def _structure_tables(engine: Engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per structure: is the sacrum, lateral sign (left -1, right +1, midline 0), notch point."""
    sacrum = np.array([s.role is Role.SACRUM for s in engine.structures])
    sign = np.array([0.0 if s.side is Side.MIDLINE else s.side.lateral_sign for s in engine.structures])
    notch = np.full((len(engine.structures), 3), np.nan)
    for g, s in enumerate(engine.structures):
        p = engine.scene.landmarks.get(f"{s.side.value}-sciatic-notch-top")
        if p is not None and s.side is not Side.MIDLINE:
            notch[g] = p
    return sacrum, sign, notch


def next_bone(ex: Exits, span: float) -> np.ndarray:
    """(x,) the first other bone entered within ``JOINT_GAP_MM`` of each exit, before or
    after it (-1: none)."""
    out = np.full(len(ex.ray), -1, np.int64)
    if not len(ex.entry_ray) or not len(ex.ray):
        return out
    key = ex.entry_ray * span + ex.entry_depth
    lo = np.searchsorted(key, ex.ray * span + ex.depth - JOINT_GAP_MM, side="left")
    for j in range(_JOINT_LOOKAHEAD):
        idx = np.minimum(lo + j, len(key) - 1)
        ok = (lo + j < len(key)) & (ex.entry_ray[idx] == ex.ray) & (ex.entry_depth[idx] <= ex.depth + JOINT_GAP_MM) \
            & (ex.entry_geom[idx] != ex.geom) & (out < 0)
        out[ok] = ex.entry_geom[idx][ok]
    return out


def classify_exits(engine: Engine, ex: Exits, points: np.ndarray, span: float) -> np.ndarray:
    """(x,) kind code (index into :data:`KINDS`) of each exit at ``points`` (x, 3), RAS mm."""
    sacrum, sign, notch = _structure_tables(engine)
    code = {k: i for i, k in enumerate(KINDS)}
    nxt = next_bone(ex, span)
    outward = np.einsum("ij,j->i", ex.normal, RIGHT) * sign[ex.geom]
    kind = np.where(outward > TABLE_COSINE, code[BreachKind.OUTER_TABLE],
                    np.where(outward < -TABLE_COSINE, code[BreachKind.INNER_TABLE], code[BreachKind.CORTEX]))
    with np.errstate(invalid="ignore"):
        near_notch = np.linalg.norm(points - notch[ex.geom], axis=1) <= NOTCH_RADIUS_MM
    kind = np.where(near_notch, code[BreachKind.SCIATIC_NOTCH], kind)
    kind = np.where(sign[ex.geom] == 0, code[BreachKind.CORTEX], kind)
    joint = nxt >= 0
    si = joint & (sacrum[ex.geom] | sacrum[np.maximum(nxt, 0)])
    kind = np.where(joint, code[BreachKind.JOINT], kind)
    return np.where(si, code[BreachKind.SACROILIAC_JOINT], kind)


def first_breaches(n: int, ex: Exits, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per ray: ``(breach_mm, breach_geom, breach_kind, danger_breach_mm)``: the first exit of
    any kind, its bone and kind, and the first exit of a ``danger`` kind (``inf``/-1: none).
    Exits may come in any order."""
    breach, geom, code, danger = np.full(n, np.inf), np.full(n, -1, np.int64), np.full(n, -1, np.int64), \
        np.full(n, np.inf)
    np.minimum.at(breach, ex.ray, ex.depth)
    first = np.flatnonzero(ex.depth == breach[ex.ray])
    geom[ex.ray[first]], code[ex.ray[first]] = ex.geom[first], kind[first]
    bad = DANGER_CODES[kind] if len(kind) else np.zeros(0, bool)
    np.minimum.at(danger, ex.ray[bad], ex.depth[bad])
    return breach, geom, code, danger
