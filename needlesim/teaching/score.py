"""Score a trainee's attempt, 0 to 100, in parts that explain themselves.

The score is read off one :class:`~needlesim.core.verdict.risk.RiskReport` (the engine's
evaluation and the envelope's rule checks), so it never disagrees with the verdict panel.
It is the sum of five parts; each starts at its maximum and loses points by a rule stated
in :class:`ScoreWeights` (every weight in that one place, with its reason):

envelope (30)
    10 per envelope rule (lateral, inferior, depth); an angle loses
    ``angle_points_per_deg`` per degree outside its range, the depth
    ``depth_points_per_mm`` per mm outside, down to 0 for that rule.
clearance (30)
    full at or beyond the margin from the nearest critical structure, falling linearly to
    0 at contact; 0 if any critical structure is touched.
breaches (15)
    full if the needle leaves no bone before its tip; ``outer_table_penalty`` per exit
    through the outer table (into the gluteal muscles, ``caution``); 0 for any ``danger``
    exit (inner table, notch, joint, a midline bone's cortex) or a bone of the other side.
yield (15)
    marrow along the needle before its first breach (the harvest's yield proxy): full from
    ``full_marrow_mm``, in proportion below.
fluoroscopy (10)
    ``points_per_fluoro_shot`` per shot taken.

The envelope's centre from either PSIS of a normal pelvis scores 100: inside every rule,
far from every root, in marrow for over 2 cm, no shot taken.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ..core.model.results import Tissue
from ..core.needle.breach import BreachKind
from ..core.verdict.envelope import RuleCheck
from ..core.verdict.risk import RiskReport, Rule, short_of_bone


@dataclass(frozen=True)
class ScoreWeights:
    """Every weight of the score, in one place.

    Attributes
    ----------
    envelope_points, clearance_points, breach_points, yield_points, fluoro_points : float
        The parts' maxima; they sum to 100. Safety (clearance and breaches, 45) outweighs
        the published rule (30): the rule is a proxy for safety, not the goal.
    angle_points_per_deg : float
        Points an angle rule loses per degree outside it: 10 deg outside (about three
        times the free-hand error of 3.4 deg, Gruber-Rouh 2015) empties the rule.
    depth_points_per_mm : float
        Points the depth rule loses per mm outside it: 20 mm too deep (the Nam et al.
        case, 8 cm instead of 6) empties the rule.
    outer_table_penalty : float
        Points per exit through the outer table: half the breach part, since the exit is
        into muscle (``caution``) and not into the pelvis.
    full_marrow_mm : float
        Marrow along the needle for the full yield part, mm: a harvest needle draws
        through its tip and side ports over about its last 1-2 cm, so 20 mm in marrow
        puts them all in marrow.
    points_per_fluoro_shot : float
        Points per fluoroscopy shot: a unit of dose; ten shots empty the part.
    """

    envelope_points: float = 30.0
    clearance_points: float = 30.0
    breach_points: float = 15.0
    yield_points: float = 15.0
    fluoro_points: float = 10.0
    angle_points_per_deg: float = 1.0
    depth_points_per_mm: float = 0.5
    outer_table_penalty: float = 7.5
    full_marrow_mm: float = 20.0
    points_per_fluoro_shot: float = 1.0

    @property
    def total_points(self) -> float:
        return (self.envelope_points + self.clearance_points + self.breach_points + self.yield_points
                + self.fluoro_points)


#: The weights every score uses unless told otherwise.
WEIGHTS = ScoreWeights()


class PartName(str, enum.Enum):
    ENVELOPE = "envelope"
    CLEARANCE = "clearance"
    BREACHES = "breaches"
    YIELD = "yield"
    FLUORO = "fluoroscopy"


@dataclass(frozen=True)
class Part:
    """One part of a score: ``points`` of ``max_points``, and what it measured."""

    name: PartName
    points: float
    max_points: float
    measure: float  #: the number the part is about (deg/mm outside, clearance mm, marrow mm, shots)
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"name": self.name.value, "points": self.points, "max_points": self.max_points,
                "measure": self.measure, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Score:
    """An attempt's score (0-100), its parts, and the report it was read from."""

    total: float
    parts: tuple[Part, ...]
    report: RiskReport
    fluoro_shots: int = 0

    def part(self, name: PartName | str) -> Part:
        return next(p for p in self.parts if p.name is PartName(name))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r for p in self.parts for r in p.reasons)

    @property
    def text(self) -> str:
        """One paragraph: ``"score 24.3/100: the needle is ...; it touches ..."``."""
        return f"score {self.total:.1f}/100: " + "; ".join(self.reasons)

    def to_dict(self) -> dict:
        return {"score": self.total, "verdict": self.report.verdict.value, "fluoro_shots": self.fluoro_shots,
                "parts": [p.to_dict() for p in self.parts], "reasons": list(self.reasons)}


