"""Landmarks under review drawn on the bone, coloured by their confidence band
(:mod:`needlesim.anatomy.review_model`), the selected one ringed. pyvista only, no Qt."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyvista as pv

#: Point colour by confidence band (``Band.value``): green, amber, red, readable on bone and skin.
BAND_COLORS = {"ok": "#1f9e5a", "review": "#f0a30a", "doubtful": "#d7263d"}
#: The selected landmark's ring.
SELECTED_COLOR = "#1565c0"
#: Point sizes, pixels.
POINT_PX, SELECTED_PX = 13, 24
ACTOR, SELECTED_ACTOR = "landmark-review", "landmark-review-selected"


def band_rgb(bands: Sequence[str]) -> np.ndarray:
    """(n, 3) uint8 colours of the bands."""
    return np.array([pv.Color(BAND_COLORS[b]).int_rgb for b in bands], dtype=np.uint8).reshape(-1, 3)


class ReviewMarks:
    """The review's points on ``plotter``: one actor for all, one for the selected ring."""

    def __init__(self, plotter: pv.Plotter) -> None:
        self.plotter = plotter
        self.shown = False

    def show(self, points: np.ndarray, bands: Sequence[str], selected: int | None = None) -> None:
        """Draw ``points`` ((n, 3) float, mm) in their bands' colours; ring ``selected``."""
        self.clear()
        points = np.asarray(points, float).reshape(-1, 3)
        if not len(points):
            return
        if selected is not None:
            self.plotter.add_points(points[selected][None], color=SELECTED_COLOR, point_size=SELECTED_PX,
                                    render_points_as_spheres=True, name=SELECTED_ACTOR, pickable=False,
                                    render=False, reset_camera=False)
        self.plotter.add_points(points, scalars=band_rgb(bands), rgb=True, point_size=POINT_PX,
                                render_points_as_spheres=True, name=ACTOR, pickable=False, render=False,
                                reset_camera=False)
        self.shown = True

    def clear(self) -> None:
        for name in (ACTOR, SELECTED_ACTOR):
            self.plotter.remove_actor(name, render=False)
        self.shown = False
