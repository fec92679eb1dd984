"""``needlesim import``: HRA glTF, labelled meshes, CT label maps; bad input; cancel.

Full imports (landmarks, anatomy build, validation) take 15-60 s each on a loaded 2-core
machine: they are marked slow. The bad-input tests fail before the build and are fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from needlesim.anatomy.importers import common, hipsplit, landmark_file, meshes, nifti, pipeline
from needlesim.anatomy.importers.common import ImportCancelled, ImportFailed, ImportOptions
from needlesim.cli import main
from needlesim.core.api import check
from needlesim.core.io import markups
from needlesim.core.io.builtin import builtin_scene_dir, load_builtin_scene
from needlesim.core.io.manifest import load_scene
from needlesim.core.model.trajectory import Trajectory

sys.path.insert(0, str(Path(__file__).parent))
from import_helpers import label_map, write_nifti  # noqa: E402

#: The HuBMAP originals: ``../shared`` beside the checkout, or where NEEDLESIM_SHARED says.
SHARED = Path(os.environ.get("NEEDLESIM_SHARED", Path(__file__).resolve().parents[2].parent / "shared")) / "anatomy"
PELVIS_GLB = SHARED / "hra-female-pelvis" / "VH_F_Pelvis.glb"
SKIN_GLB = SHARED / "hra-female-skin" / "VH_F_Skin.glb"
#: The NIfTI test's voxel, mm. The issue asks 1 mm; 1.5 mm keeps the suite fast (the 1 mm map
#: imports too: see docs/performance.md) and still shows the S4 foramina.
VOXEL_MM = 1.5
ENVELOPE_CENTRE = dict(lateral_deg=30.0, inferior_deg=22.5, depth_mm=60.0)


@pytest.fixture(scope="module")
def builtin():
    return load_builtin_scene()


def _nothing_left(output: Path) -> None:
    assert not output.exists()
    assert [p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}")] == []


def _landmark_gap_mm(folder: Path, reference: dict, *, input_frame: bool = False) -> dict[str, float]:
    """How far each imported landmark is from the reference; with ``input_frame`` both in the
    frame of the import's input (the import moves the pelvis into the APP frame found on its
    own bone, and writes that matrix), else in the scenes' own frames."""
    got = markups.read_points(folder / "landmarks.mrk.json")
    matrix = np.array(json.loads(load_scene(folder).metadata["source"]["input_to_scene_matrix"]))
    back = np.linalg.inv(matrix) if input_frame else np.eye(4)
    return {k: float(np.linalg.norm(back[:3, :3] @ got[k] + back[:3, 3] - reference[k])) for k in reference}


def _verdict(scene) -> str:
    t = Trajectory("left-entry", ENVELOPE_CENTRE["lateral_deg"], ENVELOPE_CENTRE["inferior_deg"],
                   ENVELOPE_CENTRE["depth_mm"], side="left")
    return check(scene, t).verdict.value


@pytest.fixture(scope="module")
def segmented(builtin, tmp_path_factory) -> dict[str, trimesh.Trimesh]:
    """The built-in bones as a segmentation gives them: voxelised (solid, hip bones whole) and
    surfaced again by the NIfTI importer."""
    vol, affine = label_map(builtin, VOXEL_MM, lps=True)
    path = write_nifti(tmp_path_factory.mktemp("seg") / "seg.nii.gz", vol, affine)
    return dict(nifti.read_label_map(path, ImportOptions()).bones)


def _write_meshes(segmented, folder: Path, scale: float = 1.0) -> Path:
    """The segmented bones under TotalSegmentator's file names, plus a femur to be ignored."""
    folder.mkdir()
    names = {"left hip bone": "hip_left.stl", "right hip bone": "hip_right.stl", "sacrum": "sacrum.ply"}
    for name, file in names.items():
        segmented[name].copy().apply_scale(scale).export(folder / file)
    femur = trimesh.creation.cylinder(radius=12.0 * scale, height=400.0 * scale)
    femur.export(folder / "femur_left.stl")  # not a pelvic bone: ignored
    return folder


# --- names, sizes, labels: fast ----------------------------------------------------------------

