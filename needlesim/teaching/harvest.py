"""A whole harvest: two to four skin punctures, the needle redirected several times through
each, every pass checked; the plan's total marrow path against its worst clearance.

A pass pivots at its site's skin puncture: its aim (lateral, inferior) turns the needle
about the puncture, and its depth runs from the puncture. It is evaluated as a
:class:`~needlesim.core.model.trajectory.Trajectory` whose entry lies
:data:`PIVOT_LEAD_MM` inside the skin along the pass, so the engine's skin search finds the
puncture itself, and every depth, clearance and verdict is the engine's.

Each pass is scored by :func:`needlesim.teaching.score.score_report`; the plan's score is
the mean of its passes' (a harvest is as good as its passes on average) and the plan
reports its worst pass alongside. The total marrow is the sum of each pass's marrow before
its first breach; passes through one puncture share the marrow next to their common
cortical hole, so the sum counts that first millimetre or so once per pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.api import check
from ..core.errors import TrajectoryError
from ..core.geometry.raycast import Backend
from ..core.model.conventions import direction_from_angles
from ..core.model.scene import Scene, Side
from ..core.model.trajectory import Trajectory
from ..core.tolerances import DEFAULT_MARGIN_MM
from .score import Score, marrow_before_breach_mm, score_report

#: How far inside the skin a pass's entry is put so the engine finds the puncture behind
#: it, mm: well above the casters' float32 resolution, well below any skin thickness.
PIVOT_LEAD_MM = 0.5
#: A pass whose puncture the engine finds farther than this from the site's is refused
#: (the site is not on the skin), mm.
PIVOT_TOLERANCE_MM = 0.05
#: Sites and passes a plan may hold (2-4 sites are used in practice; a harvest takes tens
#: of passes at most).
MAX_SITES, MAX_PASSES = 8, 64


@dataclass(frozen=True)
class Pass:
    """One redirection of the needle through a site: angles (deg) and depth (mm from the puncture)."""

    lateral_deg: float
    inferior_deg: float
    depth_mm: float


@dataclass(frozen=True)
class Site:
    """A skin puncture (RAS mm, on the skin) on one side, and the passes made through it."""

    puncture: tuple[float, float, float]
    side: Side
    passes: tuple[Pass, ...]
    name: str = ""

    def trajectory(self, p: Pass, *, needle_diameter_mm: float | None = None) -> Trajectory:
        """The pass as a trajectory pivoting at the puncture."""
        d = direction_from_angles(p.lateral_deg, p.inferior_deg, self.side)
        entry = np.asarray(self.puncture, float) + PIVOT_LEAD_MM * d
        kw = {} if needle_diameter_mm is None else {"needle_diameter_mm": needle_diameter_mm}
        return Trajectory(tuple(float(x) for x in entry), p.lateral_deg, p.inferior_deg, p.depth_mm,
                          side=self.side, **kw)


def site_from_aim(scene: Scene, trajectory: Trajectory, passes: tuple[Pass, ...] | list[Pass], *,
                  name: str = "", backend: Backend | str = Backend.EMBREE) -> Site:
    """A site at the skin puncture of ``trajectory`` (e.g. the envelope aim from a PSIS)."""
    ev = check(scene, trajectory, backend=backend).evaluation
    if not ev.puncture_on_skin:
        raise TrajectoryError(f"the aim from {trajectory.entry!r} finds no skin behind its entry")
    return Site(ev.skin_puncture, trajectory.side, tuple(passes), name or str(trajectory.entry))


@dataclass(frozen=True)
class PassResult:
    site: int
    index: int
    score: Score
    marrow_mm: float
    clearance_mm: float
    nearest: str | None


@dataclass(frozen=True)
class HarvestResult:
    """Every pass checked, and the plan's totals."""

    passes: tuple[PassResult, ...]
    total_marrow_mm: float
    worst_clearance_mm: float
    worst_structure: str | None
    score: float  #: mean of the passes' scores, 0-100
    worst_pass: PassResult

    def words(self) -> str:
        bad = [p for p in self.passes if p.score.report.verdict.value != "safe"]
        w = self.worst_pass
        text = (f"{len(self.passes)} passes: {self.total_marrow_mm:.1f} mm of marrow in all; the closest any "
                f"pass comes to a critical structure is {self.worst_clearance_mm:.1f} mm ({self.worst_structure}); "
                f"plan score {self.score:.1f}/100")
        if bad:
            text += (f"; {len(bad)} pass{'es are' if len(bad) > 1 else ' is'} not safe, the worst "
                     f"(site {w.site + 1}, pass {w.index + 1}, {w.score.total:.1f}/100): " + "; ".join(w.score.reasons[:3]))
        return text


