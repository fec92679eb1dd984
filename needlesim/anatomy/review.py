"""Review and correct landmarks: 3D Slicer markups with a confidence per point, and the
anatomy rebuilt from corrected landmarks (Qt-free; the GUI calls it on a worker thread).

File format
-----------
One Slicer fiducial list (``.mrk.json``, RAS, mm), a control point per landmark, labelled with
its kebab-case name. The confidence goes in each point's ``description`` as
``confidence=0.93`` (the schema's free-text field; Slicer shows it in its table); a landmark
the search could not find is written with ``positionStatus: "missing"`` (the schema's state
for a point still to be placed) at the origin, so a user sees what to place. Reading takes every
point whose ``positionStatus`` is ``defined`` (or absent) and lists the missing ones; a point
moved in Slicer keeps its description, so its confidence is the search's, and a point placed
anew has none: it is taken as placed by a person (confidence 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType

import numpy as np

from needlesim.anatomy.landmarks import PelvisLandmarks, landmarks_from_points
from needlesim.anatomy.params import AnatomyParams
from needlesim.core.errors import ManifestError
from needlesim.core.io import markups
from needlesim.core.model.scene import Role, Scene

_CONFIDENCE = re.compile(r"confidence=([0-9]*\.?[0-9]+)")
#: Largest landmark file read, bytes (a fiducial list of a few dozen points is a few kB).
MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True)
class LandmarkFile:
    """Landmarks read from a markups file: RAS mm points, their confidence, the missing ones."""

    points: Mapping[str, np.ndarray]
    confidence: Mapping[str, float]
    missing: tuple[str, ...]


def descriptions(record: PelvisLandmarks | LandmarkFile) -> dict[str, str]:
    """``name -> "confidence=0.93"`` for every point of ``record``."""
    return {name: f"confidence={record.confidence.get(name, 1.0):.2f}" for name in record.points}


def write_landmarks(path: str | Path, record: PelvisLandmarks | LandmarkFile, *, name: str = "landmarks") -> Path:
    """Write ``record`` (points in the frame the file is for) as a Slicer fiducial list with a
    confidence per point and its missing landmarks (module docstring)."""
    doc = markups.markups_document("Fiducial", record.points, name=name, descriptions=descriptions(record))
    cps = doc["markups"][0]["controlPoints"]
    for k, label in enumerate(record.missing, start=len(cps) + 1):
        cps.append({"id": str(k), "label": label, "description": "not found: place it", "position": [0.0, 0.0, 0.0],
                    "orientation": [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0], "selected": False,
                    "locked": False, "visibility": True, "positionStatus": "missing"})
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _document(path: Path) -> dict:
    if not path.is_file():
        raise ManifestError(f"{path}: no such landmarks file (or not a regular file)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ManifestError(f"{path}: {path.stat().st_size} bytes is too large for a landmarks file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable markups JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("markups"), list):
        raise ManifestError(f"{path}: not a 3D Slicer markups file (no 'markups' list)")
    return doc


def read_landmarks(path: str | Path) -> LandmarkFile:
    """Read a markups file written by :func:`write_landmarks` or edited in 3D Slicer.

    Raises
    ------
    ManifestError
        Not a markups file, a repeated label, a non-finite or missing position, or units
        other than mm; the message names the file and the point.
    """
    path = Path(path)
    points: dict[str, np.ndarray] = {}
    confidence: dict[str, float] = {}
    missing: list[str] = []
    for markup in _document(path)["markups"]:
        if not isinstance(markup, dict):
            raise ManifestError(f"{path}: a markup is not an object")
        system = str(markup.get("coordinateSystem", "LPS")).upper()
        if system not in ("LPS", "RAS") or str(markup.get("coordinateUnits", "mm")) != "mm":
            raise ManifestError(f"{path}: markups must be in RAS or LPS and mm")
        flip = np.array([-1.0, -1.0, 1.0]) if system == "LPS" else np.ones(3)
        for i, cp in enumerate(markup.get("controlPoints", [])):
            if not isinstance(cp, dict):
                raise ManifestError(f"{path}: control point {i + 1} is not an object")
            label = str(cp.get("label", f"point-{i + 1}"))
            if label in points or label in missing:
                raise ManifestError(f"{path}: control point label {label!r} is repeated")
            if str(cp.get("positionStatus", "defined")) != "defined":
                missing.append(label)
                continue
            try:
                p = np.array(cp["position"], dtype=np.float64).reshape(3)
            except (TypeError, KeyError, ValueError):
                raise ManifestError(f"{path}: control point {label!r} has no valid 'position'") from None
            if not np.all(np.isfinite(p)):
                raise ManifestError(f"{path}: control point {label!r} has a non-finite coordinate")
            points[label] = p * flip
            found = _CONFIDENCE.search(str(cp.get("description", "")))
            confidence[label] = min(float(found.group(1)), 1.0) if found else 1.0
    return LandmarkFile(MappingProxyType(points), MappingProxyType(confidence), tuple(missing))


def scene_params(scene: Scene) -> AnatomyParams:
    """The anatomy parameters a built scene was made with (from its metadata, or from the
    ``anatomy_*`` keys of a loaded ``scene.toml``); defaults for any not recorded."""
    meta = scene.metadata or {}
    given = dict(meta.get("params") or {})
    for key, value in dict(meta.get("source") or {}).items():
        if key.startswith("anatomy_"):
            given.setdefault(key[len("anatomy_"):], value)
    kwargs = {}
    for f in fields(AnatomyParams):
        if f.name not in given:
            continue
        value = given[f.name]
        if isinstance(value, str) and value.startswith("{"):
            value = json.loads(value)
        if isinstance(value, Mapping):
            value = {int(str(k).lstrip("S")): float(v) for k, v in value.items()}
        elif isinstance(getattr(AnatomyParams(), f.name), float):
            value = float(value)
        kwargs[f.name] = value
    return AnatomyParams(**kwargs).validated()


def rebuild_from_landmarks(scene: Scene, landmarks: Mapping[str, np.ndarray] | LandmarkFile | PelvisLandmarks, *,
                           params: AnatomyParams | None = None,
                           progress: Callable[[float, str], None] | None = None) -> Scene:
    """The anatomy of ``scene`` rebuilt on corrected landmarks, in the same scene frame.

    Parameters
    ----------
    scene : Scene
        A built scene (its bones, skin and marrow surfaces are kept; its built structures
        are replaced).
    landmarks : mapping of str to (3,) float, LandmarkFile or PelvisLandmarks
        Landmark points in the scene's frame, RAS mm (every landmark of
        :data:`.landmarks.REQUIRED` and the foramen openings of the levels to build).
    params : AnatomyParams, optional
        Default: those the scene was built with (:func:`scene_params`).
    progress : callable (fraction 0..1, message), optional
        Told as each stage starts; raising from it cancels (nothing is changed).

    Raises
    ------
    LandmarkError
        A required landmark is missing.
    AnatomyError
        The anatomy cannot be built on these landmarks, or fails validation (listed).
    """
    from needlesim.anatomy.build import build_scene

    from needlesim.anatomy.importers.hipsplit import landmark_bones

    bones = {s.name: s.mesh for s in scene.structures if s.is_bone}
    search = landmark_bones(bones)  # whole hip bones (an import) split for the landmark frame
    ilia = {k: m for k, m in search.items() if k.endswith("ilium") and k not in bones}
    skins = scene.by_role(Role.SKIN)
    marrow = {s.name: s.marrow_faces for s in scene.structures if s.is_bone and s.marrow_faces is not None}
    points = landmarks.points if isinstance(landmarks, (LandmarkFile, PelvisLandmarks)) else landmarks
    given = landmarks.confidence if isinstance(landmarks, (LandmarkFile, PelvisLandmarks)) else None
    tell = progress or (lambda fraction, message: None)
    tell(0.0, "taking the corrected landmarks")
    record = landmarks_from_points(search, points, confidence=given, log=("landmarks given, not searched",))
    meta = scene.metadata or {}
    source = {k: v for k, v in dict(meta.get("source") or {}).items()
              if not k.startswith("anatomy_") and k != "landmark_search"}
    return build_scene(bones, skins[0].mesh if skins else None, params=params or scene_params(scene), name=scene.name,
                       description=str(meta.get("description", "")), source=source,
                       marrow_faces=marrow or None, landmarks=record, progress=tell, ilia=ilia or None)