@pytest.mark.parametrize("stem, name", [
    ("hip_left", "left hip bone"), ("hip_right", "right hip bone"), ("sacrum", "sacrum"),
    ("vertebrae_S1", "sacrum"), ("VH_F_ilium_compact_bone_L", "left ilium"),
    ("VH_M_pubis_compact_bone_R", "right pubis"), ("left_ischium", "left ischium"), ("VH_F_coccyx", "coccyx"),
    ("VH_M_skin", "skin"), ("femur_left", None), ("vertebrae_L5", None), ("VH_F_ilium_spongy_bone_L", None),
])
def test_file_and_node_names_map_to_scene_names(stem, name):
    assert common.scene_name(stem) == name


def test_a_pelvis_in_cm_read_as_mm_is_refused_naming_cm():
    box = {"a": trimesh.creation.box(extents=(28.0, 20.0, 22.0))}  # a 280 mm pelvis in cm
    with pytest.raises(ImportFailed, match=r"28 mm across read as mm.*looks like cm: pass --units cm"):
        common.check_human_size(box, units="mm")
    with pytest.raises(ImportFailed, match=r"not human-sized \(expected 150-450 mm across\)"):  # the loader's words
        common.check_human_size(box, units="mm")
    with pytest.raises(ImportFailed, match="looks like m: pass --units m"):
        common.check_human_size({"a": box["a"].copy().apply_scale(0.01)}, units="mm")
    assert common.check_human_size({"a": box["a"].copy().apply_scale(10.0)}) == pytest.approx(280.0)
    assert common.infer_units(box) == "cm"
    with pytest.raises(ImportFailed, match="no unit"):
        common.infer_units({"a": trimesh.creation.box(extents=(2.0, 2.0, 2.0))})


def test_labels_option_parses_and_refuses_nonsense():
    assert nifti.parse_labels("sacrum=25+26, hip_left=77,right hip bone=78") == {
        "sacrum": (25, 26), "left hip bone": (77,), "right hip bone": (78,)}
    for bad in ("liver=5", "sacrum=", "sacrum=x", ""):
        with pytest.raises(ImportFailed, match="--labels"):
            nifti.parse_labels(bad)


# --- the affine: RAS+ placement, an LPS-ordered volume ---------------------------------------

def test_label_surface_is_placed_by_the_affine_also_when_it_flips_axes(tmp_path):
    """A 20 x 10 x 6 voxel block at known indices, stored with a flipping (LPS-order) affine:
    its surface must land at the world box the affine says, and be wound outward."""
    vol = np.zeros((40, 30, 20), np.int16)
    vol[5:25, 10:20, 4:10] = 25
    for flip in ((1, 1, 1), (-1, -1, 1), (-1, 1, 1)):
        affine = np.diag([2.0 * flip[0], 2.0 * flip[1], 3.0, 1.0])
        affine[:3, 3] = (100.0, -50.0, 7.0)
        path = write_nifti(tmp_path / f"b{flip}.nii.gz", vol, affine)
        img, data = nifti._load(path)
        mesh = nifti.label_surface(data == 25, nifti._affine_mm(img, path))
        corners = np.array([[5, 10, 4, 1], [24, 19, 9, 1]]) @ affine.T
        lo, hi = np.minimum(*corners[:, :3]), np.maximum(*corners[:, :3])
        # the surface runs half a voxel outside the outer voxel centres, less the smoothing
        assert np.allclose(mesh.bounds[0], lo - np.abs(np.diag(affine)[:3]) / 2, atol=1.0), flip
        assert np.allclose(mesh.bounds[1], hi + np.abs(np.diag(affine)[:3]) / 2, atol=1.0), flip
        assert mesh.is_watertight and mesh.volume > 0.8 * 20 * 10 * 6 * 2 * 2 * 3


