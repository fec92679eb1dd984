"""Angle sweeps: every lateral x inferior aim from one entry, every depth, in one batch
of casts (:mod:`needlesim.core.batch.sweep_lines`).

Definitions (depths in mm along the needle from the skin puncture)
    ``contact_mm[:, k]``
        the first depth at which the needle's outer surface touches critical structure
        ``k`` (``inf`` if not within ``max_length_mm``);
    ``margin_contact_mm[:, k]``
        the first depth at which it comes within the margin of structure ``k``;
        both err early (the safe side): each ray's smallest (the *binding* one) by at
        most :meth:`SweepTolerances.early_mm`, the others by more at sharp edges
        (see :func:`refine_binding`);
    ``breach_mm``, ``breach_kind``
        the first depth at which the axis leaves a (non-critical) bone, and how: the
        inner or outer table, the greater sciatic notch, a joint
        (:mod:`needlesim.core.needle.breach`; ``inf`` if never within ``max_length_mm``);
    ``danger_breach_mm``
        the first depth at which it leaves a bone other than through the outer table;
    ``bone_entry_mm``
        the first depth inside any bone (``inf`` if none within ``max_length_mm``);
    ``other_side_mm``
        the first depth inside a bone of the other side than the entry's (the right ilium
        from a left entry; midline bones never count);
    ``max_safe_mm``
        ``min(min_k margin_contact_mm[:, k], breach_mm, other_side_mm, max_length_mm)``:
        how deep the needle may go before a margin, a contact, a breach or the other side;
    ``reaches_bone``
        ``bone_entry_mm < max_safe_mm``: the needle is in bone before it stops being safe.
        The depths whose verdict (ignoring the envelope) is ``safe`` are those from
        ``bone_entry_mm`` up to ``max_safe_mm``; where ``reaches_bone`` is false there is
        none (the tip is in soft tissue wherever nothing else is wrong);
    ``verdict[:, j]`` at ``depths_mm[j] = d``
        ``danger`` if ``min_k contact_mm <= d``, ``danger_breach_mm < d`` or
        ``other_side_mm < d``; else ``caution`` if ``min_k margin_contact_mm <= d``,
        ``breach_mm < d`` (an exit through the outer table), ``d < bone_entry_mm`` (the
        tip is short of the bone), or the aim or ``d`` is outside the envelope; else
        ``safe``. These are the rules of :mod:`needlesim.core.verdict.risk`.

"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..model.conventions import ANTERIOR, INFERIOR, MAX_ANGLE_DEG, MIN_ANTERIOR_SQ, lateral_unit
from ..needle.engine import Engine
from ..verdict.envelope import Bounds, Envelope
from ..errors import TrajectoryError
from ..geometry.raycast import Backend
from ..model.scene import Role, Side
from .sweep_lines import SWEEP_TOL, RayDepths, SweepTolerances, cast_lines
from ..tolerances import DEFAULT_MAX_LENGTH_MM

__all__ = ["SWEEP_TOL", "Code", "RayDepths", "SweepResult", "SweepTolerances", "VERDICT_NAMES", "cast_lines",
           "directions_from_angles", "sweep_entry", "verdicts"]


class Code(enum.IntEnum):
    """Verdict codes stored in :attr:`SweepResult.verdict` (ordered by severity)."""

    INFEASIBLE = -1  #: the angles leave no anterior component: not a needle direction
    SAFE = 0
    CAUTION = 1
    DANGER = 2


#: Verdict names by code, as written in tables.
VERDICT_NAMES = {Code.INFEASIBLE: "infeasible", Code.SAFE: "safe", Code.CAUTION: "caution", Code.DANGER: "danger"}


@dataclass(frozen=True)
class SweepResult:
    """Everything a sweep found for one entry (``n`` directions, ``k`` critical
    structures, ``m`` depths). Depths in mm from the skin puncture, points RAS mm."""

    entry: str
    side: Side
    entry_point: np.ndarray  #: (3,)
    lateral_deg: np.ndarray  #: (n,)
    inferior_deg: np.ndarray  #: (n,)
    directions: np.ndarray  #: (n, 3) unit
    feasible: np.ndarray  #: (n,) bool: the angles give a needle direction (else rows are NaN)
    puncture: np.ndarray  #: (n, 3) skin puncture
    on_skin: np.ndarray  #: (n,) bool: a skin was found behind the entry
    bone_entry_mm: np.ndarray  #: (n,) first depth inside a bone (``inf`` if none)
    other_side_mm: np.ndarray  #: (n,) first depth inside a bone of the other side (``inf`` if none)
    contact_mm: np.ndarray  #: (n, k)
    margin_contact_mm: np.ndarray  #: (n, k)
    breach_mm: np.ndarray  #: (n,)
    breach_structure: np.ndarray  #: (n,) int into ``structure_names`` (-1: none)
    breach_kind: np.ndarray  #: (n,) int into :data:`~needlesim.core.batch.sweep_breach.KINDS` (-1: none)
    danger_breach_mm: np.ndarray  #: (n,)
    max_safe_mm: np.ndarray  #: (n,)
    reaches_bone: np.ndarray  #: (n,) bool: ``bone_entry_mm < max_safe_mm``
    first_structure: np.ndarray  #: (n,) int into ``structure_names`` (-1: none)
    first_critical: np.ndarray  #: (n,) int into ``critical_names`` (-1: none)
    inside_envelope: np.ndarray  #: (n,) bool, the angle rules only
    depths_mm: np.ndarray  #: (m,)
    verdict: np.ndarray  #: (n, m) int8 :class:`Code`
    structure_names: tuple[str, ...]
    critical_names: tuple[str, ...]
    backend: Backend
    margin_mm: float
    needle_diameter_mm: float
    max_length_mm: float
    envelope: str

    def __len__(self) -> int:
        return len(self.lateral_deg)


def directions_from_angles(lateral_deg: np.ndarray, inferior_deg: np.ndarray, side: Side | str
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The vectorised :func:`~needlesim.core.model.conventions.direction_from_angles`.

    Returns ``(directions (n, 3), feasible (n,) bool)``. An aim whose angles leave no
    anterior component (``sin^2 L + sin^2 I >= 1``, e.g. lateral 60 and inferior 30) is
    not a needle direction: it is marked infeasible and given the anterior axis as a
    placeholder. Raises :class:`TrajectoryError` on a non-finite angle or one beyond
    +/-85 deg."""
    lat, inf = np.asarray(lateral_deg, float).ravel(), np.asarray(inferior_deg, float).ravel()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(lat) | ~np.isfinite(inf) | (np.abs(lat) > MAX_ANGLE_DEG) | (np.abs(inf) > MAX_ANGLE_DEG)
    if bad.any():
        i = int(np.argmax(bad))
        raise TrajectoryError(f"lateral {lat[i]:g} deg, inferior {inf[i]:g} deg is not a valid aim: angles must "
                              f"be finite and within +/-{MAX_ANGLE_DEG:g} deg")
    sl, si = np.sin(np.radians(lat)), np.sin(np.radians(inf))
    feasible = sl * sl + si * si < 1.0 - MIN_ANTERIOR_SQ
    sl, si = np.where(feasible, sl, 0.0), np.where(feasible, si, 0.0)
    ant = np.sqrt(1.0 - sl * sl - si * si)
    return sl[:, None] * lateral_unit(side) + si[:, None] * INFERIOR + ant[:, None] * ANTERIOR, feasible

