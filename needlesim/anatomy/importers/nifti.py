"""Import a CT label map (NIfTI, read with nibabel): bone surfaces in the image's physical frame.

The label map is one integer volume with a value per structure, or a TotalSegmentator
``segmentations/`` folder of one binary mask per structure (``hip_left.nii.gz`` ...; named as
in :data:`~.common.NAME_RULES`). Default label values: TotalSegmentator v2's ``total`` task
(:data:`TOTALSEGMENTATOR`); ``labels`` maps scene names to other values.

Each structure's voxels become a closed surface by discrete flying edges, smoothed by a
windowed-sinc filter and decimated (:mod:`.surfaces`), in voxel index space; the image's
affine then places it. A NIfTI affine maps voxel indices to **RAS+** world coordinates by
definition (the NIfTI-1 standard; nibabel's ``img.affine`` is the sform, else the qform), so no
LPS flip is applied here: an image stored in LPS order (negative x and y diagonal, as
ITK/TotalSegmentator-resampled DICOM often is) is placed correctly by its own affine. Spatial
units come from the header (``xyzt_units``; unknown is taken as mm, as nibabel does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from needlesim.anatomy.importers.common import (ImportFailed, ImportOptions, RawPelvis, check_frame, check_human_size,
                                               scene_name)
from needlesim.anatomy.importers.surfaces import label_surface

#: TotalSegmentator v2 ``total`` task label values for the pelvic bones (its ``class_map``
#: ``total``: 25 sacrum, 26 vertebrae_S1, 77 hip_left, 78 hip_right). It has no coccyx; its S1
#: label is joined to the sacrum (one bone in the adult).
TOTALSEGMENTATOR: Mapping[str, tuple[int, ...]] = {
    "sacrum": (25, 26),
    "left hip bone": (77,),
    "right hip bone": (78,),
}
UNITS = {"mm": 1.0, "meter": 1000.0, "micron": 0.001, "unknown": 1.0}
#: Voxels coarser than this (mm, any axis) cannot show the sacral foramina (5-10 mm across).
MAX_VOXEL_MM = 3.0


def parse_labels(text: str) -> dict[str, tuple[int, ...]]:
    """``"sacrum=25+26,hip_left=77,right hip bone=78"`` -> ``{scene name: values}``."""
    out: dict[str, tuple[int, ...]] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, values = item.partition("=")
        scene = scene_name(name.strip().replace(" ", "_")) or (name.strip() if name.strip() in TOTALSEGMENTATOR else None)
        try:
            vals = tuple(int(v) for v in values.split("+"))
        except ValueError:
            vals = ()
        if scene is None or not vals or scene == "skin":
            raise ImportFailed(f"--labels: {item!r} is not NAME=VALUE[+VALUE] with NAME a pelvic bone "
                               "(sacrum, coccyx, hip_left, hip_right, left ilium, ...)")
        out[scene] = vals
    if not out:
        raise ImportFailed("--labels: no NAME=VALUE given")
    return out


def _load(path: Path):
    import nibabel as nib

    if not path.is_file():
        raise ImportFailed(f"{path}: no such NIfTI file")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # any parser error is the file's fault
        raise ImportFailed(f"{path.name}: cannot be read as NIfTI ({type(exc).__name__}: {exc})") from None
    data = np.squeeze(data)
    if data.ndim != 3:
        raise ImportFailed(f"{path.name}: a label map must be a 3D volume, this one has shape {data.shape}")
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or not np.array_equal(data, np.round(data)):
            raise ImportFailed(f"{path.name}: not a label map (its values are not whole numbers)")
        data = data.astype(np.int32)
    return img, data


def _affine_mm(img, path: Path) -> np.ndarray:
    affine = np.asarray(img.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise ImportFailed(f"{path.name}: its affine is singular or not finite")
    unit = img.header.get_xyzt_units()[0]
    affine[:3, :] *= UNITS.get(unit, 1.0)
    voxel = np.linalg.norm(affine[:3, :3], axis=0)
    if voxel.max() > MAX_VOXEL_MM:
        raise ImportFailed(f"{path.name}: voxels of {np.round(voxel, 2)} mm are too coarse to show the sacral "
                           f"foramina (at most {MAX_VOXEL_MM:g} mm)")
    return affine


def _masks_from_folder(folder: Path) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    masks, affine, used = {}, None, []
    for p in sorted(folder.glob("*.nii*")):
        name = scene_name(p.name.split(".nii")[0])
        if name is None or name == "skin":
            continue
        img, data = _load(p)
        a = _affine_mm(img, p)
        if affine is not None and not np.allclose(a, affine, atol=1e-3):
            raise ImportFailed(f"{p.name}: its affine differs from the other masks'")
        affine = a
        masks[name] = masks.get(name, np.zeros(data.shape, bool)) | (data > 0)
        used.append(p.name)
    if affine is None:
        raise ImportFailed(f"{folder}: no NIfTI mask named as a pelvic bone (hip_left.nii.gz, sacrum.nii.gz, ...)")
    return masks, affine, used


def _masks_from_map(path: Path, labels: Mapping[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    img, data = _load(path)
    affine = _affine_mm(img, path)
    present = set(np.unique(data).tolist())
    masks = {name: np.isin(data, vals) for name, vals in labels.items() if present & set(vals)}
    if not masks:
        shown = ", ".join(map(str, sorted(present - {0})[:12])) or "none"
        raise ImportFailed(f"{path.name}: no bone in the label map: none of the labels "
                           f"{', '.join(f'{k}={vals}' for k, vals in labels.items())} is present (its non-zero "
                           f"values: {shown}); pass --labels NAME=VALUE,... for its label table")
    return masks, affine


def read_label_map(path: Path, options: ImportOptions, labels: Mapping[str, tuple[int, ...]] | None = None) -> RawPelvis:
    """Read a label map (or a folder of masks) into a :class:`RawPelvis` (module docstring)."""
    if path.is_dir():
        masks, affine, used = _masks_from_folder(path)
        what = {"masks": ", ".join(used)}
    else:
        masks, affine = _masks_from_map(path, labels or TOTALSEGMENTATOR)
        what = {"labels": "; ".join(f"{k}={'+'.join(map(str, v))}" for k, v in (labels or TOTALSEGMENTATOR).items())}
    bones = {}
    for name, mask in masks.items():
        mesh = label_surface(mask, affine)
        if len(mesh.faces) == 0:
            raise ImportFailed(f"{path.name}: the {name} has no surface")
        bones[name] = mesh
    check_human_size(bones)
    if "sacrum" in bones and all(any(s in k for k in bones) for s in ("left", "right")):
        check_frame(bones)
    voxel = np.linalg.norm(affine[:3, :3], axis=0)
    source = {"importer": "needlesim import nifti", "label_map": path.name, "frame": "NIfTI RAS+ (affine)",
              "units": "mm", "voxel_mm": " x ".join(f"{v:.3g}" for v in voxel), **what,
              "surfaces": "discrete flying edges, windowed-sinc smoothing, quadric decimation (VTK)"}
    return RawPelvis(bones, None, f"{path.name.split('.nii')[0]} (CT label map), imported", source)


def reader(path: str | Path, options: ImportOptions, labels: Mapping[str, tuple[int, ...]] | None = None
           ) -> Callable[[], RawPelvis]:
    """A reader for :func:`.pipeline.import_pelvis`."""
    return lambda: read_label_map(Path(path), options, labels)
