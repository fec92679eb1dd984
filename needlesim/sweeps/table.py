"""Sweep results as one tidy pandas table, and atomic Parquet / CSV files with metadata.

One row per entry x direction. Columns (depths mm from the skin puncture, angles deg):

``entry, side, lateral_deg, inferior_deg, feasible``
    the aim; ``feasible`` is false where the two angles leave no anterior component
    (every depth column is then NaN and every verdict ``infeasible``);
``puncture_x_mm, puncture_y_mm, puncture_z_mm, on_skin``
    the skin puncture (RAS) and whether a skin was found behind the entry;
``bone_entry_mm, breach_mm, breach_structure, breach_through, danger_breach_mm``
    first depth inside a bone (``inf``: none on the line; a tip shallower than this is
    short of the bone: ``caution``); first depth leaving one, which and how (inner table,
    outer table, greater sciatic notch, sacroiliac joint, joint, cortex); first depth
    leaving one other than through the outer table (``danger``; the outer table is
    ``caution``);
``other_side_mm``
    first depth inside a bone of the other side than the entry's (``danger``);
``contact_mm[<structure>], margin_contact_mm[<structure>]``
    per critical structure, the first contact at the needle's radius and at the margin;
``max_safe_mm``
    ``min(margin contacts, breach, other side, max length)`` (see :mod:`needlesim.core.batch.sweep`);
``reaches_bone``
    ``bone_entry_mm < max_safe_mm``: the needle is in bone before it stops being safe; the
    depths from ``bone_entry_mm`` to ``max_safe_mm`` are then the safe ones (ignoring the
    envelope); false: no depth of this aim is safe;
``first_structure, first_critical``
    the first structure the needle meets (a critical one where it touches it) and the
    first critical structure it touches ("" if none within the cast);
``inside_envelope``
    the aim is inside the envelope's angle rules;
``verdict_<d>mm``
    the verdict at depth ``d`` (categorical: infeasible, safe, caution, danger).

File metadata (Parquet schema metadata, or a ``<file>.meta.json`` beside a CSV) under
the key ``needlesim``: scene hash, envelope, margin, needle, backend, version, grids.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.batch.sweep import VERDICT_NAMES, SweepResult
from ..core.batch.sweep_breach import KINDS
from ..core.io.files import current_umask
from .grid import OutputError

META_KEY = b"needlesim"
VERDICT_CATEGORIES = [VERDICT_NAMES[c] for c in sorted(VERDICT_NAMES)]


def depth_column(depth_mm: float) -> str:
    """Name of the verdict column at ``depth_mm``, e.g. ``verdict_60mm``."""
    return f"verdict_{depth_mm:g}mm"


def result_to_frame(r: SweepResult) -> pd.DataFrame:
    """The tidy table of one :class:`SweepResult` (columns in the module docstring)."""
    names = np.array(r.structure_names + ("",), dtype=object)
    crit = np.array(r.critical_names + ("",), dtype=object)
    kinds = np.array([k.value for k in KINDS] + [""], dtype=object)
    cols: dict[str, object] = {
        "entry": r.entry, "side": r.side.value, "lateral_deg": r.lateral_deg, "inferior_deg": r.inferior_deg,
        "feasible": r.feasible, "puncture_x_mm": r.puncture[:, 0], "puncture_y_mm": r.puncture[:, 1],
        "puncture_z_mm": r.puncture[:, 2], "on_skin": r.on_skin, "bone_entry_mm": r.bone_entry_mm,
        "breach_mm": r.breach_mm, "breach_structure": names[r.breach_structure],
        "breach_through": kinds[r.breach_kind], "danger_breach_mm": r.danger_breach_mm,
        "other_side_mm": r.other_side_mm,
    }
    for k, name in enumerate(r.critical_names):
        cols[f"contact_mm[{name}]"] = r.contact_mm[:, k]
    for k, name in enumerate(r.critical_names):
        cols[f"margin_contact_mm[{name}]"] = r.margin_contact_mm[:, k]
    cols.update({"max_safe_mm": r.max_safe_mm, "reaches_bone": r.reaches_bone, "first_structure": names[r.first_structure],
                 "first_critical": crit[r.first_critical], "inside_envelope": r.inside_envelope})
    labels = np.array([VERDICT_NAMES[c] for c in sorted(VERDICT_NAMES)], dtype=object)
    for j, depth in enumerate(r.depths_mm):
        cols[depth_column(depth)] = pd.Categorical.from_codes(r.verdict[:, j].astype(int) + 1,
                                                              categories=list(labels))
    return pd.DataFrame(cols)


def to_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The verdict columns as rows: ``entry, lateral_deg, inferior_deg, depth_mm, verdict``."""
    vcols = [c for c in frame.columns if c.startswith("verdict_")]
    long = frame.melt(id_vars=["entry", "lateral_deg", "inferior_deg"], value_vars=vcols,
                      var_name="depth_mm", value_name="verdict")
    long["depth_mm"] = long["depth_mm"].str.slice(8, -2).astype(float)
    return long


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path``, with the mode a plain ``open`` would give it (mkstemp
    makes it 0600 whatever the umask)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~current_umask())
        return fd, tmp
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_table(frame: pd.DataFrame, path: str | Path, metadata: dict) -> Path:
    """Write ``frame`` to ``path`` (Parquet, or CSV when it ends in ``.csv``) atomically:
    into a temporary file beside it, then renamed, so no half-written file is ever seen."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        if path.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False, na_rep="nan")  # "" stays an empty name
            meta_path = path.with_name(path.name + ".meta.json")
            meta_tmp = meta_path.with_name("." + meta_path.name + ".tmp")
            meta_tmp.write_text(json.dumps(metadata, indent=2))
            os.replace(meta_tmp, meta_path)
        else:
            _write_parquet(frame, tmp, metadata)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _write_parquet(frame: pd.DataFrame, path: str, metadata: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(metadata).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A sweep table and its metadata (``{}`` if it has none)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, keep_default_na=False, na_values=["nan"])
            meta_path = path.with_name(path.name + ".meta.json")
            return frame, (json.loads(meta_path.read_text()) if meta_path.exists() else {})
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read sweep table {path}: {exc}") from None
    meta = (table.schema.metadata or {}).get(META_KEY)
    return table.to_pandas(), (json.loads(meta) if meta else {})
