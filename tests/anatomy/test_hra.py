"""The HuBMAP Visible Human Female conversion (``needlesim.anatomy.hra``) and the committed
built-in scene it produced (``meshes/``)."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import trimesh

from needlesim.anatomy import hra
from needlesim.core.errors import MeshError

REPO = Path(__file__).resolve().parents[2]
#: The HuBMAP sources: ``../shared`` beside the repository (as on CI), or ``$NEEDLESIM_SHARED``.
SHARED = Path(os.environ.get("NEEDLESIM_SHARED") or Path(__file__).resolve().parents[2].parent / "shared")
PELVIS_GLB = SHARED / "anatomy" / "hra-female-pelvis" / hra.PELVIS_FILE
SKIN_GLB = SHARED / "anatomy" / "hra-female-skin" / hra.SKIN_FILE
MESHES = REPO / "meshes"
BONE_NAMES = [s.name for s in hra.BONES]

needs_shared = pytest.mark.skipif(
    not (PELVIS_GLB.is_file() and SKIN_GLB.is_file()),
    reason=f"the HuBMAP originals are not at {SHARED}/anatomy/hra-female-*/ (a checkout without shared/)",
)


# --- SHA-256 -------------------------------------------------------------------------------

def test_sha_accepts_the_right_hash(tmp_path):
    f = tmp_path / "a.glb"
    f.write_bytes(b"abc")
    good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # SHA-256("abc")
    assert hra.check_sha256(f, good) == good
    assert hra.check_sha256(f, good.upper()) == good


def test_sha_rejects_a_wrong_hash_naming_file_and_both_hashes(tmp_path):
    f = tmp_path / "VH_F_Pelvis.glb"
    f.write_bytes(b"not the pelvis")
    with pytest.raises(MeshError) as err:
        hra.check_sha256(f, hra.PELVIS_SHA256)
    msg = str(err.value)
    assert "VH_F_Pelvis.glb" in msg and hra.PELVIS_SHA256 in msg and hra.sha256_of(f) in msg
    assert "mismatch" in msg


def test_sha_rejects_a_missing_file(tmp_path):
    with pytest.raises(MeshError, match=r"VH_F_Skin\.glb: no such file.*" + hra.SKIN_SHA256):
        hra.check_sha256(tmp_path / "VH_F_Skin.glb", hra.SKIN_SHA256)


# --- frame matrix --------------------------------------------------------------------------

def test_matrix_maps_gltf_axes_to_ras_mm():
    m = hra.GLTF_M_TO_RAS_MM
    # 1 m toward the patient's left (+X) is 1000 mm toward -x (RAS: +x is the right)
    np.testing.assert_array_equal(m @ [1, 0, 0, 1], [-1000, 0, 0, 1])
    # +Y (superior) -> +z; +Z (anterior) -> +y
    np.testing.assert_array_equal(m @ [0, 1, 0, 1], [0, 0, 1000, 1])
    np.testing.assert_array_equal(m @ [0, 0, 1, 1], [0, 1000, 0, 1])
    assert np.linalg.det(m[:3, :3] / 1000.0) == pytest.approx(1.0)  # proper rotation


def test_matrix_agrees_with_core_conventions():
    conventions = pytest.importorskip("needlesim.core.model.conventions")
    expected = conventions.FRAME_TO_RAS["glTF"][:3, :3] * conventions.UNIT_TO_MM["m"]
    np.testing.assert_array_equal(hra.GLTF_M_TO_RAS_MM[:3, :3], expected)


def test_conversion_keeps_outward_winding():
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.3))  # metres
    ras = hra.gltf_to_ras_mm(box)
    assert ras.volume == pytest.approx(box.volume * 1e9)
    np.testing.assert_allclose(ras.extents, [100, 300, 200])


def test_module_loads_no_gui_or_vtk():
    code = ("import sys, needlesim.anatomy.hra; "
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'pyvista', 'vtk', 'vtkmodules', 'PySide6'}); "
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- skin crop on synthetic geometry ------------------------------------------------------

def _two_spheres(offset_mm):
    trunk = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
    arm = trimesh.creation.icosphere(subdivisions=1, radius=10.0)
    arm.apply_translation(offset_mm)
    return trimesh.util.concatenate([trunk, arm])


def test_crop_drops_a_lateral_piece_and_reports_an_open_trunk():
    skin = _two_spheres([130.0, 0, 0])
    bones = np.array([[-60.0, -60, -60], [60, 60, 60]])
    crop = hra.crop_skin(skin, bones, margin_mm=(100.0, 100.0, 20.0))  # z cut: trunk opens
    assert crop.dropped_faces == (80,)
    np.testing.assert_allclose(crop.dropped_centroids_mm[0], [130, 0, 0], atol=1.0)
    assert crop.is_open and crop.boundary_loops == 2
    assert np.all(crop.mesh.vertices[:, 2] <= 80.0)


def test_crop_refuses_to_drop_a_piece_beside_the_pelvis():
    skin = _two_spheres([0.0, 130.0, 0])  # behind/in front of the bones, not lateral
    bones = np.array([[-60.0, -60, -60], [60, 60, 60]])
    with pytest.raises(MeshError, match="splits the trunk"):
        hra.crop_skin(skin, bones, margin_mm=(100.0, 100.0, 100.0))


def test_ray_hits_are_exact_on_a_box():
    box = trimesh.creation.box(extents=(10.0, 20.0, 30.0))
    # off the face diagonals, so each face is crossed in exactly one triangle
    np.testing.assert_allclose(hra.ray_hits_mm(box, [1.0, 0, 2.0], [0, -1, 0]), [10.0])
    np.testing.assert_allclose(hra.ray_hits_mm(box, [1.0, 50, 2.0], [0, -2, 0]), [40.0, 60.0])


# --- the real originals --------------------------------------------------------------------

@pytest.fixture(scope="module")
def converted():
    if not (PELVIS_GLB.is_file() and SKIN_GLB.is_file()):
        pytest.skip(f"the HuBMAP originals are not at {SHARED}/anatomy/hra-female-*/")
    return hra.convert(PELVIS_GLB, SKIN_GLB)


def _bones(conv):
    return {k: conv.meshes[k] for k in BONE_NAMES}


def test_converted_pelvis_passes_the_frame_checks(converted):
    fc = hra.check_frame(_bones(converted))
    assert fc.sacrum_y_mm < fc.pubis_y_mm - 50  # sacrum well behind the pubes
    assert fc.left_ilium_x_mm < -50 and fc.right_ilium_x_mm > 50
    assert np.argmax(converted.frame.skin_extents_mm) == 2


@pytest.mark.parametrize("matrix, why", [
    (np.diag([-1.0, 1, 1]), "mirrored left-right"),
    (np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]]), "y and z swapped"),
    (np.diag([-1.0, -1, 1]), "LPS read as RAS"),
    (np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]]), "x and z swapped"),
])
def test_frame_check_fails_on_a_wrong_frame(converted, matrix, why):
    def move(m):
        return trimesh.Trimesh(m.vertices @ matrix.T, m.faces, process=False)

    with pytest.raises(MeshError, match="not in the RAS frame"):
        hra.check_frame({k: move(m) for k, m in _bones(converted).items()}, move(converted.crop.mesh))


def test_measured_facts_of_the_originals(converted):
    facts = converted.facts
    assert facts.pelvis_vertices_outside_skin == 0
    for side, mm in facts.posterior_soft_tissue_mm.items():
        assert 25.0 <= mm <= 45.0, side  # README: 33-36 mm
    assert set(facts.spongy_offset_mm) == set(hra.SPONGY_NODES)
    assert max(facts.spongy_offset_mm.values()) == 0.0  # patches lie on the compact surface


def test_skin_crop_is_the_trunk_only(converted):
    crop = converted.crop
    assert crop.is_open and crop.boundary_loops == 3  # waist and both thighs
    lo, hi = crop.mesh.bounds
    # not cut laterally or front/back: only at the top and bottom of the box
    assert np.all(lo[:2] > crop.box_mm[0, :2]) and np.all(hi[:2] < crop.box_mm[1, :2])
    bones_x = (min(m.bounds[0, 0] for m in _bones(converted).values()),
               max(m.bounds[1, 0] for m in _bones(converted).values()))
    for c in crop.dropped_centroids_mm:  # what was dropped is lateral to the pelvis (an arm)
        assert c[0] < bones_x[0] or c[0] > bones_x[1]


# --- the committed scene -------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    out = {}
    for spec in (*hra.BONES, hra.SKIN):
        path = MESHES / spec.filename
        assert path.is_file(), f"{path} is missing: run scripts/build_builtin_scene.py"
        out[spec.name] = trimesh.load(path, file_type="ply", process=False)
    return out


def test_committed_manifest_names_every_structure():
    doc = tomllib.loads((MESHES / "scene.toml").read_text(encoding="utf-8"))
    assert doc["scene"]["units"] == "mm" and doc["scene"]["frame"] == "RAS"
    got = {(s["name"], s["role"], s["side"], s["mesh"]) for s in doc["structure"]}
    want = {(s.name, s.role.value, s.side.value, s.filename) for s in (*hra.BONES, hra.SKIN)}
    assert want <= got  # the converted bones and skin, plus the anatomy built onto them
    assert (MESHES / "LICENSE-meshes.md").is_file()


def test_committed_bones_are_watertight_and_outward(committed):
    for name in BONE_NAMES:
        m = committed[name]
        assert m.is_watertight and m.is_winding_consistent and m.volume > 0, name


def test_committed_pelvis_width_is_plausible(committed):
    width = committed["right ilium"].bounds[1, 0] - committed["left ilium"].bounds[0, 0]
    assert 200.0 <= width <= 350.0  # adult female inter-iliac crest width (published range)


def test_committed_bones_lie_inside_the_skin_box(committed):
    lo, hi = committed["skin"].bounds
    for name in BONE_NAMES:
        v = committed[name].vertices
        assert np.all((v > lo) & (v < hi)), name


def test_committed_posterior_soft_tissue_over_each_ilium(committed):
    for name in ("left ilium", "right ilium"):
        mm = hra.posterior_soft_tissue_mm(committed[name], committed["skin"])
        assert 25.0 <= mm <= 45.0, (name, mm)


# --- the script ----------------------------------------------------------------------------

def _script():
    spec = importlib.util.spec_from_file_location("build_builtin_scene", REPO / "scripts" / "build_builtin_scene.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@needs_shared
def test_script_is_reproducible(tmp_path, capsys):
    script = _script()
    a, b = tmp_path / "a", tmp_path / "b"
    assert script.main(["--shared", str(SHARED), "-o", str(a)]) == 0
    assert script.main(["--shared", str(SHARED), "-o", str(b)]) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    marrow = [s.filename.replace(".ply", "_marrow.ply") for s in hra.BONES if s.name in hra.SPONGY_NODES]
    assert names == sorted([s.filename for s in (*hra.BONES, hra.SKIN)] + marrow + ["scene.toml", "LICENSE-meshes.md"])
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch and not errors
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]  # temp folder removed


@pytest.mark.slow
@needs_shared
def test_the_committed_scene_is_what_the_pipeline_builds(tmp_path, capsys):
    """Conversion and anatomy from the sources, byte for byte: meshes/ is not hand-edited."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_default_anatomy", REPO / "scripts" / "build_default_anatomy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "meshes"
    assert mod.main(["--shared", str(SHARED), "--meshes", str(out)]) == 0
    names = sorted(p.name for p in MESHES.iterdir() if p.is_file())
    assert names == sorted(p.name for p in out.iterdir())
    _, stale, missing = filecmp.cmpfiles(out, MESHES, names, shallow=False)
    assert not stale and not missing, f"meshes/ is out of date ({stale}): run scripts/build_default_anatomy.py"


