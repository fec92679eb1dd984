"""A skin for a pelvis that comes without one: soft tissue of a stated depth over the bone.

The model is the one the individuals use (:mod:`needlesim.anatomy.individuals`): the skin is
set so that the soft tissue straight behind each PSIS is the stated depth
(:func:`~needlesim.anatomy.individuals.set_soft_tissue`). Without a skin to move, one is first
made as the surface at that distance from the bones: the bones are rasterised at
:data:`PITCH_MM`, filled, and the iso-surface of the distance to them at the depth is taken;
then it is moved along its normals until the depth behind the PSIS matches. Everywhere else
the soft tissue is as deep as the stated one over the nearest bone: a uniform layer, which
real bodies are not (the buttocks are deeper, the sacrum shallower); the scene and its report
say so.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import trimesh
from scipy import ndimage

from needlesim.anatomy.importers.common import ImportFailed
from needlesim.anatomy.importers.surfaces import iso_surface, keep_main_pieces
from needlesim.anatomy.individuals import set_soft_tissue

#: Grid of the distance field, mm: the skin's shape only needs to be smooth and a few mm true,
#: and set_soft_tissue then makes the depth over the PSIS exact.
PITCH_MM = 2.5
#: Accepted depths, mm (the individuals draw 10-80 mm; 150 mm is far beyond any body).
DEPTH_RANGE_MM = (5.0, 150.0)
SOURCE_NOTE = ("modelled, no skin in the data: a uniform layer {depth:g} mm deep over the bone, set to "
               "{depth:g} mm straight behind each PSIS (needlesim.anatomy.importers.softtissue)")


def softtissue_note(depth_mm: float) -> str:
    """What the scene and its reports say about modelled soft tissue."""
    return SOURCE_NOTE.format(depth=depth_mm)


def check_depth(depth_mm: float) -> float:
    """The depth, if it is a finite number in :data:`DEPTH_RANGE_MM`."""
    lo, hi = DEPTH_RANGE_MM
    try:
        d = float(depth_mm)
    except (TypeError, ValueError):
        raise ImportFailed(f"--soft-tissue-mm must be a number of mm, got {depth_mm!r}") from None
    if not np.isfinite(d) or not lo <= d <= hi:
        raise ImportFailed(f"--soft-tissue-mm {depth_mm!r} is out of range: use {lo:g}-{hi:g} mm")
    return d


def _occupancy(bones: list[trimesh.Trimesh], lo: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Voxels touched by a dense sampling of the bone surfaces, then filled."""
    grid = np.zeros(shape, dtype=bool)
    for mesh in bones:
        n = int(mesh.area / (PITCH_MM / 3.0) ** 2) + 100
        pts, _ = trimesh.sample.sample_surface(mesh, n, seed=0)
        pts = np.vstack([pts, mesh.vertices])
        ijk = np.floor((pts - lo) / PITCH_MM).astype(int)
        grid[tuple(ijk.T)] = True
    return ndimage.binary_fill_holes(ndimage.binary_closing(grid, iterations=1)) | grid


def offset_skin(bones: Mapping[str, trimesh.Trimesh], depth_mm: float) -> trimesh.Trimesh:
    """The closed surface at ``depth_mm`` from the union of ``bones`` (outer piece only)."""
    meshes = list(bones.values())
    lo = np.min([m.bounds[0] for m in meshes], axis=0) - depth_mm - 4 * PITCH_MM
    hi = np.max([m.bounds[1] for m in meshes], axis=0) + depth_mm + 4 * PITCH_MM
    shape = tuple(int(s) for s in np.ceil((hi - lo) / PITCH_MM).astype(int) + 1)
    occupied = _occupancy(meshes, lo, shape)
    distance = ndimage.distance_transform_edt(~occupied, sampling=PITCH_MM)
    affine = np.eye(4)
    affine[:3, :3] *= PITCH_MM
    affine[:3, 3] = lo + PITCH_MM / 2.0  # a voxel's value is at its centre
    skin = iso_surface(distance, depth_mm, affine)
    skin = keep_main_pieces(skin, min_fraction=0.5)
    if len(skin.faces) == 0 or not skin.is_watertight:
        raise ImportFailed(f"could not model a skin {depth_mm:g} mm over the bone")
    return skin


def modelled_skin(bones: Mapping[str, trimesh.Trimesh], neutral: np.ndarray, depth_mm: float,
                  landmark_bones: Mapping[str, trimesh.Trimesh]) -> trimesh.Trimesh:
    """A skin ``depth_mm`` over the bone and exactly that behind each PSIS (module docstring).

    ``neutral`` (4, 4) maps the bones' frame into the pelvis's APP frame, where "straight
    behind" is -y; ``landmark_bones`` name the ilia (or the ilium parts of whole hip bones).
    """
    skin = offset_skin(bones, depth_mm).apply_transform(neutral)
    ilia = {k: m.copy().apply_transform(neutral) for k, m in landmark_bones.items() if k.endswith("ilium")}
    moved = set_soft_tissue(skin, ilia, depth_mm)
    return moved.apply_transform(np.linalg.inv(neutral))
