"""The fluoroscopic picture of a plan: the radiograph with the needle (or two, for a
comparison) as metal and each tip circled, in the standard view that shows the needle
longest. Numpy only (no renderer, no display): the plan card and the app share it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..core.model.scene import Scene
from ..core.verdict.risk import RiskReport
from ..viz.colors import COMPARE_COLOR, VERDICT_COLORS
from . import fluoro

#: Pixels a side of the radiograph on the card (about 7 cm wide on the page: ~140 dpi).
CARD_PIXELS = 384
#: AP (the view a C-arm starts in, and the easiest to read: no crop of the body model is
#: seen edge-on) is kept while it shows the needle at least this fraction of its length,
#: i.e. while the needle is at least 30 deg off the beam.
AP_MIN_SHOWN = 0.5
#: Radius of the circle round a tip, as a fraction of the image side, and its line width (px).
TIP_RING = 0.022
TIP_LINE_PX = 2.5


Needle = tuple[np.ndarray, np.ndarray, float]  #: (start, tip, radius_mm), as :func:`fluoro.report_needle`


def needle_view(directions: Sequence[np.ndarray]) -> str:
    """The standard view (a key of :data:`fluoro.VIEWS`) to show needles of the unit
    ``directions`` (each (3,)) in: AP while it shows each of them at :data:`AP_MIN_SHOWN` of
    its length or more (the ``sin`` of the angle between needle and beam), else the view
    that shows the shortest of them longest."""
    dirs = [np.asarray(d, float) for d in directions]
    shown = {name: min(math.sqrt(max(0.0, 1.0 - float(d @ view.beam) ** 2)) for d in dirs)
             for name, view in fluoro.VIEWS.items()}
    return "AP" if shown["AP"] >= AP_MIN_SHOWN else max(shown, key=shown.get)


def picture(image: fluoro.BoneImage, needles: Sequence[tuple[Needle, str]]) -> np.ndarray:
    """(pixels, pixels, 3) uint8: the radiograph with each needle as metal and its tip
    circled in the given colour (``"#rrggbb"``)."""
    gray = fluoro.radiograph(image, needles=[n for n, _ in needles])
    rgb = np.repeat(np.round(gray * 255).astype(np.uint8)[:, :, None], 3, axis=2)
    n = image.carm.pixels
    rows, cols = np.mgrid[0:n, 0:n]
    radius = max(3.0, TIP_RING * n)
    for (_, tip, _), colour in needles:
        col, row = image.project(np.asarray(tip, float)[None])[0]
        ring = np.abs(np.hypot(cols - col, rows - row) - radius) <= TIP_LINE_PX / 2
        rgb[ring] = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return rgb


def card_picture(scene: Scene, report: RiskReport, *, view: str = "best", compare: RiskReport | None = None,
                 pixels: int = CARD_PIXELS) -> tuple[str, np.ndarray]:
    """``(caption, picture)`` for the plan card: ``view`` a key of :data:`fluoro.VIEWS` or
    ``"best"`` (:func:`needle_view`); with ``compare``, the reference needle too, its tip in
    the comparison colour."""
    reports = [report] if compare is None else [compare, report]
    if view == "best":
        view = needle_view([r.evaluation.trajectory.direction for r in reports])
    if view not in fluoro.VIEWS:
        raise ValueError(f"unknown fluoroscopic view {view!r}: give best or one of {', '.join(fluoro.VIEWS)}")
    c = fluoro.VIEWS[view]
    image = fluoro.bone_image(scene, fluoro.CArm(c.orbit_deg, c.tilt_deg, pixels=pixels))
    marks = [(fluoro.report_needle(report), VERDICT_COLORS[report.verdict.value])]
    if compare is not None:
        marks.insert(0, (fluoro.report_needle(compare), COMPARE_COLOR))
    tips = "tips circled" if compare is not None else "tip circled"
    return f"fluoroscopy, {view} view ({tips})", picture(image, marks)
