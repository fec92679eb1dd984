"""The needle's-eye view (View 5): the camera at the skin puncture looking along the
needle, a crosshair on the axis (the screen's centre), and a list of what lies ahead on
the axis with its depth, nearest first: the surfaces the needle crosses, its tip, and the
critical structures it would touch if advanced. The needle itself is hidden meanwhile
(the camera is inside it); the tip and the crossings stay marked."""

from __future__ import annotations

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D, vtkTextActor

from ..core.verdict.risk import RiskReport

#: Field of view of the needle's-eye camera, degrees.
VIEW_ANGLE_DEG = 40.0
#: Crosshair arm (inner gap, outer end) as a share of the viewport's height.
CROSSHAIR = (0.015, 0.06)
CROSSHAIR_COLOR = (0.0, 0.9, 1.0)
#: Lines of the "ahead" list kept (the nearest first).
MAX_AHEAD = 12


def needle_camera(report: RiskReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, focal point, view-up) looking from the skin puncture along the needle."""
    ev = report.evaluation
    d = np.asarray(ev.trajectory.direction, float)
    position = np.asarray(ev.skin_puncture, float)
    up = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    up = up - (up @ d) * d
    return position, position + d * max(ev.depth_mm, 1.0), up / np.linalg.norm(up)


def ahead_lines(report: RiskReport) -> list[str]:
    """What lies ahead on the needle's axis, nearest first: ``"  32.0 mm  enters left ilium"``."""
    ev = report.evaluation
    items = [(h.depth_mm, f"{'enters' if h.entering else 'leaves'} {h.structure}") for h in ev.hits
             if h.depth_mm > 0]
    items.append((ev.depth_mm, "TIP"))
    items += [(c.contact_depth_mm, f"would touch {c.structure}") for c in ev.contacts
              if np.isfinite(c.contact_depth_mm) and c.contact_depth_mm > ev.depth_mm]
    items.sort(key=lambda i: i[0])
    return [f"{depth:6.1f} mm  {what}" for depth, what in items[:MAX_AHEAD]]


class NeedleEye:
    """The overlay actors of the needle's-eye view on one plotter."""

    def __init__(self, plotter: pv.Plotter) -> None:
        self.plotter = plotter
        self.crosshair = self._make_crosshair()
        self.text = vtkTextActor()
        prop = self.text.GetTextProperty()
        prop.SetFontFamilyToCourier()
        prop.SetFontSize(14)
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetBackgroundColor(0.1, 0.1, 0.1)
        prop.SetBackgroundOpacity(0.75)
        prop.SetVerticalJustificationToTop()
        self.text.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        self.text.SetPosition(0.01, 0.985)  # upper left: the orientation axes are lower left
        for actor in (self.crosshair, self.text):
            actor.SetVisibility(False)
            actor.SetPickable(False)
            plotter.renderer.AddViewProp(actor)
        self.active = False

    def _make_crosshair(self) -> vtkActor2D:
        g0, g1 = CROSSHAIR
        pts = vtkPoints()
        lines = vtkCellArray()
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            a = pts.InsertNextPoint(0.5 + dx * g0, 0.5 + dy * g0, 0.0)
            b = pts.InsertNextPoint(0.5 + dx * g1, 0.5 + dy * g1, 0.0)
            lines.InsertNextCell(2, (a, b))
        poly = vtkPolyData()
        poly.SetPoints(pts)
        poly.SetLines(lines)
        coord = vtkCoordinate()
        coord.SetCoordinateSystemToNormalizedViewport()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coord)
        actor = vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*CROSSHAIR_COLOR)
        actor.GetProperty().SetLineWidth(2)
        return actor

    def show(self, report: RiskReport | None) -> None:
        """Aim the camera down the needle of ``report`` and list what lies ahead."""
        if report is None:
            self.hide()
            return
        self.active = True
        position, focal, up = needle_camera(report)
        cam = self.plotter.camera
        cam.position, cam.focal_point, cam.up = tuple(position), tuple(focal), tuple(up)
        cam.view_angle = VIEW_ANGLE_DEG
        cam.clipping_range = (0.5, 400.0)
        self.text.SetInput("Down the needle, from the skin puncture (+ = the axis)\n"
                           "ahead on the axis, depth from the skin:\n" + "\n".join(ahead_lines(report)))
        self.crosshair.SetVisibility(True)
        self.text.SetVisibility(True)

    def hide(self) -> None:
        self.active = False
        self.crosshair.SetVisibility(False)
        self.text.SetVisibility(False)
