"""Scene manifests: a TOML file beside its meshes that names and describes every structure.

```toml
[scene]
name = "..."
units = "mm"           # default units of every mesh: mm, cm or m
frame = "RAS"          # default source frame: RAS, LPS or glTF
landmarks = "landmarks.mrk.json"   # optional Slicer markups file (inside the folder)

[scene.landmark_points]            # optional inline landmarks, in the scene frame/units
left-psis = [-45.0, -60.0, 20.0]

[[structure]]
name = "left S2 root"
role = "nerve_root"    # skin, cortical_bone, marrow, sacrum, nerve_root, dura, nerve, vessel, joint, other
side = "left"          # left, right, midline
mesh = "left_s2_root.ply"          # relative, inside the scene folder
# optional: level, critical, units, frame, node, cortical_thickness_mm, allow_open,
#           marrow_surface = "left_ilium_marrow.ply"  (a shell bone's inner surface: see core.marrow)
```
Every key is checked: a missing or misspelt key is an error that names the file, the
structure and the closest valid key. Mesh paths may not leave the scene folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Optional

import numpy as np
from pydantic import BaseModel, Field

from . import markups
from .files import read_text
from .schema import STRICT, Name, Number, Text, Vec3, parse_toml, validate
from ..model.conventions import FRAME_TO_RAS, UNIT_TO_MM
from ..errors import ManifestError, MeshError, NeedlesimError, NeedlesimWarning
from .meshio import read_mesh, to_ras_mm, validate_mesh
from ..model.scene import Level, Role, Scene, Side, Structure

MANIFEST_NAME = "scene.toml"

Units = Literal[tuple(UNIT_TO_MM)]  # type: ignore[valid-type]
Frame = Literal[tuple(FRAME_TO_RAS)]  # type: ignore[valid-type]


class SceneSpec(BaseModel):
    """The ``[scene]`` table."""

    model_config = STRICT
    name: Optional[Name] = None
    description: Text = ""
    units: Units = "mm"
    frame: Frame = "RAS"
    landmarks: Optional[Name] = None
    landmark_points: dict[Name, Vec3] = Field(default_factory=dict, max_length=100_000)
    source: dict[Name, Any] = Field(default_factory=dict)


class StructureSpec(BaseModel):
    """One ``[[structure]]`` entry."""

    model_config = STRICT
    name: Name
    role: Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
    mesh: Name
    side: Literal[tuple(s.value for s in Side)] = "midline"  # type: ignore[valid-type]
    level: Optional[Literal[tuple(lv.value for lv in Level)]] = None  # type: ignore[valid-type]
    critical: Optional[bool] = None
    units: Optional[Units] = None
    frame: Optional[Frame] = None
    node: Optional[Name] = None
    cortical_thickness_mm: Optional[Annotated[float, Field(allow_inf_nan=False, gt=0, le=1e3)]] = None
    allow_open: bool = False
    description: Text = ""
    marrow_surface: Optional[Name] = None


class ManifestSpec(BaseModel):
    model_config = STRICT
    scene: SceneSpec = Field(default_factory=SceneSpec)
    structure: list[dict] = Field(min_length=1, max_length=10_000)


def load_scene(path: str | Path) -> Scene:
    """Load a scene from its manifest (``scene.toml``) or the folder that holds it."""
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    text = read_text(manifest, "scene manifest", ManifestError)
    return scene_from_manifest(parse_toml(text, str(manifest), ManifestError), manifest)


def scene_from_manifest(doc: Mapping[str, Any], manifest: Path) -> Scene:
    """Build a :class:`Scene` from a parsed manifest; ``manifest`` locates relative paths."""
    if isinstance(doc, dict) and "structure" not in doc:
        raise ManifestError(f"{manifest}: no [[structure]] entries")
    spec = validate(ManifestSpec, doc, str(manifest), ManifestError)
    head = spec.scene
    entries = [_structure_spec(e, i, manifest) for i, e in enumerate(spec.structure)]
    structures = [_structure(e, manifest, head.units, head.frame) for e in entries]
    from .human_size import check_human_size

    check_human_size(structures, source=str(manifest), units={e.name: e.units or head.units for e in entries},
                     explicit_units={e.name for e in entries if e.units is not None})
    landmarks = _landmarks(head, manifest)
    return Scene(
        structures=tuple(structures), landmarks=landmarks,
        name=head.name or manifest.parent.name, source=str(manifest),
        metadata={"description": head.description, "source": dict(head.source)},
    )


def _structure_spec(entry: dict, i: int, manifest: Path) -> StructureSpec:
    name = entry.get("name")
    where = f"structure {name!r}" if isinstance(name, str) else f"[[structure]] #{i + 1}"
    return validate(StructureSpec, entry, f"{manifest}: {where}", ManifestError)


def _structure(e: StructureSpec, manifest: Path, units: str, frame: str) -> Structure:
    where = f"structure {e.name!r}"
    role = Role(e.role)
    mesh_path = resolve_inside(manifest.parent, e.mesh, manifest, where)
    u, fr = e.units or units, e.frame or frame
    mesh = to_ras_mm(read_mesh(mesh_path, node=e.node), units=u, frame=fr)
    with warnings.catch_warnings():
        if e.allow_open:
            warnings.simplefilter("ignore", NeedlesimWarning)
        mesh = validate_mesh(mesh, mesh_path, what=where)
    kwargs = {}
    if e.marrow_surface is not None:
        kwargs["marrow_faces"] = _marrow_faces(e.marrow_surface, mesh, manifest, where, u, fr)
    if e.cortical_thickness_mm is not None:
        kwargs["cortical_thickness_mm"] = float(e.cortical_thickness_mm)
    return Structure.from_trimesh(
        e.name, role, mesh, side=Side(e.side), level=None if e.level is None else Level(e.level),
        critical=role.critical_by_default if e.critical is None else e.critical, source=str(mesh_path), **kwargs,
    )


def _marrow_faces(rel: Any, mesh, manifest: Path, where: str, units: str, frame: str) -> np.ndarray:
    """The faces of ``mesh`` that the marrow (endosteal) surface patch ``rel`` lies on."""
    from ..needle.marrow import matching_faces

    path = resolve_inside(manifest.parent, rel, manifest, f"{where} marrow_surface")
    patch = to_ras_mm(read_mesh(path), units=units, frame=frame)
    faces = matching_faces(mesh.vertices, mesh.faces, patch.vertices, patch.faces)
    if len(faces) < 0.9 * len(patch.faces):
        raise ManifestError(f"{path}: only {len(faces)} of its {len(patch.faces)} faces lie on the faces of "
                            f"{where}: it is not that bone's marrow surface")
    return faces


def _landmarks(head: SceneSpec, manifest: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if head.landmarks is not None:
        out.update(markups.read_points(resolve_inside(manifest.parent, head.landmarks, manifest, "[scene] landmarks")))
    m = FRAME_TO_RAS[head.frame][:3, :3] * UNIT_TO_MM[head.units]
    for name, p in head.landmark_points.items():
        out[name] = m @ np.array(p, dtype=np.float64)
    return out


def resolve_inside(folder: Path, rel: Any, manifest: Path, where: str) -> Path:
    """``folder / rel``, refusing absolute paths and paths that leave ``folder``."""
    if not isinstance(rel, str) or not rel:
        raise ManifestError(f"{manifest}: {where}: the path must be a non-empty string")
    root = folder.resolve()
    target = (root / rel).resolve()
    if Path(rel).is_absolute() or not target.is_relative_to(root):
        raise ManifestError(f"{manifest}: {where}: path {rel!r} leaves the scene folder {root}")
    return target


__all__ = ["load_scene", "scene_from_manifest", "resolve_inside", "MANIFEST_NAME", "NeedlesimError", "MeshError"]
