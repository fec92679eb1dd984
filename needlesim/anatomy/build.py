"""Build a complete scene on a real pelvis: bones and skin moved into the neutral frame, a
pelvic tilt applied, and the dural sac, sacral roots and sleeves, sciatic nerves and superior
gluteal vessels built onto the bone; and write such a scene to a folder.

Frame and tilt
--------------
The scene frame is the **anterior pelvic plane (APP) frame** of the pelvis (RAS, mm: x to the
patient's right along the inter-ASIS line, y anterior normal to the APP, z superior, origin
midway between the ASISs), found by :func:`~needlesim.anatomy.landmarks.find_pelvis_landmarks`.
A prone patient lies on the ASISs and the pubic symphysis, so at tilt 0 the APP is parallel to
the table and the needle's "anterior" is straight down into it.

``tilt_deg`` then rotates everything about the inter-ASIS line (the x axis through the
origin: the ASISs rest on the table and stay put). **Positive = anterior pelvic tilt**: the
sacrum and the iliac crests rotate anteriorly (toward the table), the pubic symphysis
posteriorly; as in the standing convention, where anterior tilt brings the ASIS forward of the
symphysis. Negative is posterior tilt. The same needle angles then meet the bone at a
different slope, which is how tilt changes risk.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import trimesh

from needlesim.anatomy.freespace import FreeSpace
from needlesim.anatomy.landmarks import PelvisLandmarks, find_pelvis_landmarks
from needlesim.anatomy.neural import SIDES, Canal, build_neural
from needlesim.anatomy.params import AnatomyError, AnatomyParams
from needlesim.anatomy.tubefit import BoneDistance, Tube
from needlesim.anatomy.validate import validate_scene
from needlesim.anatomy.vessels import superior_gluteal_vessels
from needlesim.core.io import markups
from needlesim.core.io.files import current_umask
from needlesim.core.model.scene import Role, Scene, Side, Structure

#: Bones a pelvis must have, by the names the landmark finder uses.
REQUIRED_BONES = ("sacrum", "left ilium", "right ilium", "left ischium", "right ischium", "left pubis", "right pubis")
#: Margins of the fine free-space grid around the sacrum, mm (low corner, high corner, in
#: x, y, z of the neutral frame): room in front of the sacrum for the sacral plexus.
FINE_BOX_MARGIN_MM = np.array([[-12.0, -5.0, -10.0], [12.0, 30.0, 8.0]])
#: Margins of the coarse grid around the notches, mm: the backs of the hips below them.
WIDE_BOX_MARGIN_MM = np.array([[-35.0, -15.0, -80.0], [35.0, 40.0, 0.0]])
#: Resolution of the coarse grid, mm (nerves 12 mm and vessels 4-5 mm across).
WIDE_VOXEL_MM = 1.0
#: Files a scene folder keeps from before a rewrite.
KEPT_FILES = ("LICENSE-meshes.md",)


@dataclass(frozen=True)
class BuiltAnatomy:
    """What :func:`build_scene` built, in the scene frame (for tests and figures)."""

    tubes: Mapping[str, Tube]
    canal: Canal
    tunnel_points: Mapping[str, np.ndarray]
    ganglia: Mapping[str, np.ndarray]
    matrix: np.ndarray = field(repr=False)
    #: The landmark record the anatomy was built on (scene frame), with confidence and log.
    landmarks: PelvisLandmarks | None = field(default=None, repr=False)


def tilt_matrix(tilt_deg: float) -> np.ndarray:
    """(4, 4): rotation about the x axis through the origin; positive = anterior tilt."""
    return trimesh.transformations.rotation_matrix(np.radians(-tilt_deg), [1.0, 0.0, 0.0])


def _moved_tube(t: Tube, m: np.ndarray) -> Tube:
    line = t.centreline @ m[:3, :3].T + m[:3, 3]
    return Tube(t.name, t.role, t.side, t.level, line, t.radius_mm, t.nominal_radius_mm)


def _spaces(bones: Mapping[str, trimesh.Trimesh], lm, params: AnatomyParams) -> tuple[FreeSpace, FreeSpace]:
    meshes = list(bones.values())
    fine = FreeSpace(meshes, bones["sacrum"].bounds + FINE_BOX_MARGIN_MM, params.voxel_mm)
    notches = np.array([lm.points[f"{s.value}-sciatic-notch-top"] for s in SIDES])
    box = np.array([notches.min(0), notches.max(0)])
    box[0, 1] = min(box[0, 1], bones["sacrum"].bounds[0, 1])
    wide = FreeSpace(meshes, box + WIDE_BOX_MARGIN_MM, WIDE_VOXEL_MM)
    return fine, wide


def build_scene(bones: Mapping[str, trimesh.Trimesh], skin: trimesh.Trimesh | None, *,
                params: AnatomyParams = AnatomyParams(), name: str = "pelvis with built anatomy",
                description: str = "", source: Mapping[str, str] | None = None,
                marrow_faces: Mapping[str, np.ndarray] | None = None,
                landmarks: PelvisLandmarks | None = None,
                progress: Callable[[float, str], None] | None = None,
                on_stage: Callable[[str], None] | None = None,
                validate: bool = True,
                ilia: Mapping[str, trimesh.Trimesh] | None = None) -> Scene:
    """Find the landmarks, move into the tilted neutral frame, build the anatomy (module
    docstring), check it with :func:`.validate.validate_scene` and return the scene: bones,
    skin, built structures, landmarks (the full record, with confidence and what the search
    saw, is ``scene.metadata["anatomy"].landmarks``).

    Parameters
    ----------
    bones : mapping of str to trimesh.Trimesh
        Closed bone meshes, mm, any right-handed frame, named as in :data:`REQUIRED_BONES`
        (an extra ``"coccyx"`` is kept as bone).
    skin : trimesh.Trimesh or None
        The skin in the bones' frame (may be open).
    params : AnatomyParams
    marrow_faces : mapping of str to (k,) int, optional
        For shell bones, the faces of their inner (endosteal) surface (see
        :mod:`needlesim.core.needle.marrow`); carried onto the bone structures.
    landmarks : PelvisLandmarks, optional
        Landmarks in the frame of ``bones`` to build on instead of searching: an
        individual's, carried through its warp, or corrected by hand
        (:func:`.landmarks.landmarks_from_points`).
    progress : callable (fraction 0..1, message), optional
        Told as each stage starts; an exception raised from it stops the build (a cancel).
    on_stage : callable, optional
        Called with the short name of each stage as it starts (the terminal's stage lines).
    validate : bool
        Refuse a scene whose built structures cut bone or each other (default).
    ilia : mapping of str to trimesh.Trimesh, optional
        With whole hip bones: the surface of each ilium (``"{side} ilium"``, in the frame of
        ``bones``, may be open) on which the superior gluteal vessels run; default the hip bone.

    Raises
    ------
    AnatomyError
        A parameter is out of range, a structure cannot be built, or the validator found a
        problem (all listed).
    LandmarkError
        A bone is missing or a landmark cannot be found.
    """
    params = params.validated()
    missing = [b for b in REQUIRED_BONES if b not in bones]
    if missing and landmarks is None:
        raise AnatomyError(f"cannot build the anatomy: the pelvis lacks {', '.join(missing)}")
    tell = progress or (lambda fraction, message: None)
    stage = on_stage or (lambda name: None)
    stage("landmarks")
    lm_in = landmarks if landmarks is not None else find_pelvis_landmarks(
        bones, progress=lambda f, m: tell(0.3 * f, m))
    neutral = lm_in.neutral_matrix
    bn = {k: m.copy().apply_transform(neutral) for k, m in bones.items()}
    lm = lm_in.transformed(neutral)
    stage("free space")
    tell(0.3, "voxelising the free space round the sacrum")
    fine, wide = _spaces(bn, lm, params)
    stage("dural sac, roots and nerves")
    tell(0.4, "building the dural sac, the sacral roots and the sciatic nerves")
    neural = build_neural(bn, lm, params, space=fine, wide_space=wide)
    tubes = dict(neural.tubes)
    stage("vessels")
    distance = BoneDistance(list(bn.values()))
    walk = {k: m.copy().apply_transform(neutral) for k, m in (ilia or {}).items()}
    walk = {f"{s.value} ilium": walk.get(f"{s.value} ilium", bn.get(f"{s.value} ilium", bn.get(f"{s.value} hip bone")))
            for s in SIDES}
    tell(0.8, "building the superior gluteal vessels")
    for side in SIDES:
        for t in superior_gluteal_vessels(bn | walk, lm, side, wide, distance, params):
            tubes[t.name] = t
    tilt = tilt_matrix(params.tilt_deg)
    structures = [_bone(k, m.copy().apply_transform(tilt), (marrow_faces or {}).get(k)) for k, m in bn.items()]
    if skin is not None:
        s = skin.copy().apply_transform(tilt @ neutral)
        structures.append(Structure.from_trimesh("skin", Role.SKIN, s, closed=False, source="skin"))
    moved = {k: _moved_tube(t, tilt) for k, t in tubes.items()}
    structures += [t.structure() for t in moved.values()]
    points = {k: tilt[:3, :3] @ p + tilt[:3, 3] for k, p in lm.points.items()}
    pt = lambda p: tilt[:3, :3] @ p + tilt[:3, 3]  # noqa: E731
    c = neural.canal
    canal = Canal(c.centreline @ tilt[:3, :3].T + tilt[:3, 3], c.levels, c.free_profile_mm, c.lumen_from_arc)
    built = BuiltAnatomy(moved, canal,
                         {k: pt(p) for k, p in neural.tunnel_points.items()}, {k: pt(p) for k, p in neural.ganglia.items()},
                         tilt @ neutral, lm.transformed(tilt))
    meta = {"description": description, "source": dict(source or {}), "params": _params_dict(params), "anatomy": built}
    scene = Scene(tuple(structures), landmarks=points, name=name, source="needlesim.anatomy.build", metadata=meta)
    if validate:
        tell(0.9, "checking that no built structure cuts bone or another")
        _refuse_problems(scene, canal)
    tell(1.0, "anatomy built")
    return scene


def _refuse_problems(scene: Scene, canal: Canal) -> None:
    """Raise :class:`AnatomyError` listing every problem the validator finds."""
    problems = validate_scene(scene, lumen=canal.lumen)
    if problems:
        listed = "; ".join(f"{p.structure}: {p.kind}: {p.detail}" for p in problems)
        raise AnatomyError(f"the built anatomy failed {len(problems)} check(s): {listed}. Correct the landmarks"
                           " (a landmarks file) or report the pelvis")


def _bone(name: str, mesh: trimesh.Trimesh, marrow_faces: np.ndarray | None = None) -> Structure:
    role = Role.SACRUM if name == "sacrum" else Role.CORTICAL_BONE
    side = Side.LEFT if name.startswith("left") else Side.RIGHT if name.startswith("right") else Side.MIDLINE
    return Structure.from_trimesh(name, role, mesh, side=side, source=name, marrow_faces=marrow_faces)


def _params_dict(params: AnatomyParams) -> dict[str, object]:
    out = {}
    for f in fields(params):
        k, v = f.name, getattr(params, f.name)
        out[k] = {f"S{lv}": float(x) for lv, x in dict(v).items()} if isinstance(v, Mapping) else v
    return out


def _file_name(name: str) -> str:
    return name.lower().replace(" ", "_") + ".ply"


def _marrow_file(name: str) -> str:
    return name.lower().replace(" ", "_") + "_marrow.ply"


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    return json.dumps(str(v))


def manifest_text(scene: Scene) -> str:
    """The ``scene.toml`` of a built scene (one ``[[structure]]`` per structure)."""
    meta = scene.metadata
    lines = ["# Generated by needlesim.anatomy.build.write_scene; rebuild rather than edit.", "[scene]",
             f"name = {_toml_value(scene.name)}", f"description = {_toml_value(meta.get('description', ''))}",
             'units = "mm"', 'frame = "RAS"', 'landmarks = "landmarks.mrk.json"', "", "[scene.source]"]
    for k, v in dict(meta.get("source", {})).items():
        lines.append(f"{k} = {_toml_value(v)}")
    for k, v in dict(meta.get("params", {})).items():
        text = json.dumps(v, sort_keys=True) if isinstance(v, Mapping) else v
        lines.append(f"anatomy_{k} = {_toml_value(text)}")
    record = getattr(meta.get("anatomy"), "landmarks", None)
    if record is not None and record.log:
        lines.append(f"landmark_search = {_toml_value(' | '.join(record.log))}")
    for s in scene.structures:
        lines += ["", "[[structure]]", f"name = {_toml_value(s.name)}", f"role = {_toml_value(s.role.value)}",
                  f"side = {_toml_value(s.side.value)}"]
        if s.level is not None:
            lines.append(f"level = {_toml_value(s.level.value)}")
        lines.append(f"mesh = {_toml_value(_file_name(s.name))}")
        if s.marrow_faces is not None:
            lines.append(f"marrow_surface = {_toml_value(_marrow_file(s.name))}")
        if not s.closed:
            lines.append("allow_open = true  # cropped: open at the waist and thighs by design")
    return "\n".join(lines) + "\n"


def write_scene(scene: Scene, folder: str | Path) -> Path:
    """Write a scene as binary PLY per structure, ``scene.toml`` and ``landmarks.mrk.json``.

    Atomic: everything is written to a temporary folder beside ``folder``, which then replaces
    it; :data:`KEPT_FILES` already in ``folder`` are carried over. On any error nothing changes.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700: follow the umask, as files do
    try:
        for s in scene.structures:
            trimesh.Trimesh(s.vertices, s.faces, process=False).export(tmp / _file_name(s.name), file_type="ply", encoding="binary")
            if s.marrow_faces is not None:
                patch = trimesh.Trimesh(s.vertices, s.faces[s.marrow_faces], process=False)
                patch.remove_unreferenced_vertices()
                patch.export(tmp / _marrow_file(s.name), file_type="ply", encoding="binary")
        (tmp / "scene.toml").write_text(manifest_text(scene), encoding="utf-8")
        record = getattr(scene.metadata.get("anatomy"), "landmarks", None)
        notes = {k: f"confidence={record.confidence.get(k, 1.0):.2f}" for k in scene.landmarks} if record else None
        markups.write_points(tmp / "landmarks.mrk.json", scene.landmarks, descriptions=notes)
        for keep in KEPT_FILES:
            if (folder / keep).is_file():
                shutil.copy2(folder / keep, tmp / keep)
        old = folder.with_name(f".{folder.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