def _within(b: Bounds, x: np.ndarray) -> np.ndarray:
    lo = np.ones(x.shape, bool) if b.min is None else x >= b.min
    return lo & (True if b.max is None else x <= b.max)


def verdicts(contact_mm: np.ndarray, margin_mm: np.ndarray, breach_mm: np.ndarray, danger_breach_mm: np.ndarray,
             inside_env: np.ndarray, depths_mm: np.ndarray, depth_bounds: Bounds, *, bone_entry_mm: np.ndarray,
             other_side_mm: np.ndarray) -> np.ndarray:
    """(n, m) int8 :class:`Code` at each depth (rules in the module docstring)."""
    c = contact_mm.min(axis=1, initial=np.inf)[:, None]
    w = margin_mm.min(axis=1, initial=np.inf)[:, None]
    dd = depths_mm[None, :]
    danger = (c <= dd) | (danger_breach_mm[:, None] < dd) | (other_side_mm[:, None] < dd)
    caution = (w <= dd) | (breach_mm[:, None] < dd) | (dd < bone_entry_mm[:, None]) | ~inside_env[:, None] \
        | ~_within(depth_bounds, depths_mm)[None, :]
    out = np.where(caution, np.int8(Code.CAUTION), np.int8(Code.SAFE))
    out[danger] = np.int8(Code.DANGER)
    return out

