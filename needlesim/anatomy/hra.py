"""Convert the HuBMAP Human Reference Atlas (HRA) Visible Human Female pelvis and skin.

The sources are two glTF binaries of the HuBMAP CCF 3D Reference Object Library (CC BY 4.0,
see ``meshes/LICENSE-meshes.md``): ``VH_F_Pelvis.glb`` (v1.2; 14 meshes) and
``VH_F_Skin.glb`` (v1.1; the closed whole-body skin of the same person). Their frame is
glTF Y-up in metres with +X to the patient's left, +Y superior and +Z anterior; the project
frame is RAS in millimetres (see ``needlesim.core.model.conventions``).

This module checks, reads, converts and measures; ``scripts/build_builtin_scene.py`` writes
the files. numpy and trimesh only.

Why the ``spongy_bone`` patches are not structures: each one is an *open* patch whose
vertices are vertices of its bone's closed ``compact_bone`` mesh (measured distance 0), so
it marks where spongy bone lies under the surface but encloses no volume and is not an
inner cortical table. As a structure it would add a second, coincident surface and double
every hit on the bone. :func:`patch_offset_mm` measures this on every build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import trimesh

from needlesim.core.errors import MeshError
from needlesim.core.model.scene import Role, Side
from needlesim.core.tolerances import TOL

#: SHA-256 of the originals (``/work/shared/anatomy/*/README.md``).
PELVIS_SHA256 = "155603d0c44a8ed1e0ca307f1ec3037941304f29f4187631135a9a150fab048d"
SKIN_SHA256 = "5de3afdd679a65da7f7334f23eb1fd999c11cf2b4e9d84019370fac51e3b8ede"
PELVIS_FILE = "VH_F_Pelvis.glb"
SKIN_FILE = "VH_F_Skin.glb"
SKIN_NODE = "VH_F_skin"

#: (4, 4) homogeneous matrix from the HRA glTF frame in metres to RAS in mm:
#: ``x_R = -1000 X``, ``y_A = 1000 Z``, ``z_S = 1000 Y``. Its rotation part has
#: determinant +1 (a proper rotation), so triangle winding and outward normals are kept.
GLTF_M_TO_RAS_MM = np.array(
    [
        [-1000.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 1000.0, 0.0],
        [0.0, 1000.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)

#: How far the skin crop box reaches beyond the box of the bones, mm, per RAS axis
#: (R-L, A-P, S-I). 70 mm laterally and cranio-caudally takes the skin over both PSIS and
#: iliac crests, the buttocks, the upper thighs and the lower abdomen; the arms, which hang
#: 20-60 mm lateral to the flanks in this pose, are cut into separate pieces and dropped
#: (:func:`crop_skin`). A-P the box takes the whole depth of the body (the abdomen bulges
#: up to about 95 mm in front of the pubic bones), so the crop never cuts a window in the
#: front or back: 150 mm is more than the body's depth beyond the bones at these levels.
SKIN_CROP_MARGIN_MM = (70.0, 150.0, 70.0)


@dataclass(frozen=True)
class StructureSpec:
    """One structure of the built-in scene: its name, role, side, file and glTF node."""

    name: str
    role: Role
    side: Side
    node: str

    @property
    def filename(self) -> str:
        return self.name.replace(" ", "_") + ".ply"


def _bone(name: str, node: str, role: Role = Role.CORTICAL_BONE) -> StructureSpec:
    side = Side.LEFT if name.startswith("left") else Side.RIGHT if name.startswith("right") else Side.MIDLINE
    return StructureSpec(name, role, side, node)


#: The bones, in scene order. glTF suffix ``_L`` is the patient's left.
BONES: tuple[StructureSpec, ...] = (
    _bone("sacrum", "VH_F_sacrum", Role.SACRUM),
    _bone("coccyx", "VH_F_coccyx"),
    *(
        _bone(f"{side} {bone}", f"VH_F_{bone}_compact_bone_{side[0].upper()}")
        for bone in ("ilium", "ischium", "pubis")
        for side in ("left", "right")
    ),
)
SKIN = StructureSpec("skin", Role.SKIN, Side.MIDLINE, SKIN_NODE)

#: The open spongy-bone patches, keyed by the structure whose compact mesh carries them.
SPONGY_NODES: dict[str, str] = {s.name: s.node.replace("compact", "spongy") for s in BONES[2:]}


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_sha256(path: str | Path, expected: str) -> str:
    """Raise :class:`MeshError` unless the file exists and has the expected SHA-256.

    Returns
    -------
    str
        The (matching) hex digest.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path.name}: no such file at {path} (expected sha256 {expected})")
    actual = sha256_of(path)
    if actual != expected.lower():
        raise MeshError(
            f"{path.name}: SHA-256 mismatch, expected {expected} but the file at {path} has {actual}; "
            "it is not the published original"
        )
    return actual