def test_script_fails_cleanly_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert _script().main(["--shared", str(tmp_path / "nowhere"), "-o", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_written_landmarks_do_not_depend_on_the_last_float_digits(tmp_path):
    """Landmarks from another BLAS differ in the 15th digit; the written file must not."""
    from needlesim.core.io import markups

    pts = {"left-psis": np.array([-30.093956641102206, -71.5, 1e-13]), "right-psis": np.array([30.1234561, 0.0, -2.0])}
    noisy = {k: v + np.array([3e-14, -2e-14, -1e-13]) for k, v in pts.items()}
    a = markups.write_points(tmp_path / "a.mrk.json", pts).read_bytes()
    b = markups.write_points(tmp_path / "b.mrk.json", noisy).read_bytes()
    assert a == b
    back = markups.read_points(tmp_path / "a.mrk.json")
    np.testing.assert_allclose(back["left-psis"], [-30.093957, -71.5, 0.0], atol=0, rtol=0)
    assert "-0.0" not in a.decode()  # a rounded -1e-13 is written as 0.0, not -0.0


def test_committed_landmarks_are_rounded_to_a_nanometre():
    doc = json.loads((MESHES / "landmarks.mrk.json").read_text(encoding="utf-8"))
    xs = [x for cp in doc["markups"][0]["controlPoints"] for x in cp["position"]]
    assert len(xs) >= 30 and all(round(x, 6) == x for x in xs)
