"""Landmark names that never overlap: placed in screen space before every frame, the most
important first (PSIS and harvest entries, then the rest by name), each beside its point
in the first free spot of a few candidates; a name with no free spot is left out until the
view makes room (zoom in to see it)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyvista as pv
from vtkmodules.vtkRenderingCore import vtkTextActor

#: Gap between a point and its name, pixels.
GAP_PX = 6
#: Room kept free around every landmark point, pixels (a name never covers a point).
POINT_PX = 4


def priority(names: Sequence[str]) -> list[int]:
    """Indices of ``names``, most important first."""
    return sorted(range(len(names)), key=lambda i: (not names[i].endswith(("-psis", "-entry")), names[i]))


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> bool:
    if not len(boxes):
        return False
    return bool(np.any((box[0] < boxes[:, 2]) & (boxes[:, 0] < box[2]) & (box[1] < boxes[:, 3]) & (boxes[:, 1] < box[3])))


def place_labels(anchors_px: np.ndarray, sizes_px: np.ndarray, order: Sequence[int],
                 viewport_px: tuple[int, int], *, blocked_px: np.ndarray | None = None) -> list[np.ndarray | None]:
    """Lower-left corner of each label (display pixels), or ``None`` where none fits.

    Parameters
    ----------
    anchors_px : (n, 2) float: the points' display positions (``nan``: behind the camera)
    sizes_px : (n, 2) float: each label's width and height
    order : placement order (the first gets the best spot)
    viewport_px : (width, height)
    blocked_px : (k, 4) float: boxes (x0, y0, x1, y1) no label may cover
    """
    width, height = viewport_px
    g = GAP_PX
    points = np.array([[x - POINT_PX, y - POINT_PX, x + POINT_PX, y + POINT_PX]
                       for x, y in anchors_px if np.isfinite(x)]).reshape(-1, 4)
    taken = np.vstack([points, blocked_px]) if blocked_px is not None and len(blocked_px) else points
    out: list[np.ndarray | None] = [None] * len(anchors_px)
    for i in order:
        (x, y), (w, h) = anchors_px[i], sizes_px[i]
        if not np.isfinite(x):
            continue
        for dx, dy in ((g, g), (g, -h - g), (-w - g, g), (-w - g, -h - g), (-w / 2, g), (-w / 2, -h - g)):
            box = np.array([x + dx, y + dy, x + dx + w, y + dy + h])
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height or _overlaps(box, taken):
                continue
            out[i] = box[:2]
            taken = np.vstack([taken, box])
            break
    return out


class LandmarkLabels:
    """One text actor per landmark, re-placed before every frame while shown."""

    def __init__(self, plotter: pv.Plotter) -> None:
        self.plotter = plotter
        self.names: list[str] = []
        self.points = np.zeros((0, 3))
        self.actors: list[vtkTextActor] = []
        self._sizes = np.zeros((0, 2))
        self._tag = plotter.ren_win.AddObserver("StartEvent", lambda *_: self.place())

    def set_landmarks(self, landmarks: dict[str, np.ndarray] | None) -> None:
        """Show the names of ``landmarks`` (``None`` or empty: none)."""
        for actor in self.actors:
            self.plotter.renderer.RemoveViewProp(actor)
        self.names = sorted(landmarks or {})
        self.points = np.array([landmarks[n] for n in self.names], float).reshape(-1, 3)
        self.actors = []
        for name in self.names:
            actor = vtkTextActor()
            actor.SetInput(name)
            prop = actor.GetTextProperty()
            prop.SetFontSize(13)
            prop.SetColor(0.08, 0.08, 0.08)
            prop.SetBackgroundColor(1.0, 1.0, 1.0)
            prop.SetBackgroundOpacity(0.8)
            actor.SetPickable(False)
            self.plotter.renderer.AddViewProp(actor)
            self.actors.append(actor)
        self._sizes = np.zeros((len(self.names), 2))

    def _display(self) -> np.ndarray:
        """(n, 2) display pixels of the points (``nan`` behind the camera)."""
        ren = self.plotter.renderer
        w, h = ren.GetSize()
        cam = ren.GetActiveCamera()
        m = np.array([[cam.GetCompositeProjectionTransformMatrix(w / max(h, 1), -1, 1).GetElement(i, j)
                       for j in range(4)] for i in range(4)])
        p = np.c_[self.points, np.ones(len(self.points))] @ m.T
        ndc = p[:, :2] / p[:, 3:4]
        ok = (p[:, 3] > 0) & (np.abs(p[:, 2] / p[:, 3]) <= 1)
        x0, y0 = ren.GetOrigin()
        px = np.c_[x0 + (ndc[:, 0] + 1) / 2 * w, y0 + (ndc[:, 1] + 1) / 2 * h]
        px[~ok] = np.nan
        return px

    def place(self) -> list[np.ndarray | None]:
        if not self.actors:
            return []
        ren = self.plotter.renderer
        for i, actor in enumerate(self.actors):
            if not self._sizes[i].any():
                bbox = [0.0] * 4
                actor.GetBoundingBox(ren, bbox)
                self._sizes[i] = (bbox[1] - bbox[0], bbox[3] - bbox[2])
        spots = place_labels(self._display(), self._sizes, priority(self.names), ren.GetSize())
        for actor, spot in zip(self.actors, spots):
            actor.SetVisibility(spot is not None)
            if spot is not None:
                actor.SetDisplayPosition(int(spot[0]), int(spot[1]))
        return spots
