"""A cancel reaches inside the two long stages of an import (the landmark search, 5-10 s, and
the anatomy build, 20-60 s): it stops them at their next step rather than after them, so the
app's Cancel answers in about a second. The input is the built-in bones as a labelled-mesh
folder."""

from __future__ import annotations

import shutil
import traceback

import pytest

from needlesim.anatomy.importers import meshes, pipeline
from needlesim.anatomy.importers.common import ImportCancelled, ImportOptions
from needlesim.core.io.builtin import builtin_scene_dir

BONES = ("sacrum", "coccyx", *(f"{s}_{p}" for s in ("left", "right") for p in ("ilium", "ischium", "pubis")))


@pytest.mark.parametrize("stage, inside", [
    ("finding landmarks", "find_pelvis_landmarks"),
    pytest.param("building the anatomy", "build_scene", marks=pytest.mark.slow),  # after the search: 10-15 s
])
def test_a_cancel_stops_a_long_stage_from_inside(tmp_path, stage, inside):
    folder = tmp_path / "bones"
    folder.mkdir()
    for name in BONES:
        shutil.copy(builtin_scene_dir() / f"{name}.ply", folder / f"{name}.ply")
    options = ImportOptions(soft_tissue_mm=30.0)
    seen: list[tuple[str, float]] = []
    out = tmp_path / "scene"
    with pytest.raises(ImportCancelled, match="cancelled: nothing was written") as info:
        pipeline.import_pelvis(meshes.reader(folder, options), out, options,
                               progress=lambda s, f: seen.append((s, f)), cancel=lambda: any(s == stage for s, _ in seen))
    assert inside in [frame.name for frame in traceback.extract_tb(info.tb)]  # raised inside, not after it
    assert [s for s, _ in seen][-1] == stage and len([s for s, _ in seen if s == stage]) == 1
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bones"]
