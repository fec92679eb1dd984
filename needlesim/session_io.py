"""Session files: the scene, the trajectory, the settings, the saved trajectories and the
camera, as JSON. Reading validates every field and runs nothing from the file; a corrupt
or foreign file is a :class:`SessionError` and changes nothing.

The whole file is checked before anything is used (:func:`read_session`): it is a regular
file under its size limit (``core.io.files``), parses without deep nesting, every field has
its type and range (one pydantic schema, ``core.io.schema``), the envelope is known, the
backend exists, every trajectory is valid. The GUI then checks the trajectories against
the scene and applies everything in one step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from ._version import __version__
from .core.errors import NeedlesimError
from .core.geometry.raycast import Backend
from .core.io.files import read_text
from .core.io.schema import STRICT, Name, Number, Vec3, number, parse_json, validate
from .core.model.trajectory import Trajectory
from .core.verdict.envelope import Envelope, load_envelope
from .session import Session

FORMAT = "needlesim-session"
VERSION = 1
#: Most saved trajectories a session may hold: far more than anyone names by hand (a sweep
#: writes a table, not a session). The GUI lists each one in a widget, and PySide6 6.12 on
#: Python 3.11 drops a reference to ``None`` on every void Qt call (about 5 per listed aim;
#: None starts near 39,000 references): 100,000 aims aborted the process (SIGABRT,
#: "none_dealloc") in ``TrajectoryPanel._on_saved_changed``. 1,000 keeps far from that.
MAX_SAVED = 1_000
#: The range of the caution margin, mm (as :meth:`Session.set_settings` enforces).
MARGIN_RANGE_MM = (0.0, 50.0)


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


def session_to_dict(session: Session) -> dict:
    return {
        "format": FORMAT, "version": VERSION, "needlesim_version": __version__,
        "scene": session.scene_source,
        "trajectory": session.trajectory.to_dict(),
        "envelope": session.envelope.name, "margin_mm": session.margin_mm, "backend": session.backend.value,
        "saved": {k: t.to_dict() for k, t in session.saved.items()},
        "compare": session.compare,
        "camera": session.camera,
        "harvest": None if session.harvest is None else session.harvest.to_dict(),
    }


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
    doc = parse_json(read_text(path, "session", SessionError), str(path), SessionError)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{path}: not a needlesim session file")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise SessionError(f"{path}: session version {_short(version)} is not supported (this needlesim reads {VERSION})")
    if isinstance(doc.get("saved"), dict) and len(doc["saved"]) > MAX_SAVED:
        raise SessionError(f"{path}: {len(doc['saved']):,} saved trajectories is over the limit of {MAX_SAVED:,} "
                           "(save a sweep as a table instead)")
    spec = validate(_SessionSpec, doc, str(path), SessionError)
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
    )


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
