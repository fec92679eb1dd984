"""The application state, free of Qt: one :class:`Session` holds the scene, the trajectory,
the settings and the last report. Widgets write to it and listen to its signals; they
never call each other (napari's model/view split). A :class:`Controller` re-evaluates
whenever something that changes the answer changes.

Signals (psygnal) carry the new value: ``scene_changed(Scene)``,
``trajectory_changed(Trajectory)``, ``settings_changed()``, ``report_changed(RiskReport)``,
``saved_changed()``, ``locked_changed(bool)``, ``history_changed()``, ``error(str)``, and
``refused(Trajectory)``: a value was refused and this trajectory is kept; every control
that showed the refused value goes back to it.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal

from .core.api import check
from .core.verdict.envelope import DEFAULT_ENVELOPE, load_envelope
from .core.errors import NeedlesimError, TrajectoryError
from .core.geometry.raycast import Backend
from .core.verdict.risk import RiskReport
from .core.model.scene import Scene
from .core.tolerances import DEFAULT_MARGIN_MM
from .core.model.trajectory import Trajectory

#: The aim a new session starts from: the centre of the documented envelope (Nam 2019).
DEFAULT_AIM = {"lateral_deg": 30.0, "inferior_deg": 22.5, "depth_mm": 60.0}
#: Landmarks tried, in order, as the default entry of a new scene.
DEFAULT_ENTRIES = ("left-entry", "left-psis", "right-entry", "right-psis")
#: Undo steps kept.
HISTORY_LIMIT = 200
#: How far along the aim from a picked skin point bone is looked for, mm: the soft tissue
#: over the PSIS is a few cm (more in the obese); bone farther along the aim than this
#: (the ischium, seen past the ilium) is not what a click on the skin means, and the
#: nearest bone point is taken instead.
PICK_REACH_MM = 100.0
#: Appended to a scene's source once its anatomy is rebuilt on corrected landmarks (the
#: Landmarks dock); :attr:`Session.scene_base` keeps the source it was corrected from.
CORRECTED = " (landmarks corrected)"


def default_trajectory(scene: Scene) -> Trajectory:
    """The envelope's centre from the scene's left harvest entry (or PSIS)."""
    for name in DEFAULT_ENTRIES:
        if name in scene.landmarks:
            return Trajectory(name, **DEFAULT_AIM)
    lo, hi = scene.bounds
    centre = (lo + hi) / 2
    return Trajectory((float(lo[0] + 0.25 * (hi[0] - lo[0])), float(lo[1]), float(centre[2])), side="left",
                      **DEFAULT_AIM)


class Session:
    """Everything the user is looking at and working on."""

    scene_changed = Signal(object)
    trajectory_changed = Signal(object)
    settings_changed = Signal()
    report_changed = Signal(object)
    saved_changed = Signal()
    locked_changed = Signal(bool)
    history_changed = Signal()
    error = Signal(str)
    refused = Signal(object)
    harvest_changed = Signal(object)

    def __init__(self, scene: Scene, *, scene_source: str = "builtin", trajectory: Trajectory | None = None) -> None:
        self.scene = scene
        self.scene_source = scene_source
        #: The source of the scene the current one was corrected from (its landmarks moved and
        #: its anatomy rebuilt on them), or None: a session file records this source and the
        #: scene's landmarks, and reopens on them (``session_io``).
        self.scene_base: str | None = None
        self.trajectory = trajectory or default_trajectory(scene)
        self.envelope = load_envelope(DEFAULT_ENVELOPE)
        self.margin_mm = DEFAULT_MARGIN_MM
        self.backend = Backend.EMBREE
        self.report: RiskReport | None = None
        self.locked = False
        self.saved: dict[str, Trajectory] = {}
        self.compare: str | None = None
        self.camera: dict[str, Any] | None = None
        self.harvest: Any = None  #: a teaching.harvest.HarvestPlan, saved with the session
        self._undo: list[Trajectory] = []
        self._redo: list[Trajectory] = []

    # -- the trajectory -----------------------------------------------------------------
    def set_trajectory(self, trajectory: Trajectory, *, record: bool = True) -> None:
        if trajectory == self.trajectory:
            return
        if record:
            self._undo.append(self.trajectory)
            del self._undo[:-HISTORY_LIMIT]
            self._redo.clear()
        self.trajectory = trajectory
        self.trajectory_changed.emit(trajectory)
        self.history_changed.emit()

    def update(self, **fields: Any) -> bool:
        """Change some fields of the trajectory (``lateral_deg=31``). Bad values keep the
        old trajectory and emit :attr:`error`; returns whether it changed."""
        try:
            if "entry" in fields and "side" not in fields and isinstance(fields["entry"], str):
                fields = {**fields, "side": None}  # from the landmark's name (never the old side)
            new = dataclasses.replace(self.trajectory, **fields)
            if isinstance(new.entry, str):
                self.scene.landmark(new.entry)
        except (NeedlesimError, TypeError, ValueError) as exc:
            self.error.emit(str(exc))
            self.refused.emit(self.trajectory)
            return False
        self.set_trajectory(new)
        return True

    def revert(self, trajectory: Trajectory, message: str) -> None:
        """Go back to ``trajectory`` (the last one evaluated) after the engine refused the
        current one: no undo entry is left for the refused step."""
        if self._undo and self._undo[-1] == trajectory:
            self._undo.pop()
            self.history_changed.emit()
        self.trajectory = trajectory
        self.error.emit(message)
        self.refused.emit(trajectory)

    def undo(self) -> None:
        if self._undo:
            self._redo.append(self.trajectory)
            self.set_trajectory(self._undo.pop(), record=False)

    def redo(self) -> None:
        if self._redo:
            self._undo.append(self.trajectory)
            self.set_trajectory(self._redo.pop(), record=False)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def set_locked(self, locked: bool) -> None:
        if locked != self.locked:
            self.locked = bool(locked)
            self.locked_changed.emit(self.locked)

    # -- settings and scene -----------------------------------------------------------------
    def set_settings(self, *, envelope: str | None = None, margin_mm: float | None = None,
                     backend: str | None = None) -> bool:
        try:
            env = load_envelope(envelope) if envelope is not None else self.envelope
            margin = self.margin_mm if margin_mm is None else float(margin_mm)
            if not 0 <= margin <= 50:
                raise TrajectoryError(f"margin {margin:g} mm is out of range: it must be 0-50 mm")
            be = self.backend if backend is None else Backend(backend)
        except (NeedlesimError, ValueError) as exc:
            self.error.emit(str(exc))
            return False
        self.envelope, self.margin_mm, self.backend = env, margin, be
        self.settings_changed.emit()
        return True

    def set_scene(self, scene: Scene, source: str) -> None:
        """Show another scene; keep the aim when its entry exists there too."""
        self._set_scene(scene, source, None)

    def set_corrected_scene(self, scene: Scene) -> None:
        """Show ``scene``, the current one with corrected landmarks (and its anatomy rebuilt on
        them): its source is the uncorrected one's, marked :data:`CORRECTED`."""
        base = self.scene_base if self.scene_base is not None else self.scene_source
        self._set_scene(scene, base + CORRECTED, base)

    def _set_scene(self, scene: Scene, source: str, base: str | None) -> None:
        self.scene, self.scene_source, self.scene_base = scene, source, base
        keep = not isinstance(self.trajectory.entry, str) or self.trajectory.entry in scene.landmarks
        self._undo.clear()
        self._redo.clear()
        self.scene_changed.emit(scene)
        self.set_trajectory(self.trajectory if keep else default_trajectory(scene), record=False)
        self.trajectory_changed.emit(self.trajectory)

    def apply_session(self, scene: Scene, data: Any) -> None:
        """Replace the scene, settings, saved aims and trajectory with those of a session
        file already validated whole (``session_io.read_session`` and its scene): every
        field is set before any signal is sent, so a listener never sees half a session."""
        new_scene = scene is not self.scene
        self.scene_source, self.scene_base = data.scene_source, data.scene_base
        if new_scene:
            self.scene = scene
            self._undo.clear()
            self._redo.clear()
        self.envelope = data.envelope_obj if data.envelope_obj is not None else load_envelope(data.envelope)
        self.margin_mm, self.backend = float(data.margin_mm), Backend(data.backend)
        self.saved = dict(data.saved)
        self.compare = data.compare if data.compare in self.saved else None
        if data.trajectory != self.trajectory:
            self._undo.append(self.trajectory)
            del self._undo[:-HISTORY_LIMIT]
            self._redo.clear()
        self.trajectory = data.trajectory
        self.harvest = getattr(data, "harvest", None)
        if new_scene:
            self.scene_changed.emit(self.scene)
        self.settings_changed.emit()
        self.saved_changed.emit()
        self.trajectory_changed.emit(self.trajectory)
        self.history_changed.emit()
        self.harvest_changed.emit(self.harvest)

    def set_harvest(self, plan: Any) -> None:
        """Keep a harvest plan (or ``None``) with the session."""
        self.harvest = plan
        self.harvest_changed.emit(plan)

    def set_report(self, report: RiskReport | None) -> None:
        self.report = report
        self.report_changed.emit(report)

    # -- named trajectories ---------------------------------------------------------------
    def save_current(self, name: str) -> None:
        name = name.strip()
        if not name:
            self.error.emit("a saved trajectory needs a name")
            return
        self.saved[name] = self.trajectory
        self.saved_changed.emit()

    def remove_saved(self, name: str) -> None:
        if self.saved.pop(name, None) is not None:
            if self.compare == name:
                self.compare = None
            self.saved_changed.emit()

    def set_compare(self, name: str | None) -> None:
        self.compare = name if name in self.saved else None
        self.saved_changed.emit()

    def restore(self, name: str) -> None:
        if name in self.saved:
            self.set_trajectory(self.saved[name])


