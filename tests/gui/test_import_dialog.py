"""File > Import pelvis: the dialog builds the command's arguments, runs the same import on a
worker thread, shows a failure and keeps the window's scene, cancels leaving nothing behind,
and opens what it imported. The input is the built-in bones' own PLY files as a labelled-mesh
folder (``left_ilium.ply``, ``sacrum.ply``, ...)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh

from needlesim.cli_import import parse_import
from needlesim.core.io.builtin import builtin_scene_dir

BONES = ("sacrum", "coccyx", *(f"{s}_{p}" for s in ("left", "right") for p in ("ilium", "ischium", "pubis")))


@pytest.fixture()
def bone_folder(tmp_path) -> Path:
    folder = tmp_path / "bones"
    folder.mkdir()
    for name in BONES:
        shutil.copy(builtin_scene_dir() / f"{name}.ply", folder / f"{name}.ply")
    return folder


def _nothing_left(output: Path) -> None:
    assert not output.exists()
    assert [p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}")] == []


def _dialog(window, kind: str, source: Path, output: Path):
    from needlesim.gui.import_dialog import KINDS, open_import_dialog

    d = open_import_dialog(window)
    d.kind.setCurrentIndex(list(KINDS).index(kind))
    d.source.setText(str(source))
    d.output.setText(str(output))
    return d


def test_the_fields_are_the_commands_arguments(make_window, tmp_path):
    w = make_window()
    d = _dialog(w, "hra", tmp_path / "VH_M_Pelvis.glb", tmp_path / "out")
    assert not d.model_soft.isChecked()  # a HRA pelvis comes with its skin
    d.skin.setText(str(tmp_path / "VH_M_Skin.glb"))
    d.tilt.setValue(12.5)
    assert d.argv() == ["import", "hra", str(tmp_path / "VH_M_Pelvis.glb"), "-o", str(tmp_path / "out"),
                        "--skin", str(tmp_path / "VH_M_Skin.glb"), "--tilt-deg", "12.5"]
    d.kind.setCurrentIndex(1)  # labelled meshes: units and frame; soft tissue on by default
    d.units.setCurrentText("cm")
    d.frame.setCurrentText("LPS")
    d.name.setText("patient 7")
    args = parse_import(d.argv())
    assert (args.kind, args.units, args.frame, args.soft_tissue_mm, args.name, args.tilt_deg) == (
        "meshes", "cm", "LPS", 30.0, "patient 7", 12.5)
    assert d.command.text() == "needlesim " + " ".join(
        ["import", "meshes", str(tmp_path / "VH_M_Pelvis.glb"), "-o", str(tmp_path / "out"), "--units", "cm",
         "--frame", "LPS", "--soft-tissue-mm", "30", "--name", "'patient 7'", "--tilt-deg", "12.5"])
    d.kind.setCurrentIndex(2)
    d.labels.setText("sacrum=25+26,hip_left=77,hip_right=78")
    d.soft_mm.setValue(33.0)
    d.dural.setText("S2-mid")
    args = parse_import(d.argv())
    assert (args.kind, args.labels, args.soft_tissue_mm, args.dural_level) == (
        "nifti", "sacrum=25+26,hip_left=77,hip_right=78", 33.0, "S2-mid")
    d.output.setText("")
    assert not d.start() and "choose the output folder" in d.message.text()
    d.reject()


def test_a_failed_import_says_why_and_the_window_keeps_its_scene(make_window, bone_folder, qtbot):
    w = make_window()
    scene = w.session.scene
    sacrum = trimesh.load(bone_folder / "sacrum.ply")
    trimesh.Trimesh(sacrum.vertices, sacrum.faces[10:], process=False).export(bone_folder / "sacrum.ply")  # a hole
    out = bone_folder.parent / "scene"
    d = _dialog(w, "meshes", bone_folder, out)
    with qtbot.waitSignal(d.failed, timeout=60_000) as failed:
        assert d.start()
    assert "sacrum: the bone surface is not closed" in failed.args[0] and "repair it" in failed.args[0]
    assert failed.args[0] in d.message.text()
    assert d.isVisible() and d.import_button.isEnabled() and d.source.text() == str(bone_folder)
    assert w.session.scene is scene and w.session.scene_source == "analytic"
    _nothing_left(out)
    d.reject()
    assert not d.isVisible()


def test_cancel_stops_the_import_and_leaves_nothing(make_window, bone_folder, qtbot):
    w = make_window()
    scene = w.session.scene
    out = bone_folder.parent / "scene"
    d = _dialog(w, "meshes", bone_folder, out)
    stages = []
    assert d.start()
    d.job.signals.progress.connect(lambda f, stage: stages.append(stage))
    qtbot.waitUntil(lambda: d.stage.text().strip() != "", timeout=30_000)  # the import is running
    with qtbot.waitSignal(d.failed, timeout=60_000) as failed:
        d.cancel_button.click()  # Cancel: the import stops at its next step, then the dialog closes
    assert failed.args[0] == "import cancelled: nothing was written"
    assert "building the anatomy" not in stages and "writing" not in stages
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=5_000)
    assert w.session.scene is scene
    _nothing_left(out)


@pytest.mark.slow
def test_an_import_opens_the_imported_scene(make_window, bone_folder, qtbot):
    w = make_window()
    out = bone_folder.parent / "patient"
    d = _dialog(w, "meshes", bone_folder, out)
    with qtbot.waitSignal(d.imported, timeout=300_000) as imported:
        assert d.start()
    assert imported.args[0].folder == out and (out / "scene.toml").is_file()
    qtbot.waitUntil(lambda: w.session.scene_source == str(out), timeout=120_000)  # opened on a worker
    scene = w.session.scene
    assert {"dural sac", "left S1 root", "right sciatic nerve", "skin"} <= set(scene.names)
    assert "modelled, no skin in the data" in scene.metadata["source"]["soft_tissue"]
    assert np.allclose(scene.landmarks["left-entry"], imported.args[0].scene.landmarks["left-entry"], atol=1e-4)
    assert str(out) in w.settings.value("recent", [], type=list)
    assert out.name in w.windowTitle()
