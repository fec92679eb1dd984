"""Session files: the scene, the trajectory, the settings, the saved trajectories and the
camera, as JSON. Reading validates every field and runs nothing from the file; a corrupt
or foreign file is a :class:`SessionError` and changes nothing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .core.errors import NeedlesimError
from .core.model.trajectory import Trajectory
from .session import Session

FORMAT = "needlesim-session"
VERSION = 1


class SessionError(NeedlesimError):
    """A session file is missing, corrupt, foreign or from a newer version."""


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


def session_to_dict(session: Session) -> dict:
    return {
        "format": FORMAT, "version": VERSION, "needlesim_version": __version__,
        "scene": session.scene_source,
        "trajectory": session.trajectory.to_dict(),
        "envelope": session.envelope.name, "margin_mm": session.margin_mm, "backend": session.backend.value,
        "saved": {k: t.to_dict() for k, t in session.saved.items()},
        "compare": session.compare,
        "camera": session.camera,
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
    """Parse and validate a session file (nothing is applied)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"{path}: no such session file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"{path}: not a readable session file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{path}: not a needlesim session file")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise SessionError(f"{path}: session version {doc.get('version')!r} is not supported (this needlesim reads {VERSION})")
    try:
        saved = doc.get("saved") or {}
        if not isinstance(saved, dict):
            raise TypeError("'saved' must be an object")
        margin = float(doc.get("margin_mm", 5.0))
        if not math.isfinite(margin):
            raise ValueError("margin_mm must be finite")
        camera = doc.get("camera")
        if camera is not None and not _valid_camera(camera):
            raise ValueError("'camera' must hold position, focal_point and view_up as 3 numbers each")
        return SessionData(
            scene=str(doc.get("scene", "builtin")),
            trajectory=_trajectory(doc.get("trajectory")),
            envelope=str(doc.get("envelope", "nam2019")), margin_mm=margin, backend=str(doc.get("backend", "embree")),
            saved={str(k): _trajectory(v) for k, v in saved.items()},
            compare=doc.get("compare") if isinstance(doc.get("compare"), str) else None,
            camera=camera,
        )
    except (NeedlesimError, TypeError, ValueError, KeyError) as exc:
        raise SessionError(f"{path}: corrupt session ({exc})") from None


def _trajectory(d: Any) -> Trajectory:
    if not isinstance(d, dict):
        raise TypeError("a trajectory must be an object")
    return Trajectory.from_dict(d)


def _valid_camera(c: Any) -> bool:
    if not isinstance(c, dict):
        return False
    try:
        return all(len(c[k]) == 3 and all(math.isfinite(float(x)) for x in c[k])
                   for k in ("position", "focal_point", "view_up"))
    except (KeyError, TypeError, ValueError):
        return False