class Controller:
    """Re-evaluates the trajectory whenever the scene, the aim or a setting changes.

    An evaluation takes a few milliseconds, so it runs synchronously; an error in it is
    reported through ``session.error`` and the last good report is kept."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: (scene, envelope, (aim, margin, backend), report) of the last compared aim
        self._compare: tuple | None = None
        for sig in (session.trajectory_changed, session.scene_changed):
            sig.connect(self._refresh)
        session.settings_changed.connect(self._refresh)

    def _refresh(self, *_: object) -> None:
        s = self.session
        try:
            report = check(s.scene, s.trajectory, envelope=s.envelope, margin_mm=s.margin_mm, backend=s.backend)
        except NeedlesimError as exc:
            good = s.report.evaluation.trajectory if s.report is not None else None
            if good is not None and good != s.trajectory:
                s.revert(good, str(exc))  # the controls go back to what the needle shows
            else:
                s.error.emit(str(exc))
            return
        s.set_report(report)

    def refresh(self) -> None:
        self._refresh()

    def compare_report(self) -> RiskReport | None:
        """The report of the saved trajectory chosen for comparison (``None``: none chosen,
        or it cannot be evaluated). Evaluated once per saved aim, scene and setting, not
        on every move of the current aim (the window and the comparison box both ask)."""
        s = self.session
        if s.compare is None:
            return None
        key = (s.saved[s.compare], s.margin_mm, s.backend)
        c = self._compare
        if c is not None and c[0] is s.scene and c[1] is s.envelope and c[2] == key:
            return c[3]
        try:
            report = check(s.scene, s.saved[s.compare], envelope=s.envelope, margin_mm=s.margin_mm, backend=s.backend)
        except NeedlesimError:
            report = None
        self._compare = (s.scene, s.envelope, key, report)
        return report


class EntryRule(enum.Enum):
    """How a picked point became the bone entry."""

    PICKED_BONE = "picked on the bone"
    ALONG_AIM = "along the current aim"
    NEAREST_BONE = "nearest bone point"


@dataclasses.dataclass(frozen=True)
class EntryChoice:
    """The entry a pick gives: ``entry`` (RAS mm) on ``structure``, found by ``rule``,
    ``distance_mm`` from the picked point; ``side`` from the picked point."""

    entry: tuple[float, float, float]
    side: str
    rule: EntryRule
    structure: str
    distance_mm: float


def midline_x(scene: Scene) -> float:
    """x of the midline (RAS mm): between the PSIS, else the mean of the bones."""
    lm = scene.landmarks
    if "left-psis" in lm and "right-psis" in lm:
        return float((lm["left-psis"][0] + lm["right-psis"][0]) / 2)
    bone = [s for s in scene if s.is_bone]
    return float(np.mean([s.vertices[:, 0].mean() for s in bone])) if bone else 0.0


def entry_from_pick(scene: Scene, trajectory: Trajectory, point, structure: str, *,
                    backend: Backend = Backend.EMBREE, reach_mm: float = PICK_REACH_MM) -> EntryChoice:
    """The bone entry for a point picked on ``structure``.

    On bone the point is the entry. On the skin the point is the puncture: the entry is
    the first bone along the current aim from it (the aim kept, the puncture where it
    was picked) or, when the aim from there meets no bone within ``reach_mm``, the
    nearest bone surface point (the aim kept, so the puncture moves). Anything else is
    refused with a :class:`TrajectoryError`.
    """
    from .core.needle.engine import get_engine

    p = np.asarray(point, float)
    s = scene[structure]
    side = "left" if p[0] < midline_x(scene) else "right"
    if s.is_bone:
        return EntryChoice(_pt(p), side, EntryRule.PICKED_BONE, s.name, 0.0)
    if s.role.value != "skin":
        raise TrajectoryError(f"picked the {structure}: pick the skin or the bone to set an entry")
    t = dataclasses.replace(trajectory, entry=_pt(p), side=side)  # the side never contradicts the entry
    d = np.asarray(t.direction)
    engine = get_engine(scene, backend=backend, needle_diameter_mm=t.needle_diameter_mm)
    hits = engine.caster.all_hits(p[None], d[None], reach_mm)
    for g, depth, entering in zip(hits.geom, hits.t, hits.entering):
        if entering and engine.structures[g].is_bone:
            return EntryChoice(_pt(p + depth * d), side, EntryRule.ALONG_AIM, engine.structures[g].name, float(depth))
    bones = [b for b in scene if b.is_bone]
    if not bones:
        raise TrajectoryError("this scene has no bone to enter")
    nearest = [b.mesh.nearest.on_surface(p[None]) for b in bones]
    k = int(np.argmin([dist[0] for _, dist, _ in nearest]))
    return EntryChoice(_pt(nearest[k][0][0]), side, EntryRule.NEAREST_BONE, bones[k].name, float(nearest[k][1][0]))


def _pt(p) -> tuple[float, float, float]:
    return (float(p[0]), float(p[1]), float(p[2]))


def scene_label(source: str) -> str:
    if source.endswith(CORRECTED):
        return scene_label(source[:-len(CORRECTED)]) + CORRECTED
    return "built-in scene" if source == "builtin" else Path(source).name
