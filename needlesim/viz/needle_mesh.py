"""The needle as one triangle mesh, built with numpy in a few tens of microseconds (a
``pyvista.Cylinder`` per tissue stretch and a merge took tens of milliseconds a frame)."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from ..core.verdict.risk import RiskReport
from .colors import TISSUE_COLORS

#: Segments shorter than this are not drawn, mm.
MIN_SEGMENT_MM = 1e-6


def _frame(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``d`` and to each other."""
    x, y, z = d
    u = np.array([0.0, z, -y]) if abs(x) < 0.9 else np.array([-z, 0.0, x])  # d x e_x, or e_y x d
    u /= np.sqrt(u @ u)
    return u, np.array([y * u[2] - z * u[1], z * u[0] - x * u[2], x * u[1] - y * u[0]])


def tube_arrays(p0: np.ndarray, d: np.ndarray, radius_mm: float, stretches: np.ndarray, rgb: np.ndarray,
                *, resolution: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed cylinders along the line ``p0 + t d``, one per stretch: ``(points (p, 3),
    triangles (f, 3) int, colours (f, 3) uint8)``.

    Parameters
    ----------
    p0 : (3,) float, mm
    d : (3,) float, unit direction
    radius_mm : float
    stretches : (m, 2) float, mm: start and end depth of each cylinder
    rgb : (m, 3) uint8: the colour of each cylinder (cell data ``RGB``)
    resolution : sides of each cylinder
    """
    m, n = len(stretches), resolution
    if m == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3), np.uint8)
    u, v = _frame(np.asarray(d, float))
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ring = radius_mm * (np.cos(theta)[:, None] * u + np.sin(theta)[:, None] * v)          # (n, 3)
    ends = p0 + stretches.reshape(-1)[:, None] * d                                          # (2m, 3)
    rings = (ends[:, None, :] + ring[None]).reshape(2 * m, n, 3)
    points = np.concatenate([rings.reshape(-1, 3), ends])                                   # rings, then centres
    k = np.arange(n)
    k1 = (k + 1) % n
    base = 2 * n * np.arange(m)[:, None]                                                    # first ring of each
    a0, a1, b0, b1 = base + k, base + k1, base + n + k, base + n + k1
    ca = 2 * m * n + 2 * np.arange(m)[:, None] + 0 * k
    cb = ca + 1
    tris = np.stack([np.stack([a0, a1, b1], -1), np.stack([a0, b1, b0], -1),
                     np.stack([ca, a1, a0], -1), np.stack([cb, b0, b1], -1)], axis=1)         # (m, 4, n, 3)
    return points, tris.reshape(-1, 3), np.repeat(np.asarray(rgb, np.uint8), 4 * n, axis=0)


def fill_mesh(mesh: pv.PolyData, points: np.ndarray, triangles: np.ndarray, rgb: np.ndarray) -> None:
    """Replace the geometry of ``mesh`` in place (its actor keeps drawing it). With the same
    triangles as before (the same tissue stretches: most slider moves) only the points and
    colours are written into the existing arrays."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray

    old_points, polys, colors = mesh.GetPoints(), mesh.GetPolys(), mesh.GetCellData().GetScalars()
    if (old_points is not None and colors is not None and old_points.GetNumberOfPoints() == len(points)
            and polys.GetNumberOfCells() == len(triangles) and colors.GetNumberOfTuples() == len(rgb)
            and np.array_equal(vtk_to_numpy(polys.GetConnectivityArray()), np.ravel(triangles))):
        vtk_to_numpy(old_points.GetData())[:] = points
        old_points.Modified()
        vtk_to_numpy(colors)[:] = rgb
        colors.Modified()
        mesh.Modified()
        return
    vpoints = vtkPoints()
    vpoints.SetData(numpy_to_vtk(np.ascontiguousarray(points, np.float64), deep=True))
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64), deep=True),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(triangles, np.int64).ravel(), deep=True))
    colors = numpy_to_vtk(np.ascontiguousarray(rgb, np.uint8), deep=True)
    colors.SetName("RGB")
    mesh.GetPointData().Initialize()
    mesh.GetCellData().Initialize()
    mesh.SetPoints(vpoints)
    mesh.SetPolys(cells)
    mesh.GetCellData().SetScalars(colors)
    mesh.Modified()


