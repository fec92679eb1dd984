"""Session files: the scene, the trajectory, the settings, the saved trajectories and the
camera, as JSON. Reading validates every field and runs nothing from the file; a corrupt
or foreign file is a :class:`SessionError` and changes nothing.

The whole file is checked before anything is used (:func:`read_session`): it is a regular
file under its size limit (``core.io.files``), parses without deep nesting, every field has
its type and range (one pydantic schema, ``core.io.schema``), the envelope is known, the
backend exists, every trajectory is valid. :func:`session_scene` then makes the scene the
session opens on and checks the trajectories against it; the GUI applies everything in one
step.

Corrected landmarks
-------------------
A scene whose anatomy was rebuilt on corrected landmarks (the app's Landmarks dock) exists
only in memory: ``scene`` names the source it was corrected from
(:attr:`.session.Session.scene_base`, e.g. ``"builtin"``) and ``landmarks`` holds every
landmark of the corrected scene, ``name -> [x, y, z]`` (RAS mm, finite, at most
:data:`MAX_LANDMARKS`), in the file itself so the two cannot part, with
``landmark_confidence`` (name -> 0..1: the search's confidence the review kept, so the
reopened Landmarks dock still colours the doubtful ones). Such a file is version 2
(an older needlesim refuses it rather than open the uncorrected anatomy); a file without
``landmarks`` is still written as version 1. Opening loads the source and applies the
landmarks with :func:`needlesim.anatomy.corrected.apply_landmarks`, the code path of
``--landmarks FILE``: every name known, every point within 15 mm of the bone and on its side,
and the dural sac, roots, nerves and vessels rebuilt (20-40 s, on the GUI's worker) when a
landmark they are built from moved. A session saved before this (its scene named
``"... (landmarks corrected)"``, no landmarks) is refused with what was lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

import numpy as np

from pydantic import BaseModel, ConfigDict, Field

from ._version import __version__
from .core.errors import NeedlesimError
from .core.geometry.raycast import Backend
from .core.io.files import read_text
from .core.io.schema import STRICT, Name, Number, Vec3, number, parse_json, validate
from .core.model.scene import Scene
from .core.model.trajectory import Trajectory
from .core.verdict.envelope import Envelope, load_envelope
from .session import CORRECTED, Session

FORMAT = "needlesim-session"
#: The newest version read and written: 2 when the file holds corrected landmarks, else 1.
VERSION = 2
#: Most saved trajectories a session may hold: far more than anyone names by hand (a sweep
#: writes a table, not a session). The GUI lists each one in a widget, and PySide6 6.12 on
#: Python 3.11 drops a reference to ``None`` on every void Qt call (about 5 per listed aim;
#: None starts near 39,000 references): 100,000 aims aborted the process (SIGABRT,
#: "none_dealloc") in ``TrajectoryPanel._on_saved_changed``. 1,000 keeps far from that.
MAX_SAVED = 1_000
#: The range of the caution margin, mm (as :meth:`Session.set_settings` enforces).
MARGIN_RANGE_MM = (0.0, 50.0)
#: Most corrected landmarks a session may hold. A pelvis has about 40 (docs/anatomy.md,
#: "Landmarks, found by geometry"; a foramen row per sacral level and side); 256 leaves room
#: for any number of levels while a file of thousands of points is refused unread.
MAX_LANDMARKS = 256


class SessionError(NeedlesimError):
    """A session file is missing, corrupt, foreign or from a newer version."""


class _TrajectorySpec(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)
    entry: Union[Name, Vec3]
    lateral_deg: Number
    inferior_deg: Number
    depth_mm: Number
    side: Optional[Literal["left", "right"]] = None
    needle_diameter_mm: Optional[Number] = None


class _CameraSpec(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)
    position: Vec3
    focal_point: Vec3
    view_up: Vec3


class _SiteSpec(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)
    name: str = Field(default="", max_length=100)
    puncture: Vec3
    side: Literal["left", "right"]
    passes: list[Vec3] = Field(min_length=1, max_length=64)  # [lateral_deg, inferior_deg, depth_mm]


class _HarvestSpec(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)
    sites: list[_SiteSpec] = Field(min_length=1, max_length=8)


class _SessionSpec(BaseModel):
    model_config = STRICT
    format: Literal["needlesim-session"]
    version: int = Field(ge=1, le=VERSION)
    needlesim_version: Optional[str] = Field(default=None, max_length=100)
    scene: Name = "builtin"
    trajectory: _TrajectorySpec
    envelope: Name = "nam2019"
    margin_mm: number(*MARGIN_RANGE_MM) = 5.0  # type: ignore[valid-type]
    backend: Literal[tuple(b.value for b in Backend)] = "embree"  # type: ignore[valid-type]
    saved: dict[Name, _TrajectorySpec] = Field(default_factory=dict, max_length=MAX_SAVED)
    compare: Optional[Name] = None
    camera: Optional[_CameraSpec] = None
    harvest: Optional[_HarvestSpec] = None
    landmarks: Optional[dict[Name, Vec3]] = Field(default=None, min_length=1, max_length=MAX_LANDMARKS)
    landmark_confidence: dict[Name, number(0.0, 1.0)] = Field(  # type: ignore[valid-type]
        default_factory=dict, max_length=MAX_LANDMARKS)


@dataclass(frozen=True)
class SessionData:
    scene: str
    trajectory: Trajectory
    envelope: str
    margin_mm: float
    backend: str
    saved: dict[str, Trajectory]
    compare: str | None
    camera: dict[str, Any] | None
    envelope_obj: Envelope | None = None
    harvest: Any = None  #: a :class:`needlesim.teaching.harvest.HarvestPlan`, or None
    #: The corrected landmarks (name -> (3,) float, RAS mm) to apply to ``scene``, or None.
    landmarks: dict[str, np.ndarray] | None = None
    #: The confidence of some of ``landmarks`` (the search's, kept through the review), 0..1.
    landmark_confidence: dict[str, float] = field(default_factory=dict)
    path: str = ""  #: the file read

    @property
    def scene_base(self) -> str | None:
        """The source the session's scene was corrected from (:attr:`.Session.scene_base`)."""
        return self.scene if self.landmarks is not None else None

    @property
    def scene_source(self) -> str:
        """The source of the scene the session opens on, as :attr:`.Session.scene_source`."""
        return self.scene + CORRECTED if self.landmarks is not None else self.scene


