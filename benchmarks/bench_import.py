"""Import benchmark: the wall time of each stage of ``needlesim import`` on the HRA sources of
the built-in pelvis and on a CT-like label map voxelised from it, against the baseline of
building the anatomy alone onto the built-in bones (``build_scene``, measured in the same run).

    python benchmarks/bench_import.py [--shared ../shared] [--voxel-mm 1.0]

Goal (issue 12): import and build under 30 s for a pelvis on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "anatomy"))

from import_helpers import label_map, write_nifti  # noqa: E402

from needlesim.anatomy.build import build_scene  # noqa: E402
from needlesim.anatomy.importers import hra, nifti, pipeline  # noqa: E402
from needlesim.anatomy.importers.common import ImportOptions  # noqa: E402
from needlesim.core.io.builtin import load_builtin_scene  # noqa: E402


def timed_import(read, output: Path, options: ImportOptions) -> tuple[float, dict[str, float]]:
    """Total seconds and seconds per stage."""
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    pipeline.import_pelvis(read, output, options, progress=lambda s, f: marks.append((s, time.perf_counter())))
    total = time.perf_counter() - t0
    stages = {a: b_t - a_t for (a, a_t), (_, b_t) in zip(marks, marks[1:])}
    return total, stages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--voxel-mm", type=float, default=1.0)
    args = ap.parse_args(argv)
    scene = load_builtin_scene()
    bones = {s.name: s.mesh for s in scene.structures if s.is_bone}
    t0 = time.perf_counter()
    build_scene(bones, None, marrow_faces={s.name: s.marrow_faces for s in scene.structures
                                           if s.is_bone and s.marrow_faces is not None})
    base = time.perf_counter() - t0
    print(f"baseline: build_scene on the built-in bones {base:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pelvis = args.shared / "anatomy" / "hra-female-pelvis" / "VH_F_Pelvis.glb"
        skin = args.shared / "anatomy" / "hra-female-skin" / "VH_F_Skin.glb"
        if pelvis.is_file() and skin.is_file():
            total, stages = timed_import(hra.reader(pelvis, skin, ImportOptions()), tmp / "hra", ImportOptions())
            print(f"import hra: {total:.1f} s ({total / base:.2f} x baseline); " +
                  ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
        vol, affine = label_map(scene, args.voxel_mm)
        path = write_nifti(tmp / "map.nii.gz", vol, affine)
        options = ImportOptions(soft_tissue_mm=30.0)
        total, stages = timed_import(nifti.reader(path, options), tmp / "nii", options)
        print(f"import nifti ({args.voxel_mm:g} mm voxels, {vol.shape}): {total:.1f} s ({total / base:.2f} x "
              "baseline); " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
