"""A risk report as a JSON-ready dict, and as readable text."""

from __future__ import annotations

import math

from ..._version import __version__
from ..tolerances import clearance_horizon_mm
from .risk import RiskReport, short_of_bone


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def report_to_dict(report: RiskReport) -> dict:
    """Everything a script needs: verdict, reasons, hits, clearances, envelope, path."""
    ev = report.evaluation
    tr = ev.trajectory
    return {
        "needlesim_version": __version__,
        "verdict": report.verdict.value,
        "reasons": [r.to_dict() for r in report.reasons],
        "trajectory": tr.to_dict(),
        "needle": {"diameter_mm": tr.needle_diameter_mm, "radius_mm": tr.radius_mm},
        "margin_mm": ev.margin_mm,
        "backend": ev.backend.value,
        "envelope": {"name": report.envelope.name, "title": report.envelope.title,
                     "citation": report.envelope.citation, "inside": report.inside_envelope,
                     "rules": [c.to_dict() for c in report.envelope_checks]},
        "entry_point": list(ev.entry_point),
        "skin_puncture": list(ev.skin_puncture),
        "puncture_on_skin": ev.puncture_on_skin,
        "bone_entry": None if ev.bone_entry is None else list(ev.bone_entry),
        "soft_tissue_mm": _num(ev.soft_tissue_mm),
        "bone_mm": ev.bone_mm,
        "reaches_bone": not short_of_bone(ev),
        "tip": list(ev.tip),
        "hits": [h.to_dict() for h in ev.hits],
        "path": [s.to_dict() for s in ev.path],
        "breaches": [b.to_dict() for b in ev.breaches],
        "clearance_mm": {c.structure: float(c.clearance_mm) for c in ev.contacts},
        "contacts": [c.to_dict() for c in ev.contacts],
        "max_length_mm": ev.max_length_mm,
    }


def format_report(report: RiskReport, *, max_clearances: int = 8) -> str:
    """A short readable report for a terminal."""
    ev = report.evaluation
    tr = ev.trajectory
    ax, sg = tr.projected_deg
    lines = [
        f"verdict: {report.verdict.value.upper()}",
        *[f"  - {r.text}" for r in report.reasons],
        f"trajectory: {tr.side.value} entry {tr.entry if isinstance(tr.entry, str) else tuple(round(x, 1) for x in tr.entry)}, "
        f"lateral {tr.lateral_deg:.1f} deg, inferior {tr.inferior_deg:.1f} deg, depth {tr.depth_mm:.1f} mm "
        f"(axial image {ax:.1f} deg, sagittal image {sg:.1f} deg); needle {tr.needle_diameter_mm:g} mm",
        f"skin puncture: {_fmt(ev.skin_puncture)}{'' if ev.puncture_on_skin else ' (no skin behind the entry: depth from the entry)'}",
        "bone entry: " + _bone_entry(ev),
        f"path: {ev.describe_path() or 'none'}",
    ]
    lines += [f"breach: {b.describe()}" for b in ev.breaches]
    contacts = sorted(ev.contacts, key=lambda c: c.clearance_mm)[:max_clearances]
    if contacts:
        lines.append(f"clearance (needle surface to structure; margin {ev.margin_mm:g} mm; "
                     f"~: farther than {clearance_horizon_mm(ev.margin_mm):g} mm, an upper bound):")
        lines += [f"  {c.structure:<28} {'' if c.clearance_exact else '~'}{c.clearance_mm:7.1f} mm" for c in contacts]
    env = report.envelope
    lines.append(f"envelope {env.name} ({'inside' if report.inside_envelope else 'OUTSIDE'}): "
                 + "; ".join(c.describe() for c in report.envelope_checks))
    lines.append(f"backend: {ev.backend.value}")
    return "\n".join(lines)


def _bone_entry(ev) -> str:
    if ev.bone_entry is None:
        return f"none within {ev.max_length_mm:g} mm along the needle line"
    where = f"{_fmt(ev.bone_entry)} at {ev.soft_tissue_mm:.1f} mm"
    if ev.soft_tissue_mm > ev.depth_mm:
        return where + f" (beyond the tip: the tip is {ev.soft_tissue_mm - ev.depth_mm:.1f} mm short of the bone)"
    return where + f" (soft tissue {ev.soft_tissue_mm:.1f} mm, bone {ev.bone_mm:.1f} mm)"


def _fmt(p) -> str:
    return "(" + ", ".join(f"{x:.1f}" for x in p) + ") mm RAS"
