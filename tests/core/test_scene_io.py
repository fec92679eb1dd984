"""Loading scenes: every kind of bad input gives a clear error naming the file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import trimesh

from needlesim.core.io import markups
from needlesim.core.errors import LandmarkError, ManifestError, MeshError, NeedlesimWarning
from needlesim.core.io.manifest import load_scene
from needlesim.core.io.meshio import read_mesh
from needlesim.core.model.scene import Level, Role, Side
from tests.conftest import box

MANIFEST = """
[scene]
name = "test"
units = "{units}"
frame = "{frame}"

[scene.landmark_points]
left-psis = [{lx}, 0.0, 0.0]

[[structure]]
name = "left ilium"
role = "cortical_bone"
side = "left"
mesh = "{mesh}"
cortical_thickness_mm = 2.5

[[structure]]
name = "left S1 root"
role = "nerve_root"
side = "left"
level = "S1"
mesh = "root.stl"
"""


def write_scene(folder, *, units="mm", frame="RAS", mesh="bone.ply", scale=1.0, lx=-10.0, extra=""):
    box([-50, 0, -50], [50, 20, 50]).apply_scale(scale).export(folder / "bone.ply")
    trimesh.creation.cylinder(radius=2.5 * scale, height=50 * scale).export(folder / "root.stl")
    (folder / "scene.toml").write_text(MANIFEST.format(units=units, frame=frame, mesh=mesh, lx=lx) + extra)
    return folder / "scene.toml"


def test_a_good_scene_loads(tmp_path):
    scene = load_scene(write_scene(tmp_path))
    assert scene.names == ["left ilium", "left S1 root"]
    bone, root = scene["left ilium"], scene["left S1 root"]
    assert bone.role is Role.CORTICAL_BONE and bone.side is Side.LEFT and not bone.critical
    assert bone.cortical_thickness_mm == 2.5
    assert root.critical and root.level is Level.S1  # critical by role
    assert scene.landmark("left-psis") == pytest.approx([-10, 0, 0])
    assert load_scene(tmp_path).names == scene.names  # the folder works too


def test_metres_and_lps_are_converted(tmp_path):
    scene = load_scene(write_scene(tmp_path, units="m", frame="LPS", scale=0.001, lx=-0.01))
    lo, hi = scene["left ilium"].vertices.min(0), scene["left ilium"].vertices.max(0)
    assert lo == pytest.approx([-50, -20, -50]) and hi == pytest.approx([50, 0, 50])  # y negated
    assert scene.landmark("left-psis") == pytest.approx([10, 0, 0])  # x negated, m -> mm
    assert scene["left ilium"].mesh.volume > 0  # still outward after the mirror-free conversion


@pytest.mark.parametrize(("scale", "units", "word"), [(1000.0, "mm", "units"), (0.001, "mm", "units"),
                                                      (1.0, "m", "units")])
def test_wrong_units_are_caught_by_size(tmp_path, scale, units, word):
    with pytest.raises(MeshError, match=r"bone\.ply.*mm across.*units"):
        load_scene(write_scene(tmp_path, scale=scale, units=units))


def test_missing_mesh_file(tmp_path):
    with pytest.raises(MeshError, match=r"nothere\.ply: no such mesh file"):
        load_scene(write_scene(tmp_path, mesh="nothere.ply"))


def test_mesh_path_may_not_leave_the_folder(tmp_path):
    inner = tmp_path / "scene"
    inner.mkdir()
    box([0, 0, 0], [10, 10, 10]).export(tmp_path / "outside.ply")
    with pytest.raises(ManifestError, match="leaves the scene folder"):
        load_scene(write_scene(inner, mesh="../outside.ply"))
    with pytest.raises(ManifestError, match="leaves the scene folder"):
        load_scene(write_scene(inner, mesh=str(tmp_path / "outside.ply")))


def test_misspelt_and_missing_keys(tmp_path):
    path = write_scene(tmp_path)
    path.write_text(path.read_text().replace('side = "left"\nmesh', 'sied = "left"\nmesh', 1))
    with pytest.raises(ManifestError, match=r"structure 'left ilium': unknown key 'sied' \(did you mean 'side'\?\)"):
        load_scene(path)
    path = write_scene(tmp_path)
    path.write_text(path.read_text().replace('role = "nerve_root"\n', ""))
    with pytest.raises(ManifestError, match=r"structure 'left S1 root': missing key 'role'"):
        load_scene(path)


@pytest.mark.parametrize(("old", "new", "match"), [
    ('role = "nerve_root"', 'role = "nerve"s', "not valid TOML"),
    ('role = "nerve_root"', 'role = "nerv_root"', "role = 'nerv_root' is not one of"),
    ('level = "S1"', 'level = "S9"', "level = 'S9' is not one of"),
    ('units = "mm"', 'units = "inch"', "units = 'inch' is not one of"),
    ("cortical_thickness_mm = 2.5", "cortical_thickness_mm = -1", "positive number"),
])
def test_bad_values(tmp_path, old, new, match):
    path = write_scene(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ManifestError, match=match):
        load_scene(path)


def test_empty_mesh_file(tmp_path):
    path = write_scene(tmp_path)
    (tmp_path / "bone.ply").write_bytes(b"")
    with pytest.raises(MeshError, match=r"bone\.ply"):
        load_scene(path)


def test_garbage_mesh_file(tmp_path):
    path = write_scene(tmp_path)
    (tmp_path / "bone.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    with pytest.raises(MeshError, match=r"bone\.ply"):
        load_scene(path)


def test_mesh_without_triangles(tmp_path):
    path = write_scene(tmp_path)
    (tmp_path / "bone.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                                       "property float y\nproperty float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n")
    with pytest.raises(MeshError, match=r"bone\.ply.*(no triangles|contains no)"):
        load_scene(path)


def test_nan_coordinates(tmp_path):
    path = write_scene(tmp_path)
    m = box([-50, 0, -50], [50, 20, 50])
    v = m.vertices.copy()
    v[0, 0] = np.nan
    (tmp_path / "bone.obj").write_text(
        "".join(f"v {a} {b} {c}\n" for a, b, c in v) + "".join(f"f {a+1} {b+1} {c+1}\n" for a, b, c in m.faces))
    path.write_text(path.read_text().replace("bone.ply", "bone.obj"))
    with pytest.raises(MeshError, match="NaN or infinite"):
        load_scene(path)


def test_open_surface_loads_with_a_warning(tmp_path):
    path = write_scene(tmp_path)
    m = box([-50, 0, -50], [50, 20, 50])
    trimesh.Trimesh(m.vertices, m.faces[:-2]).export(tmp_path / "bone.ply")
    with pytest.warns(NeedlesimWarning, match="not a closed surface"):
        scene = load_scene(path)
    assert not scene["left ilium"].closed
    path.write_text(path.read_text().replace("cortical_thickness_mm = 2.5", "cortical_thickness_mm = 2.5\nallow_open = true"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeedlesimWarning)
        load_scene(path)  # acknowledged: no warning


def test_inward_wound_mesh_is_turned_outward(tmp_path):
    path = write_scene(tmp_path)
    m = box([-50, 0, -50], [50, 20, 50])
    m.invert()
    m.export(tmp_path / "bone.ply")
    assert load_scene(path)["left ilium"].mesh.volume > 0


@pytest.mark.parametrize("suffix", [".stl", ".obj", ".ply", ".glb", ".vtp", ".vtk"])
def test_every_format_reads(tmp_path, suffix):
    m = box([0, 0, 0], [10, 20, 30])
    path = tmp_path / f"m{suffix}"
    if suffix in (".vtp", ".vtk"):
        import pyvista as pv

        faces = np.hstack([np.full((len(m.faces), 1), 3), m.faces]).ravel()
        pv.PolyData(m.vertices, faces).save(path)
    else:
        m.export(path)
    got = read_mesh(path)
    assert len(got.faces) == 12 and np.ptp(got.vertices, axis=0) == pytest.approx([10, 20, 30])


def test_glb_node_selection(tmp_path):
    sc = trimesh.Scene()
    sc.add_geometry(box([0, 0, 0], [1, 1, 1]), node_name="a", geom_name="a")
    sc.add_geometry(box([5, 5, 5], [7, 7, 7]), node_name="b", geom_name="b")
    sc.export(tmp_path / "two.glb")
    assert np.ptp(read_mesh(tmp_path / "two.glb", node="b").vertices, axis=0) == pytest.approx([2, 2, 2])
    with pytest.raises(MeshError, match="no node 'c'"):
        read_mesh(tmp_path / "two.glb", node="c")


def test_unsupported_format(tmp_path):
    (tmp_path / "m.xyz").write_text("1 2 3")
    with pytest.raises(MeshError, match="unsupported mesh format"):
        read_mesh(tmp_path / "m.xyz")


def test_markups_round_trip_and_lps(tmp_path):
    pts = {"left-psis": np.array([-40.0, -80.0, 20.0]), "right-psis": np.array([40.0, -80.0, 20.0])}
    path = markups.write_points(tmp_path / "lm.mrk.json", pts)
    back = markups.read_points(path)
    assert back.keys() == pts.keys() and back["left-psis"] == pytest.approx(pts["left-psis"])
    doc = json.loads(path.read_text())
    doc["markups"][0]["coordinateSystem"] = "LPS"  # Slicer's default: read back as RAS
    path.write_text(json.dumps(doc))
    assert markups.read_points(path)["left-psis"] == pytest.approx([40.0, 80.0, 20.0])


@pytest.mark.parametrize("text", ["{", "[]", '{"markups": [{"controlPoints": [{"label": "a"}]}]}',
                                  '{"markups": [{"coordinateSystem": "XYZ", "controlPoints": []}]}'])
def test_corrupt_markups(tmp_path, text):
    (tmp_path / "lm.mrk.json").write_text(text)
    with pytest.raises(ManifestError):
        markups.read_points(tmp_path / "lm.mrk.json")


def test_landmarks_file_in_manifest(tmp_path):
    markups.write_points(tmp_path / "lm.mrk.json", {"left-entry": np.array([-30.0, 0, 0])})
    path = write_scene(tmp_path, extra="")
    path.write_text(path.read_text().replace('frame = "RAS"', 'frame = "RAS"\nlandmarks = "lm.mrk.json"'))
    scene = load_scene(path)
    assert scene.landmark("left-entry") == pytest.approx([-30, 0, 0])
    with pytest.raises(LandmarkError, match="unknown landmark 'left-asis'; this scene has: left-entry, left-psis"):
        scene.landmark("left-asis")


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no such scene manifest"):
        load_scene(tmp_path / "nope.toml")
