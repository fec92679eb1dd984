"""Test inputs made from the built-in pelvis: a voxelised label map and labelled meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh
from scipy import ndimage

from needlesim.anatomy.importers.nifti import TOTALSEGMENTATOR

#: The built-in bones grouped as TotalSegmentator names them (S1 is part of its "sacrum" here).
GROUPS = {"hip_left": ("left ilium", "left ischium", "left pubis"),
          "hip_right": ("right ilium", "right ischium", "right pubis"),
          "sacrum": ("sacrum",)}
LABEL = {"hip_left": TOTALSEGMENTATOR["left hip bone"][0], "hip_right": TOTALSEGMENTATOR["right hip bone"][0],
         "sacrum": TOTALSEGMENTATOR["sacrum"][0]}


def inside_voxels(mesh: trimesh.Trimesh, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask, low corner index): voxels (centres at integer multiples of ``pitch``, mm) whose
    centre is inside the closed ``mesh``, by ray parity along z (one ray per column)."""
    lo = np.floor(mesh.bounds[0] / pitch).astype(int) - 1
    hi = np.ceil(mesh.bounds[1] / pitch).astype(int) + 1
    n = hi - lo + 1
    i, j = np.meshgrid(np.arange(n[0]), np.arange(n[1]), indexing="ij")
    origins = np.stack([(i.ravel() + lo[0]) * pitch, (j.ravel() + lo[1]) * pitch,
                        np.full(i.size, (lo[2] - 1) * pitch)], axis=1)
    dirs = np.tile([0.0, 0.0, 1.0], (len(origins), 1))
    loc, ray, _ = mesh.ray.intersects_location(origins, dirs, multiple_hits=True)
    k = np.clip(np.ceil(loc[:, 2] / pitch - lo[2]).astype(int), 0, n[2])
    flips = np.zeros((len(origins), n[2] + 1), dtype=np.int32)
    np.add.at(flips, (ray, k), 1)
    parity = np.cumsum(flips, axis=1)
    parity[parity[:, -1] % 2 == 1] = 0  # a ray through a hole of an open surface: no fill
    return (parity[:, : n[2]] % 2 == 1).reshape(tuple(n)), lo


def group_mask(scene, names: tuple[str, ...], pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask, low corner index) of several built-in bones as a CT segmentation has them: solid.
    Cortical shells (bones with marrow faces) are closed by two voxels and their cavities filled;
    the hip's three shells only enclose their cavity together."""
    parts = []
    for b in names:
        s = scene[b]
        parts.append((inside_voxels(s.mesh, pitch), False))
        if s.marrow_faces is not None:  # the outer surface alone: the whole bone, where it is closed
            outer = np.setdiff1d(np.arange(len(s.faces)), s.marrow_faces)
            parts.append((inside_voxels(trimesh.Trimesh(s.vertices, s.faces[outer], process=False), pitch), True))
    lo = np.min([p[0][1] for p in parts], axis=0) - 3
    hi = np.max([p[0][1] + p[0][0].shape for p in parts], axis=0) + 3
    mask = np.zeros(tuple(hi - lo), dtype=bool)
    for (m, mlo), _ in parts:
        o = mlo - lo
        mask[o[0]:o[0] + m.shape[0], o[1]:o[1] + m.shape[1], o[2]:o[2] + m.shape[2]] |= m
    if any(shell for _, shell in parts):
        mask = ndimage.binary_fill_holes(ndimage.binary_closing(mask, iterations=2)) | mask
    return mask, lo


def label_map(scene, pitch: float, *, lps: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(volume int16, affine 4x4): the built-in bones as TotalSegmentator labels. With ``lps``
    the volume is stored in LPS order (negative x and y diagonal), the affine mapping to RAS+."""
    voxels = {}
    for k, names in GROUPS.items():
        mask, lo = group_mask(scene, names, pitch)
        voxels[k] = np.argwhere(mask) + lo
    allv = np.vstack(list(voxels.values()))
    lo, hi = allv.min(0) - 3, allv.max(0) + 3
    vol = np.zeros(tuple(hi - lo + 1), dtype=np.int16)
    flip = np.array([-1, -1, 1]) if lps else np.ones(3, int)
    start = np.where(flip < 0, hi, lo)  # index 0 at the high corner of a flipped axis
    for k, idx in voxels.items():
        vol[tuple(((idx - start) * flip).T)] = LABEL[k]
    affine = np.eye(4)
    affine[:3, :3] = np.diag(flip * pitch)
    affine[:3, 3] = start * pitch
    return vol, affine


def write_nifti(path: Path, vol: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    img = nib.Nifti1Image(vol, affine)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))
    return path