def fill_points(mesh: pv.PolyData, points: np.ndarray) -> None:
    """Replace ``mesh`` in place by the point cloud ``points`` (n, 3), one vertex each (as
    many points as before: written into the existing array)."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray

    points = np.ascontiguousarray(np.asarray(points, np.float64).reshape(-1, 3))
    old = mesh.GetPoints()
    if old is not None and old.GetNumberOfPoints() == len(points) and mesh.GetVerts().GetNumberOfCells() == len(points):
        if len(points):
            vtk_to_numpy(old.GetData())[:] = points
            old.Modified()
            mesh.Modified()
        return
    vpoints = vtkPoints()
    vpoints.SetData(numpy_to_vtk(points, deep=True))
    verts = vtkCellArray()
    verts.SetData(numpy_to_vtkIdTypeArray(np.arange(len(points) + 1, dtype=np.int64), deep=True),
                  numpy_to_vtkIdTypeArray(np.arange(len(points), dtype=np.int64), deep=True))
    mesh.GetPointData().Initialize()
    mesh.SetPoints(vpoints)
    mesh.SetVerts(verts)
    mesh.Modified()


def add_needle_actor(plotter: pv.Plotter, mesh: pv.PolyData, *, name: str, opacity: float = 1.0):
    """Add ``mesh`` (per-cell ``RGB`` colours, filled by :func:`fill_mesh`) smoothly shaded,
    fed through VTK's normals filter alone. ``add_mesh(smooth_shading=True, scalars=...)``
    puts two Python algorithms (pyvista's smooth shading and active scalars) between the
    mesh and its mapper, and they ran inside the draw of every slider move (several ms
    under software OpenGL, see docs/performance.md). The filter is the one those algorithms run, with their settings, so
    the normals and the pixels are the same."""
    from vtkmodules.vtkFiltersCore import vtkPolyDataNormals

    actor = plotter.add_mesh(mesh, scalars="RGB", rgb=True, render=False, pickable=False, name=name,
                             opacity=opacity, smooth_shading=True)
    normals = vtkPolyDataNormals()  # pyvista's compute_normals(cell_normals=False)
    normals.SetComputeCellNormals(False)
    normals.SetComputePointNormals(True)
    normals.SetSplitting(False)
    normals.SetConsistency(True)
    normals.SetAutoOrientNormals(False)
    normals.SetNonManifoldTraversal(True)
    normals.SetFeatureAngle(30.0)
    normals.SetInputData(mesh)
    mapper = actor.GetMapper()
    mapper.SetInputConnection(normals.GetOutputPort())  # the mesh's active cell scalars, direct colours
    mapper.SetScalarModeToUseCellData()
    mapper.SetColorModeToDirectScalars()
    mapper.ScalarVisibilityOn()
    return actor


def needle_arrays(report: RiskReport, *, color: str | None = None, resolution: int = 20):
    """:func:`tube_arrays` of the needle of ``report``: skin puncture to tip at its real
    diameter, one cylinder per tissue stretch coloured by the tissue (or ``color``)."""
    ev = report.evaluation
    segs = [s for s in ev.path if s.length_mm > MIN_SEGMENT_MM]
    stretches = np.array([(s.start_mm, s.end_mm) for s in segs], float).reshape(-1, 2)
    rgb = np.array([_rgb(color or TISSUE_COLORS[s.tissue]) for s in segs], np.uint8).reshape(-1, 3)
    return tube_arrays(np.array(ev.skin_puncture), np.array(ev.trajectory.direction), ev.trajectory.radius_mm,
                       stretches, rgb, resolution=resolution)


_RGB: dict[str, tuple[int, int, int]] = {}


def _rgb(color: str) -> tuple[int, int, int]:
    if color not in _RGB:
        _RGB[color] = pv.Color(color).int_rgb
    return _RGB[color]


def needle_mesh(report: RiskReport, *, color: str | None = None, resolution: int = 20) -> pv.PolyData:
    """The needle of ``report`` as a new mesh with per-cell ``RGB`` colours."""
    mesh = pv.PolyData()
    fill_mesh(mesh, *needle_arrays(report, color=color, resolution=resolution))
    return mesh
