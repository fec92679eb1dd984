"""One import, whatever the source: read, check, find landmarks, model soft tissue, build the
anatomy, validate, write. Qt-free; a GUI worker calls :func:`import_pelvis` with a progress
callback and a cancel flag.

Nothing is half-written: the scene is built in memory, validated (the scene validator must
report zero problems), written into a temporary folder beside the output, read back, and only
then renamed to the output. Any failure or a cancel removes the temporary folder and raises one
:class:`ImportFailed` whose message says what failed and what the user can do.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from needlesim.anatomy.build import build_scene, tilt_matrix, write_scene
from needlesim.anatomy.importers import landmark_file
from needlesim.anatomy.importers.common import (CancelFlag, ImportFailed, ImportOptions, ProgressCallback, RawPelvis,
                                               check_bones, check_cancel, check_human_size)
from needlesim.anatomy.importers.hipsplit import landmark_bones
from needlesim.anatomy.importers.softtissue import check_depth, modelled_skin, softtissue_note
from needlesim.anatomy.landmarks import PelvisLandmarks, find_pelvis_landmarks
from needlesim.anatomy.params import AnatomyError
from needlesim.anatomy.validate import validate_scene
from needlesim.core.errors import LandmarkError
from needlesim.core.io.manifest import load_scene
from needlesim.core.model.scene import Scene

#: The stages, in order, as the progress callback names them.
STAGES = ("reading", "checking", "finding landmarks", "modelling soft tissue", "building the anatomy",
          "validating", "writing")
PLACE_BY_HAND = ("place the landmarks by hand in 3D Slicer (a markups JSON; names in docs/anatomy.md) and import "
                 "again with --landmarks FILE")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    folder: Path
    scene: Scene
    seconds: float
    size_mm: float


class _Stages:
    def __init__(self, progress: ProgressCallback | None, cancel: CancelFlag | None) -> None:
        self.progress, self.cancel = progress, cancel

    def __call__(self, stage: str) -> None:
        check_cancel(self.cancel)
        if self.progress is not None:
            self.progress(stage, STAGES.index(stage) / len(STAGES))

    def within(self, stage: str) -> Callable[[float, str], None]:
        """A ``progress(fraction, message)`` for a step inside ``stage``: checks the cancel flag
        (so a long search or build stops within one of its own steps) and reports the
        fraction inside the stage's share of the bar."""
        lo, share = STAGES.index(stage) / len(STAGES), 1.0 / len(STAGES)

        def tell(fraction: float, message: str) -> None:
            check_cancel(self.cancel)
            if self.progress is not None:
                self.progress(stage, lo + share * min(max(float(fraction), 0.0), 1.0))
        return tell


def check_output(output: Path) -> None:
    """Refuse an output that exists (an empty folder is fine) or whose parent is missing."""
    if output.exists() and not (output.is_dir() and not any(output.iterdir())):
        raise ImportFailed(f"{output} already exists: choose a new folder (nothing is ever overwritten by import)")
    if not output.parent.is_dir():
        raise ImportFailed(f"{output.parent}: no such folder to write the scene into")


def find_landmarks(raw: RawPelvis, options: ImportOptions, progress: Callable[[float, str], None] | None = None
                   ) -> tuple[PelvisLandmarks, dict]:
    """The landmarks (found, then overridden by ``options.landmarks_file``) and the search bones."""
    bones = landmark_bones(raw.bones)
    given = landmark_file.read_landmarks(options.landmarks_file) if options.landmarks_file else None
    try:
        found = find_pelvis_landmarks(bones, progress=progress)
    except LandmarkError as exc:
        if given is None:
            raise ImportFailed(f"the landmark search failed: {exc}; {PLACE_BY_HAND}") from None
        found = None
    if given is None:
        return found, bones
    return landmark_file.merge(found, given, options.landmarks_file), bones


def _validated(scene: Scene) -> Scene:
    problems = validate_scene(scene, lumen=scene.metadata["anatomy"].canal.lumen)
    if problems:
        listed = "; ".join(f"{p.structure}: {p.detail}" for p in problems[:8])
        more = f" and {len(problems) - 8} more" if len(problems) > 8 else ""
        raise ImportFailed(f"the built anatomy fails validation ({len(problems)} problems: {listed}{more}); "
                           f"nothing was written; check the landmarks (--landmarks FILE) or report the pelvis")
    return scene


