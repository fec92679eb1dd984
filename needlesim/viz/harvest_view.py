"""A checked harvest plan in the 3D view: every pass as a needle coloured by tissue, and the
skin punctures as points (pyvista only, no Qt). Two actors, made once, their data replaced
in place."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from .colors import COMPARE_COLOR
from .needle_mesh import fill_mesh, fill_points, needle_arrays, tube_arrays

#: Sides of each pass's cylinders: a plan draws up to 64 needles, so fewer than the main needle's 20.
PASS_RESOLUTION = 12


def plan_arrays(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points, triangles, rgb)`` of every pass of a :class:`~needlesim.teaching.harvest.HarvestResult`."""
    pts, tris, rgb, n = [], [], [], 0
    for p in result.passes:
        a, b, c = needle_arrays(p.score.report, resolution=PASS_RESOLUTION)
        pts.append(a)
        tris.append(b + n)
        rgb.append(c)
        n += len(a)
    if not pts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3), np.uint8)
    return np.concatenate(pts), np.concatenate(tris), np.concatenate(rgb)


class HarvestView:
    def __init__(self, plotter: pv.Plotter) -> None:
        self.plotter = plotter
        self.needles = pv.PolyData()
        self.punctures = pv.PolyData(np.zeros((1, 3)))
        self._actors: list = []
        self.n_passes_drawn = 0

    def _make(self) -> None:
        # a speck to start with: pyvista cannot colour an empty mesh (as SceneView's needle)
        fill_mesh(self.needles, *tube_arrays(np.zeros(3), np.array([0.0, 1.0, 0.0]), 1e-6, np.array([[0.0, 1e-6]]),
                                             np.zeros((1, 3), np.uint8), resolution=3))
        self._actors = [
            self.plotter.add_mesh(self.needles, scalars="RGB", rgb=True, render=False, pickable=False,
                                  name="harvest:needles", smooth_shading=True),
            self.plotter.add_mesh(self.punctures, color=COMPARE_COLOR, point_size=13, render_points_as_spheres=True,
                                  render=False, pickable=False, name="harvest:punctures")]

    def show(self, result) -> None:
        """Draw ``result`` (a checked plan), or nothing for ``None``."""
        if not self._actors:
            self._make()
        fill_mesh(self.needles, *plan_arrays(result if result is not None else _Empty()))
        sites = [] if result is None else sorted({p.score.report.evaluation.skin_puncture for p in result.passes})
        fill_points(self.punctures, sites)
        for actor in self._actors:
            actor.SetVisibility(result is not None)
        self.n_passes_drawn = 0 if result is None else len(result.passes)
        self.n_stretches_drawn = self.needles.n_cells // (4 * PASS_RESOLUTION) if result is not None else 0


class _Empty:
    passes: tuple = ()
