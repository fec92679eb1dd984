"""Read and write 3D Slicer markups JSON (``.mrk.json``): points and lines.

Only the parts of the schema we need are read; nothing in the file is executed. Slicer
writes LPS by default; points are converted to RAS on read and written in RAS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import ManifestError

SCHEMA = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"


def read_points(path: str | Path) -> dict[str, np.ndarray]:
    """Every control point of every markup in a Slicer ``.mrk.json`` file, as
    label -> (3,) RAS mm. Labels must be unique."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such markups file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable markups JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("markups"), list):
        raise ManifestError(f"{path}: not a 3D Slicer markups file (no 'markups' list)")
    points: dict[str, np.ndarray] = {}
    for markup in doc["markups"]:
        points.update(_markup_points(markup, path, points))
    return points


def _markup_points(markup: object, path: Path, seen: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(markup, dict):
        raise ManifestError(f"{path}: a markup is not an object")
    system = str(markup.get("coordinateSystem", "LPS")).upper()
    units = str(markup.get("coordinateUnits", "mm"))
    if system not in ("LPS", "RAS"):
        raise ManifestError(f"{path}: unknown coordinateSystem {system!r}")
    if units != "mm":
        raise ManifestError(f"{path}: coordinateUnits must be mm, got {units!r}")
    out: dict[str, np.ndarray] = {}
    for i, cp in enumerate(markup.get("controlPoints", [])):
        label = str(cp.get("label", f"point-{i + 1}")) if isinstance(cp, dict) else None
        try:
            p = np.array(cp["position"], dtype=np.float64).reshape(3)
        except (TypeError, KeyError, ValueError):
            raise ManifestError(f"{path}: control point {label or i} has no valid 'position'") from None
        if not np.all(np.isfinite(p)):
            raise ManifestError(f"{path}: control point {label!r} has a non-finite coordinate")
        if label in out or label in seen:
            raise ManifestError(f"{path}: control point label {label!r} is repeated")
        out[label] = p * np.array([-1.0, -1.0, 1.0]) if system == "LPS" else p
    return out


def _control_points(points: Mapping[str, np.ndarray], descriptions: Mapping[str, str] | None) -> list[dict]:
    cps = []
    for i, (label, p) in enumerate(points.items()):
        cps.append({
            "id": str(i + 1),
            "label": label,
            "description": (descriptions or {}).get(label, ""),
            "position": [round(float(x), POSITION_DECIMALS) + 0.0 for x in np.asarray(p, dtype=float).reshape(3)],
            "orientation": [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0],
            "selected": True, "locked": True, "visibility": True, "positionStatus": "defined",
        })
    return cps


#: Decimals of a written coordinate, mm: 1e-6 mm (a nanometre) is far below any mesh's
#: precision, and rounding there makes a written file the same bytes on every machine
#: (the last float digits of a landmark vary with the BLAS and numpy build).
POSITION_DECIMALS = 6


def markups_document(kind: str, points: Mapping[str, np.ndarray], *, name: str = "",
                     descriptions: Mapping[str, str] | None = None) -> dict:
    """A Slicer markups document (RAS, mm) of one markup of ``kind`` ("Fiducial", "Line")."""
    return {
        "@schema": SCHEMA,
        "markups": [{
            "type": kind, "name": name, "coordinateSystem": "RAS", "coordinateUnits": "mm",
            "locked": True, "controlPoints": _control_points(points, descriptions),
        }],
    }


def write_points(path: str | Path, points: Mapping[str, np.ndarray], *, name: str = "landmarks",
                 descriptions: Mapping[str, str] | None = None) -> Path:
    """Write named points as one Slicer fiducial list (RAS, mm)."""
    return _write(path, markups_document("Fiducial", points, name=name, descriptions=descriptions))


def write_line(path: str | Path, start: np.ndarray, end: np.ndarray, *, name: str = "needle",
               labels: tuple[str, str] = ("skin puncture", "tip")) -> Path:
    """Write a two-point Slicer line markup (RAS, mm), e.g. a needle trajectory."""
    return _write(path, markups_document("Line", {labels[0]: start, labels[1]: end}, name=name))


def _write(path: str | Path, doc: dict) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path