def _n(x: float) -> str:
    r = round(x, 1)
    return f"{r:.0f}" if r == int(r) else f"{r:.1f}"


def outside_by(check: RuleCheck) -> float:
    """How far a rule's value lies outside its bounds (0 inside), in the rule's unit."""
    b = check.bounds
    if b.min is not None and check.value < b.min:
        return b.min - check.value
    if b.max is not None and check.value > b.max:
        return check.value - b.max
    return 0.0


_WORDS = {"lateral angle": ("more medial", "more lateral"), "inferior angle": ("more cephalad", "more inferior"),
          "depth": ("shallower", "deeper")}


def _rule_words(check: RuleCheck, by: float) -> str:
    below = check.bounds.min is not None and check.value < check.bounds.min
    word = _WORDS.get(check.rule, ("below", "above"))[0 if below else 1]
    if check.unit == "mm":
        return f"the needle goes {_n(by)} mm {word} than the envelope allows ({check.bounds.describe('mm')})"
    return f"the needle is {_n(by)} deg {word} than the envelope ({check.rule} {check.bounds.describe('deg')})"


def envelope_part(report: RiskReport, w: ScoreWeights = WEIGHTS) -> Part:
    checks = report.envelope_checks
    per_rule = w.envelope_points / 3.0
    points, reasons, total_out = 0.0, [], 0.0
    for c in checks:
        by = outside_by(c)
        rate = w.depth_points_per_mm if c.unit == "mm" else w.angle_points_per_deg
        points += max(0.0, per_rule - rate * by)
        total_out += by
        if by > 0:
            reasons.append(_rule_words(c, by))
    points += per_rule * (3 - len(checks))  # a rule the envelope does not set is not missed
    if not reasons:
        reasons.append(f"inside every rule of the {report.envelope.name} envelope")
    return Part(PartName.ENVELOPE, points, w.envelope_points, total_out, tuple(reasons))


def clearance_part(report: RiskReport, w: ScoreWeights = WEIGHTS) -> Part:
    contacts = report.evaluation.contacts
    if not contacts:
        return Part(PartName.CLEARANCE, w.clearance_points, w.clearance_points, math.inf,
                    ("the scene has no critical structure",))
    margin = report.margin_mm
    touched = [r for r in report.reasons if r.rule is Rule.CONTACT]
    nearest = min(contacts, key=lambda c: c.clearance_mm)
    if touched:
        return Part(PartName.CLEARANCE, 0.0, w.clearance_points, nearest.clearance_mm,
                    tuple(f"it {r.text}" for r in touched))
    c = nearest.clearance_mm
    points = w.clearance_points * min(1.0, c / margin) if margin > 0 else w.clearance_points
    if c < margin:
        why = f"it passes {c:.1f} mm from the {nearest.structure} (margin {margin:g} mm)"
    else:
        why = f"its nearest critical structure is the {nearest.structure}, {c:.1f} mm away"
    return Part(PartName.CLEARANCE, points, w.clearance_points, c, (why,))


