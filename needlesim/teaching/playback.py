"""Advance the needle from the skin to its depth: what the tip is in, the clearances and
the verdict at every depth, and the first breach or contact, where playback pauses.

Everything comes from **one** evaluation at the full depth (a :class:`RiskReport`): the
engine already gives, per critical structure, the depth of first contact and of first
approach within the margin, every breach with its depth, and the tissue path. The verdict
at a shallower depth ``d`` applies the rules of :mod:`needlesim.core.verdict.risk` to
those depths (a contact counts once ``contact_depth_mm <= d``, a breach once it lies before
the tip, the envelope's depth rule at ``d``). Only the clearance *numbers* of a shallower
frame need a query: one exact segment-to-mesh distance (the engine's clearance index, no ray
cast), cached per depth; the full-depth frame is the report itself.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..core.model.results import PathSegment, Tissue, clearance_text
from ..core.model.scene import Scene
from ..core.needle.breach import BreachKind
from ..core.needle.engine import get_engine
from ..core.verdict.risk import Reason, RiskReport, Rule, Verdict, assess

#: Depth step of the 1 mm keyboard steps and of the default frame grid, mm.
STEP_MM = 1.0
#: Default playback speed, mm/s (a careful hand advances a trocar a few mm per second).
DEFAULT_SPEED_MM_S = 10.0


class EventKind(str, enum.Enum):
    BONE = "bone"  #: the tip reaches bone
    BREACH = "breach"  #: the needle leaves a bone
    MARGIN = "margin"  #: comes within the margin of a critical structure
    CONTACT = "contact"  #: touches a critical structure


@dataclass(frozen=True)
class Event:
    """Something that happens at one depth as the needle advances."""

    depth_mm: float
    kind: EventKind
    message: str
    level: Verdict
    structure: str | None = None

    @property
    def pauses(self) -> bool:
        """Playback stops at breaches and contacts."""
        return self.kind in (EventKind.BREACH, EventKind.CONTACT)


@dataclass(frozen=True)
class Frame:
    """The state of the needle with its tip at ``depth_mm``."""

    depth_mm: float
    tip: tuple[float, float, float]
    tissue: Tissue
    structure: str | None
    path: tuple[PathSegment, ...]
    verdict: Verdict
    reasons: tuple[Reason, ...]
    clearances: tuple[tuple[str, float], ...]  #: (structure, clearance mm), nearest first
    #: Structures whose clearance is an upper bound (beyond the exact horizon: shown with ``~``).
    upper_bounds: frozenset[str] = frozenset()

    def readout(self) -> str:
        """E.g. ``"soft tissue 0-34 mm, cortex 34-35 mm, marrow 35-60 mm"``."""
        return ", ".join(f"{s.tissue.value} {s.start_mm:.0f}-{s.end_mm:.0f} mm" for s in self.path)

    @property
    def tip_text(self) -> str:
        if self.tissue is Tissue.OUTSIDE:
            return f"tip at {self.depth_mm:.1f} mm {Tissue.OUTSIDE.value}"
        what = self.tissue.value if self.structure is None else f"{self.tissue.value} ({self.structure})"
        return f"tip at {self.depth_mm:.1f} mm in {what}"

    def nearest_text(self, n: int = 3) -> str:
        """The ``n`` nearest structures, e.g. ``"left S2 root touches (1.1 mm overlap), left
        S2 sleeve 12.3 mm"`` (a negative clearance is an overlap: the needle touches it)."""
        return ", ".join(f"{name} {clearance_text(c, exact=name not in self.upper_bounds)}"
                         for name, c in self.clearances[:n])