def session_to_dict(session: Session) -> dict:
    corrected = session.scene_base is not None
    doc = {
        "format": FORMAT, "version": VERSION if corrected else 1, "needlesim_version": __version__,
        "scene": session.scene_base if corrected else session.scene_source,
        "trajectory": session.trajectory.to_dict(),
        "envelope": session.envelope.name, "margin_mm": session.margin_mm, "backend": session.backend.value,
        "saved": {k: t.to_dict() for k, t in session.saved.items()},
        "compare": session.compare,
        "camera": session.camera,
        "harvest": None if session.harvest is None else session.harvest.to_dict(),
    }
    if corrected:
        from .anatomy.review_model import scene_confidence

        doc["landmarks"] = {k: [float(x) for x in np.asarray(p, dtype=np.float64).reshape(3)]
                            for k, p in session.scene.landmarks.items()}
        confidence = scene_confidence(session.scene)[0]
        doc["landmark_confidence"] = {k: float(confidence[k]) for k in doc["landmarks"] if k in confidence}
    return doc


def save_session(path: str | Path, session: Session) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(session_to_dict(session), indent=2), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise SessionError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


def read_session(path: str | Path) -> SessionData:
    """Parse and validate a whole session file (nothing is applied)."""
    path = Path(path)
    doc = _parse(read_text(path, "session", SessionError), path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{path}: not a needlesim session file")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise SessionError(f"{path}: session version {_short(version)} is not supported (this needlesim reads {VERSION})")
    if isinstance(doc.get("saved"), dict) and len(doc["saved"]) > MAX_SAVED:
        raise SessionError(f"{path}: {len(doc['saved']):,} saved trajectories is over the limit of {MAX_SAVED:,} "
                           "(save a sweep as a table instead)")
    if isinstance(doc.get("landmarks"), dict) and len(doc["landmarks"]) > MAX_LANDMARKS:
        raise SessionError(f"{path}: landmarks: {len(doc['landmarks']):,} corrected landmarks is over the limit of "
                           f"{MAX_LANDMARKS:,}")
    spec = validate(_SessionSpec, doc, str(path), SessionError)
    stray = sorted(set(spec.landmark_confidence) - set(spec.landmarks or {}))
    if stray:
        raise SessionError(f"{path}: landmark_confidence: {', '.join(map(repr, stray[:8]))} not in landmarks")
    try:
        envelope = load_envelope(spec.envelope)
        trajectory = _trajectory(spec.trajectory)
        saved = {}
        for name, t in spec.saved.items():
            saved[name] = _trajectory(t, f"saved trajectory {name!r}: ")
        harvest = None if spec.harvest is None else _harvest(spec.harvest)
    except NeedlesimError as exc:
        raise SessionError(f"{path}: {exc}") from None
    return SessionData(
        scene=spec.scene, trajectory=trajectory, envelope=spec.envelope, margin_mm=float(spec.margin_mm),
        backend=spec.backend, saved=saved, compare=spec.compare if spec.compare in saved else None,
        camera=None if spec.camera is None else spec.camera.model_dump(), envelope_obj=envelope, harvest=harvest,
        landmarks=None if spec.landmarks is None else {k: np.array(v, dtype=np.float64) for k, v in spec.landmarks.items()},
        landmark_confidence={k: float(v) for k, v in spec.landmark_confidence.items()}, path=str(path),
    )


def session_scene(data: SessionData, load: Callable[[str], Scene], *,
                  progress: Callable[[float, str], None] | None = None) -> Scene:
    """The scene ``data`` opens on, checked whole (nothing is applied).

    Parameters
    ----------
    data : SessionData
        From :func:`read_session`.
    load : callable (source) -> Scene
        Reads the scene the session names (``data.scene``: ``"builtin"`` or a manifest path);
        it may return the scene already shown when that is the one.
    progress : callable (fraction 0..1, message), optional
        Told as each stage of a rebuild starts; raising from it cancels.

    Returns
    -------
    Scene
        ``load(data.scene)``, with the session's corrected landmarks applied (module docstring).

    Raises
    ------
    SessionError
        A corrected landmark does not fit the scene (named), the anatomy cannot be rebuilt on
        them, or a trajectory's entry is not a landmark of the scene; one line naming the file.
    NeedlesimError
        ``load``'s own error (the scene cannot be read), or a cancelled rebuild.
    """
    where = data.path
    if data.landmarks is None and data.scene.endswith(CORRECTED):
        raise SessionError(f"{where}: the scene {data.scene!r} was saved without its corrected landmarks (by an older "
                           f"needlesim): open {data.scene[:-len(CORRECTED)]!r}, Load the corrected landmarks (a markups "
                           "file) in the Landmarks dock and Rebuild")
    scene = load(data.scene)
    if data.landmarks is not None:
        from .anatomy.corrected import apply_landmarks
        from .anatomy.review_model import RebuildCancelled

        try:
            scene = apply_landmarks(scene, data.landmarks, where=f"{where}: corrected landmarks",
                                    confidence=data.landmark_confidence, record="landmarks_session",
                                    progress=progress).scene
        except RebuildCancelled:
            raise
        except NeedlesimError as exc:
            raise SessionError(str(exc)) from None
    for name, t in [("trajectory", data.trajectory), *data.saved.items()]:
        if isinstance(t.entry, str):
            try:
                scene.landmark(t.entry)
            except NeedlesimError as exc:
                raise SessionError(f"{where}: {name}: {exc}") from None
    return scene


def _parse(text: str, path: Path) -> Any:
    """The JSON of a session; a NaN or Infinity literal (refused by :func:`parse_json`) is
    named by its field (``landmarks.left-psis.0``), so the user knows which value to fix."""
    try:
        return parse_json(text, str(path), SessionError)
    except SessionError:
        found = _non_finite(text)
        if found is None:
            raise
        raise SessionError(f"{path}: {found[0]}: {found[1]} is not a finite number") from None


def _non_finite(text: str) -> tuple[str, float] | None:
    """(dotted field, value) of the first NaN or Infinity in ``text`` (already checked by
    :func:`parse_json` for its size and nesting), or None."""
    try:
        doc = json.loads(text)
    except (RecursionError, ValueError):
        return None
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, float) and not np.isfinite(value):
            return loc, value
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend(reversed([(f"{loc}.{k}" if loc else str(k), v) for k, v in items]))
    return None


def _harvest(spec: _HarvestSpec):
    """The harvest plan of a session, every pass checked as a trajectory (angles, depth)."""
    from .teaching.harvest import HarvestPlan

    plan = HarvestPlan.from_dict(spec.model_dump())
    for i, site in enumerate(plan.sites):
        for j, p in enumerate(site.passes):
            try:
                site.trajectory(p)
            except NeedlesimError as exc:
                raise SessionError(f"harvest site {i + 1}, pass {j + 1}: {exc}") from None
    return plan


def _trajectory(t: _TrajectorySpec, where: str = "trajectory: ") -> Trajectory:
    d = t.model_dump(exclude_none=True)
    try:
        return Trajectory.from_dict(d)
    except NeedlesimError as exc:
        raise SessionError(f"{where}{exc}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
