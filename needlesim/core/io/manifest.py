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

import difflib
import sys
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import markups
from ..model.conventions import FRAME_TO_RAS, UNIT_TO_MM
from ..errors import ManifestError, MeshError, NeedlesimError, NeedlesimWarning
from .meshio import read_mesh, to_ras_mm, validate_mesh
from ..model.scene import Level, Role, Scene, Side, Structure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MANIFEST_NAME = "scene.toml"
SCENE_KEYS = {"name", "description", "units", "frame", "landmarks", "landmark_points", "source"}
STRUCTURE_REQUIRED = {"name", "role", "mesh"}
STRUCTURE_OPTIONAL = {"side", "level", "critical", "units", "frame", "node", "cortical_thickness_mm",
                      "allow_open", "description", "marrow_surface"}


def load_scene(path: str | Path) -> Scene:
    """Load a scene from its manifest (``scene.toml``) or the folder that holds it."""
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: no such scene manifest")
    try:
        doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{manifest}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{manifest}: not valid TOML ({exc})") from None
    return scene_from_manifest(doc, manifest)


def scene_from_manifest(doc: Mapping[str, Any], manifest: Path) -> Scene:
    """Build a :class:`Scene` from a parsed manifest; ``manifest`` locates relative paths."""
    _check_keys(doc, {"scene", "structure"}, set(), manifest, "the manifest")
    head = doc.get("scene", {})
    _check_keys(head, SCENE_KEYS, set(), manifest, "[scene]")
    units = _choice(head.get("units", "mm"), UNIT_TO_MM, manifest, "[scene] units")
    frame = _choice(head.get("frame", "RAS"), FRAME_TO_RAS, manifest, "[scene] frame")
    entries = doc.get("structure", [])
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{manifest}: no [[structure]] entries")
    structures = [_structure(e, i, manifest, units, frame) for i, e in enumerate(entries)]
    landmarks = _landmarks(head, manifest, units, frame)
    return Scene(
        structures=tuple(structures), landmarks=landmarks,
        name=str(head.get("name", manifest.parent.name)), source=str(manifest),
        metadata={"description": head.get("description", ""), "source": dict(head.get("source", {}))},
    )


def _structure(entry: Any, i: int, manifest: Path, units: str, frame: str) -> Structure:
    where = f"[[structure]] #{i + 1}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{manifest}: {where} is not a table")
    where = f"structure {entry.get('name', f'#{i + 1}')!r}"
    _check_keys(entry, STRUCTURE_REQUIRED | STRUCTURE_OPTIONAL, STRUCTURE_REQUIRED, manifest, where)
    role = Role(_choice(entry["role"], [r.value for r in Role], manifest, f"{where} role"))
    side = Side(_choice(entry.get("side", "midline"), [s.value for s in Side], manifest, f"{where} side"))
    level = entry.get("level")
    if level is not None:
        level = Level(_choice(level, [lv.value for lv in Level], manifest, f"{where} level"))
    mesh_path = resolve_inside(manifest.parent, entry["mesh"], manifest, where)
    u = _choice(entry.get("units", units), UNIT_TO_MM, manifest, f"{where} units")
    fr = _choice(entry.get("frame", frame), FRAME_TO_RAS, manifest, f"{where} frame")
    mesh = to_ras_mm(read_mesh(mesh_path, node=entry.get("node")), units=u, frame=fr)
    with warnings.catch_warnings():
        if entry.get("allow_open", False):
            warnings.simplefilter("ignore", NeedlesimWarning)
        mesh = validate_mesh(mesh, mesh_path, what=where)
    kwargs = {}
    if "marrow_surface" in entry:
        kwargs["marrow_faces"] = _marrow_faces(entry["marrow_surface"], mesh, manifest, where, u, fr)
    if "cortical_thickness_mm" in entry:
        kwargs["cortical_thickness_mm"] = _positive(entry["cortical_thickness_mm"], manifest, where)
    return Structure.from_trimesh(
        str(entry["name"]), role, mesh, side=side, level=level,
        critical=bool(entry.get("critical", role.critical_by_default)), source=str(mesh_path), **kwargs,
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


def _landmarks(head: Mapping[str, Any], manifest: Path, units: str, frame: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if "landmarks" in head:
        out.update(markups.read_points(resolve_inside(manifest.parent, head["landmarks"], manifest, "[scene] landmarks")))
    inline = head.get("landmark_points", {})
    if not isinstance(inline, dict):
        raise ManifestError(f"{manifest}: [scene.landmark_points] must be a table of name = [x, y, z]")
    m = FRAME_TO_RAS[frame][:3, :3] * UNIT_TO_MM[units]
    for name, p in inline.items():
        try:
            q = np.array(p, dtype=np.float64).reshape(3)
        except (TypeError, ValueError):
            raise ManifestError(f"{manifest}: landmark {name!r} must be [x, y, z]") from None
        if not np.all(np.isfinite(q)):
            raise ManifestError(f"{manifest}: landmark {name!r} has a non-finite coordinate")
        out[name] = m @ q
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


def _check_keys(table: Any, allowed: set[str], required: set[str], manifest: Path, where: str) -> None:
    if not isinstance(table, dict):
        raise ManifestError(f"{manifest}: {where} must be a table")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; valid keys: {', '.join(sorted(allowed))}"
            raise ManifestError(f"{manifest}: {where}: unknown key {key!r}{hint}")
    for key in sorted(required - set(table)):
        raise ManifestError(f"{manifest}: {where}: missing key {key!r}")


def _choice(value: Any, allowed, manifest: Path, where: str) -> str:
    if value not in allowed:
        raise ManifestError(f"{manifest}: {where} = {value!r} is not one of {', '.join(map(str, allowed))}")
    return value


def _positive(value: Any, manifest: Path, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0:
        raise ManifestError(f"{manifest}: {where}: cortical_thickness_mm must be a positive number of mm")
    return v


__all__ = ["load_scene", "scene_from_manifest", "resolve_inside", "MANIFEST_NAME", "NeedlesimError", "MeshError"]
