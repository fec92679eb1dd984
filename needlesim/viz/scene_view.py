"""Turns a scene and a risk report into pyvista actors: one adapter object owns every
actor (napari's ``VispyBaseLayer`` pattern). No Qt here: it drives any
:class:`pyvista.Plotter`, on screen or off (tests, screenshots).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from ..core.model.results import Tissue
from ..core.verdict.risk import RiskReport
from ..core.model.scene import Role, Scene
from .colors import (COMPARE_COLOR, HIGHLIGHT_COLOR, LANDMARK_COLOR, MARKER_COLORS, ROLE_OPACITY, TISSUE_COLORS,
                     group_of, structure_color)
from .labels import LandmarkLabels
from .needle_eye import NeedleEye
from .needle_mesh import add_needle_actor, fill_mesh, fill_points, needle_arrays, needle_mesh, tube_arrays  # noqa: F401 (needle_mesh: API)

#: Standard views: camera direction (from the focal point toward the camera) and view-up.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "posterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),   # the operator over the prone patient
    "lateral-left": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "lateral-right": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "axial": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),      # from the feet, anterior up (radiological)
    "oblique": ((-0.6, -0.7, 0.4), (0.0, 0.0, 1.0)),
}
#: Views that pictures (plan cards, playback videos) draw in parallel projection, as a CT
#: slice shows them: in perspective, a view from the feet zoomed on the needle looks oblique.
ORTHOGRAPHIC_VIEWS = frozenset({"axial"})
#: What a picture of each view is called (the axial view is radiological: left on the right).
VIEW_CAPTIONS = {"axial": "axial view (from the feet)"}


def view_caption(name: str) -> str:
    return VIEW_CAPTIONS.get(name, f"{name.replace('-', ' ')} view")


#: Share of triangles kept in the light copies drawn while a control is dragged.
INTERACTIVE_KEEP = 0.3
#: Structures smaller than this are always drawn in full.
INTERACTIVE_MIN_FACES = 4000


def _polydata(structure) -> pv.PolyData:
    faces = np.hstack([np.full((len(structure.faces), 1), 3), structure.faces]).ravel()
    return pv.PolyData(np.asarray(structure.vertices), faces)


class SceneView:
    """Actors for one scene on one plotter; updated from reports, never recomputing them."""

    def __init__(self, plotter: pv.Plotter) -> None:
        self.plotter = plotter
        self.scene: Scene | None = None
        self.actors: dict[str, object] = {}
        self.base_color: dict[str, str] = {}
        self.opacity: dict[str, float] = {}
        self.visible: dict[str, bool] = {}
        self._needle_actors: list[object] = []
        self._needle: dict[str, pv.PolyData] = {}
        self._landmark_actors: list[object] = []
        self.interactive = False
        self._light: dict[str, pv.PolyData] = {}
        self._full: dict[str, object] = {}
        self._highlighted: set[str] = set()
        self.eye = NeedleEye(plotter)
        self.labels = LandmarkLabels(plotter)

    # -- the scene ---------------------------------------------------------------------
    def set_scene(self, scene: Scene) -> None:
        for actor in list(self.actors.values()) + self._needle_actors:
            self.plotter.remove_actor(actor, render=False)
        for actor in self._landmark_actors:
            self.plotter.remove_actor(actor, render=False)
        self._landmark_actors = []
        self.actors.clear()
        self._needle_actors.clear()
        self._needle.clear()
        self._light.clear()
        self._full.clear()
        self.interactive = False
        self._highlighted.clear()
        self.scene = scene
        for s in scene:
            color = structure_color(s)
            opacity = ROLE_OPACITY[s.role]
            actor = self.plotter.add_mesh(_polydata(s), color=color, opacity=opacity, smooth_shading=True,
                                          name=f"structure:{s.name}", render=False,
                                          specular=0.2 if s.is_bone else 0.4)
            self.actors[s.name] = actor
            self.base_color[s.name], self.opacity[s.name], self.visible[s.name] = color, opacity, True

    def show_landmarks(self, visible: bool = True, *, labels: bool = False) -> None:
        """The scene's landmarks as small points (and, optionally, their names)."""
        for actor in self._landmark_actors:
            self.plotter.remove_actor(actor, render=False)
        self._landmark_actors = []
        self.labels.set_landmarks(None)
        if not visible or self.scene is None or not self.scene.landmarks:
            return
        names = sorted(self.scene.landmarks)
        pts = np.array([self.scene.landmarks[n] for n in names])
        self._landmark_actors.append(self.plotter.add_points(
            pts, color=LANDMARK_COLOR, point_size=7, render_points_as_spheres=True, render=False, pickable=False,
            name="landmarks"))
        self.labels.set_landmarks(self.scene.landmarks if labels else None)

    def prepare_light_copies(self) -> None:
        """Make the light copies :meth:`set_interactive` draws (about a second on the
        built-in scene), so that the first drag does not pay for them."""
        for s in self.scene or ():
            if s.role is not Role.SKIN and len(s.faces) >= INTERACTIVE_MIN_FACES and s.name not in self._light:
                self._light[s.name] = _polydata(s).decimate(1.0 - INTERACTIVE_KEEP)
                self._full[s.name] = self.actors[s.name].GetMapper().GetInput()

    def set_interactive(self, interactive: bool) -> None:
        """While the user drags a control, draw large structures from lighter copies
        (quadric decimation keeping :data:`INTERACTIVE_KEEP` of the triangles; display
        only, the engine always uses the full meshes); back to full detail when idle.
        The translucent skin is hidden meanwhile. Software OpenGL (llvmpipe) draws a frame
        of the full scene in ~150-200 ms and the light one in about half of that."""
        if interactive == self.interactive or self.scene is None:
            return
        self.interactive = interactive
        for s in self.scene:
            if s.role is Role.SKIN:  # a screen-filling translucent layer: the costliest to draw
                self.actors[s.name].SetVisibility(self.visible[s.name] and not interactive)
                continue
            if len(s.faces) < INTERACTIVE_MIN_FACES:
                continue
            self.prepare_light_copies()
            self.actors[s.name].GetMapper().SetInputData(self._light[s.name] if interactive else self._full[s.name])

    def set_visible(self, name: str, visible: bool) -> None:
        self.visible[name] = bool(visible)
        self.actors[name].SetVisibility(bool(visible))
        if self.interactive and self.scene is not None and self.scene[name].role is Role.SKIN:
            self.actors[name].SetVisibility(False)

    def set_opacity(self, name: str, opacity: float) -> None:
        self.opacity[name] = float(opacity)
        if name not in self._highlighted:  # a highlighted structure is drawn opaque until it is not
            self.actors[name].GetProperty().SetOpacity(float(opacity))

    def names_in_group(self, group: str) -> list[str]:
        return [s.name for s in self.scene if group_of(s) == group] if self.scene else []

    # -- the needle ------------------------------------------------------------------------
    def show_report(self, report: RiskReport | None, *, compare: RiskReport | None = None,
                    color: str | None = None) -> None:
        """Draw the needle of ``report`` at its real diameter, its path coloured by tissue
        (or all in ``color``), its crossings and entry; highlight the critical structures
        within the margin. The actors are made once and their data replaced in place (no
        actor churn per frame)."""
        if not self._needle:
            self._make_needle_actors()
        for key, rep, color in (("current", report, color), ("compare", compare, COMPARE_COLOR)):
            if rep is None:
                if self._needle[key].n_points:  # cleared once, not on every move
                    self._needle[key].copy_from(pv.PolyData())
            else:
                fill_mesh(self._needle[key], *needle_arrays(rep, color=color))
        pts = []
        if report is not None:
            ev = report.evaluation
            pts = [h.point for h in ev.hits if 0 <= h.depth_mm <= ev.depth_mm]
            fill_points(self._needle["entry"], [ev.entry_point])
            fill_points(self._needle["tip"], [ev.tip])
        fill_points(self._needle["hits"], pts)
        near = set() if report is None else \
            {c.structure for c in report.evaluation.contacts if c.clearance_mm < report.margin_mm}
        self._highlight(near)

    def _make_needle_actors(self) -> None:
        for key in ("current", "compare"):
            mesh = pv.PolyData()  # filled in place on every update
            fill_mesh(mesh, *tube_arrays(np.zeros(3), np.array([0.0, 1.0, 0.0]), 1e-6, np.array([[0.0, 1e-6]]),
                                         np.zeros((1, 3), np.uint8), resolution=3))
            self._needle[key] = mesh
            self._needle_actors.append(add_needle_actor(self.plotter, mesh, name=f"needle:{key}",
                                                        opacity=0.55 if key == "compare" else 1.0))
        for key, size in (("hits", 11), ("entry", 14), ("tip", 12)):
            color = MARKER_COLORS[key]
            mesh = pv.PolyData(np.zeros((1, 3)))  # replaced on every update
            self._needle[key] = mesh
            self._needle_actors.append(self.plotter.add_mesh(mesh, color=color, point_size=size,
                                                             render_points_as_spheres=True, render=False,
                                                             pickable=False, name=f"needle:{key}"))

    def _highlight(self, names: set[str]) -> None:
        for name in self._highlighted - names:
            if name in self.actors:
                prop = self.actors[name].GetProperty()
                prop.SetColor(pv.Color(self.base_color[name]).float_rgb)
                prop.SetOpacity(self.opacity[name])
        for name in names - self._highlighted:  # those already highlighted stay as they are
            if name in self.actors:
                prop = self.actors[name].GetProperty()
                prop.SetColor(pv.Color(HIGHLIGHT_COLOR).float_rgb)
                prop.SetOpacity(1.0)
        self._highlighted = set(names)

    @property
    def highlighted(self) -> set[str]:
        return set(self._highlighted)

    # -- the camera --------------------------------------------------------------------------
    def view(self, name: str, report: RiskReport | None = None) -> None:
        """One of :data:`VIEWS`, or ``"needle"``: the needle's-eye view (:mod:`.needle_eye`)."""
        if self.scene is None:
            return
        lo, hi = self.scene.bounds
        bone = self._bone()
        blo = np.min([s.vertices.min(0) for s in bone], axis=0)
        bhi = np.max([s.vertices.max(0) for s in bone], axis=0)
        focus = (blo + bhi) / 2
        dist = float(np.linalg.norm(bhi - blo)) * 1.6
        if name == "needle":
            if report is not None:
                self.set_needle_visible(False)  # the camera is inside the needle
                self.eye.show(report)
            return
        self.eye.hide()
        self.set_needle_visible(True)
        direction, up = VIEWS.get(name, VIEWS["posterior"])
        cam = self.plotter.camera
        cam.focal_point = tuple(focus)
        cam.position = tuple(focus + np.array(direction) * dist)
        cam.up = up
        self.plotter.reset_camera_clipping_range()

    def set_orthographic(self, on: bool) -> None:
        """Parallel projection (on) framing the bone as the current view sees it, or back to
        perspective (off)."""
        cam = self.plotter.camera
        cam.parallel_projection = bool(on)
        if not on or self.scene is None:
            return
        pts = np.vstack([s.vertices for s in self._bone()])
        up = np.asarray(cam.up, float)
        forward = np.asarray(cam.focal_point, float) - np.asarray(cam.position, float)
        right = np.cross(forward, up)
        right /= np.linalg.norm(right)
        w, h = self.plotter.window_size
        height, width = np.ptp(pts @ up), np.ptp(pts @ right)
        cam.parallel_scale = 0.5 * 1.05 * max(height, width * h / max(w, 1))

    def _bone(self) -> list:
        """The structures the standard views frame: the bones (everything, if none)."""
        return [s for s in self.scene if s.is_bone] or list(self.scene)

    def set_needle_visible(self, visible: bool) -> None:
        """Show or hide the needle's cylinders (current and compared); markers stay."""
        for actor in self._needle_actors[:2]:
            actor.SetVisibility(visible)

    def camera_state(self) -> dict:
        cam = self.plotter.camera
        return {"position": list(map(float, cam.position)), "focal_point": list(map(float, cam.focal_point)),
                "view_up": list(map(float, cam.up))}

    def set_camera_state(self, state: dict) -> None:
        cam = self.plotter.camera
        cam.position, cam.focal_point, cam.up = state["position"], state["focal_point"], state["view_up"]
        self.plotter.reset_camera_clipping_range()


