"""Load and validate triangle meshes: STL, OBJ, PLY, GLB/glTF, VTP/VTK.

Every load is checked: the file exists and is readable, it has triangles, every
coordinate is finite, and its size in mm is plausible (a structure 150 m or 0.15 mm across
means the units are wrong). Open surfaces load with a :class:`NeedlesimWarning`, because
inside/outside questions on them are unreliable. Closed meshes are oriented outward.

Nothing here executes code from a file: trimesh parses the mesh formats and VTK's own
readers parse VTP/VTK (imported lazily, so ``needlesim.core`` stays free of VTK).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np

from .files import check_file
from .mesh_budget import check_budget
from ..model.conventions import FRAME_TO_RAS, UNIT_TO_MM
from ..errors import MeshError, NeedlesimWarning
from ..tolerances import DEGENERATE_HEIGHT_MM, SURFACE_MIN_HEIGHT_MM, TOL

#: File suffixes we read, and the trimesh file type for each.
TRIMESH_TYPES = {".stl": "stl", ".obj": "obj", ".ply": "ply", ".glb": "glb", ".gltf": "gltf", ".off": "off"}
VTK_TYPES = {".vtp", ".vtk"}
SUPPORTED = tuple(sorted(set(TRIMESH_TYPES) | VTK_TYPES))


def read_mesh(path: str | Path, *, node: str | None = None):
    """Read one triangle mesh as a :class:`trimesh.Trimesh`, in the file's own units/frame.

    Parameters
    ----------
    path : path to a mesh file (one of :data:`SUPPORTED`).
    node : for a multi-mesh file (glTF), the name of the node or geometry to take;
        without it all meshes of the file are joined.
    """
    import trimesh

    path = check_file(path, "mesh", MeshError)
    suffix = path.suffix.lower()
    if suffix not in TRIMESH_TYPES and suffix not in VTK_TYPES:
        raise MeshError(f"{path}: unsupported mesh format {suffix!r}; use one of {', '.join(SUPPORTED)}")
    try:
        check_budget(path, suffix, os.stat(path).st_size)
        if suffix in VTK_TYPES:
            vertices, faces = _read_vtk(path)
            return trimesh.Trimesh(vertices, faces, process=False)
        with open(path, "rb") as fh:
            loaded = trimesh.load(fh, file_type=TRIMESH_TYPES[suffix], process=False, force=None)
        _check_count(loaded, path, suffix)
    except MeshError:
        raise
    except Exception as exc:  # a parser error of any kind is the file's fault
        raise MeshError(f"{path}: cannot be read as {suffix[1:].upper()} ({type(exc).__name__}: {exc})") from None
    return _as_single_mesh(loaded, path, node)


def _check_count(loaded, path: Path, suffix: str) -> None:
    """A PLY/OFF file states its face count: a file holding fewer is truncated."""
    if suffix in (".ply", ".off") and hasattr(loaded, "faces"):
        from .mesh_budget import count_triangles

        said = count_triangles(path, suffix, 0)
        if said is not None and len(loaded.faces) < said:  # quads are split: more is fine
            raise MeshError(f"{path}: its header says {said:,} faces but it holds {len(loaded.faces):,}: "
                            "the file is truncated or corrupt")


def _as_single_mesh(loaded, path: Path, node: str | None):
    import trimesh

    if isinstance(loaded, trimesh.Scene):
        if node is not None:
            names = {n: loaded.graph[n][1] for n in loaded.graph.nodes_geometry}
            if node not in names and node not in loaded.geometry:
                raise MeshError(f"{path}: no node {node!r}; it has {sorted(names)}")
            gname = names.get(node, node)
            transform = loaded.graph[node][0] if node in names else np.eye(4)
            mesh = loaded.geometry[gname].copy()
            mesh.apply_transform(transform)
            return mesh
        meshes = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
        if not meshes:
            raise MeshError(f"{path}: contains no triangle mesh")
        return trimesh.util.concatenate(meshes)
    if node is not None:
        raise MeshError(f"{path}: 'node' is only meaningful for multi-mesh files such as .glb")
    if not isinstance(loaded, trimesh.Trimesh):
        raise MeshError(f"{path}: contains no triangles (it reads as {type(loaded).__name__})")
    return loaded


def _read_vtk(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        import pyvista as pv
    except ImportError:  # pragma: no cover - pyvista is a dependency
        raise MeshError(f"{path}: reading VTK files needs pyvista") from None
    with vtk_quiet():
        data = pv.read(str(path))
        surf = data.extract_surface() if not isinstance(data, pv.PolyData) else data
        surf = surf.triangulate()
    if surf.n_cells == 0:
        raise MeshError(f"{path}: contains no triangles")
    faces = np.asarray(surf.faces).reshape(-1, 4)[:, 1:]
    return np.asarray(surf.points, dtype=np.float64), faces


@contextlib.contextmanager
def vtk_quiet():
    """Within the block, VTK prints no warnings or errors (its readers write 14-26 lines to
    stderr for a bad file before Python sees the failure, which is reported in one line)."""
    from vtkmodules.vtkCommonCore import vtkLogger, vtkObject

    was = vtkObject.GetGlobalWarningDisplay()
    level = vtkLogger.GetCurrentVerbosityCutoff()  # vtkLogger (loguru) writes to stderr on its own
    vtkObject.GlobalWarningDisplayOff()
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_OFF)
    try:
        yield
    finally:
        vtkObject.SetGlobalWarningDisplay(was)
        vtkLogger.SetStderrVerbosity(level)


def to_ras_mm(mesh, *, units: str = "mm", frame: str = "RAS"):
    """Return a copy of ``mesh`` converted from ``units`` and ``frame`` to RAS mm."""
    if units not in UNIT_TO_MM:
        raise MeshError(f"unknown units {units!r}; use one of {sorted(UNIT_TO_MM)}")
    if frame not in FRAME_TO_RAS:
        raise MeshError(f"unknown frame {frame!r}; use one of {sorted(FRAME_TO_RAS)}")
    m = FRAME_TO_RAS[frame].copy()
    m[:3, :3] *= UNIT_TO_MM[units]
    out = mesh.copy()
    out.apply_transform(m)
    return out


def validate_mesh(mesh, path: str | Path, *, what: str = "mesh"):
    """Check a mesh already in mm and return a cleaned, outward-oriented copy.

    Raises :class:`MeshError` for no triangles, non-finite coordinates or an implausible
    size; warns for an open surface.
    """
    import trimesh

    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    if len(f) == 0 or len(v) == 0:
        raise MeshError(f"{path}: {what} has no triangles")
    if not np.all(np.isfinite(v)):
        raise MeshError(f"{path}: {what} has NaN or infinite coordinates")
    if f.min() < 0 or f.max() >= len(v):
        raise MeshError(f"{path}: {what} has faces that index missing vertices")
    size = float(np.linalg.norm(np.ptp(v, axis=0)))
    if size > TOL.max_structure_size_mm or size < TOL.min_structure_size_mm:
        raise MeshError(
            f"{path}: {what} is {size:.4g} mm across after unit conversion, which no pelvic "
            f"structure is (expected {TOL.min_structure_size_mm:g}-{TOL.max_structure_size_mm:g} mm): "
            "are its units right (set units = \"m\" or \"mm\" in the manifest)?"
        )
    height = _heights(v, f)
    f = f[height >= DEGENERATE_HEIGHT_MM]
    if len(f) == 0 or height.max() < SURFACE_MIN_HEIGHT_MM:
        raise MeshError(f"{path}: {what} has only degenerate triangles (zero area: collinear or repeated "
                        "vertices), so no surface")
    clean = trimesh.Trimesh(v, f, process=True, validate=True)
    if len(clean.faces) == 0:
        raise MeshError(f"{path}: {what} has only degenerate triangles")
    if clean.is_watertight:
        trimesh.repair.fix_winding(clean)
        if clean.volume < 0:
            clean.invert()
    else:
        warnings.warn(
            f"{path}: {what} is not a closed surface; inside/outside (tissue path, marrow, "
            "breach) is unreliable for it", NeedlesimWarning, stacklevel=3,
        )
    return clean


def _heights(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The smallest height of each triangle (2 x area / longest edge), mm."""
    tri = v[f]
    twice_area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    longest = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(longest > 0, twice_area / longest, 0.0)
