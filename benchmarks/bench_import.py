"""Import benchmark: the wall time of each stage of ``needlesim import`` on (a) the built-in
bone PLYs as a folder of labelled meshes (no marrow surfaces, soft tissue modelled 30 mm),
(b) the HRA sources of the built-in pelvis and (c) a CT-like label map voxelised from it,
against the baseline of building the anatomy alone onto the built-in bones (``build_scene``,
measured in the same run).

    python benchmarks/bench_import.py [--shared ../shared] [--voxel-mm 1.0]
        [--only meshes,hra,nifti,baseline] [--profile OUT.prof]

Stages are those of :data:`needlesim.anatomy.importers.pipeline.STAGES` (read, check,
landmark search, soft tissue, build, validate, write). ``--profile`` runs everything under
cProfile and writes the statistics (read them with ``python -m pstats OUT.prof``).

Goal (issue 12): import and build under 30 s for a pelvis on 2 cores.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "anatomy"))

from import_helpers import label_map, write_nifti  # noqa: E402

from needlesim.anatomy.build import build_scene  # noqa: E402
from needlesim.anatomy.importers import hra, meshes, nifti, pipeline  # noqa: E402
from needlesim.anatomy.importers.common import ImportOptions  # noqa: E402
from needlesim.core.io.builtin import builtin_scene_dir, load_builtin_scene  # noqa: E402

#: Short names of the pipeline's stages, as printed.
SHORT = {"reading": "read", "checking": "check", "finding landmarks": "landmarks",
         "modelling soft tissue": "soft tissue", "building the anatomy": "build", "validating": "validate",
         "writing": "write"}
BONE_FILES = ("sacrum", "coccyx", *(f"{s}_{p}" for s in ("left", "right") for p in ("ilium", "ischium", "pubis")))


def timed_import(read, output: Path, options: ImportOptions) -> tuple[float, dict[str, float]]:
    """Total wall seconds and wall seconds per stage (each stage from its start to the
    next's); the total CPU seconds of this process are added as ``"cpu"``."""
    marks: list[tuple[str, float]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    pipeline.import_pelvis(read, output, options, progress=lambda s, f: marks.append((s, time.perf_counter())))
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    starts: dict[str, float] = {}
    for s, t in marks:
        starts.setdefault(s, t)  # a stage reports several fractions: its first mark is its start
    order = list(starts.items())
    stages = {SHORT.get(a, a): b_t - a_t for (a, a_t), (_, b_t) in zip(order, order[1:])}
    return total, stages | {"cpu": cpu}


def _line(what: str, total: float, stages: dict[str, float], base: float | None) -> str:
    ratio = f" ({total / base:.2f} x baseline)" if base else ""
    cpu = stages.pop("cpu", None)
    cpu_text = f" (process CPU {cpu:.1f} s)" if cpu is not None else ""
    return f"{what}: {total:.1f} s wall{cpu_text}{ratio}; " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())


def bone_folder(folder: Path) -> Path:
    """The built-in bone PLYs copied into ``folder`` under their own names (``left_ilium.ply``
    ...), without the marrow surfaces: a labelled-mesh folder as a user would give it."""
    folder.mkdir()
    for stem in BONE_FILES:
        shutil.copy2(builtin_scene_dir() / f"{stem}.ply", folder / f"{stem}.ply")
    return folder


def run(args: argparse.Namespace) -> None:
    only = set(args.only.split(","))
    scene = load_builtin_scene()
    base = None
    if "baseline" in only:
        bones = {s.name: s.mesh for s in scene.structures if s.is_bone}
        t0 = time.perf_counter()
        build_scene(bones, None, marrow_faces={s.name: s.marrow_faces for s in scene.structures
                                               if s.is_bone and s.marrow_faces is not None})
        base = time.perf_counter() - t0
        print(f"baseline: build_scene on the built-in bones {base:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "meshes" in only:
            folder = bone_folder(tmp / "bones")
            options = ImportOptions(soft_tissue_mm=30.0)
            total, stages = timed_import(meshes.reader(folder, options), tmp / "meshes", options)
            print(_line("import meshes (built-in bone PLYs, --soft-tissue-mm 30)", total, stages, base), flush=True)
        pelvis = args.shared / "anatomy" / "hra-female-pelvis" / "VH_F_Pelvis.glb"
        skin = args.shared / "anatomy" / "hra-female-skin" / "VH_F_Skin.glb"
        if "hra" in only and pelvis.is_file() and skin.is_file():
            total, stages = timed_import(hra.reader(pelvis, skin, ImportOptions()), tmp / "hra", ImportOptions())
            print(_line("import hra", total, stages, base), flush=True)
        if "nifti" in only:
            t0 = time.perf_counter()
            vol, affine = label_map(scene, args.voxel_mm)
            path = write_nifti(tmp / "map.nii.gz", vol, affine)
            print(f"(label map made in {time.perf_counter() - t0:.1f} s, not counted)", flush=True)
            options = ImportOptions(soft_tissue_mm=30.0)
            total, stages = timed_import(nifti.reader(path, options), tmp / "nii", options)
            print(_line(f"import nifti ({args.voxel_mm:g} mm voxels, {vol.shape})", total, stages, base), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("NEEDLESIM_SHARED", Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--voxel-mm", type=float, default=1.0)
    ap.add_argument("--only", default="baseline,meshes,hra,nifti", help="comma-separated: baseline,meshes,hra,nifti")
    ap.add_argument("--profile", type=Path, help="write cProfile statistics here")
    args = ap.parse_args(argv)
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(run, args)
        prof.dump_stats(str(args.profile))
    else:
        run(args)
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
