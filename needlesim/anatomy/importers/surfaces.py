"""Surfaces from voxels (VTK, imported lazily): a label's closed surface by discrete flying
edges, smoothed by a windowed-sinc filter and decimated; and the iso-surface of a field.

Everything runs in voxel index space; the caller's (4, 4) affine then places the points, so
an oblique or axis-flipping affine is applied exactly (a mirroring one flips the winding back).
"""

from __future__ import annotations

import numpy as np
import trimesh

#: Windowed-sinc smoothing (VTK's recommended settings for marching-cubes output): this many
#: iterations and this pass band (lower is smoother; 0.1 keeps features of a few voxels).
SMOOTH_ITERATIONS = 20
SMOOTH_PASS_BAND = 0.1
#: Decimation target: about one triangle per this many mm^2 of surface (edges ~2 mm, finer
#: than the 2.5 mm thinnest root modelled and than the 1 mm voxel the search needs).
MM2_PER_TRIANGLE = 2.0
#: Islands of a label smaller than this fraction of its largest piece are dropped (noise).
MIN_ISLAND_FRACTION = 0.01


def _image(volume: np.ndarray, origin_index: np.ndarray):
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData

    img = vtkImageData()
    img.SetDimensions(*volume.shape)
    img.SetOrigin(*[float(o) for o in origin_index])
    img.SetSpacing(1.0, 1.0, 1.0)
    flat = np.ascontiguousarray(volume.transpose(2, 1, 0)).ravel()  # VTK: x fastest
    img.GetPointData().SetScalars(numpy_support.numpy_to_vtk(flat, deep=True))
    return img


def _to_trimesh(poly, affine: np.ndarray) -> trimesh.Trimesh:
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkFiltersCore import vtkTriangleFilter

    tri = vtkTriangleFilter()
    tri.SetInputData(poly)
    tri.Update()
    out = tri.GetOutput()
    if out.GetNumberOfPolys() == 0:
        return trimesh.Trimesh()
    pts = numpy_support.vtk_to_numpy(out.GetPoints().GetData()).astype(np.float64)
    faces = numpy_support.vtk_to_numpy(out.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int64)
    world = pts @ affine[:3, :3].T + affine[:3, 3]
    if np.linalg.det(affine[:3, :3]) < 0:
        faces = faces[:, ::-1]
    return trimesh.Trimesh(world, faces, process=True)


def _smooth_decimate(poly, target_faces: int | None):
    from vtkmodules.vtkFiltersCore import vtkQuadricDecimation, vtkWindowedSincPolyDataFilter

    smooth = vtkWindowedSincPolyDataFilter()
    smooth.SetInputData(poly)
    smooth.SetNumberOfIterations(SMOOTH_ITERATIONS)
    smooth.SetPassBand(SMOOTH_PASS_BAND)
    smooth.BoundarySmoothingOff()
    smooth.FeatureEdgeSmoothingOff()
    smooth.NonManifoldSmoothingOn()
    smooth.NormalizeCoordinatesOn()
    smooth.Update()
    out = smooth.GetOutput()
    n = out.GetNumberOfPolys()
    if target_faces is None or n <= target_faces:
        return out
    dec = vtkQuadricDecimation()
    dec.SetInputData(out)
    dec.SetTargetReduction(1.0 - target_faces / n)
    dec.VolumePreservationOn()
    dec.Update()
    return dec.GetOutput()


def keep_main_pieces(mesh: trimesh.Trimesh, min_fraction: float = MIN_ISLAND_FRACTION) -> trimesh.Trimesh:
    """The mesh without islands smaller than ``min_fraction`` of its largest piece (by faces)."""
    if len(mesh.faces) == 0:
        return mesh
    labels = trimesh.graph.connected_component_labels(mesh.face_adjacency, node_count=len(mesh.faces))
    counts = np.bincount(labels)
    keep = np.flatnonzero(counts >= min_fraction * counts.max())
    if len(keep) == len(counts):
        return mesh
    out = mesh.submesh([np.flatnonzero(np.isin(labels, keep))], append=True)
    return out


def _oriented(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    trimesh.repair.fix_normals(mesh, multibody=True)
    if mesh.is_volume and mesh.volume < 0:
        mesh.invert()
    return mesh


def label_surface(mask: np.ndarray, affine: np.ndarray, *, area_per_face_mm2: float = MM2_PER_TRIANGLE) -> trimesh.Trimesh:
    """The closed, smoothed, decimated surface of a boolean ``mask`` (i, j, k), placed by
    ``affine`` (voxel index -> mm). Empty if the mask is."""
    from vtkmodules.vtkFiltersGeneral import vtkDiscreteFlyingEdges3D

    idx = np.argwhere(mask)
    if not len(idx):
        return trimesh.Trimesh()
    lo, hi = idx.min(0) - 2, idx.max(0) + 3  # a 2-voxel empty border closes the surface
    sub = np.zeros(tuple(hi - lo), dtype=np.uint8)
    inner = mask[max(lo[0], 0):hi[0], max(lo[1], 0):hi[1], max(lo[2], 0):hi[2]]
    off = np.maximum(-lo, 0)
    sub[off[0]:off[0] + inner.shape[0], off[1]:off[1] + inner.shape[1], off[2]:off[2] + inner.shape[2]] = inner
    fe = vtkDiscreteFlyingEdges3D()
    fe.SetInputData(_image(sub, lo))
    fe.SetValue(0, 1.0)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    fe.Update()
    raw = _to_trimesh(fe.GetOutput(), affine)
    target = int(raw.area / area_per_face_mm2) if len(raw.faces) else None
    mesh = _to_trimesh(_smooth_decimate(fe.GetOutput(), target), affine)
    return _oriented(keep_main_pieces(mesh))


def iso_surface(field: np.ndarray, level: float, affine: np.ndarray) -> trimesh.Trimesh:
    """The ``level`` iso-surface of a scalar ``field`` (i, j, k), smoothed, placed by ``affine``."""
    from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D

    fe = vtkFlyingEdges3D()
    fe.SetInputData(_image(field.astype(np.float32), np.zeros(3)))
    fe.SetValue(0, float(level))
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    fe.Update()
    mesh = _to_trimesh(_smooth_decimate(fe.GetOutput(), None), affine)
    return _oriented(mesh)