def _build(raw: RawPelvis, lm: PelvisLandmarks, skin, options: ImportOptions, source: dict, search_bones,
           progress: Callable[[float, str], None] | None = None) -> Scene:
    ilia = {k: m for k, m in search_bones.items() if k.endswith("ilium") and k not in raw.bones}
    try:
        # validate=False: the pipeline's own "validating" stage runs the same validator once,
        # with the import's message (validating twice cost 2-3 s per import)
        return build_scene(raw.bones, skin, params=options.params, landmarks=lm, marrow_faces=raw.marrow_faces,
                           ilia=ilia, progress=progress, validate=False,
                           name=options.name or raw.name, description=_description(raw, options), source=source)
    except (AnatomyError, LandmarkError) as exc:
        raise ImportFailed(f"building the anatomy failed: {exc}; {PLACE_BY_HAND} if a landmark is misplaced") from None


def _description(raw: RawPelvis, options: ImportOptions) -> str:
    bones = ", ".join(sorted(raw.bones))
    soft = (softtissue_note(options.soft_tissue_mm) if options.soft_tissue_mm is not None
            else "skin from the data")
    return (f"An imported pelvis ({bones}); soft tissue: {soft}; with anatomy built by needlesim (dural sac, "
            "S1-S4 roots and sleeves, sciatic nerves, superior gluteal vessels).")


def write_atomically(scene: Scene, output: Path, cancel: CancelFlag | None = None) -> Path:
    """Write into a temporary sibling, read it back, then rename it to ``output``."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.importing-", dir=output.parent))
    try:
        folder = write_scene(scene, tmp / "scene")
        load_scene(folder)  # what was written loads
        check_cancel(cancel)
        if output.is_dir():
            output.rmdir()  # empty (check_output)
        folder.rename(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output


def import_pelvis(read: Callable[[], RawPelvis], output: str | Path, options: ImportOptions = ImportOptions(), *,
                  progress: ProgressCallback | None = None, cancel: CancelFlag | None = None) -> ImportResult:
    """Run one import (module docstring). ``read`` is the importer's reader (e.g.
    :func:`.hra.reader`); ``progress(stage, fraction)`` is called at each stage of
    :data:`STAGES`; ``cancel()`` returning True stops at the next stage, writing nothing."""
    t0 = time.perf_counter()
    output = Path(output).absolute()
    check_output(output)
    try:
        options.params.validated()
    except AnatomyError as exc:
        raise ImportFailed(str(exc)) from None
    stage = _Stages(progress, cancel)
    stage("reading")
    raw = read()
    stage("checking")
    check_bones(raw.bones)
    size = check_human_size(raw.bones)
    if raw.skin is None and options.soft_tissue_mm is None:
        raise ImportFailed("the data has no skin: give the soft tissue over the bone with --soft-tissue-mm MM "
                           "(e.g. 30, the mean over the PSIS; see docs/anatomy.md)")
    stage("finding landmarks")
    lm, search_bones = find_landmarks(raw, options, stage.within("finding landmarks"))
    skin, source = raw.skin, {**raw.source, "soft_tissue": "from the data's skin"}
    if options.soft_tissue_mm is not None:
        stage("modelling soft tissue")
        depth = check_depth(options.soft_tissue_mm)
        skin = modelled_skin(raw.bones, lm.neutral_matrix, depth, search_bones)
        source["soft_tissue"] = softtissue_note(depth)
    if options.landmarks_file:
        source["landmarks_file"] = str(options.landmarks_file)
    to_scene = tilt_matrix(options.params.tilt_deg) @ lm.neutral_matrix
    source["input_to_scene_matrix"] = json.dumps(np.round(to_scene, 9).tolist())
    stage("building the anatomy")
    scene = _build(raw, lm, skin, options, source, search_bones, stage.within("building the anatomy"))
    stage("validating")
    _validated(scene)
    stage("writing")
    folder = write_atomically(scene, output, cancel)
    if progress is not None:
        progress("done", 1.0)
    return ImportResult(folder, scene, time.perf_counter() - t0, size)


__all__ = ["import_pelvis", "ImportResult", "STAGES", "check_output", "write_atomically"]
