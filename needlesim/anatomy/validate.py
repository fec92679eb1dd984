"""Checks of a scene with built anatomy: every built structure closed, outward, critical and
named by side and level; none cutting bone; none cutting another where it should not.

Allowed contacts (anatomy, not errors): a root and its own sleeve (the sleeve wraps the root;
where a tunnel thins the sleeve to the root, and at the sleeve's end, the surfaces meet); roots and sleeves inside
the dural sac (the cauda equina lies in the sac, sleeves leave from it); roots and sleeves
crowding each other inside the sac or inside a sciatic nerve (where they merge), and roots
meeting within a root's diameter outside a sciatic nerve (where they join it: two roots
converging on one point of the plexus overlap before they enter it); a root inside
the sciatic nerve of its side and the nerve round it (the plexus joins it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import trimesh

from needlesim.core.model.scene import Role, Scene, Structure

#: A built structure may reach this deep into bone, mm: the bone meshes' own facets and the
#: 16-gon tubes differ from true surfaces by about this, and it is below a fifth of the thinnest
#: cortex modelled (1.5 mm).
BONE_TOLERANCE_MM = 0.3
#: Two structures that should not touch may still overlap this much, mm (facet error).
OVERLAP_TOLERANCE_MM = 0.3
#: Roles of the built structures.
BUILT_ROLES = (Role.NERVE_ROOT, Role.DURA, Role.NERVE, Role.VESSEL, Role.JOINT)
_NAME = re.compile(r"^(left|right) (S[1-5] (root|sleeve)|sciatic nerve|superior gluteal (artery|vein)|sacroiliac joint)$")


@dataclass(frozen=True)
class Problem:
    """One failed check: the structure, what kind of problem, and a readable detail."""

    structure: str
    kind: str  # "mesh", "name", "bone", "overlap"
    detail: str


def _depth_inside(points: np.ndarray, mesh: trimesh.Trimesh) -> np.ndarray:
    """(n,) mm: how deep each point lies inside a closed mesh (0 outside)."""
    depth = np.zeros(len(points))
    lo, hi = mesh.bounds
    near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
    if len(near):
        inside = near[mesh.contains(points[near])]
        if len(inside):
            depth[inside] = trimesh.proximity.closest_point(mesh, points[inside])[1]
    return depth


def _allowed(a: Structure, b: Structure) -> bool:
    """Whether ``a``'s surface may lie inside ``b`` (module docstring)."""
    if b.name == "dural sac" and a.role in (Role.NERVE_ROOT, Role.DURA):
        return True
    if a.role is Role.NERVE_ROOT and b.role is Role.DURA and b.name == a.name.replace("root", "sleeve"):
        return True
    if {a.role, b.role} == {Role.NERVE_ROOT, Role.NERVE} and b.side == a.side:
        return True
    if {a.role, b.role} == {Role.NERVE_ROOT, Role.DURA} and a.name.split(" ")[:2] == b.name.split(" ")[:2]:
        return True
    return a.name == "dural sac" and b.role in (Role.NERVE_ROOT, Role.DURA)


def _crowd_zone(scene: Scene, points: np.ndarray, lumen: Callable[[np.ndarray], np.ndarray] | None,
                joining_mm: float = 0.0) -> np.ndarray:
    """Points inside the dural sac, a sciatic nerve or ``lumen``, where roots and sleeves may
    crowd; and points within ``joining_mm`` outside a sciatic nerve, where roots join it."""
    zone = np.zeros(len(points), dtype=bool) if lumen is None else lumen(points)
    for s in scene.structures:
        if s.name == "dural sac" or s.role is Role.NERVE:
            zone |= _depth_inside(points, s.mesh) > 0
        if s.role is Role.NERVE and joining_mm > 0:
            zone |= _within(points, s.mesh, joining_mm)
    return zone


def _within(points: np.ndarray, mesh: trimesh.Trimesh, distance: float) -> np.ndarray:
    """(n,) bool: points within ``distance`` of ``mesh``'s surface."""
    out = np.zeros(len(points), dtype=bool)
    lo, hi = mesh.bounds
    near = np.flatnonzero(np.all((points >= lo - distance) & (points <= hi + distance), axis=1))
    if len(near):
        out[near] = trimesh.proximity.closest_point(mesh, points[near])[1] <= distance
    return out