def add_orientation_marker(plotter: pv.Plotter) -> None:
    """Patient-direction axes in a corner: R(ight), A(nterior), S(uperior)."""
    plotter.add_axes(xlabel="R", ylabel="A", zlabel="S", line_width=3, labels_off=False)


def legend_color(color: str, *, min_luminance: float = 0.55) -> str:
    """``color`` lightened toward white until it reads on the legend's dark background."""
    rgb = np.array(pv.Color(color).float_rgb)
    for _ in range(10):
        if rgb @ np.array([0.2126, 0.7152, 0.0722]) >= min_luminance:
            break
        rgb = rgb + (1.0 - rgb) * 0.25
    return pv.Color(tuple(rgb)).hex_rgb


def legend_entries(scene: Scene, *, lighten: bool = True) -> list[tuple[str, str]]:
    """(label, colour) per role present, plus the needle's tissue colours (with
    ``lighten``, lightened where needed to read on a dark background)."""
    seen: dict[str, str] = {}
    for s in scene:
        label = {"cortical_bone": "bone", "nerve_root": "sacral root", "dura": "dura / sleeve"}.get(s.role.value, s.role.value)
        if s.role.value == "vessel" and "vein" in s.name.lower():
            label = "vein"
        seen.setdefault(label, structure_color(s))
    for t in (Tissue.SOFT_TISSUE, Tissue.CORTEX, Tissue.MARROW):
        seen.setdefault(f"needle in {t.value}", TISSUE_COLORS[t])
    return [(label, legend_color(color) if lighten else color) for label, color in seen.items()]
