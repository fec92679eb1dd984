"""The superior gluteal artery and vein of each side, built onto a real pelvis.

In the neutral (anterior pelvic plane) frame, from the landmarks and bone meshes only:

1. **Origin** inside the pelvis: :data:`ORIGIN_MEDIAL_MM` medial of the top of the greater
   sciatic notch (the artery arises from the posterior division of the internal iliac artery
   and runs back to the notch).
2. **Exit**: just inside the mouth of the notch below its top (the artery leaves above
   piriformis, against the bone of the notch's upper border), :data:`EXIT_GAP_MM` plus its
   radius from bone.
3. **Gluteal course**: from the exit it turns onto the outer (gluteal) surface of the ilium and
   runs toward the anterior superior iliac spine (the deep branch's superior division follows
   the upper border of gluteus minimus), ``vessel_length_mm`` long, walked along the bone
   surface and kept ``vessel_gap_mm`` off it.

The vein (its venae comitantes modelled as one vessel) runs beside the artery, just inferior to
it (or superior, where that leaves it more room from bone), :data:`PAIR_GAP_MM` apart. Numbers are in
:class:`~needlesim.anatomy.params.AnatomyParams`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import trimesh
from scipy import ndimage

from needlesim.anatomy.freespace import FreeSpace, smooth_path
from needlesim.anatomy.landmarks import PelvisLandmarks
from needlesim.anatomy.neural import notch_mouth
from needlesim.anatomy.params import AnatomyError, AnatomyParams
from needlesim.anatomy.tubefit import BoneDistance, Tube, fitted_radius, resampled
from needlesim.core.model.scene import Role, Side

#: The vessels' origin inside the pelvis lies this far medial of the notch's top, mm
#: (estimate: the internal iliac's posterior division lies on the sacroiliac joint).
ORIGIN_MEDIAL_MM = 15.0
#: Extra gap between a vessel and the notch's bony border at its exit, mm (estimate).
EXIT_GAP_MM = 1.0
#: Longest walk back along the notch's upper border from its top, mm.
BORDER_WALK_MM = 45.0
#: Bone of the border must lie within this above the vessels' exit, mm.
BORDER_ABOVE_MM = 8.0
#: Lateral distance from the notch to where the vessels reach the gluteal surface, mm.
GLUTEAL_REACH_MM = 10.0
#: Step of the walk along the gluteal surface, mm.
WALK_STEP_MM = 2.0
#: Gap between the artery and vein surfaces, mm (side by side, not overlapping).
PAIR_GAP_MM = 0.3


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _walk_surface(ilium: trimesh.Trimesh, start: np.ndarray, toward: np.ndarray, length_mm: float,
                  outward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points on the ilium surface walked from near ``start`` toward ``toward``, and the
    surface normals there (oriented to have a positive component along ``outward``)."""
    p = trimesh.proximity.closest_point(ilium, start[None])[0][0]
    points, normals = [], []
    for _ in range(int(np.ceil(length_mm / WALK_STEP_MM)) + 1):
        q, _, face = trimesh.proximity.closest_point(ilium, p[None])
        p = q[0]
        n = ilium.face_normals[face[0]]
        if n @ outward < 0 and points:  # the walk reached a face turned from the gluteal side
            break  # (a closed bone's normals point out of it: flipping one would aim into bone)
        n = n if n @ outward >= 0 else -n
        points.append(p)
        normals.append(n)
        d = toward - p
        d = d - (d @ n) * n
        p = p + WALK_STEP_MM * _unit(d)
    normals = ndimage.gaussian_filter1d(np.array(normals), 1.5, axis=0, mode="nearest")
    return np.array(points), normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _below(line: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors across a centreline, as inferior as possible (where the vein runs)."""
    t = np.gradient(line, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    down = np.array([0.0, 0.0, -1.0])
    w = down - (t @ down)[:, None] * t
    w = ndimage.gaussian_filter1d(w, 2.0, axis=0, mode="nearest")
    w -= np.sum(w * t, axis=1, keepdims=True) * t
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def exit_under_border(notch_top: np.ndarray, psis: np.ndarray, space: FreeSpace, need_mm: float,
                      target_mm: float) -> np.ndarray:
    """Where the vessels leave the pelvis: just under the notch's upper border, at the first
    place walking from the notch's top toward the PSIS that is within ``target_mm`` of the PSIS
    (the published PSIS-to-artery distance), or the last place still under the border.

    The walk runs straight toward the PSIS (the upper border of the notch climbs from its top
    toward the posterior inferior iliac spine, and medially); at each step the point drops into
    the notch (the mouth direction, less its part along the walk) until it has ``need_mm``
    clearance, and must still have bone of the border within :data:`BORDER_ABOVE_MM` behind it
    (within 8 mm across, the thickness of the border).
    """
    u = _unit(psis - notch_top)
    mouth = notch_mouth(notch_top, space)
    drop = _unit(mouth - (mouth @ u) * u)
    best = None
    for t in np.arange(0.0, BORDER_WALK_MM, 1.0):
        q = notch_top + t * u
        drops = q + np.arange(0.0, 25.0, 0.5)[:, None] * drop
        ok = np.flatnonzero(space.clearance_at(drops) >= need_mm)
        if not len(ok):
            continue
        p = drops[ok[0]]
        behind = p - np.arange(need_mm, need_mm + BORDER_ABOVE_MM, 0.5)[:, None] * drop
        behind = (behind[:, None] + np.arange(-8.0, 8.1, 1.0)[None, :, None] * np.eye(3)[0]).reshape(-1, 3)
        if not space.occupied[tuple(space.index(behind).T)].any():
            break
        best = p
        if np.linalg.norm(p - psis) <= target_mm:
            break
    if best is None:
        raise AnatomyError(f"cannot find room under the upper border of the sciatic notch at {np.round(notch_top, 1)}")
    return best


def superior_gluteal_vessels(bones: Mapping[str, trimesh.Trimesh], lm: PelvisLandmarks, side: Side,
                             space: FreeSpace, distance: BoneDistance, params: AnatomyParams) -> tuple[Tube, Tube]:
    """The superior gluteal artery and vein of one side (module docstring)."""
    r_a, r_v = 0.5 * params.artery_diameter_mm, 0.5 * params.vein_diameter_mm
    lateral = np.array([side.lateral_sign, 0.0, 0.0])
    notch = lm.points[f"{side.value}-sciatic-notch-top"]
    mouth = notch_mouth(notch, space)
    need = r_v + params.vessel_gap_mm
    origin = space.nearest_free(notch - ORIGIN_MEDIAL_MM * lateral + 5.0 * mouth, need)
    exit_ = exit_under_border(notch, lm.points[f"{side.value}-psis"], space, need + EXIT_GAP_MM,
                              params.sga_psis_distance_mm)
    reach = space.nearest_free(exit_ + GLUTEAL_REACH_MM * lateral, need)
    path, needs = space.route(np.array([origin, exit_, reach]), min_clearance_mm=[need, need], corridor_mm=[12.0, 12.0],
                              fallback=(1.0, 0.75, 0.5), what=f"{side.value} superior gluteal artery")
    ilium = bones[f"{side.value} ilium"]
    surf, normal = _walk_surface(ilium, reach, lm.points[f"{side.value}-asis"], params.vessel_length_mm, lateral)
    artery = smooth_path(np.vstack([path, (surf + (params.vessel_gap_mm + r_a) * normal)[1:]]), space, 0.0, sigma_mm=3.0)
    artery = resampled(artery, 1.0)
    sides = [artery + sign * (r_a + r_v + PAIR_GAP_MM) * _below(artery) for sign in (1.0, -1.0)]
    room = [np.sum(np.minimum(distance.distance(v) - params.bone_margin_mm - r_v, 0.0)) for v in sides]
    vein = sides[int(np.argmax(room))]  # below the artery, unless bone leaves more room above
    tubes = []
    for name, line, r in (("artery", artery, r_a), ("vein", vein, r_v)):
        line = resampled(line, 1.0)
        nominal = np.full(len(line), r)
        radius = fitted_radius(line, nominal, distance, params.bone_margin_mm)
        tubes.append(Tube(f"{side.value} superior gluteal {name}", Role.VESSEL, side, None, line, radius, nominal))
    return tubes[0], tubes[1]
