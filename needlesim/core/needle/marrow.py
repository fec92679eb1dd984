"""Bones modelled as cortical shells: find the faces of a bone that a marrow (spongy-bone,
endosteal) surface patch lies on, so the cavity they bound can be called marrow.

The Visible Human ilia, ischia and pubes are such shells: one closed mesh of an outer and
an inner surface (2 x volume / area is about 1.2 mm, a cortex, where a solid ilium would
give 10 mm or more), and the HuBMAP ``spongy_bone`` patch of each is exactly its inner
surface. Matching is by vertex position, so it survives any re-indexing of the vertices.
"""

from __future__ import annotations

import numpy as np

#: Two vertices closer than this are the same point when faces are matched, mm.
MATCH_TOL_MM = 1e-3


def _keys(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, dtype=np.float64) / MATCH_TOL_MM).astype(np.int64)


def matching_faces(vertices: np.ndarray, faces: np.ndarray, patch_vertices: np.ndarray,
                   patch_faces: np.ndarray) -> np.ndarray:
    """Indices of ``faces`` whose three corners are the corners of some patch face.

    Parameters
    ----------
    vertices, faces : the bone, (n, 3) mm and (m, 3)
    patch_vertices, patch_faces : the marrow surface patch, (p, 3) mm and (q, 3)
    """
    keys = np.concatenate([_keys(vertices), _keys(patch_vertices)])
    _, ids = np.unique(keys, axis=0, return_inverse=True)
    ids = ids.ravel()
    bone_ids, patch_ids = ids[: len(vertices)], ids[len(vertices):]
    bone_tri = np.sort(bone_ids[np.asarray(faces)], axis=1)
    patch_tri = np.sort(patch_ids[np.asarray(patch_faces)], axis=1)
    n = int(ids.max()) + 1 if len(ids) else 1
    code = lambda t: (t[:, 0] * n + t[:, 1]) * n + t[:, 2]  # noqa: E731
    return np.flatnonzero(np.isin(code(bone_tri), code(patch_tri)))


def shell_thickness_mm(volume_mm3: float, area_mm2: float) -> float:
    """2 x volume / area: the mean thickness of a closed sheet-like solid, mm (a cortical
    shell gives about the cortex; a solid bone gives several times more)."""
    return 2.0 * volume_mm3 / area_mm2
