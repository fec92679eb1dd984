"""Bad meshes and wrong units (issue 10 items 5 and 6): each is refused in one line or
loads correctly; none crashes, hangs or spends the memory of a huge file."""

from __future__ import annotations

import re
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh

from tests.badinput.conftest import cube_with_flipped_face, guarded, human_scene, load_scene_names, scaled_about_centre
from tests.conftest import box

ROOT = Path(__file__).resolve().parents[2]


def _read_validated(path):
    from needlesim.core.io.meshio import read_mesh, validate_mesh

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = validate_mesh(read_mesh(path), path)
    return len(m.faces), bool(m.is_watertight), float(m.volume) if m.is_watertight else None


# -- item 6 -------------------------------------------------------------------------------------
def test_networkx_is_declared_for_the_winding_repair():
    text = (ROOT / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert re.search(r'"networkx', deps), "trimesh.repair.fix_winding needs networkx: declare it"


def test_a_closed_mesh_with_one_flipped_triangle_loads_outward(tmp_path):
    cube_with_flipped_face().export(tmp_path / "flip.ply")
    out = guarded(_read_validated, tmp_path / "flip.ply")
    assert out.kind == "ok", out
    n, closed, volume = out.value
    assert n == 12 and closed and volume == pytest.approx(120 * 40 * 120)


def test_collinear_triangles_are_refused(tmp_path):
    v = np.array([[0, 0, 0], [10, 0, 0], [20, 0, 0], [30, 0, 0]], float)
    f = np.array([[0, 1, 2], [1, 2, 3], [0, 2, 3], [0, 1, 3]])
    trimesh.Trimesh(v, f, process=False).export(tmp_path / "line.ply")
    out = guarded(_read_validated, tmp_path / "line.ply")
    assert out.kind == "error" and out.one_line and "degenerate" in out.message, out


def test_collinear_triangles_written_as_float32_are_refused(tmp_path):
    """The issue's case: collinear points stored in a float32 STL are a few 1e-6 mm off the
    line, which trimesh keeps as triangles (a root of slivers gave DANGER)."""
    d = np.array([0.3, 0.7, 1.1]) / np.linalg.norm([0.3, 0.7, 1.1])
    v = np.outer(np.linspace(0, 60, 40), d) + [-40.3, 80.7, 11.1]
    f = np.array([[i, (i + 1) % 40, (i + 2) % 40] for i in range(40)])
    trimesh.Trimesh(v, f, process=False).export(tmp_path / "line.stl")
    out = guarded(_read_validated, tmp_path / "line.stl")
    assert out.kind == "error" and out.one_line and "degenerate" in out.message, out


def test_degenerate_faces_are_dropped_from_a_good_mesh(tmp_path):
    m = box([-60, -20, -60], [60, 20, 60])
    v = np.vstack([m.vertices, [[0, 0, 0], [1, 1, 1], [2, 2, 2]]])
    f = np.vstack([m.faces, [[8, 9, 10], [0, 0, 1]]])
    trimesh.Trimesh(v, f, process=False).export(tmp_path / "some.ply")
    out = guarded(_read_validated, tmp_path / "some.ply")
    assert out.kind == "ok" and out.value[0] == 12 and out.value[1], out


def test_a_10_million_triangle_stl_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.stl"
    n = 10_000_000
    with open(path, "wb") as fh:  # a sparse 500 MB binary STL: header, count, zeros
        fh.write(b"\0" * 80 + struct.pack("<I", n))
        fh.truncate(84 + 50 * n)
    out = guarded(_read_validated, path, timeout=20)
    assert out.kind == "error" and out.one_line, out
    assert "10,000,000 triangles" in out.message and "decimate" in out.message


def test_a_ply_header_over_budget_is_refused(tmp_path):
    (tmp_path / "big.ply").write_text("ply\nformat binary_little_endian 1.0\nelement vertex 5000000\nproperty float x\n"
                                      "property float y\nproperty float z\nelement face 9000000\n"
                                      "property list uchar int vertex_indices\nend_header\n")
    out = guarded(_read_validated, tmp_path / "big.ply")
    assert out.kind == "error" and "9,000,000 triangles" in out.message, out


@pytest.mark.parametrize(("suffix", "ascii_stl"), [(".stl", False), (".stl", True), (".obj", False),
                                                   (".off", False), (".ply", False)])
def test_triangle_counts_before_reading(tmp_path, suffix, ascii_stl):
    from needlesim.core.io.mesh_budget import count_triangles

    m = box([0, 0, 0], [10, 10, 10])
    path = tmp_path / f"m{suffix}"
    if suffix == ".stl" and ascii_stl:
        path.write_text(trimesh.exchange.stl.export_stl_ascii(m))
    else:
        m.export(path)
    assert count_triangles(path, suffix, path.stat().st_size) == 12


def test_vtk_readers_say_nothing_but_the_one_line(tmp_path, capfd):
    from needlesim.core.errors import MeshError
    from needlesim.core.io.meshio import read_mesh

    (tmp_path / "bad.vtp").write_bytes(b"garbage\x00\x01 not a vtk file")
    (tmp_path / "bad.vtk").write_text("# vtk DataFile Version 3.0\nbroken\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n0 0 0\n")
    (tmp_path / "empty.vtk").write_bytes(b"")
    capfd.readouterr()
    for name in ("bad.vtp", "bad.vtk", "empty.vtk"):
        with pytest.raises(MeshError, match=name):
            read_mesh(tmp_path / name)
    err = capfd.readouterr().err
    assert err.strip() == "", f"VTK printed {len(err.splitlines())} lines:\n{err[:500]}"


# -- the mesh corpus ---------------------------------------------------------------------------
def _corpus(tmp_path):
    cases = {}
    for suffix in (".stl", ".obj", ".ply", ".off", ".glb", ".vtp", ".vtk"):
        cases[f"empty{suffix}"] = b""
        cases[f"random{suffix}"] = np.random.default_rng(len(suffix)).bytes(4096)
    m = box([-60, -20, -60], [60, 20, 60])
    obj = "".join(f"v {a} {b} {c}\n" for a, b, c in m.vertices)
    faces = "".join(f"f {a+1} {b+1} {c+1}\n" for a, b, c in m.faces)
    cases["nan.obj"] = (obj.replace("v 60.0", "v nan", 1) + faces).encode()
    cases["inf.obj"] = (obj.replace("v 60.0", "v inf", 1) + faces).encode()
    cases["huge-coordinate.obj"] = (obj.replace("v 60.0", "v 1e30", 1) + faces).encode()
    cases["bad-index.obj"] = (obj + faces + "f 1 2 99\n").encode()
    cases["points-only.ply"] = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n" \
                               b"property float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n"
    cases["one-point.obj"] = b"v 0 0 0\nf 1 1 1\n"
    cases["latin1.obj"] = "# caf\xe9\n".encode("latin-1") + (obj + faces).encode()
    cases["truncated.stl"] = trimesh.exchange.stl.export_stl(m)[:300]
    cases["ascii-truncated.stl"] = trimesh.exchange.stl.export_stl_ascii(m)[:400].encode()
    cases["ply-lies.ply"] = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n" \
                            b"property float z\nelement face 50\nproperty list uchar int vertex_indices\nend_header\n" \
                            b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
    cases["good.obj"] = (obj + faces).encode()
    cases["duplicate-faces.obj"] = (obj + faces + faces).encode()
    cases["single-triangle.obj"] = b"v 0 0 0\nv 50 0 0\nv 0 50 0\nf 1 2 3\n"
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    return sorted(cases)


#: Cases that must load (they are valid, or repairable without guessing).
LOADS = {"good.obj", "duplicate-faces.obj", "single-triangle.obj", "latin1.obj"}


def test_the_mesh_corpus(tmp_path):
    outcomes = {}
    for name in _corpus(tmp_path):
        out = guarded(_read_validated, tmp_path / name, timeout=20)
        outcomes[name] = out
    bad = {n: o for n, o in outcomes.items() if o.kind not in ("ok", "error") or (o.kind == "error" and not o.one_line)}
    assert not bad, bad
    for name in LOADS:
        assert outcomes[name].kind == "ok", (name, outcomes[name])
    assert outcomes["good.obj"].value[0] == 12 and outcomes["duplicate-faces.obj"].value[0] == 12
    for name, o in outcomes.items():
        if name not in LOADS:
            assert o.kind == "error" and name in o.message, (name, o)
    print(f"\nmesh corpus: {len(outcomes)} cases, {sum(o.kind == 'ok' for o in outcomes.values())} loaded, "
          f"{sum(o.kind == 'error' for o in outcomes.values())} refused in one line")


# -- item 5: units ----------------------------------------------------------------------------
def test_a_human_sized_scene_loads(tmp_path):
    out = guarded(load_scene_names, human_scene(tmp_path))
    assert out.kind == "ok" and out.value == ["left ilium", "sacrum", "left S1 root"], out


BONE = box([-150, -20, -60], [-20, 20, 90])


def _root(factor):
    r = trimesh.creation.cylinder(radius=2.5, height=50)
    r.apply_translation([-30, 40, 0])
    return scaled_about_centre(r, factor)


@pytest.mark.parametrize(("what", "factor", "unit"), [
    ("bone", 0.1, "cm"), ("bone", 10.0, None), ("root", 0.1, "cm"), ("root", 10.0, None)])
def test_one_structure_in_the_wrong_unit_is_refused(tmp_path, what, factor, unit):
    kw = {"bone": scaled_about_centre(BONE, factor)} if what == "bone" else {"root": _root(factor)}
    out = guarded(load_scene_names, human_scene(tmp_path, **kw))
    assert out.kind == "error" and out.one_line, out
    name = "left ilium" if what == "bone" else "left S1 root"
    assert f"structure {name!r}" in out.message and "mm across" in out.message and "not human-sized" in out.message
    if unit:
        assert f'likely in {unit} (set units = "{unit}")' in out.message, out.message


def test_a_mm_mesh_in_a_cm_scene_is_refused_with_the_unit(tmp_path):
    path = human_scene(tmp_path, units_line='units = "cm"')  # the ilium's mesh stays in mm
    for name in ("sacrum.ply", "root.stl"):  # the other meshes really are in cm
        m = trimesh.load(tmp_path / name)
        m.apply_scale(0.1)
        m.export(tmp_path / name)
    out = guarded(load_scene_names, path)
    assert out.kind == "error" and "'left ilium'" in out.message and 'likely in mm' in out.message, out


def test_a_whole_scene_in_cm_read_as_mm_is_one_line(tmp_path):
    path = human_scene(tmp_path)
    for name in ("ilium.ply", "sacrum.ply", "root.stl"):
        m = trimesh.load(tmp_path / name)
        m.apply_scale(0.1)
        m.export(tmp_path / name)
    out = guarded(load_scene_names, path)
    assert out.kind == "error" and out.one_line and 'set [scene] units = "cm"' in out.message, out


def test_declared_units_override_the_size_check_with_a_warning(tmp_path):
    from needlesim.core.errors import NeedlesimWarning
    from needlesim.core.io.manifest import load_scene

    path = human_scene(tmp_path, bone=scaled_about_centre(BONE, 0.1))
    path.write_text(path.read_text().replace('mesh = "ilium.ply"', 'mesh = "ilium.ply"\nunits = "mm"'))
    with pytest.warns(NeedlesimWarning, match="left ilium.*not human-sized.*declared"):
        assert np.ptp(load_scene(path)["left ilium"].vertices, axis=0).max() == pytest.approx(15.0)


@pytest.mark.slow
@pytest.mark.parametrize(("mesh", "factor"), [("left_ilium.ply", 0.1), ("left_s2_root.ply", 10.0),
                                              ("left_ilium.ply", 10.0), ("left_s2_root.ply", 0.1)])
def test_the_built_in_scene_with_one_mesh_rescaled_is_refused(tmp_path, mesh, factor):
    src = ROOT / "meshes"
    if not (src / "scene.toml").is_file():
        pytest.skip("no meshes/ folder in this checkout")
    shutil.copytree(src, tmp_path / "scene")
    p = tmp_path / "scene" / mesh
    m = trimesh.load(p, process=False)
    scaled_about_centre(m, factor).export(p)
    if mesh == "left_ilium.ply":  # its marrow surface must follow, or that check fires first
        mp = tmp_path / "scene" / "left_ilium_marrow.ply"
        mm = trimesh.load(mp, process=False)
        mm.apply_translation(-m.bounds.mean(axis=0))
        mm.apply_scale(factor)
        mm.apply_translation(m.bounds.mean(axis=0))
        mm.export(mp)
    out = guarded(load_scene_names, tmp_path / "scene", timeout=60)
    assert out.kind == "error" and out.one_line, out
    assert ("left ilium" if "ilium" in mesh else "left S2 root") in out.message and "not human-sized" in out.message