class Playback:
    """Frames and events of one trajectory, from its report at full depth."""

    def __init__(self, scene: Scene, report: RiskReport) -> None:
        self.scene, self.report = scene, report
        ev = report.evaluation
        self.evaluation = ev
        self.depth_mm = ev.depth_mm
        self.puncture = np.asarray(ev.skin_puncture)
        self.direction = np.asarray(ev.trajectory.direction)
        self.engine = get_engine(scene, backend=ev.backend, needle_diameter_mm=ev.trajectory.needle_diameter_mm,
                                 margin_mm=ev.margin_mm)
        self.events = self._events()
        self._frame = lru_cache(maxsize=512)(self._compute_frame)

    # -- events ------------------------------------------------------------------------
    def _events(self) -> tuple[Event, ...]:
        ev, out = self.evaluation, []
        if ev.soft_tissue_mm is not None and ev.soft_tissue_mm <= self.depth_mm:
            name = next((s.structure for s in ev.path if s.tissue in (Tissue.CORTEX, Tissue.MARROW)), None)
            out.append(Event(ev.soft_tissue_mm, EventKind.BONE, f"reaches the {name or 'bone'} at "
                             f"{ev.soft_tissue_mm:.1f} mm", Verdict.SAFE, name))
        for c in ev.contacts:
            if c.contact_depth_mm <= self.depth_mm:
                out.append(Event(c.contact_depth_mm, EventKind.CONTACT, f"touches the {c.structure} at "
                                 f"{c.contact_depth_mm:.1f} mm", Verdict.DANGER, c.structure))
            elif c.margin_depth_mm <= self.depth_mm:
                out.append(Event(c.margin_depth_mm, EventKind.MARGIN, f"comes within {ev.margin_mm:g} mm of the "
                                 f"{c.structure} at {c.margin_depth_mm:.1f} mm", Verdict.CAUTION, c.structure))
        for b in ev.breaches:
            level = Verdict.CAUTION if b.through == BreachKind.OUTER_TABLE.value else Verdict.DANGER
            out.append(Event(b.depth_mm, EventKind.BREACH, b.describe(), level, b.structure))
        return tuple(sorted(out, key=lambda e: e.depth_mm))

    @property
    def pause_event(self) -> Event | None:
        """The first breach or contact (where playback pauses), or ``None``."""
        return next((e for e in self.events if e.pauses), None)

    def next_pause(self, after_mm: float) -> Event | None:
        """The first pausing event strictly deeper than ``after_mm``."""
        return next((e for e in self.events if e.pauses and e.depth_mm > after_mm + 1e-9), None)

    # -- frames ------------------------------------------------------------------------
    def depths(self, step_mm: float = STEP_MM) -> np.ndarray:
        """Depths from the skin to the full depth every ``step_mm``, with every event's depth."""
        grid = np.arange(0.0, self.depth_mm, step_mm)
        extra = [e.depth_mm for e in self.events] + [self.depth_mm]
        return np.unique(np.round(np.concatenate([grid, extra]), 6))

    def frame(self, depth_mm: float) -> Frame:
        """The frame with the tip at ``depth_mm`` (clipped to ``[0, depth]``)."""
        d = float(min(max(depth_mm, 0.0), self.depth_mm))
        return self._frame(round(d, 6))

    def _compute_frame(self, d: float) -> Frame:
        ev = self.evaluation
        if d == self.depth_mm:  # the report itself: its verdict, reasons and clearances
            order = sorted(((c.structure, c.clearance_mm) for c in ev.contacts), key=lambda kv: kv[1])
            last = ev.tip_tissue
            return Frame(d, ev.tip, last.tissue if last else Tissue.OUTSIDE, last.structure if last else None,
                         ev.path, self.report.verdict, self.report.reasons, tuple(order),
                         frozenset(c.structure for c in ev.contacts if not c.clearance_exact))
        path = tuple(replace(s, end_mm=min(s.end_mm, d)) for s in ev.path if s.start_mm < d or s.start_mm == 0.0)
        last = path[-1] if path else None
        clear, upper = self._clearances(d)
        report = assess(self._evaluation_at(d, path, clear), self.report.envelope, scene=self.scene)
        tip = self.puncture + d * self.direction
        order = sorted(clear.items(), key=lambda kv: kv[1])
        return Frame(d, (float(tip[0]), float(tip[1]), float(tip[2])),
                     last.tissue if last else Tissue.OUTSIDE, last.structure if last else None, path, report.verdict,
                     report.reasons, tuple((k, float(v)) for k, v in order), upper)

    def report_at(self, depth_mm: float) -> RiskReport:
        """The report of a needle stopped at ``depth_mm``, made from the full-depth one (for
        views that draw a report: the needle, its tissue colours, its tip, its near misses)."""
        f = self.frame(depth_mm)
        evaluation = self._evaluation_at(f.depth_mm, f.path, dict(f.clearances))
        checks = self.report.envelope.check(evaluation.trajectory)
        return RiskReport(f.verdict, f.reasons, self.report.envelope, checks, evaluation)

    def _evaluation_at(self, d: float, path: tuple[PathSegment, ...], clear: dict[str, float]):
        """The full-depth evaluation cut at ``d``: what a needle stopped there has met. The
        verdict is then :func:`needlesim.core.verdict.risk.assess`'s, rule for rule."""
        ev = self.evaluation
        tip = self.puncture + d * self.direction
        # a structure whose contact depth the tip has passed is touched (clearance <= 0) even
        # where the distance query, at the very contact depth, reads a hair above zero
        contacts = tuple(replace(c, clearance_mm=clear[c.structure] if c.contact_depth_mm > d
                                 else min(clear[c.structure], 0.0)) for c in ev.contacts)
        return replace(
            ev, trajectory=replace(ev.trajectory, depth_mm=d), tip=(float(tip[0]), float(tip[1]), float(tip[2])),
            path=path, hits=tuple(h for h in ev.hits if h.depth_mm <= d),
            breaches=tuple(b for b in ev.breaches if b.depth_mm < d),
            bone_mm=sum(s.length_mm for s in path if s.tissue in (Tissue.CORTEX, Tissue.MARROW)), contacts=contacts)

    def _clearances(self, d: float) -> tuple[dict[str, float], frozenset[str]]:
        """Each structure's clearance with the tip at ``d``, and those that are upper bounds."""
        eng = self.engine
        dist, _, _, exact = eng.clearance_index.query(self.puncture, self.puncture + d * self.direction,
                                                      horizon_mm=eng.clearance_horizon)
        # as the engine does: a structure the axis is inside before the tip is at -radius
        inside = {s.structure for s in self.evaluation.path if s.tissue is Tissue.CRITICAL and s.start_mm < d}
        clear = {c.structure: -eng.radius if c.structure in inside else float(dist[k]) - eng.radius
                 for k, c in enumerate(self.evaluation.contacts)}
        return clear, frozenset(c.structure for k, c in enumerate(self.evaluation.contacts)
                                if not exact[k] and c.structure not in inside)


def advance(position_mm: float, dt_s: float, speed_mm_s: float, playback: Playback) -> tuple[float, Event | None]:
    """Move the tip on by ``speed * dt``, stopping at the next breach or contact it would
    pass (returned with it) and at the full depth. Pure: the GUI timer and the renderer
    share it."""
    if not math.isfinite(speed_mm_s) or speed_mm_s <= 0:
        raise ValueError(f"speed must be a positive number of mm/s, got {speed_mm_s!r}")
    target = min(position_mm + speed_mm_s * dt_s, playback.depth_mm)
    stop = playback.next_pause(position_mm)
    if stop is not None and stop.depth_mm <= target:
        return stop.depth_mm, stop
    return target, None
