"""A whole hip bone (os coxae, as CT segmentations give it) split into ilium, ischium and
pubis regions **for the landmark search only**.

The landmark search (:mod:`needlesim.anatomy.landmarks`) names its bones ``ilium``,
``ischium`` and ``pubis``: the ASIS is the ilium's most anterior point, the pubic tubercle the
pubis's, the coarse "up" runs from the ischia to the ilia. In the adult the three fuse at the
acetabulum (the triradiate cartilage meets at its centre), so the split is made there:

- the **acetabulum** is found as the deepest cavity of the bone's lateral face: surface
  samples whose normal points laterally (within 60 deg), that see out laterally (a ray from
  them leaves the bone), ranked by how deep they lie inside the bone's convex hull; the cup
  (about 25 mm deep from its rim) is deeper than the gluteal fossa. Its centre is the mean of
  the deepest :data:`DEEPEST_FRACTION` of those samples.
- faces above the acetabulum's centre (in the coarse frame: x from the left to the right hip
  bone, z the input frame's superior) are the ilium; below it, those anterior of its centre
  the pubis, the rest the ischium.

The parts are open surfaces, used for sampling and support points; the scene keeps the whole
closed hip bone (marrow by the cortical-thickness rule).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import trimesh

from needlesim.anatomy.importers.common import HIP_BONE, HIP_PARTS, SIDES, ImportFailed

#: Surface samples per hip bone for the acetabulum search.
SAMPLES = 20000
#: A sample faces laterally if its normal's lateral component exceeds this (60 deg).
LATERAL_COSINE = 0.5
#: The acetabulum's centre: the mean of this fraction of the lateral samples, the deepest.
DEEPEST_FRACTION = 0.02
#: A hip bone's acetabulum lies at least this deep inside its convex hull, mm (the adult cup
#: is 20-30 mm deep from its rim); a shallower deepest cavity means no acetabulum was found.
MIN_CUP_DEPTH_MM = 8.0


def coarse_axes(bones: Mapping[str, trimesh.Trimesh]) -> np.ndarray:
    """(3, 3) rows x, y, z: x left to right hip bone, z the input's superior made normal to x."""
    x = bones[HIP_BONE.format(side="right")].centroid - bones[HIP_BONE.format(side="left")].centroid
    x /= np.linalg.norm(x)
    z = np.array([0.0, 0.0, 1.0]) - x[2] * x
    z /= np.linalg.norm(z)
    return np.stack([x, np.cross(z, x), z])


def acetabulum_centre(hip: trimesh.Trimesh, lateral: np.ndarray) -> tuple[np.ndarray, float]:
    """The acetabulum's centre on a hip bone (module docstring) and its depth in the hull, mm."""
    points, face = trimesh.sample.sample_surface(hip, SAMPLES, seed=0)
    normals = hip.face_normals[face]
    keep = normals @ lateral > LATERAL_COSINE
    points, normals = points[keep], normals[keep]
    sees_out = ~hip.ray.intersects_any(points + 0.5 * normals, np.repeat(lateral[None], len(points), 0))
    points = points[sees_out]
    if len(points) < 50:
        raise ImportFailed("cannot find the acetabulum: the hip bone has almost no lateral surface")
    hull = hip.convex_hull
    offsets = np.einsum("ij,ij->i", hull.face_normals, hull.triangles[:, 0])
    depth = np.min(offsets[None, :] - points @ hull.face_normals.T, axis=1)
    order = np.argsort(-depth)[: max(10, int(DEEPEST_FRACTION * len(points)))]
    return points[order].mean(axis=0), float(depth[order].mean())


def split_hip(hip: trimesh.Trimesh, side: str, axes: np.ndarray) -> dict[str, trimesh.Trimesh]:
    """``{"{side} ilium": ..., "{side} ischium": ..., "{side} pubis": ...}``: open parts."""
    lateral = axes[0] if side == "right" else -axes[0]
    centre, depth = acetabulum_centre(hip, lateral)
    if depth < MIN_CUP_DEPTH_MM:
        raise ImportFailed(f"cannot find the {side} acetabulum (deepest lateral cavity {depth:.1f} mm); "
                           "is the hip bone complete?")
    rel = (hip.triangles_center - centre) @ axes.T
    part = np.where(rel[:, 2] > 0, 0, np.where(rel[:, 1] > 0, 2, 1))
    out = {}
    for k, name in enumerate(HIP_PARTS):
        faces = np.flatnonzero(part == k)
        if len(faces) < 10:
            raise ImportFailed(f"the {side} hip bone has no {name} below/around its acetabulum; is it complete?")
        sub = hip.submesh([faces], append=True)
        out[f"{side} {name}"] = sub
    return out


def landmark_bones(bones: Mapping[str, trimesh.Trimesh]) -> dict[str, trimesh.Trimesh]:
    """The bones as the landmark search wants them: whole hip bones replaced by their parts."""
    out = {k: m for k, m in bones.items() if not k.endswith("hip bone")}
    if any(HIP_BONE.format(side=s) in bones for s in SIDES):
        axes = coarse_axes(bones)
        for side in SIDES:
            out |= split_hip(bones[HIP_BONE.format(side=side)], side, axes)
    return out
