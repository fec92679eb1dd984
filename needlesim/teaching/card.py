"""The plan card: one page per trajectory, scenario or comparison, as PDF and HTML.

:func:`make_card` gathers the content from reports (numbers and sentences only, no
rendering); the caller passes the pictures (off-screen renders, a fluoroscopic view) as
arrays. :func:`write_pdf` lays the page out with matplotlib's PDF backend (no display, no
system service); :func:`write_html` writes one self-contained file with the pictures
inlined.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from .._version import __version__
from ..core.model.results import PathSegment, clearance_text
from ..core.verdict.risk import RiskReport
from ..viz.colors import COMPARE_COLOR, TISSUE_COLORS, VERDICT_COLORS
from .compare import compare

#: A4 portrait, inches.
PAGE_IN = (8.27, 11.69)
#: Clearances listed per trajectory.
MAX_CLEARANCES = 5


@dataclass(frozen=True)
class AimCard:
    """What the card says about one trajectory."""

    label: str
    aim: str
    verdict: str
    reasons: tuple[str, ...]
    clearances: tuple[str, ...]
    envelope_rules: tuple[str, ...]
    envelope_title: str
    path: tuple[PathSegment, ...]
    depth_mm: float
    backend: str


@dataclass(frozen=True)
class PlanCard:
    title: str
    aims: tuple[AimCard, ...]
    comparison: str | None
    narrative: str
    citation: str
    scene: str
    images: tuple[tuple[str, np.ndarray], ...] = ()
    version: str = __version__
    made: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    @property
    def verdict(self) -> str:
        return self.aims[-1].verdict


def aim_card(report: RiskReport, label: str) -> AimCard:
    ev, t = report.evaluation, report.evaluation.trajectory
    entry = t.entry if isinstance(t.entry, str) else "(" + ", ".join(f"{x:.1f}" for x in t.entry) + ") mm RAS"
    near = sorted(ev.contacts, key=lambda c: c.clearance_mm)[:MAX_CLEARANCES]
    return AimCard(
        label=label,
        aim=f"{t.side.value} entry {entry}: lateral {t.lateral_deg:g} deg, inferior {t.inferior_deg:g} deg, "
            f"depth {t.depth_mm:g} mm, needle {t.needle_diameter_mm:g} mm",
        verdict=report.verdict.value, reasons=tuple(r.text for r in report.reasons) or ("no rule is broken",),
        clearances=tuple(f"{c.structure}: {clearance_text(c.clearance_mm, exact=c.clearance_exact, touching='contact')}"
                         for c in near),
        envelope_rules=tuple(c.describe() for c in report.envelope_checks),
        envelope_title=f"{report.envelope.title} ({report.envelope.citation})",
        path=ev.path, depth_mm=ev.depth_mm, backend=ev.backend.value)


def make_card(report: RiskReport, *, scene: str, title: str | None = None, scenario=None,
              compare_with: RiskReport | None = None, images: Sequence[tuple[str, np.ndarray]] = ()) -> PlanCard:
    """The card of ``report`` (of ``scenario`` if given; set against ``compare_with``, the
    reference aim, if given)."""
    aims = [aim_card(report, "aim")]
    comparison = None
    if compare_with is not None:
        aims = [aim_card(compare_with, "reference aim"), aim_card(report, "compared aim")]
        comparison = compare(compare_with, report).text
    if scenario is not None:
        title = title or scenario.title
        narrative, citation = scenario.narrative, scenario.citation
    else:
        narrative = ""
        citation = report.envelope.citation
    return PlanCard(title=title or "Needle plan", aims=tuple(aims), comparison=comparison, narrative=narrative,
                    citation=citation, scene=scene, images=tuple(images))


# -- PDF -----------------------------------------------------------------------------------
def write_pdf(card: PlanCard, path: str | Path) -> Path:
    """Lay the card out on one A4 page (smaller type if it would not fit) and save it as PDF."""
    for scale in (1.0, 0.92, 0.84, 0.76, 0.68):
        fig, lowest = _layout(card, scale)
        if lowest >= 0.04:
            break
    path = Path(path)
    fig.savefig(path, format="pdf")
    return path


def _layout(card: PlanCard, scale: float):
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE_IN)
    FigureCanvasPdf(fig)
    fig.text(0.05, 0.97, card.title, fontsize=12.5, weight="bold", va="top", wrap=True)
    fig.text(0.05, 0.94, f"Verdict: {card.verdict.upper()}", fontsize=13, weight="bold", va="top", color="white",
             bbox=dict(boxstyle="round,pad=0.3", fc=VERDICT_COLORS[card.verdict], ec="none"))
    top = 0.905
    if card.comparison:
        import textwrap

        lines = textwrap.wrap(card.comparison, 105)
        fig.text(0.05, 0.908, "\n".join(lines), fontsize=9, va="top", style="italic")
        top = 0.89 - 0.014 * len(lines)
    height = 0.25 if len(card.aims) == 1 else 0.22
    _images(fig, card.images, top=top, height=height)
    y = _strips(fig, card.aims, top=top - height - 0.015 if card.images else top)
    y = _text_block(fig, card, top=y - 0.01, scale=scale)
    fig.text(0.05, 0.02, f"needlesim {card.version} | {card.scene} | backend {card.aims[-1].backend} | {card.made} "
             "| a teaching aid, not a clinical tool", fontsize=6.5, color="#555555")
    return fig, y


def _images(fig, images, *, top: float, height: float) -> None:
    n = len(images)
    if not n:
        return
    w = 0.9 / n
    for i, (caption, img) in enumerate(images):
        ax = fig.add_axes((0.05 + i * w + 0.005, top - height, w - 0.01, height))
        ax.imshow(img, cmap="gray" if np.asarray(img).ndim == 2 else None)
        ax.set_axis_off()
        ax.set_title(caption, fontsize=8)


def _strips(fig, aims: Sequence[AimCard], *, top: float) -> float:
    """The tissue path of each aim as a coloured strip, depth in mm below it."""
    deepest = max(a.depth_mm for a in aims)
    y = top
    for a in aims:
        ax = fig.add_axes((0.18, y - 0.03, 0.77, 0.022))
        for s in a.path:
            ax.barh(0, s.length_mm, left=s.start_mm, color=TISSUE_COLORS[s.tissue], edgecolor="#444444", lw=0.4)
            if s.length_mm > 5:
                ax.text(s.start_mm + s.length_mm / 2, 0, s.tissue.value, ha="center", va="center", fontsize=5.5)
        ax.set_xlim(0, deepest)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=6, length=2, pad=1)
        fig.text(0.05, y - 0.019, f"path ({a.label})", fontsize=7, va="center")
        y -= 0.05
    fig.text(0.95, y + 0.005, "depth from the skin puncture, mm", fontsize=6, ha="right")
    return y - 0.01


def _text_block(fig, card: PlanCard, *, top: float, scale: float = 1.0) -> float:
    y = top
    cols = [(0.05, a) for a in card.aims] if len(card.aims) == 1 else [(0.05, card.aims[0]), (0.52, card.aims[1])]
    width = 0.9 if len(cols) == 1 else 0.44
    lowest = y
    for x, a in cols:
        yy = _section(fig, x, y, a.label.capitalize() + f": {a.verdict.upper()}", [a.aim], width, scale=scale,
                      color=VERDICT_COLORS[a.verdict] if a.label != "reference aim" or len(cols) == 1 else COMPARE_COLOR)
        yy = _section(fig, x, yy, "Reasons", [f"- {r}" for r in a.reasons], width, scale=scale)
        yy = _section(fig, x, yy, "Clearances, needle surface to structure", a.clearances, width, scale=scale)
        yy = _section(fig, x, yy, "Envelope, rule by rule", [f"- {r}" for r in a.envelope_rules], width, scale=scale)
        lowest = min(lowest, yy)
    y = _section(fig, 0.05, lowest, "Envelope", [card.aims[-1].envelope_title], 0.9, scale=scale)
    if card.narrative:
        y = _section(fig, 0.05, y, "The case", [card.narrative], 0.9, scale=scale)
    return _section(fig, 0.05, y, "Source", [card.citation], 0.9, scale=scale)


def _section(fig, x: float, y: float, heading: str, lines: Sequence[str], width: float, *, color="black",
             scale: float = 1.0) -> float:
    import textwrap

    fig.text(x, y, heading, fontsize=8.5 * scale, weight="bold", va="top", color=color)
    y -= 0.017 * scale
    chars = int(width * 125 / scale)
    for line in lines:
        wrapped = textwrap.wrap(line, chars) or [""]
        fig.text(x, y, "\n".join(wrapped), fontsize=7.5 * scale, va="top", linespacing=1.25)
        y -= (0.0125 * len(wrapped) + 0.002) * scale
    return y - 0.008 * scale


# -- HTML ----------------------------------------------------------------------------------
def _png_b64(img: np.ndarray) -> str:
    from matplotlib.image import imsave

    buf = io.BytesIO()
    arr = np.asarray(img)
    imsave(buf, arr, format="png", cmap="gray" if arr.ndim == 2 else None)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_html(card: PlanCard, path: str | Path) -> Path:
    """One self-contained HTML page (pictures inlined as PNG)."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(card.title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}figure{display:inline-block;margin:0 .5em}"
             "figure img{max-width:18em}.v{color:white;padding:.2em .6em;border-radius:.3em}"
             ".strip{display:flex;height:1.4em;border:1px solid #444}.strip div{font-size:.7em;overflow:hidden;"
             "text-align:center}td{vertical-align:top;padding-right:2em}</style></head><body>",
             f"<h1>{e(card.title)}</h1>",
             f"<p><span class='v' style='background:{VERDICT_COLORS[card.verdict]}'>Verdict: {e(card.verdict.upper())}"
             "</span>" + (f" {e(card.comparison)}" if card.comparison else "") + "</p>"]
    parts += [f"<figure><img alt='{e(c)}' src='data:image/png;base64,{_png_b64(img)}'><figcaption>{e(c)}</figcaption>"
              "</figure>" for c, img in card.images]
    parts.append("<table><tr>")
    for a in card.aims:
        strip = "".join(f"<div title='{e(s.describe())}' style='flex:{max(s.length_mm, 0.01):.3f};"
                        f"background:{TISSUE_COLORS[s.tissue]}'>{e(s.tissue.value) if s.length_mm > 5 else ''}</div>"
                        for s in a.path)
        parts.append(f"<td><h2>{e(a.label.capitalize())}: {e(a.verdict.upper())}</h2><p>{e(a.aim)}</p>"
                     f"<div class='strip'>{strip}</div><p>path to {a.depth_mm:g} mm</p><h3>Reasons</h3><ul>"
                     + "".join(f"<li>{e(r)}</li>" for r in a.reasons) + "</ul><h3>Nearest critical structures</h3><ul>"
                     + "".join(f"<li>{e(c)}</li>" for c in a.clearances) + "</ul><h3>Envelope, rule by rule</h3><ul>"
                     + "".join(f"<li>{e(r)}</li>" for r in a.envelope_rules) + "</ul></td>")
    parts.append("</tr></table>")
    parts.append(f"<h3>Envelope</h3><p>{e(card.aims[-1].envelope_title)}</p>")
    if card.narrative:
        parts.append(f"<h3>The case</h3><p>{e(card.narrative)}</p>")
    parts.append(f"<h3>Source</h3><p>{e(card.citation)}</p><hr><p><small>needlesim {e(card.version)} | "
                 f"{e(card.scene)} | backend {e(card.aims[-1].backend)} | {e(card.made)} | a teaching aid, "
                 "not a clinical tool</small></p></body></html>")
    path = Path(path)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