def sweep_entry(engine: Engine, entry: str | np.ndarray, lateral_deg: np.ndarray, inferior_deg: np.ndarray, *,
                depths_mm: np.ndarray, envelope: Envelope, side: Side | str | None = None,
                max_length_mm: float = DEFAULT_MAX_LENGTH_MM) -> SweepResult:
    """Sweep directions ``(lateral_deg[i], inferior_deg[i])`` (degrees, (n,)) from one entry.

    Parameters
    ----------
    engine : Engine
        Built for the scene, backend, needle and margin of the sweep.
    entry : str or (3,) float
        A landmark name or a bone entry point in RAS mm (then ``side`` is required).
    lateral_deg, inferior_deg : (n,) float, degrees
    depths_mm : (m,) float, mm
        Depths at which the verdict is reported.
    envelope : Envelope
    side : Side, optional
        Inferred from a ``left-``/``right-`` landmark name.
    max_length_mm : float, mm
        How far along each needle line contacts and breaches are looked for (at least
        the deepest requested depth).
    """
    from ..model.trajectory import _side_of, check_side

    check_side(entry, side)
    label = entry if isinstance(entry, str) else ",".join(f"{x:g}" for x in np.asarray(entry, float))
    side = Side(side if side is not None else _side_of(entry))
    point = engine.scene.landmark(entry) if isinstance(entry, str) else np.asarray(entry, float).reshape(3)
    lat, inf = np.asarray(lateral_deg, float).ravel(), np.asarray(inferior_deg, float).ravel()
    depths = np.asarray(depths_mm, float).ravel()
    length = max(float(max_length_mm), float(depths.max(initial=0.0)))
    d, feasible = directions_from_angles(lat, inf, side)
    rd = cast_lines(engine, np.broadcast_to(point, d.shape), d, length)
    for arr in (rd.contact_mm, rd.margin_contact_mm, rd.enter_mm, rd.breach_mm, rd.danger_breach_mm):
        arr[~feasible] = np.nan
    r = _assemble(engine, label, side, point, lat, inf, d, feasible, rd, depths, envelope, length)
    r.verdict[~feasible] = Code.INFEASIBLE
    r.max_safe_mm[~feasible] = np.nan
    r.reaches_bone[~feasible] = False
    return r


def _assemble(engine: Engine, label: str, side: Side, point: np.ndarray, lat: np.ndarray, inf: np.ndarray,
              d: np.ndarray, feasible: np.ndarray, rd: RayDepths, depths: np.ndarray, envelope: Envelope,
              length: float) -> SweepResult:
    enter, contact, near, breach = rd.enter_mm, rd.contact_mm, rd.margin_contact_mm, rd.breach_mm
    crit = engine.critical_ids
    skin = np.array([s.role is Role.SKIN for s in engine.structures])
    bone = np.array([s.is_bone for s in engine.structures], bool)
    other = np.array([s.is_bone and s.side not in (Side.MIDLINE, side) for s in engine.structures], bool)
    bone_entry = enter[:, bone].min(axis=1, initial=np.inf)  # as check: any bone, before the critical override
    other_side = enter[:, other].min(axis=1, initial=np.inf)
    enter[:, skin] = np.inf
    enter[:, crit] = contact  # a critical structure is met where the needle touches it
    first = np.where(np.isfinite(enter).any(axis=1), _argmin_or(np.nan_to_num(enter, nan=np.inf)), -1)
    first_crit = np.where(np.isfinite(contact).any(axis=1), _argmin_or(np.nan_to_num(contact, nan=np.inf)), -1)
    max_safe = np.minimum.reduce([near.min(axis=1, initial=np.inf), breach, other_side, np.full(len(breach), length)])
    inside = _within(envelope.lateral_deg, lat) & _within(envelope.inferior_deg, inf)
    return SweepResult(
        entry=label, side=side, entry_point=point, lateral_deg=lat, inferior_deg=inf, directions=d, feasible=feasible,
        puncture=rd.puncture, on_skin=rd.on_skin, bone_entry_mm=bone_entry, other_side_mm=other_side,
        contact_mm=contact, margin_contact_mm=near, breach_mm=breach, breach_structure=rd.breach_structure,
        breach_kind=rd.breach_kind, danger_breach_mm=rd.danger_breach_mm, max_safe_mm=max_safe,
        reaches_bone=bone_entry < max_safe, first_structure=first, first_critical=first_crit, inside_envelope=inside,
        depths_mm=depths, verdict=verdicts(contact, near, breach, rd.danger_breach_mm, inside, depths, envelope.depth_mm,
                                           bone_entry_mm=bone_entry, other_side_mm=other_side),
        structure_names=tuple(s.name for s in engine.structures),
        critical_names=tuple(engine.structures[i].name for i in crit), backend=engine.backend,
        margin_mm=engine.margin, needle_diameter_mm=2 * engine.radius, max_length_mm=length, envelope=envelope.name)


def _argmin_or(a: np.ndarray) -> np.ndarray:
    return np.argmin(a, axis=1) if a.shape[1] else np.full(len(a), -1)
