"""The verdict: ``safe``, ``caution`` or ``danger``, with every reason.

Rules (each has a test in ``tests/core/test_risk.py``):

danger
    * the needle (its outer surface, from skin to tip) touches a critical structure:
      clearance <= 0 mm;
    * the needle leaves a bone before its tip through its inner table (into the pelvis), the
      greater sciatic notch, a joint (the sacroiliac joint into the sacrum) or, for a midline
      bone, its cortex (see :mod:`needlesim.core.needle.breach`);
    * the needle enters, before its tip, a bone of the other side than its entry (the right
      ilium from a left entry): it has crossed the midline, or the side is wrong. A bone
      entered exactly at the tip is not entered; midline bones (the sacrum) never count.
caution
    * the needle leaves the ilium, ischium or pubis through its outer table (into the gluteal
      muscles: no named critical structure is crossed by the exit itself; the clearance rules
      still see the superior gluteal vessels);
    * a critical structure is closer than the margin (default 5 mm): 0 < clearance < margin;
    * the trajectory is outside the envelope (each rule: lateral, inferior, depth);
    * the tip is short of the bone: the needle has entered no bone by its tip (the first bone
      entry is deeper than the tip, or there is none within ``max_length_mm``). The tip
      resting on the bone's surface (entry depth equal to the tip's) has reached it. For a
      harvest the needle has then missed its target. A tip that went through a bone and
      out again into soft tissue is not this rule's: every exit before the tip is a breach
      (above), ``caution`` through the outer table, else ``danger``.
safe
    none of the above.

Clearances are exact (float64) on every backend, so the verdict does not depend on which
ray-casting backend or wheel is installed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..needle.breach import BreachKind
from ..needle.engine import Evaluation
from ..model.scene import Scene, Side
from .envelope import Envelope, RuleCheck


class Verdict(str, enum.Enum):
    SAFE = "safe"
    CAUTION = "caution"
    DANGER = "danger"

    @property
    def rank(self) -> int:
        return {"safe": 0, "caution": 1, "danger": 2}[self.value]


class Rule(str, enum.Enum):
    CONTACT = "contact"
    BREACH = "breach"
    MARGIN = "margin"
    ENVELOPE = "envelope"
    NO_BONE = "no_bone"
    OTHER_SIDE = "other_side"


@dataclass(frozen=True)
class Reason:
    level: Verdict
    rule: Rule
    text: str
    structure: str | None = None
    depth_mm: float | None = None

    def to_dict(self) -> dict:
        return {"level": self.level.value, "rule": self.rule.value, "text": self.text,
                "structure": self.structure, "depth_mm": self.depth_mm}


@dataclass(frozen=True)
class RiskReport:
    """A verdict with its reasons, the envelope check and the evaluation behind it."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    envelope: Envelope
    envelope_checks: tuple[RuleCheck, ...]
    evaluation: Evaluation

    @property
    def inside_envelope(self) -> bool:
        return all(r.inside for r in self.envelope_checks)

    @property
    def margin_mm(self) -> float:
        return self.evaluation.margin_mm


def short_of_bone(evaluation: Evaluation) -> bool:
    """The tip has entered no bone (the rule in the module docstring)."""
    entry = evaluation.soft_tissue_mm
    return entry is None or entry > evaluation.depth_mm


def _no_bone_reason(evaluation: Evaluation) -> Reason:
    entry = evaluation.soft_tissue_mm
    if entry is None:
        where = f"no bone within {evaluation.max_length_mm:g} mm along its line"
    else:
        where = f"the bone is {entry - evaluation.depth_mm:.1f} mm beyond the tip, at {entry:.1f} mm"
    return Reason(Verdict.CAUTION, Rule.NO_BONE,
                  f"the tip is in soft tissue: the needle has not reached bone ({where})", None, entry)


def _other_side_reasons(evaluation: Evaluation, scene: Scene) -> list[Reason]:
    """A bone of the other side entered before the tip (``danger``)."""
    side = evaluation.trajectory.side
    sides = {s.name: s.side for s in scene.structures if s.is_bone}
    seen: dict[str, float] = {}
    for seg in evaluation.path:
        other = sides.get(seg.structure or "")
        if other not in (None, Side.MIDLINE, side) and seg.start_mm < evaluation.depth_mm:
            seen.setdefault(seg.structure, seg.start_mm)  # type: ignore[arg-type]
    return [Reason(Verdict.DANGER, Rule.OTHER_SIDE,
                   f"enters the {name} at {depth:.1f} mm, a bone of the other side from this {side.value} entry: "
                   "the needle crosses the midline, or the side is wrong", name, float(depth))
            for name, depth in seen.items()]


def assess(evaluation: Evaluation, envelope: Envelope, *, scene: Scene) -> RiskReport:
    """Apply every rule to an evaluation (its margin is the one the engine used); ``scene``,
    the one evaluated, gives the bones' sides for the other-side rule."""
    reasons: list[Reason] = _other_side_reasons(evaluation, scene)
    margin = evaluation.margin_mm
    for c in sorted(evaluation.contacts, key=lambda c: c.clearance_mm):
        if c.touches:
            at = min(c.contact_depth_mm, evaluation.depth_mm)
            reasons.append(Reason(Verdict.DANGER, Rule.CONTACT,
                                  f"touches the {c.structure} at {at:.1f} mm", c.structure, float(at)))
        elif c.clearance_mm < margin:
            reasons.append(Reason(Verdict.CAUTION, Rule.MARGIN,
                                  f"{c.clearance_mm:.1f} mm from the {c.structure} (margin {margin:g} mm)",
                                  c.structure, float(c.clearance_mm)))
    for b in evaluation.breaches:
        level = Verdict.CAUTION if b.through == BreachKind.OUTER_TABLE.value else Verdict.DANGER
        reasons.append(Reason(level, Rule.BREACH, b.describe(), b.structure, b.depth_mm))
    if short_of_bone(evaluation):
        reasons.append(_no_bone_reason(evaluation))
    checks = envelope.check(evaluation.trajectory)
    for r in checks:
        if not r.inside:
            reasons.append(Reason(Verdict.CAUTION, Rule.ENVELOPE, f"{r.describe()} ({envelope.name})"))
    reasons.sort(key=lambda r: -r.level.rank)
    verdict = max((r.level for r in reasons), key=lambda v: v.rank, default=Verdict.SAFE)
    return RiskReport(verdict, tuple(reasons), envelope, checks, evaluation)
