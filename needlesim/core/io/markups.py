"""Read and write 3D Slicer markups JSON (``.mrk.json``): points and lines.

Only the parts of the schema we need are read; nothing in the file is executed. Slicer
writes LPS by default; points are converted to RAS on read and written in RAS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Mapping, Optional

import numpy as np
from pydantic import BaseModel, Field

from .files import read_text
from .schema import STRICT_OPEN, Name, Vec3, parse_json, validate
from ..errors import ManifestError

SCHEMA = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"
#: Most control points read from one file (Slicer's own lists are rarely past a few hundred).
MAX_POINTS = 60_000


class ControlPoint(BaseModel):
    model_config = STRICT_OPEN
    label: Optional[Name] = None
    position: Vec3


class Markup(BaseModel):
    model_config = STRICT_OPEN
    coordinateSystem: Literal["LPS", "RAS", "lps", "ras"] = "LPS"  # noqa: N815 (Slicer's key)
    coordinateUnits: Literal["mm"] = "mm"  # noqa: N815
    controlPoints: list[ControlPoint] = Field(default_factory=list, max_length=MAX_POINTS)  # noqa: N815


class MarkupsDoc(BaseModel):
    model_config = STRICT_OPEN
    markups: list[Markup] = Field(max_length=10_000)


def read_points(path: str | Path) -> dict[str, np.ndarray]:
    """Every control point of every markup in a Slicer ``.mrk.json`` file, as
    label -> (3,) RAS mm. Labels must be unique."""
    path = Path(path)
    doc = parse_json(read_text(path, "markups", ManifestError), str(path), ManifestError)
    if not isinstance(doc, dict) or not isinstance(doc.get("markups"), list):
        raise ManifestError(f"{path}: not a 3D Slicer markups file (no 'markups' list)")
    spec = validate(MarkupsDoc, doc, str(path), ManifestError)
    points: dict[str, np.ndarray] = {}
    for markup in spec.markups:
        points.update(_markup_points(markup, path, points))
    return points


def _markup_points(markup: Markup, path: Path, seen: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    lps = markup.coordinateSystem.upper() == "LPS"
    out: dict[str, np.ndarray] = {}
    for i, cp in enumerate(markup.controlPoints):
        label = cp.label if cp.label is not None else f"point-{i + 1}"
        if label in out or label in seen:
            raise ManifestError(f"{path}: control point label {label!r} is repeated")
        p = np.array(cp.position, dtype=np.float64)
        out[label] = p * np.array([-1.0, -1.0, 1.0]) if lps else p
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
