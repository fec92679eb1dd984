"""Two trajectories side by side, the differences stated in words.

``compare(a, b)`` reads two reports (usually a safe aim ``a`` and an unsafe one ``b``) and
says how ``b`` differs from ``a``: the aim ("16 deg more medial and 20 mm deeper") and
what that does ("touches the left S2 root at 78.2 mm instead of 30.0 mm clearance").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.model.results import Contact
from ..core.verdict.risk import RiskReport

#: Differences smaller than these are not mentioned (they are below what a hand sets).
MIN_ANGLE_DEG = 0.05
MIN_DEPTH_MM = 0.05
MIN_ENTRY_MM = 0.5


@dataclass(frozen=True)
class AimDifference:
    """``b - a``: degrees (lateral + away from the midline, inferior + toward the feet), mm."""

    lateral_deg: float
    inferior_deg: float
    depth_mm: float
    entry_mm: float  #: distance between the two entry points
    same_entry: bool

    def words(self) -> str:
        """E.g. ``"16 deg more medial, 4.5 deg more cephalad and 20 mm deeper"``."""
        parts = []
        if abs(self.lateral_deg) >= MIN_ANGLE_DEG:
            parts.append(f"{_n(abs(self.lateral_deg))} deg more {'lateral' if self.lateral_deg > 0 else 'medial'}")
        if abs(self.inferior_deg) >= MIN_ANGLE_DEG:
            parts.append(f"{_n(abs(self.inferior_deg))} deg more "
                         f"{'inferior' if self.inferior_deg > 0 else 'cephalad'}")
        if abs(self.depth_mm) >= MIN_DEPTH_MM:
            parts.append(f"{_n(abs(self.depth_mm))} mm {'deeper' if self.depth_mm > 0 else 'shallower'}")
        text = _join(parts) if parts else "the same aim"
        if not self.same_entry:
            text = f"entering {_n(self.entry_mm)} mm away, " + text
        return text


@dataclass(frozen=True)
class Comparison:
    """How report ``b`` differs from report ``a``."""

    a: RiskReport
    b: RiskReport
    difference: AimDifference
    structure: str | None  #: the critical structure the outcome sentence is about
    outcome: str
    details: tuple[str, ...]

    @property
    def text(self) -> str:
        """The one sentence: ``"<aim difference>: <outcome>"``."""
        return f"{self.difference.words()}: {self.outcome}"


def _n(x: float) -> str:
    """A number as a person writes it: ``16``, ``4.5``."""
    r = round(x, 1)
    return f"{r:.0f}" if r == int(r) else f"{r:.1f}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _worst(report: RiskReport) -> Contact | None:
    contacts = report.evaluation.contacts
    return min(contacts, key=lambda c: c.clearance_mm) if contacts else None


def _state(report: RiskReport, structure: str) -> str:
    c = report.evaluation.contact(structure)
    if c.touches:
        return f"touches the {structure} at {min(c.contact_depth_mm, report.evaluation.depth_mm):.1f} mm"
    return f"{c.clearance_mm:.1f} mm clearance"


def outcome(a: RiskReport, b: RiskReport) -> tuple[str | None, str]:
    """The structure that decides and the sentence about it (``b`` against ``a``)."""
    wb, wa = _worst(b), _worst(a)
    if wb is None or wa is None:
        return None, f"{b.verdict.value} instead of {a.verdict.value}"
    if wa.touches and not wb.touches:  # b is the safer one: say what it avoids
        name = wa.structure
        return name, f"clears the {name} by {b.evaluation.contact(name).clearance_mm:.1f} mm instead of " \
                     f"touching it at {min(wa.contact_depth_mm, a.evaluation.depth_mm):.1f} mm"
    name = wb.structure
    sa = _state(a, name)
    if wb.touches:
        sa = sa if sa.endswith("clearance") else sa.replace(f"touches the {name} ", "")
        return name, f"touches the {name} at {min(wb.contact_depth_mm, b.evaluation.depth_mm):.1f} mm instead of {sa}"
    return name, f"passes {wb.clearance_mm:.1f} mm from the {name} instead of {sa.replace(' clearance', '')}"


def compare(a: RiskReport, b: RiskReport) -> Comparison:
    """Compare ``b`` with ``a`` (both evaluated in the same scene)."""
    ta, tb = a.evaluation.trajectory, b.evaluation.trajectory
    pa, pb = np.asarray(a.evaluation.entry_point), np.asarray(b.evaluation.entry_point)
    gap = float(np.linalg.norm(pb - pa))
    diff = AimDifference(tb.lateral_deg - ta.lateral_deg, tb.inferior_deg - ta.inferior_deg,
                         tb.depth_mm - ta.depth_mm, gap, gap < MIN_ENTRY_MM and ta.side is tb.side)
    structure, sentence = outcome(a, b)
    details = [f"verdict: {a.verdict.value} -> {b.verdict.value}"]
    old = {(x.structure, x.through) for x in a.evaluation.breaches}
    details += [f"only the second {x.describe()}" for x in b.evaluation.breaches if (x.structure, x.through) not in old]
    new = {(x.structure, x.through) for x in b.evaluation.breaches}
    details += [f"only the first {x.describe()}" for x in a.evaluation.breaches if (x.structure, x.through) not in new]
    ma = sum(s.length_mm for s in a.evaluation.path if s.tissue.value == "marrow")
    mb = sum(s.length_mm for s in b.evaluation.path if s.tissue.value == "marrow")
    if not math.isclose(ma, mb, abs_tol=0.5):
        details.append(f"marrow along the needle: {ma:.1f} mm -> {mb:.1f} mm")
    return Comparison(a, b, diff, structure, sentence, tuple(details))