def test_the_label_map_surfaces_lie_on_the_builtin_bones(builtin, segmented):
    """``segmented`` comes from an LPS-ordered label map (negative x and y diagonal)."""
    assert sorted(segmented) == ["left hip bone", "right hip bone", "sacrum"]
    d = trimesh.proximity.closest_point(segmented["sacrum"], builtin["sacrum"].vertices[::10])[1]
    assert np.median(d) < 0.5 and np.percentile(d, 95) < 1.5  # a mirrored map would be 100+ mm off
    assert segmented["left hip bone"].centroid[0] < 0 < segmented["right hip bone"].centroid[0]
    assert all(m.is_watertight and m.volume > 0 for m in segmented.values())


# --- bad input: clear messages, nothing left behind --------------------------------------------

def test_a_label_map_with_no_bone_is_refused(tmp_path, capsys):
    vol = np.zeros((30, 30, 30), np.int16)
    vol[5:20, 5:20, 5:20] = 5  # the liver
    path = write_nifti(tmp_path / "liver.nii.gz", vol, np.eye(4))
    out = tmp_path / "scene"
    assert main(["import", "nifti", str(path), "-o", str(out), "--soft-tissue-mm", "30"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no bone in the label map" in err and "--labels" in err and "5" in err
    _nothing_left(out)


def test_a_mesh_in_cm_declared_mm_is_refused_naming_cm(segmented, tmp_path, capsys):
    folder = _write_meshes(segmented, tmp_path / "cm", scale=0.1)
    out = tmp_path / "scene"
    assert main(["import", "meshes", str(folder), "--units", "mm", "-o", str(out), "--soft-tissue-mm", "30"]) == 2
    err = capsys.readouterr().err
    assert "looks like cm: pass --units cm" in err and len(err.strip().splitlines()) == 1
    _nothing_left(out)


def test_lps_meshes_read_as_ras_are_refused_naming_lps(segmented, tmp_path):
    folder = _write_meshes(segmented, tmp_path / "lps")
    raw_ras = meshes.read_mesh_folder(folder, ImportOptions())
    assert sorted(raw_ras.bones) == ["left hip bone", "right hip bone", "sacrum"]
    assert raw_ras.source["ignored_files"] == "femur_left.stl"
    for p in [*folder.glob("*.stl"), *folder.glob("*.ply")]:
        m = trimesh.load(p)
        m.apply_transform(np.diag([-1.0, -1.0, 1.0, 1.0]))
        m.export(p)
    with pytest.raises(ImportFailed, match="look like LPS: pass --frame LPS"):
        meshes.read_mesh_folder(folder, ImportOptions())
    raw = meshes.read_mesh_folder(folder, ImportOptions(frame="LPS"))
    assert np.allclose(raw.bones["sacrum"].bounds, raw_ras.bones["sacrum"].bounds, atol=1e-3)


def test_no_skin_and_no_soft_tissue_depth_is_refused(segmented, tmp_path):
    folder = _write_meshes(segmented, tmp_path / "m")
    with pytest.raises(ImportFailed, match="no skin: give the soft tissue over the bone with --soft-tissue-mm"):
        pipeline.import_pelvis(meshes.reader(folder, ImportOptions()), tmp_path / "scene")
    _nothing_left(tmp_path / "scene")


def test_an_existing_output_is_never_overwritten(tmp_path):
    (tmp_path / "scene").mkdir()
    (tmp_path / "scene" / "keep.txt").write_text("mine")
    with pytest.raises(ImportFailed, match="already exists"):
        pipeline.import_pelvis(lambda: None, tmp_path / "scene")
    assert (tmp_path / "scene" / "keep.txt").read_text() == "mine"


def test_a_landmark_that_cannot_be_found_asks_the_user_to_place_it(segmented, tmp_path, capsys):
    folder = _write_meshes(segmented, tmp_path / "m")
    segmented["sacrum"].convex_hull.export(folder / "sacrum.ply")  # no foramina, no canal
    out = tmp_path / "scene"
    assert main(["import", "meshes", str(folder), "-o", str(out), "--soft-tissue-mm", "30"]) == 2
    err = capsys.readouterr().err
    assert "the landmark search failed" in err and "foramin" in err
    assert "place the landmarks by hand" in err and "--landmarks FILE" in err
    _nothing_left(out)


def test_a_cancelled_import_stops_and_leaves_nothing(segmented, tmp_path):
    folder = _write_meshes(segmented, tmp_path / "m")
    seen = []
    with pytest.raises(ImportCancelled, match="cancelled: nothing was written"):
        pipeline.import_pelvis(meshes.reader(folder, ImportOptions()), tmp_path / "scene",
                               ImportOptions(soft_tissue_mm=30.0), progress=lambda s, f: seen.append(s),
                               cancel=lambda: "checking" in seen)
    assert seen == ["reading", "checking"]
    _nothing_left(tmp_path / "scene")


def test_the_built_scene_is_validated_once_by_the_pipeline(builtin, monkeypatch):
    """The builder is asked not to validate: the pipeline's "validating" stage runs the same
    validator right after (twice cost 2-3 s of every import)."""
    seen = {}

    def fake_build(*args, **kwargs):
        seen.update(kwargs)
        return builtin

    monkeypatch.setattr(pipeline, "build_scene", fake_build)
    raw = common.RawPelvis({}, None, "x", {})
    assert pipeline._build(raw, None, None, ImportOptions(), {}, {}) is builtin
    assert seen["validate"] is False


def test_a_cancel_while_writing_removes_the_temporary_folder(builtin, tmp_path):
    with pytest.raises(ImportCancelled):
        pipeline.write_atomically(builtin, tmp_path / "scene", cancel=lambda: True)
    _nothing_left(tmp_path / "scene")
    pipeline.write_atomically(builtin, tmp_path / "scene")
    assert load_scene(tmp_path / "scene").names == builtin.names


# --- landmarks from a file ----------------------------------------------------------------------

def test_a_markups_file_overrides_found_landmarks(builtin, tmp_path):
    hips = {"sacrum": builtin["sacrum"].mesh,
            **{f"{s} hip bone": trimesh.util.concatenate([builtin[f"{s} {p}"].mesh for p in common.HIP_PARTS])
               for s in common.SIDES}}
    from needlesim.anatomy.landmarks import find_pelvis_landmarks

    found = find_pelvis_landmarks(hipsplit.landmark_bones(hips))
    moved = found.points["left-entry"] + np.array([0.0, 0.0, 5.0])
    path = markups.write_points(tmp_path / "fix.mrk.json", {"left-entry": moved,
                                                           "left-s2-ventral-foramen": found.points["left-s2-ventral-foramen"] + 1.0})
    merged = landmark_file.merge(found, landmark_file.read_landmarks(path), path)
    assert np.allclose(merged.points["left-entry"], moved)
    assert np.allclose(merged.points["right-entry"], found.points["right-entry"])
    d, v = merged.axes["left-s2-foramen"]
    assert np.allclose(v, (found.points["left-s2-ventral-foramen"] + 1.0 - d) /
                       np.linalg.norm(found.points["left-s2-ventral-foramen"] + 1.0 - d))
    assert np.allclose(merged.neutral_matrix, found.neutral_matrix)
    with pytest.raises(ImportFailed, match="must place every landmark"):
        landmark_file.merge(None, {"left-entry": moved}, path)


def test_the_hip_split_gives_the_search_the_landmarks_of_the_separate_bones(builtin):
    hips = {"sacrum": builtin["sacrum"].mesh, "coccyx": builtin["coccyx"].mesh,
            **{f"{s} hip bone": trimesh.util.concatenate([builtin[f"{s} {p}"].mesh for p in common.HIP_PARTS])
               for s in common.SIDES}}
    from needlesim.anatomy.landmarks import find_pelvis_landmarks

    lm = find_pelvis_landmarks(hipsplit.landmark_bones(hips))
    gap = {k: np.linalg.norm(lm.points[k] - builtin.landmarks[k]) for k in lm.points}
    assert max(gap.values()) < 2.0, sorted(gap.items(), key=lambda kv: -kv[1])[:3]


# --- whole imports (slow) -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not (PELVIS_GLB.is_file() and SKIN_GLB.is_file()),
                    reason=f"the HuBMAP originals are not at {SHARED}/hra-female-*/ (a checkout without shared/)")
def test_import_hra_of_the_builtin_sources_gives_the_builtin_landmarks(tmp_path, capsys):
    out = tmp_path / "vhf"
    assert main(["import", "hra", str(PELVIS_GLB), "--skin", str(SKIN_GLB), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    reference = markups.read_points(builtin_scene_dir() / "landmarks.mrk.json")
    gap = _landmark_gap_mm(out, reference)
    assert max(gap.values()) < 0.5, sorted(gap.items(), key=lambda kv: -kv[1])[:3]
    scene = load_scene(out)
    assert scene.metadata["source"]["importer"] == "needlesim import hra"
    assert scene["left ilium"].marrow_faces is not None  # the spongy patches are the marrow


@pytest.fixture(scope="module")
def mesh_import(segmented, tmp_path_factory):
    folder = _write_meshes(segmented, tmp_path_factory.mktemp("meshes") / "segmentations")
    out = folder.parent / "scene"
    assert main(["import", "meshes", str(folder), "-o", str(out), "--soft-tissue-mm", "30"]) == 0
    return out


@pytest.fixture(scope="module")
def nifti_import(builtin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nifti")
    vol, affine = label_map(builtin, VOXEL_MM, lps=True)
    path = write_nifti(tmp / "totalseg.nii.gz", vol, affine)
    out = tmp / "scene"
    assert main(["import", "nifti", str(path), "-o", str(out), "--soft-tissue-mm", "33"]) == 0
    return out


@pytest.mark.slow
def test_import_labelled_meshes_with_whole_hip_bones(builtin, mesh_import, capsys):
    scene = load_scene(mesh_import)
    assert "left hip bone" in scene.names and "left ilium" not in scene.names
    assert scene["left hip bone"].marrow_faces is None  # the cortical-thickness rule
    assert "modelled, no skin in the data" in scene.metadata["source"]["soft_tissue"]
    assert scene.metadata["source"]["ignored_files"] == "femur_left.stl"
    from needlesim.anatomy.individuals import soft_tissue_over_psis

    ilia = {f"{s} ilium": scene[f"{s} hip bone"].mesh for s in common.SIDES}
    assert soft_tissue_over_psis(scene["skin"].mesh, ilia) == pytest.approx(30.0, abs=1.0)
    capsys.readouterr()
    assert main(["check", "--scene", str(mesh_import), "--entry", "left-entry", "--lateral", "30", "--inferior",
                 "22.5", "--depth", "60"]) == 0
    assert "soft tissue: modelled, no skin in the data: a uniform layer 30 mm" in capsys.readouterr().out


@pytest.mark.slow
def test_label_map_import_finds_every_landmark_within_3_mm(builtin, nifti_import):
    """Every landmark, the ASISs and notch tops too (robust to the voxels' surface noise: the
    single support vertex slid 7.8-9.1 mm up the ASIS tip, the deepest notch pixel 4.6 mm)."""
    gap = _landmark_gap_mm(nifti_import, builtin.landmarks, input_frame=True)
    assert max(gap.values()) < 3.0, sorted(gap.items(), key=lambda kv: -kv[1])[:3]


@pytest.mark.slow
def test_label_map_import_gives_the_envelope_centre_the_same_verdict(builtin, nifti_import):
    assert _verdict(load_scene(nifti_import)) == _verdict(builtin)


def test_check_takes_a_corrected_landmarks_file(builtin, tmp_path, capsys):
    """``left-entry`` moved onto the left PSIS: checking it is checking the left PSIS (a left
    landmark keeps its side: moving it across the midline would be refused)."""
    import json

    path = markups.write_points(tmp_path / "fix.mrk.json", {"left-entry": builtin.landmarks["left-psis"]})
    aim = ["--lateral", "30", "--inferior", "22.5", "--depth", "60", "--json"]
    assert main(["check", "--entry", "left-psis", *aim]) == 0
    right = json.loads(capsys.readouterr().out)
    assert main(["check", "--entry", "left-entry", *aim, "--landmarks", str(path)]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert main(["check", "--entry", "left-entry", *aim]) == 0
    left = json.loads(capsys.readouterr().out)
    assert moved["hits"] == right["hits"] and moved["hits"] != left["hits"]