@dataclass(frozen=True)
class HarvestPlan:
    sites: tuple[Site, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.sites) <= MAX_SITES:
            raise TrajectoryError(f"a harvest plan has 1 to {MAX_SITES} skin sites, got {len(self.sites)}")
        n = sum(len(s.passes) for s in self.sites)
        if any(not s.passes for s in self.sites) or n > MAX_PASSES:
            raise TrajectoryError(f"every site needs at least one pass, and a plan at most {MAX_PASSES} in all")

    def _site(self, site: int, index: int) -> Site:
        if not (0 <= site < len(self.sites) and 0 <= index < len(self.sites[site].passes)):
            raise TrajectoryError(f"site {site + 1} has no pass {index + 1} (the plan has "
                                  f"{', '.join(str(len(s.passes)) for s in self.sites)} passes by site)")
        return self.sites[site]

    def with_pass(self, site: int, index: int, new: Pass) -> "HarvestPlan":
        """The plan with pass ``index`` of site ``site`` (both from 0) redirected to ``new``,
        through the same puncture; ``new`` is checked as a trajectory (its angles and depth in
        range), :class:`TrajectoryError` with the reason otherwise."""
        old = self._site(site, index)
        old.trajectory(new)
        passes = old.passes[:index] + (new,) + old.passes[index + 1:]
        return HarvestPlan(self.sites[:site] + (replace(old, passes=passes),) + self.sites[site + 1:])

    def without_pass(self, site: int, index: int) -> "HarvestPlan | None":
        """The plan less pass ``index`` of site ``site``; a site left without passes goes, and
        a plan left without sites is ``None`` (no harvest planned)."""
        old = self._site(site, index)
        passes = old.passes[:index] + old.passes[index + 1:]
        sites = self.sites[:site] + ((replace(old, passes=passes),) if passes else ()) + self.sites[site + 1:]
        return HarvestPlan(sites) if sites else None

    def to_dict(self) -> dict:
        return {"sites": [{"name": s.name, "puncture": list(s.puncture), "side": s.side.value,
                           "passes": [[p.lateral_deg, p.inferior_deg, p.depth_mm] for p in s.passes]}
                          for s in self.sites]}

    @classmethod
    def from_dict(cls, d: dict) -> "HarvestPlan":
        try:
            return cls(tuple(Site(tuple(float(x) for x in s["puncture"]), Side(s["side"]),
                                  tuple(Pass(*(float(x) for x in p)) for p in s["passes"]), str(s.get("name", "")))
                             for s in d["sites"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise TrajectoryError(f"not a harvest plan: {exc}") from None


def check_plan(scene: Scene, plan: HarvestPlan, *, envelope="nam2019", margin_mm: float = DEFAULT_MARGIN_MM,
               backend: Backend | str = Backend.EMBREE) -> HarvestResult:
    """Check and score every pass of ``plan`` in ``scene``."""
    out: list[PassResult] = []
    for i, site in enumerate(plan.sites):
        for j, p in enumerate(site.passes):
            r = check(scene, site.trajectory(p), envelope=envelope, margin_mm=margin_mm, backend=backend)
            gap = float(np.linalg.norm(np.asarray(r.evaluation.skin_puncture) - site.puncture))
            if not r.evaluation.puncture_on_skin or gap > PIVOT_TOLERANCE_MM:
                raise TrajectoryError(f"site {i + 1} ({site.name or 'unnamed'}) is not on the skin: pass {j + 1} "
                                      f"meets the skin {gap:.2f} mm from it")
            near = min(r.evaluation.contacts, key=lambda c: c.clearance_mm, default=None)
            out.append(PassResult(i, j, score_report(r), marrow_before_breach_mm(r),
                                  np.inf if near is None else near.clearance_mm, None if near is None else near.structure))
    worst = min(out, key=lambda p: p.clearance_mm)
    return HarvestResult(tuple(out), float(sum(p.marrow_mm for p in out)), float(worst.clearance_mm), worst.nearest,
                         float(np.mean([p.score.total for p in out])), min(out, key=lambda p: p.score.total))