def read_gltf_meshes(path: str | Path) -> dict[str, trimesh.Trimesh]:
    """Every mesh node of a glTF file with its node transform applied, in the file's frame.

    Coincident vertices (glTF splits them along UV seams) are merged, so a closed surface
    reads as watertight. Returns ``{node name: mesh}`` in sorted node order.
    """
    try:
        scene = trimesh.load(str(path), force="scene", process=False)
    except Exception as exc:  # any parser error is the file's fault
        raise MeshError(f"{Path(path).name}: cannot be read as glTF ({type(exc).__name__}: {exc})") from None
    out = {}
    for node in sorted(scene.graph.nodes_geometry):
        transform, geometry = scene.graph[node]
        g = scene.geometry[geometry]
        v = trimesh.transform_points(np.asarray(g.vertices, dtype=np.float64), transform)
        out[node] = trimesh.Trimesh(v, np.asarray(g.faces, dtype=np.int64), process=True)
    return out


def gltf_to_ras_mm(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """A copy of ``mesh`` moved from the glTF frame in metres to RAS in mm."""
    v = trimesh.transform_points(np.asarray(mesh.vertices, dtype=np.float64), GLTF_M_TO_RAS_MM)
    return trimesh.Trimesh(v, mesh.faces.copy(), process=False)


@dataclass(frozen=True)
class FrameCheck:
    """The anatomical facts that prove a pelvis is in RAS, mm (centroids unless stated)."""

    sacrum_y_mm: float
    pubis_y_mm: float
    pubis_z_mm: float
    iliac_crest_z_mm: float  # highest point of either ilium
    left_ilium_x_mm: float
    right_ilium_x_mm: float
    skin_extents_mm: tuple[float, float, float] | None


def check_frame(bones: Mapping[str, trimesh.Trimesh], skin: trimesh.Trimesh | None = None) -> FrameCheck:
    """Check that bones (keyed by structure name) and skin are in RAS; raise if not.

    Checks: the sacrum is posterior of the pubes (smaller y); the pubes are inferior to the
    iliac crest; the left ilium has x < 0 and the right x > 0; the skin's longest extent is
    along z (head to foot). Raises :class:`MeshError` naming the first failed check.
    """
    c = {k: np.asarray(m.vertices).mean(axis=0) for k, m in bones.items()}
    pubis = (c["left pubis"] + c["right pubis"]) / 2
    crest = max(bones["left ilium"].vertices[:, 2].max(), bones["right ilium"].vertices[:, 2].max())
    ext = None if skin is None else tuple(float(e) for e in skin.extents)
    fc = FrameCheck(float(c["sacrum"][1]), float(pubis[1]), float(pubis[2]), float(crest),
                    float(c["left ilium"][0]), float(c["right ilium"][0]), ext)
    failed = [
        msg for ok, msg in (
            (fc.sacrum_y_mm < fc.pubis_y_mm, "the sacrum is not posterior of the pubes (y)"),
            (fc.pubis_z_mm < fc.iliac_crest_z_mm, "the pubes are not inferior to the iliac crest (z)"),
            (fc.left_ilium_x_mm < 0 < fc.right_ilium_x_mm, "the left ilium is not at x < 0 and the right at x > 0"),
            (ext is None or int(np.argmax(ext)) == 2, "the skin's longest extent is not along z"),
        ) if not ok
    ]
    if failed:
        raise MeshError(f"the pelvis is not in the RAS frame: {'; '.join(failed)} ({fc})")
    return fc


def check_closed(meshes: Mapping[str, trimesh.Trimesh]) -> None:
    """Raise :class:`MeshError` unless every mesh is watertight, consistently wound and
    wound outward (positive signed volume)."""
    for name, m in meshes.items():
        if not (m.is_watertight and m.is_winding_consistent):
            raise MeshError(f"{name}: expected a closed surface, but the mesh is open or inconsistently wound")
        if m.volume <= 0:
            raise MeshError(f"{name}: the mesh is wound inward (signed volume {m.volume:.1f} mm^3)")


@dataclass(frozen=True)
class SkinCrop:
    """The skin cropped to the pelvic region.

    ``box_mm`` (2, 3) float, mm: the crop box (min, max corners) in RAS. ``dropped_faces``
    and ``dropped_centroids_mm`` (k, 3): the pieces cut off (the arms). ``is_open`` is
    expected to be True: a cropped skin has cut edges. ``boundary_loops``: how many.
    """

    mesh: trimesh.Trimesh
    box_mm: np.ndarray
    margin_mm: tuple[float, float, float]
    dropped_faces: tuple[int, ...]
    dropped_centroids_mm: np.ndarray
    is_open: bool
    boundary_loops: int


def crop_skin(skin: trimesh.Trimesh, bones_bounds_mm: np.ndarray, *,
              margin_mm: tuple[float, float, float] = SKIN_CROP_MARGIN_MM) -> SkinCrop:
    """Keep the skin faces whose three corners lie in the bones' box grown by ``margin_mm``,
    then only the largest connected piece (the trunk).

    Every other piece must lie wholly lateral to the bones (an arm or hand the box
    clipped); otherwise the crop has split the trunk and :class:`MeshError` is raised.
    """
    box = np.array([bones_bounds_mm[0] - margin_mm, bones_bounds_mm[1] + margin_mm])
    inside = np.all((skin.vertices >= box[0]) & (skin.vertices <= box[1]), axis=1)
    part = _submesh(skin, np.flatnonzero(inside[skin.faces].all(axis=1)))
    labels = trimesh.graph.connected_component_labels(part.face_adjacency, node_count=len(part.faces))
    counts = np.bincount(labels)
    trunk = int(np.argmax(counts))
    others = [i for i in np.argsort(-counts, kind="stable") if i != trunk]
    centroids = np.array([part.triangles_center[labels == i].mean(axis=0) for i in others]).reshape(-1, 3)
    for i, cen in zip(others, centroids):
        piece = part.vertices[part.faces[labels == i]].reshape(-1, 3)
        if piece[:, 0].max() > bones_bounds_mm[0, 0] and piece[:, 0].min() < bones_bounds_mm[1, 0]:
            raise MeshError(f"skin crop: a dropped piece of {counts[i]} faces at {np.round(cen)} mm "
                            "overlaps the pelvis laterally; the crop box splits the trunk")
    mesh = _submesh(part, np.flatnonzero(labels == trunk))
    return SkinCrop(mesh, box, tuple(margin_mm), tuple(int(counts[i]) for i in others), centroids,
                    not mesh.is_watertight, _boundary_loops(mesh))


def _submesh(mesh: trimesh.Trimesh, face_index: np.ndarray) -> trimesh.Trimesh:
    """The given faces (in order) with only the vertices they use (in order)."""
    out = trimesh.Trimesh(mesh.vertices.copy(), mesh.faces[face_index], process=False)
    out.remove_unreferenced_vertices()
    return out


def _boundary_loops(mesh: trimesh.Trimesh) -> int:
    """How many connected chains of boundary edges (edges of one face only) a mesh has."""
    edges = mesh.edges_sorted
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    return len(trimesh.graph.connected_components(boundary, min_len=1)) if len(boundary) else 0


def ray_hits_mm(mesh: trimesh.Trimesh, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Sorted distances (mm) along a ray to every triangle it crosses, in float64.

    Exact Moller-Trumbore over all triangles (no acceleration structure, no float32), so
    a build fact never depends on which ray backend is installed.
    """
    d = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    tri = np.asarray(mesh.triangles, dtype=np.float64)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > TOL.parallel_det
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = np.asarray(origin, dtype=np.float64) - tri[:, 0]
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ d) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.sort(t[hit])


def posterior_soft_tissue_mm(bone: trimesh.Trimesh, skin: trimesh.Trimesh) -> float:
    """Distance (mm) straight back (-y) from the bone's most posterior vertex to the skin."""
    origin = bone.vertices[int(np.argmin(bone.vertices[:, 1]))]
    hits = ray_hits_mm(skin, origin, np.array([0.0, -1.0, 0.0]))
    if not len(hits):
        raise MeshError(f"no skin behind the most posterior bone point {np.round(origin, 1)} mm")
    return float(hits[0])


def patch_offset_mm(patch: trimesh.Trimesh, compact: trimesh.Trimesh) -> float:
    """Largest distance (mm) from a patch vertex to the nearest vertex of ``compact``.

    An upper bound on the distance to the compact *surface*; 0 means every patch vertex is
    a vertex of the compact mesh.
    """
    dist, _ = compact.kdtree.query(patch.vertices)
    return float(np.max(dist))


@dataclass(frozen=True)
class HraFacts:
    """Facts measured on every build (RAS, mm)."""

    pelvis_vertices_outside_skin: int  # against the whole, closed skin
    posterior_soft_tissue_mm: Mapping[str, float]  # per ilium, to the whole skin
    spongy_offset_mm: Mapping[str, float]  # per bone, see patch_offset_mm


def measure_facts(bones: Mapping[str, trimesh.Trimesh], spongy: Mapping[str, trimesh.Trimesh],
                  skin: trimesh.Trimesh) -> HraFacts:
    """Measure :class:`HraFacts`. ``skin`` must be closed (the whole-body skin).

    Containment uses trimesh's ray test (embree when installed); the pelvis lies >= 20 mm
    inside the skin, far beyond float32 error.
    """
    points = np.vstack([m.vertices for m in bones.values()])
    outside = int(np.count_nonzero(~skin.contains(points)))
    soft = {k: posterior_soft_tissue_mm(bones[k], skin) for k in ("left ilium", "right ilium")}
    offset = {k: patch_offset_mm(p, bones[k]) for k, p in spongy.items()}
    return HraFacts(outside, soft, offset)


@dataclass(frozen=True)
class ConvertedScene:
    """The built-in scene in RAS, mm: bones and cropped skin keyed by structure name."""

    meshes: Mapping[str, trimesh.Trimesh]
    crop: SkinCrop
    frame: FrameCheck
    facts: HraFacts
    pelvis_sha256: str
    skin_sha256: str
    #: The spongy-bone patches (RAS mm) by bone name: each bone's inner (endosteal)
    #: surface, written beside it as its ``marrow_surface`` (see ``needlesim.core.needle.marrow``).
    spongy: Mapping[str, trimesh.Trimesh] = field(default_factory=dict)


def convert(pelvis_path: str | Path, skin_path: str | Path, *,
            margin_mm: tuple[float, float, float] = SKIN_CROP_MARGIN_MM) -> ConvertedScene:
    """Check, read, convert, verify, crop and measure both HRA files.

    Raises :class:`MeshError` on a wrong hash, a missing node, an open bone, a failed
    frame check or a crop that splits the trunk.
    """
    sha_p, sha_s = check_sha256(pelvis_path, PELVIS_SHA256), check_sha256(skin_path, SKIN_SHA256)
    pelvis, skin_nodes = read_gltf_meshes(pelvis_path), read_gltf_meshes(skin_path)
    wanted = [s.node for s in BONES] + list(SPONGY_NODES.values())
    missing = [n for n in wanted if n not in pelvis] + ([SKIN_NODE] if SKIN_NODE not in skin_nodes else [])
    if missing:
        raise MeshError(f"{PELVIS_FILE}/{SKIN_FILE}: missing nodes {missing}")
    bones = {s.name: gltf_to_ras_mm(pelvis[s.node]) for s in BONES}
    spongy = {k: gltf_to_ras_mm(pelvis[n]) for k, n in SPONGY_NODES.items()}
    skin = gltf_to_ras_mm(skin_nodes[SKIN_NODE])
    check_closed({**bones, "whole skin": skin})
    frame = check_frame(bones, skin)
    facts = measure_facts(bones, spongy, skin)
    if facts.pelvis_vertices_outside_skin:
        raise MeshError(f"{facts.pelvis_vertices_outside_skin} pelvis vertices lie outside the skin")
    bounds = np.array([np.min([m.bounds[0] for m in bones.values()], axis=0),
                       np.max([m.bounds[1] for m in bones.values()], axis=0)])
    crop = crop_skin(skin, bounds, margin_mm=margin_mm)
    return ConvertedScene({**bones, SKIN.name: crop.mesh}, crop, frame, facts, sha_p, sha_s, spongy)