def _joining_mm(scene: Scene, structure: Structure) -> float:
    """How far outside a nerve a root may meet another as it joins the nerve: its diameter
    (two roots converging on one point of the plexus overlap wherever their axes are closer
    than their radii together, which begins outside the nerve), from the tube it was built
    as; 0 for a sleeve, or when the scene does not carry its built tubes."""
    tubes = getattr(scene.metadata.get("anatomy"), "tubes", None) or {}
    tube = tubes.get(structure.name)
    if structure.role is not Role.NERVE_ROOT or tube is None:
        return 0.0
    return 2.0 * float(np.median(tube.radius_mm))


def validate_scene(scene: Scene, *, bone_tolerance_mm: float = BONE_TOLERANCE_MM,
                   overlap_tolerance_mm: float = OVERLAP_TOLERANCE_MM,
                   lumen: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Problem]:
    """Every problem found in the built structures of ``scene`` (empty when all is well).

    ``lumen`` (points -> bool), e.g. :meth:`.neural.Canal.lumen`, marks the sacral canal below
    the sac, where the roots that leave the sac's tip descend together: roots and sleeves may
    overlap each other there (the canal of a small sacrum has no room for them side by side).
    """
    built = [s for s in scene.structures if s.role in BUILT_ROLES]
    bones = [s for s in scene.structures if s.is_bone]
    problems: list[Problem] = []
    for s in built:
        problems += _mesh_problems(s)
        pts = s.vertices
        for bone in bones:
            depth = _depth_inside(pts, bone.mesh)
            if depth.max() > bone_tolerance_mm:
                problems.append(Problem(s.name, "bone", f"{(depth > bone_tolerance_mm).sum()} surface points up to "
                                                       f"{depth.max():.2f} mm inside {bone.name}"))
    for a in built:
        crowds: dict[float, np.ndarray] = {}  # a's points in a crowd zone, by how far roots may join a nerve
        for b in built:
            if a is b or _allowed(a, b) or not _boxes_meet(a, b):
                continue
            depth = _depth_inside(a.vertices, b.mesh)
            bad = depth > overlap_tolerance_mm
            if bad.any() and a.role in (Role.NERVE_ROOT, Role.DURA) and b.role in (Role.NERVE_ROOT, Role.DURA):
                joining = min(_joining_mm(scene, a), _joining_mm(scene, b)) if b.role is Role.NERVE_ROOT else 0.0
                if joining not in crowds:
                    crowds[joining] = _crowd_zone(scene, a.vertices, lumen, joining)
                bad &= ~crowds[joining]
            if bad.any():
                problems.append(Problem(a.name, "overlap", f"{bad.sum()} surface points up to {depth[bad].max():.2f} mm inside {b.name}"))
    return problems


def _boxes_meet(a: Structure, b: Structure) -> bool:
    return bool(np.all(a.vertices.min(0) <= b.vertices.max(0)) and np.all(b.vertices.min(0) <= a.vertices.max(0)))


def _mesh_problems(s: Structure) -> list[Problem]:
    out = []
    m = s.mesh
    if not (m.is_watertight and m.is_winding_consistent):
        out.append(Problem(s.name, "mesh", "not closed and consistently wound"))
    elif m.volume <= 0:
        out.append(Problem(s.name, "mesh", "wound inward (negative volume)"))
    if not s.critical:
        out.append(Problem(s.name, "mesh", "not critical"))
    if s.name != "dural sac" and not _NAME.match(s.name):
        out.append(Problem(s.name, "name", "not named '<side> <what>'"))
    if s.role in (Role.NERVE_ROOT,) and (s.level is None or s.level.value not in s.name):
        out.append(Problem(s.name, "name", "root without its level"))
    if s.name != "dural sac" and s.side.value not in s.name:
        out.append(Problem(s.name, "name", "side does not match the name"))
    return out
