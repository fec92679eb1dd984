"""Build the default anatomy onto the built-in pelvis and write the final built-in scene.

    python3 scripts/build_default_anatomy.py [--shared ../shared] [--meshes meshes] [--tilt-deg 0]
                                             [--dural-tip S2-upper-mid]

The whole built-in scene from its sources, reproducibly: converts the HuBMAP files with
``scripts/build_builtin_scene.py`` (SHA-256 checked) into a temporary folder, calls
:func:`needlesim.anatomy.build.build_scene` on those bones and skin, and writes the result into
``meshes/`` atomically, with the conversion's ``LICENSE-meshes.md``. Prints the build time, the
size of the folder and the calibration distances.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from needlesim.anatomy.build import build_scene, write_scene
from needlesim.anatomy.params import AnatomyParams
from needlesim.core.io.manifest import load_scene
from needlesim.core.model.scene import Role

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_builtin_scene  # noqa: E402
DESCRIPTION = (
    "A real adult female pelvis (sacrum, coccyx, and per side ilium, ischium, pubis as closed outer bone "
    "surfaces) and the skin of the same body cropped to the pelvic region, from the HuBMAP CCF 3D Reference "
    "Object Library (NLM Visible Human Female), in the anterior pelvic plane frame (prone, the APP parallel "
    "to the table, tilt {tilt:g} deg), with built anatomy: dural sac (tip {tip}), S1-S4 roots with ganglia "
    "and dural sleeves, sciatic nerves, superior gluteal arteries and veins (needlesim.anatomy; "
    "parameters below, sources in needlesim/anatomy/params.py)."
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--meshes", default=str(ROOT / "meshes"))
    ap.add_argument("--tilt-deg", type=float, default=AnatomyParams.tilt_deg)
    ap.add_argument("--dural-tip", default=AnatomyParams.dural_tip)
    args = ap.parse_args(argv)
    folder = Path(args.meshes)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        build_builtin_scene.build(args.shared, raw)
        source = load_scene(raw)
        licence = (raw / "LICENSE-meshes.md").read_text(encoding="utf-8")
        return _build(source, folder, licence, args)


def _build(source, folder: Path, licence: str, args) -> int:
    bones = {s.name: s.mesh for s in source.structures if s.is_bone}
    skins = source.by_role(Role.SKIN)
    params = AnatomyParams(tilt_deg=args.tilt_deg, dural_tip=args.dural_tip)
    started = time.perf_counter()
    scene = build_scene(
        bones, skins[0].mesh if skins else None, params=params,
        marrow_faces={s.name: s.marrow_faces for s in source.structures if s.marrow_faces is not None},
        name="Visible Human Female pelvis (HuBMAP HRA v1.2) with skin (v1.1) and built anatomy",
        description=DESCRIPTION.format(tilt=params.tilt_deg, tip=params.dural_tip),
        source={k: str(v) for k, v in dict(source.metadata.get("source", {})).items() if not k.startswith("anatomy_")}
        | {"anatomy_built_by": "scripts/build_default_anatomy.py"},
    )
    built_s = time.perf_counter() - started
    write_scene(scene, folder)
    (folder / "LICENSE-meshes.md").write_text(licence, encoding="utf-8")
    size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"built in {built_s:.1f} s; wrote {len(scene.structures)} structures to {folder} ({size_mb:.2f} MB)")
    for side in ("left", "right"):
        psis = scene.landmarks[f"{side}-psis"]
        notch = np.linalg.norm(scene.landmarks[f"{side}-sciatic-notch-top"] - psis)
        vessels = min(np.linalg.norm(scene[f"{side} superior gluteal {v}"].vertices - psis, axis=1).min()
                      for v in ("artery", "vein"))
        print(f"{side}: PSIS to notch top {notch:.1f} mm, to the superior gluteal vessels {vessels:.1f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