def breach_part(report: RiskReport, w: ScoreWeights = WEIGHTS) -> Part:
    ev = report.evaluation
    other = [r for r in report.reasons if r.rule is Rule.OTHER_SIDE]
    danger = [b for b in ev.breaches if b.through != BreachKind.OUTER_TABLE.value]
    outer = [b for b in ev.breaches if b.through == BreachKind.OUTER_TABLE.value]
    reasons = tuple(f"it {b.describe()}" for b in ev.breaches) + tuple(f"it {r.text}" for r in other)
    if danger or other:
        points = 0.0
    else:
        points = max(0.0, w.breach_points - w.outer_table_penalty * len(outer))
    return Part(PartName.BREACHES, points, w.breach_points, float(len(ev.breaches) + len(other)),
                reasons or ("it leaves no bone before its tip",))


def marrow_before_breach_mm(report: RiskReport) -> float:
    """Marrow along the needle from the skin to its first breach (or its tip), mm."""
    ev = report.evaluation
    stop = min((b.depth_mm for b in ev.breaches), default=ev.depth_mm)
    return float(sum(max(0.0, min(s.end_mm, stop) - s.start_mm) for s in ev.path if s.tissue is Tissue.MARROW))


def yield_part(report: RiskReport, w: ScoreWeights = WEIGHTS) -> Part:
    m = marrow_before_breach_mm(report)
    points = w.yield_points * min(1.0, m / w.full_marrow_mm)
    if short_of_bone(report.evaluation):
        why = next(f"{r.text}" for r in report.reasons if r.rule is Rule.NO_BONE)
    elif report.evaluation.breaches:
        why = f"{m:.1f} mm of marrow before the needle leaves the bone (full marks from {w.full_marrow_mm:g} mm)"
    else:
        why = f"{m:.1f} mm of marrow along the needle (full marks from {w.full_marrow_mm:g} mm)"
    return Part(PartName.YIELD, points, w.yield_points, m, (why,))


def fluoro_part(shots: int, w: ScoreWeights = WEIGHTS) -> Part:
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise ValueError(f"fluoroscopy shots must be a whole number >= 0, got {shots!r}")
    points = max(0.0, w.fluoro_points - w.points_per_fluoro_shot * shots)
    why = "no fluoroscopy" if shots == 0 else \
        f"{shots} fluoroscopy shot{'s' if shots != 1 else ''} (-{_n(w.points_per_fluoro_shot)} each)"
    return Part(PartName.FLUORO, points, w.fluoro_points, float(shots), (why,))


def score_report(report: RiskReport, *, fluoro_shots: int = 0, weights: ScoreWeights = WEIGHTS) -> Score:
    """Score the attempt a report judges (see the module docstring for the rules)."""
    parts = (envelope_part(report, weights), clearance_part(report, weights), breach_part(report, weights),
             yield_part(report, weights), fluoro_part(fluoro_shots, weights))
    total = sum(p.points for p in parts)
    return Score(round(min(max(total, 0.0), weights.total_points), 6), parts, report, fluoro_shots)


def score_attempt(scene, trajectory, *, fluoro_shots: int = 0, envelope="nam2019",
                  weights: ScoreWeights = WEIGHTS, **check_kwargs) -> Score:
    """Check ``trajectory`` in ``scene`` (:func:`needlesim.core.api.check`) and score it.

    Parameters
    ----------
    scene : Scene
    trajectory : Trajectory
        The submitted aim: entry (a landmark or RAS mm with its side), lateral and
        inferior angles (deg), depth (mm from the skin puncture).
    fluoro_shots : int
        Fluoroscopy shots the trainee took.
    envelope : Envelope or str
        The envelope judged against (default ``nam2019``).
    """
    from ..core.api import check

    return score_report(check(scene, trajectory, envelope=envelope, **check_kwargs), fluoro_shots=fluoro_shots,
                        weights=weights)
