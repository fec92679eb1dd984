"""Draw ``docs/images/conventions.png`` (and ``.svg``): the frame and angle conventions.

Every arrow, arc and number in the figure is computed with :mod:`needlesim.core.model.conventions`
(each arc is checked against the number it is labelled with), so the figure cannot drift
from the code. The anatomy is a schematic, not a model: it only gives the arrows something
to point at. Rendered through ``matplotlib.figure.Figure`` (Agg for PNG, SVG), without
pyplot, so importing this module changes no global backend.

Usage::

    python3 scripts/make_convention_figures.py [--out-dir docs/images]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import patches
from matplotlib.figure import Figure  # no pyplot: no global backend or figure registry
from matplotlib.lines import Line2D

REPO = Path(__file__).resolve().parents[1]
try:
    import needlesim  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from needlesim.core.model.conventions import (  # noqa: E402
    ANTERIOR,
    angles_from_direction,
    direction_from_angles,
    lateral_unit,
    projected_angles,
)

#: The worked example of docs/conventions.md.
LATERAL_DEG, INFERIOR_DEG = 30.0, 22.5
#: Schematic geometry, RAS mm (origin: the midline at the PSIS level, y = 0 at the PSIS).
PSIS_X_MM = 40.0  # half the inter-PSIS distance (estimate 80-115 mm, see the references)
SKIN_Y_MM = -30.0  # the skin, drawn as the plane y = const 30 mm behind the PSIS
DEPTH_MM = 60.0  # Nam 2019: advance no more than 6 cm

#: Screen axes (rows: screen right, screen up) of each 2D view, as RAS vectors.
POSTERIOR_VIEW = np.array([[1.0, 0, 0], [0, 0, 1.0]])  # from behind: x right, z up
AXIAL_VIEW = np.array([[-1.0, 0, 0], [0, 1.0, 0]])  # radiological: R on the left, A up
SAGITTAL_VIEW = np.array([[0, -1.0, 0], [0, 0, 1.0]])  # from the left: A on the left, S up

C_NEEDLE, C_PROJ, C_ALT = "#c0392b", "#1f5fa8", "#555555"
C_BONE, C_SACRUM, C_EDGE, C_SKIN = "#eadfc8", "#d9c9a8", "#7a6a4a", "#f7ebe2"
BOX = dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85)
FS = 9.5  # annotation font size, pt


@dataclass(frozen=True)
class Needle:
    """One needle of the figure: its direction and the points a report gives, RAS mm."""

    side: str
    direction: np.ndarray
    entry: np.ndarray
    skin: np.ndarray
    tip: np.ndarray
    soft_mm: float
    bone_mm: float


def make_needle(lateral_deg: float, inferior_deg: float, side: str) -> Needle:
    """The needle through the ``side`` PSIS; its skin puncture lies on the plane y = SKIN_Y_MM."""
    d = direction_from_angles(lateral_deg, inferior_deg, side)
    entry = np.array([PSIS_X_MM if side == "right" else -PSIS_X_MM, 0.0, 0.0])
    soft = (entry[1] - SKIN_Y_MM) / d[1]
    skin = entry - soft * d
    return Needle(side, d, entry, skin, skin + DEPTH_MM * d, soft, DEPTH_MM - soft)


def scr(view: np.ndarray, p) -> np.ndarray:
    """(2,) screen coordinates of a RAS point or vector ``p`` in a 2D ``view``."""
    return view @ np.asarray(p, dtype=float)


def poly(ax, view, pts, **kw) -> None:
    """A filled polygon from RAS points."""
    ax.add_patch(patches.Polygon([scr(view, p) for p in pts], **kw))


def angle_arc(ax, view, centre, v_to, radius, value_deg, label, color, text_xy, *,
              ha="left", at_end=False) -> None:
    """Draw the arc from the anterior axis to ``v_to`` around ``centre`` and label it at
    screen ``text_xy``. The arc must span ``value_deg`` (a number from conventions.py),
    so the picture and its label cannot disagree."""
    a0, a1 = (math.degrees(math.atan2(*scr(view, v)[::-1])) for v in (ANTERIOR, v_to))
    span = (a1 - a0 + 180.0) % 360.0 - 180.0
    if abs(abs(span) - abs(value_deg)) > 1e-6:
        raise AssertionError(f"arc spans {span:.6f} deg but is labelled {value_deg:.6f} deg")
    lo, hi = sorted((a0, a0 + span))
    c = scr(view, centre)
    ax.add_patch(patches.Arc(c, 2 * radius, 2 * radius, theta1=lo, theta2=hi, color=color, lw=1.8))
    mid = math.radians(a0 + span if at_end else (lo + hi) / 2)
    ax.annotate(label, c + radius * np.array([math.cos(mid), math.sin(mid)]), text_xy,
                color=color, fontsize=FS, fontweight="bold", va="center", ha=ha, bbox=BOX,
                arrowprops=dict(arrowstyle="-", color=color, lw=0.8, shrinkA=0, shrinkB=0))


def ray(ax, view, start, d, length, *, color, ls="-", lw=2.4) -> np.ndarray:
    """An arrow from RAS ``start`` along ``d`` for ``length`` mm; returns its screen tip."""
    a, b = scr(view, start), scr(view, np.asarray(start) + length * np.asarray(d))
    ax.annotate("", b, a, arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, ls=ls,
                                          mutation_scale=15, shrinkA=0, shrinkB=0))
    return b


def dot(ax, xy, **kw) -> None:
    ax.plot(*xy, "o", ms=kw.pop("ms", 8), mfc=kw.pop("mfc", "k"), mec=kw.pop("mec", "w"),
            mew=kw.pop("mew", 1.2), zorder=6, **kw)


def axis_triad(ax, view, origin, length, labels, normal_into, normal_label, normal_xy) -> None:
    """Arrows for the two in-plane RAS axes of a view, and a circled x (axis into the page)
    or circled dot (out of the page) for the third. ``labels``: axis index -> text."""
    o = np.asarray(origin, dtype=float)
    for i, text in labels.items():
        s = scr(view, np.eye(3)[i])
        ax.annotate("", o + length * s, o, arrowprops=dict(arrowstyle="-|>", color="k", lw=1.4,
                                                           shrinkA=0, shrinkB=0))
        ha = "center" if s[0] == 0 else ("left" if s[0] > 0 else "right")
        ax.text(*(o + (length + 3) * s), text, fontsize=FS, ha=ha,
                va="bottom" if s[1] > 0 else "center")
    r = 0.16 * length
    ax.add_patch(patches.Circle(o, r, fc="white", ec="k", lw=1.4, zorder=5))
    if normal_into:
        k = r * 0.7
        ax.plot([o[0] - k, o[0] + k], [o[1] - k, o[1] + k], "k", lw=1.4, zorder=6)
        ax.plot([o[0] - k, o[0] + k], [o[1] + k, o[1] - k], "k", lw=1.4, zorder=6)
    else:
        ax.plot(*o, "k.", ms=6, zorder=6)
    ax.annotate(normal_label, o, normal_xy, fontsize=FS, va="center", ha="center",
                arrowprops=dict(arrowstyle="-", lw=0.7, shrinkB=8))


def style_2d(ax, title, xlim, ylim) -> None:
    ax.set_aspect("equal")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=11, loc="left", fontweight="bold")


# --------------------------------------------------------------------------- (a) posterior
def _ilium(sign: float) -> list[tuple[float, float, float]]:
    """Schematic iliac wing seen from behind, RAS points; ``sign`` -1 left, +1 right."""
    xz = [(40, 2), (44, 30), (52, 58), (75, 84), (110, 92), (140, 80), (155, 55), (150, 20),
          (132, -20), (118, -55), (110, -95), (92, -112), (76, -100), (80, -70), (66, -45),
          (52, -28), (44, -12)]
    return [(sign * x, 0.0, z) for x, z in xz]


def panel_posterior(ax, left: Needle) -> None:
    v = POSTERIOR_VIEW
    sacrum = [(-46, 50), (46, 50), (42, 10), (30, -40), (12, -82), (-12, -82), (-30, -40),
              (-42, 10)]
    poly(ax, v, [(x, 0, z) for x, z in sacrum], fc=C_SACRUM, ec=C_EDGE, lw=1.2)
    ax.add_patch(patches.FancyBboxPatch((-26, 58), 52, 24, boxstyle="round,pad=2",
                                        fc=C_SACRUM, ec=C_EDGE, lw=1.2))
    ax.text(0, 70, "L5", ha="center", va="center", fontsize=FS)
    for sign in (-1.0, 1.0):
        poly(ax, v, _ilium(sign), fc=C_BONE, ec=C_EDGE, lw=1.2)
        for z in (32, 5, -20, -42):  # dorsal sacral foramina S1-S4
            ax.add_patch(patches.Ellipse((sign * (15 - z * 0.06), z), 7, 6, fc="white", ec=C_EDGE))
    ax.text(0, 5, "S2", ha="center", va="center", fontsize=8.5, color="#5a4a2a")
    ax.text(0, -64, "sacrum", ha="center", fontsize=9, color="#5a4a2a")
    ax.text(-95, -68, "left\nilium", ha="center", fontsize=9, color="#5a4a2a")
    ax.text(95, -68, "right\nilium", ha="center", fontsize=9, color="#5a4a2a")
    ax.plot([-PSIS_X_MM, PSIS_X_MM], [0, 0], color="0.3", lw=0.8, ls=":")
    skin, entry, tip = (scr(v, p) for p in (left.skin, left.entry, left.tip))
    ax.annotate("", tip, skin, arrowprops=dict(arrowstyle="-|>", color=C_NEEDLE, lw=2.6,
                                               mutation_scale=15, shrinkA=0, shrinkB=0))
    dot(ax, entry)
    dot(ax, scr(v, (PSIS_X_MM, 0, 0)))
    dot(ax, skin, mfc="white", mec=C_NEEDLE, mew=2, ms=7)
    ax.annotate("left PSIS\n= bone entry", entry, (-120, -30), ha="center", fontsize=FS,
                bbox=BOX, arrowprops=dict(arrowstyle="-", lw=0.8))
    ax.annotate("right PSIS", (PSIS_X_MM, 0), (95, -8), ha="center", fontsize=FS, bbox=BOX,
                arrowprops=dict(arrowstyle="-", lw=0.8))
    ax.annotate("skin puncture (on the skin,\nabove the page)", skin, (-108, 62), ha="center",
                fontsize=FS, color=C_NEEDLE, bbox=BOX,
                arrowprops=dict(arrowstyle="-", color=C_NEEDLE, lw=0.8))
    ax.annotate(f"left needle, L {LATERAL_DEG:g}°, I {INFERIOR_DEG:g}°,\nseen from behind: "
                "the tip goes\nlateral (−x) and inferior (−z)", tip, (-185, -110), ha="left",
                fontsize=FS, color=C_NEEDLE, bbox=BOX,
                arrowprops=dict(arrowstyle="-", color=C_NEEDLE, lw=0.8))
    axis_triad(ax, v, (150, -105), 26, {0: "+x right", 2: "+z superior"}, True,
               "+y anterior\n(into the page)", (100, -130))
    ax.text(-185, 120, "patient's LEFT", fontsize=10, fontweight="bold", va="top")
    ax.text(217, 120, "patient's RIGHT", fontsize=10, fontweight="bold", ha="right", va="top")
    style_2d(ax, "(a) posterior view of the prone patient (schematic)", (-190, 222), (-142, 124))


# --------------------------------------------------------------------------- (b) axial
def _trunk_outline() -> list[tuple[float, float, float]]:
    """Superellipse outline of the trunk at the PSIS level (flat back on the skin plane)."""
    t = np.linspace(0, 2 * np.pi, 200)
    a, b, n = 175.0, 105.0, 3.0
    x = a * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / n)
    y = b * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / n) + SKIN_Y_MM + b
    return [(xi, yi, 0.0) for xi, yi in zip(x, y)]


def panel_axial(ax, left: Needle) -> None:
    v = AXIAL_VIEW
    poly(ax, v, _trunk_outline(), fc=C_SKIN, ec="#b08a70", lw=1.2)
    sacrum = [(-36, 8), (36, 8), (44, 40), (32, 72), (-32, 72), (-44, 40)]
    poly(ax, v, [(x, y, 0) for x, y in sacrum], fc=C_SACRUM, ec=C_EDGE)
    ax.add_patch(patches.Ellipse(scr(v, (0, 24, 0)), 22, 12, fc="#fff6c8", ec=C_EDGE))
    ax.text(0, 36, "sacrum", ha="center", fontsize=9, color="#5a4a2a")
    ilium = [(40, 0), (58, 6), (128, 86), (124, 100), (104, 96), (50, 46), (42, 20)]
    for sign in (-1.0, 1.0):
        poly(ax, v, [(sign * x, y, 0) for x, y in ilium], fc=C_BONE, ec=C_EDGE)
    for x, ls, y_text, txt in ((-PSIS_X_MM, "--", 127, "para-sagittal plane\nthrough the entry"),
                               (0.0, ":", 100, "mid-sagittal")):
        sx = scr(v, (x, 0, 0))[0]
        ax.plot([sx, sx], [-28, y_text - 3], color="0.25", ls=ls, lw=1.1)
        ax.text(sx, y_text, txt, ha="center", va="bottom", fontsize=9)
    for n in (left, make_needle(LATERAL_DEG, 0.0, "right")):
        ray(ax, v, n.entry, direction_from_angles(LATERAL_DEG, 0.0, n.side), 100, color=C_NEEDLE)
        dot(ax, scr(v, n.entry))
    med = direction_from_angles(-15.0, 0.0, "left")
    ray(ax, v, left.entry, med, 70, color=C_ALT, ls=":", lw=2.2)
    ax.text(12, 62, "L = −15°\n(medial)", color=C_ALT, fontsize=FS, ha="right", va="center",
            bbox=BOX)
    dproj = left.direction * [1, 1, 0]
    ray(ax, v, left.entry, dproj, 100 / np.linalg.norm(dproj), color=C_PROJ, ls="--", lw=2.2)
    axial, _ = projected_angles(left.direction, "left")
    lat = direction_from_angles(LATERAL_DEG, 0.0, "left")
    angle_arc(ax, v, left.entry, lat, 40, LATERAL_DEG, f"L = {LATERAL_DEG:g}°  (I = 0)",
              C_NEEDLE, (100, 22))
    angle_arc(ax, v, left.entry, dproj, 62, axial,
              f"axial {axial:.1f}°\n(L {LATERAL_DEG:g}°, I {INFERIOR_DEG:g}°)", C_PROJ,
              (112, 62))
    ax.text(-100, 22, f"right entry:\nL = +{LATERAL_DEG:g}° is +x", fontsize=FS, ha="center",
            color=C_NEEDLE, bbox=BOX)
    e, below = scr(v, left.entry), np.array([0.0, -15.0])
    for sign, text in ((1, "lateral (positive)"), (-1, "medial (negative)")):
        u = sign * scr(v, lateral_unit("left"))  # screen direction of lateral / medial
        ax.annotate("", e + below + 34 * u, e + below + 6 * u,
                    arrowprops=dict(arrowstyle="-|>", color="k", shrinkA=0, shrinkB=0))
        ax.text(*(e + below + 37 * u), text, fontsize=FS, va="center",
                ha="left" if u[0] > 0 else "right")
    ax.text(-218, 188, "patient's\nRIGHT", fontsize=10, fontweight="bold", va="top")
    ax.text(198, 188, "patient's\nLEFT", fontsize=10, fontweight="bold", ha="right", va="top")
    ax.text(0, 160, "anterior (belly, on the table)", ha="center", fontsize=FS)
    ax.text(95, -60, "posterior: the back and the skin\n(uppermost in the room: prone)",
            ha="center", va="center", fontsize=FS)
    axis_triad(ax, v, (-150, -55), 24, {0: "+x right", 1: "+y anterior"}, True,
               "+z superior\n(into the page)", (-85, -58))
    style_2d(ax, "(b) axial slice as CT/MR viewers show it: seen from\n"
             "the feet, anterior up, patient's right on the viewer's LEFT", (-222, 202),
             (-78, 192))


def legend(ax, entries, loc) -> None:
    """A legend of (color, linestyle, text) line samples."""
    handles = [Line2D([], [], color=c, ls=ls, lw=2.2) for c, ls, _ in entries]
    ax.legend(handles, [t for *_, t in entries], loc="lower left", bbox_to_anchor=loc,
              fontsize=9, framealpha=0.9, handlelength=2.6)


# --------------------------------------------------------------------------- (c) sagittal
def panel_sagittal(ax, left: Needle) -> None:
    v = SAGITTAL_VIEW
    z = np.linspace(-110, 110, 60)
    back = SKIN_Y_MM + 6 * (1 - np.cos(z / 70))  # gently curved, on the skin plane at z = 0
    body = [(0, y, zz) for y, zz in zip(back, z)] + [(0, 150, 110), (0, 150, -110)]
    poly(ax, v, body, fc=C_SKIN, ec="#b08a70", lw=1.2)
    ilium = [(0, 0), (2, 40), (10, 62), (40, 60), (70, 30), (75, -10), (55, -45), (30, -50),
             (8, -30)]
    poly(ax, v, [(0, y, zz) for y, zz in ilium], fc=C_BONE, ec=C_EDGE)
    ax.annotate("posterior ilium (section\nthrough the left PSIS)", (-35, 55), (-105, 78),
                fontsize=9, ha="center", va="center", color="#5a4a2a",
                arrowprops=dict(arrowstyle="-", color="#5a4a2a", lw=0.7))
    ax.plot([-150, 30], [0, 0], color="0.25", ls="--", lw=1.1)
    ax.text(-150, 3, "transverse plane (z = const)", fontsize=9, va="bottom")
    inf = direction_from_angles(0.0, INFERIOR_DEG, "left")
    skin = left.entry - (left.entry[1] - SKIN_Y_MM) / inf[1] * inf
    ax.plot(*np.c_[scr(v, skin), scr(v, left.entry)], color=C_NEEDLE, lw=2.4)
    ray(ax, v, left.entry, inf, 110, color=C_NEEDLE)
    ceph = direction_from_angles(0.0, -25.0, "left")
    ray(ax, v, left.entry, ceph, 80, color=C_ALT, ls=":", lw=2.2)
    dproj = left.direction * [0, 1, 1]
    ray(ax, v, left.entry, dproj, 110 / np.linalg.norm(dproj), color=C_PROJ, ls="--", lw=2.2)
    dot(ax, scr(v, left.entry))
    dot(ax, scr(v, skin), mfc="white", mec=C_NEEDLE, mew=2, ms=7)
    _, sagittal = projected_angles(left.direction, "left")
    angle_arc(ax, v, left.entry, inf, 95, INFERIOR_DEG, f"I = {INFERIOR_DEG:g}°", C_NEEDLE,
              (-104, -16), ha="right")
    angle_arc(ax, v, left.entry, dproj, 55, sagittal, f"sagittal {sagittal:.1f}°", C_PROJ,
              (-40, -58), ha="center", at_end=True)
    ax.text(-75, 38, "I = −25°: D'Souza's\n\"25° cephalad\"", color=C_ALT, fontsize=FS,
            ha="center", va="bottom", bbox=BOX)
    ax.annotate("skin\npuncture", scr(v, skin), (72, 38), ha="center", fontsize=FS,
                color=C_NEEDLE, arrowprops=dict(arrowstyle="-", color=C_NEEDLE, lw=0.8))
    ax.annotate("left PSIS\n(bone entry)", scr(v, left.entry), (72, -22), ha="center",
                fontsize=FS, arrowprops=dict(arrowstyle="-", lw=0.8))
    ax.annotate("head\n(superior)", (-172, 110), (-172, 62), ha="center", fontsize=10,
                fontweight="bold", arrowprops=dict(arrowstyle="-|>", lw=1.4))
    ax.annotate("feet\n(inferior)", (-172, -110), (-172, -60), ha="center", va="top",
                fontsize=10, fontweight="bold", arrowprops=dict(arrowstyle="-|>", lw=1.4))
    ax.text(72, 100, "back (skin),\nposterior", ha="center", fontsize=FS)
    ax.text(-100, 104, "anterior", ha="center", fontsize=FS)
    legend(ax, [(C_NEEDLE, "-", f"L 0°, I {INFERIOR_DEG:g}° (in the slice)"),
                (C_PROJ, "--", f"L {LATERAL_DEG:g}°, I {INFERIOR_DEG:g}°, projected"),
                (C_ALT, ":", "L 0°, I −25° (cephalad)")], (0.16, 0.015))
    axis_triad(ax, v, (80, -72), 22, {1: "+y anterior", 2: "+z superior"}, True,
               "+x right\n(into the page)", (80, -102))
    style_2d(ax, "(c) sagittal slice seen from the patient's left:\n"
             "anterior on the left, head up", (-195, 112), (-125, 122))


# --------------------------------------------------------------------------- (d) 3D
VIEW_3D = dict(elev=18, azim=-155)


def panel_3d_needle(ax, left: Needle) -> None:
    """The needle from the skin puncture through the bone entry to the tip."""
    d, e, s, t = left.direction, left.entry, left.skin, left.tip
    xx, zz = np.meshgrid([-70, 0], [-25, 35])
    ax.plot_surface(xx, np.full(xx.shape, SKIN_Y_MM), zz, color="#e9b89a", alpha=0.45, lw=0,
                    shade=False, zorder=1)
    ax.text(0, SKIN_Y_MM, 37, "skin (a plane here)", fontsize=FS, color="#8a5a3a",
            ha="center", va="bottom")
    ax.plot(*np.c_[s - 20 * d, s], color=C_NEEDLE, ls=":", lw=1.2, zorder=3)
    ax.plot(*np.c_[s, e], color="#e67e22", lw=4, zorder=4)
    ax.plot(*np.c_[e, t], color=C_NEEDLE, lw=4, zorder=4)
    for p, mk, fc in ((s, "o", "white"), (e, "o", "k"), (t, "v", C_NEEDLE)):
        ax.scatter(*p, marker=mk, s=60, c=fc, edgecolors=C_NEEDLE, depthshade=False, zorder=5)
    ax.text(*(s + (0, 0, 6)), "skin puncture:\ndepth 0", fontsize=FS, ha="center", va="bottom")
    ax.text(*(e + (0, 0, 7)), f"bone entry (left PSIS):\ndepth {left.soft_mm:.1f} mm",
            fontsize=FS, ha="center", va="bottom")
    ax.text(*(t + (0, 0, -9)), f"tip: depth {DEPTH_MM:g} mm", fontsize=FS, ha="center",
            va="top", color=C_NEEDLE)
    ax.text(*((s + e) / 2 + (0, 0, -5)), f"soft tissue\n{left.soft_mm:.1f} mm", fontsize=FS,
            color="#b35900", ha="center", va="top")
    ax.text(*((e + t) / 2 + (0, 0, -4)), f"bone {left.bone_mm:.1f} mm", fontsize=FS,
            color=C_NEEDLE, ha="left", va="top")
    ax.set_xlim(-70, 0)
    ax.set_ylim(-45, 25)
    ax.set_zlim(-30, 40)
    ax.set_box_aspect((70, 70, 70), zoom=1.35)
    ax.set_axis_off()
    ax.view_init(**VIEW_3D)


def panel_3d_vector(ax, d: np.ndarray) -> None:
    """The unit direction d, its x, y, z legs and the RAS axes, seen as in the needle panel."""
    for i, name in enumerate(("+x\nright", "+y\nanterior", "+z\nsuperior")):
        length = (0.6, 1.15, 0.85)[i]
        ax.quiver(0, 0, 0, *(length * np.eye(3)[i]), color="0.4", lw=1.2,
                  arrow_length_ratio=0.15)
        ax.text(*((length + 0.3) * np.eye(3)[i]), name, fontsize=FS, ha="center", va="center",
                color="0.3")
    p0 = np.zeros(3)
    for i, c in enumerate(("#1f77b4", "#2ca02c", "#8e44ad")):
        p1 = p0.copy()
        p1[i] += d[i]
        ax.plot(*np.c_[p0, p1], color=c, lw=2.4, ls="--")
        off, ha, va = (((0, 0, -0.06), "left", "top"), ((0, 0, 0.05), "center", "bottom"),
                       ((0, 0.08, 0), "right", "center"))[i]
        ax.text(*((p0 + p1) / 2 + off), f"d_{'xyz'[i]}\n{d[i]:+.3f}", color=c, fontsize=FS,
                ha=ha, va=va)
        p0 = p1
    ax.quiver(0, 0, 0, *d, color="k", lw=2.2, arrow_length_ratio=0.12)
    ax.text(*(0.5 * d + (0, 0, -0.1)), "d", fontsize=12, fontweight="bold", ha="center",
            va="top")
    ax.set_xlim(-0.8, 0.9)
    ax.set_ylim(-0.3, 1.4)
    ax.set_zlim(-0.6, 1.0)
    ax.set_box_aspect((1.7, 1.7, 1.6), zoom=1.2)
    ax.set_axis_off()
    ax.view_init(**VIEW_3D)


def panel_3d_text(ax, left: Needle) -> None:
    d = left.direction
    lat, inf = angles_from_direction(d, "left")
    ax.axis("off")
    ax.text(0, 1, f"d = ({d[0]:.3f}, {d[1]:.3f}, {d[2]:.3f}), a unit vector in RAS\n"
            f"sin L = d·lateral = d·(−1, 0, 0) = {-d[0]:.3f} → L = {lat:.1f}°;  "
            f"sin I = −d_z = {-d[2]:.3f} → I = {inf:.1f}°\n"
            f"depth {DEPTH_MM:g} mm = soft tissue {left.soft_mm:.1f} mm + bone "
            f"{left.bone_mm:.1f} mm, along the needle",
            fontsize=FS, va="top", ha="left", transform=ax.transAxes, linespacing=1.5)


# --------------------------------------------------------------------------- main
def draw() -> Figure:
    """The four-panel figure (12 x 9 in)."""
    left = make_needle(LATERAL_DEG, INFERIOR_DEG, "left")
    with matplotlib.rc_context({"font.size": 10, "svg.hashsalt": "needlesim"}):
        fig = Figure(figsize=(12, 9))
        panel_posterior(fig.add_axes((0.01, 0.52, 0.48, 0.44)), left)
        panel_axial(fig.add_axes((0.51, 0.52, 0.48, 0.44)), left)
        panel_sagittal(fig.add_axes((0.01, 0.04, 0.48, 0.44)), left)
        panel_3d_needle(fig.add_axes((0.50, 0.12, 0.30, 0.33), projection="3d"), left)
        panel_3d_vector(fig.add_axes((0.79, 0.12, 0.21, 0.33), projection="3d"), left.direction)
        panel_3d_text(fig.add_axes((0.51, 0.03, 0.48, 0.08)), left)
        fig.text(0.51, 0.455, f"(d) 3D: L {LATERAL_DEG:g}°, I {INFERIOR_DEG:g}° from the left "
                 "PSIS;\ndepth is measured from the skin puncture", fontsize=11,
                 fontweight="bold")
        fig.text(0.5, 0.003, "RAS frame, mm (as in 3D Slicer): +x patient's right, +y anterior, "
                 "+z superior. Drawn by scripts/make_convention_figures.py from "
                 "needlesim.core.model.conventions.", ha="center", va="bottom", fontsize=9, color="0.3")
    return fig


def main(out_dir: str | Path | None = None) -> list[Path]:
    """Write ``conventions.png`` (150 dpi) and ``conventions.svg`` into ``out_dir``
    (default ``docs/images``) and return their paths."""
    out = Path(out_dir) if out_dir is not None else REPO / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    fig = draw()
    paths = [out / "conventions.png", out / "conventions.svg"]
    with matplotlib.rc_context({"svg.hashsalt": "needlesim"}):
        fig.savefig(paths[0], dpi=150, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None})
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=None, help="folder to write to (docs/images)")
    for path in main(parser.parse_args().out_dir):
        print(path)
