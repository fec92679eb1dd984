"""Import any pelvis of the HuBMAP HRA 3D Reference Object Library (glTF binary).

Whatever the sex prefix (``VH_F_``, ``VH_M_``) or release, the nodes are found by pattern
(:data:`~.common.NAME_RULES`): ``*sacrum``, ``*coccyx``, ``*{ilium,ischium,pubis}_compact_bone_{L,R}``
(glTF ``_L`` is the patient's left), and the open ``*_spongy_bone_{L,R}`` patches, which are
the shells' inner surfaces and become each bone's marrow faces (see ``docs/anatomy.md``). The
skin, if given, is a second file (``VH_*_Skin.glb``): its largest closed node, cropped to the
pelvic region as the built-in scene's is. glTF is metres, +X left, +Y up, +Z forward; the
frame is checked anatomically after conversion (:func:`needlesim.anatomy.hra.check_frame`).

No hash is checked here: that belongs only to rebuilding the built-in scene from its published
files (``scripts/build_builtin_scene.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import trimesh

from needlesim.anatomy import hra as builtin_hra
from needlesim.anatomy.importers.common import HIP_PARTS, ImportFailed, ImportOptions, RawPelvis, scene_name
from needlesim.core.errors import MeshError
from needlesim.core.model.conventions import UNIT_TO_MM
from needlesim.core.needle.marrow import matching_faces

SPONGY = re.compile(r"(?P<part>ilium|ischium|pubis)_spongy_bone_(?P<side>[LR])$", re.I)


def gltf_matrix(units: str) -> np.ndarray:
    """(4, 4): glTF axes in ``units`` to RAS mm."""
    m = builtin_hra.GLTF_M_TO_RAS_MM.copy()
    m[:3, :3] *= UNIT_TO_MM[units] / 1000.0
    return m


def _bones(nodes: dict[str, trimesh.Trimesh], path: Path, m: np.ndarray) -> tuple[dict, dict]:
    bones, spongy = {}, {}
    for node, mesh in nodes.items():
        name = scene_name(node)
        hit = SPONGY.search(node)
        if hit:
            side = "left" if hit["side"].upper() == "L" else "right"
            spongy[f"{side} {hit['part'].lower()}"] = mesh.copy().apply_transform(m)
        elif name is not None and name != "skin":
            if name in bones:
                raise ImportFailed(f"{path.name}: two nodes are the {name}; rename one")
            bones[name] = mesh.copy().apply_transform(m)
    if not bones:
        raise ImportFailed(f"{path.name}: no node is a pelvic bone (nodes: {', '.join(sorted(nodes))})")
    return bones, spongy


def _marrow(bones: dict, spongy: dict) -> dict[str, np.ndarray]:
    out = {}
    for name, patch in spongy.items():
        if name in bones:
            faces = matching_faces(bones[name].vertices, bones[name].faces, patch.vertices, patch.faces)
            if len(faces) >= 0.9 * len(patch.faces):  # else not the shell's inner surface: ignore
                out[name] = faces
    return out


def _skin(path: Path, m: np.ndarray, bones: dict) -> trimesh.Trimesh:
    nodes = builtin_hra.read_gltf_meshes(path)
    named = [k for k in nodes if scene_name(k) == "skin"] or list(nodes)
    skin = max((nodes[k] for k in named), key=lambda g: len(g.faces)).copy().apply_transform(m)
    builtin_hra.check_closed({f"{path.name} skin": skin})
    bounds = np.array([np.min([b.bounds[0] for b in bones.values()], 0), np.max([b.bounds[1] for b in bones.values()], 0)])
    return builtin_hra.crop_skin(skin, bounds).mesh


def read_hra(pelvis: Path, skin: Path | None, options: ImportOptions) -> RawPelvis:
    """Read an HRA pelvis glTF (and optionally its skin) into a :class:`RawPelvis`."""
    units = options.units or "m"
    m = gltf_matrix(units)
    try:
        bones, spongy = _bones(builtin_hra.read_gltf_meshes(pelvis), pelvis, m)
        builtin_hra.check_closed(bones)
        if all(f"{s} {p}" in bones for s in ("left", "right") for p in HIP_PARTS):
            builtin_hra.check_frame(bones)
        skin_mesh = _skin(skin, m, bones) if skin is not None else None
    except MeshError as exc:
        raise ImportFailed(str(exc)) from None
    source = {"importer": "needlesim import hra", "pelvis": pelvis.name, "units": units, "frame": "glTF",
              "sha256_pelvis": builtin_hra.sha256_of(pelvis)}
    if skin is not None:
        source |= {"skin": skin.name, "sha256_skin": builtin_hra.sha256_of(skin)}
    return RawPelvis(bones, skin_mesh, f"{pelvis.stem} (HuBMAP HRA), imported", source, _marrow(bones, spongy))


def reader(pelvis: str | Path, skin: str | Path | None, options: ImportOptions) -> Callable[[], RawPelvis]:
    """A reader for :func:`.pipeline.import_pelvis`."""
    return lambda: read_hra(Path(pelvis), None if skin is None else Path(skin), options)
