"""Class grading: a table of submitted aims scored with the trainees' scoring.

Input columns (a header row; order free; other columns are kept as they are):

``trainee``, ``entry`` (a landmark or ``x,y,z`` in RAS mm), ``lateral_deg``,
``inferior_deg``, ``depth_mm``; optional ``side`` (needed for coordinates), ``scene`` (a
scene folder), ``seed`` (a drawn individual) and ``fluoro_shots``.

Each output row is its input row plus ``status`` (``ok`` or ``error``), ``score``,
``verdict``, one ``part_<name>`` column per score part and ``reasons``. A bad row gets its
reason (``lateral_deg 'abc' is not a number``) and an empty score; it never stops the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..core.errors import NeedlesimError
from ..core.model.trajectory import Trajectory
from .score import PartName, score_attempt

REQUIRED = ("trainee", "entry", "lateral_deg", "inferior_deg", "depth_mm")
OPTIONAL = ("side", "scene", "seed", "fluoro_shots")
ADDED = ("status", "score", "verdict", *(f"part_{p.value}" for p in PartName), "reasons")
#: Most rows graded in one run: a class is tens to hundreds; more is likely the wrong file.
MAX_ROWS = 20_000


class GradeError(NeedlesimError):
    """The table as a whole cannot be graded (no header, a missing column, too many rows)."""


class RowError(ValueError):
    """One row cannot be graded; the message is its reason."""


def check_header(columns: Iterable[str]) -> None:
    cols = set(columns)
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise GradeError(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         f"a grading table has {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})")
    clash = sorted(cols & set(ADDED))
    if clash:
        raise GradeError(f"column{'s' if len(clash) > 1 else ''} {', '.join(clash)} would be overwritten by the grade")


def _number(row: Mapping[str, str], key: str) -> float:
    text = (row.get(key) or "").strip()
    if not text:
        raise RowError(f"{key} is empty")
    try:
        v = float(text)
    except ValueError:
        raise RowError(f"{key} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise RowError(f"{key} {text!r} is not a finite number")
    return v


def _entry(text: str) -> str | tuple[float, float, float]:
    text = text.strip()
    if not text:
        raise RowError("entry is empty")
    if not any(c in text for c in ",; "):
        return text
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise RowError(f"entry {text!r} is neither a landmark nor 'x,y,z' in mm")
    return values  # type: ignore[return-value]


def parse_row(row: Mapping[str, str]) -> tuple[dict, str | None, int | None, int]:
    """``(trajectory fields, scene folder, seed, fluoro shots)`` of a row, or :class:`RowError`."""
    entry = _entry(row.get("entry") or "")
    lat, inf, depth = (_number(row, k) for k in ("lateral_deg", "inferior_deg", "depth_mm"))
    side = (row.get("side") or "").strip().lower() or None
    if side not in (None, "left", "right"):
        raise RowError(f"side {row.get('side')!r} is not left or right")
    folder = (row.get("scene") or "").strip() or None
    seed_text = (row.get("seed") or "").strip()
    seed = None
    if seed_text:
        if not seed_text.isdigit():
            raise RowError(f"seed {seed_text!r} is not a whole number >= 0")
        seed = int(seed_text)
    if folder and seed is not None:
        raise RowError("give scene or seed, not both")
    shots_text = (row.get("fluoro_shots") or "").strip()
    if shots_text and not shots_text.isdigit():
        raise RowError(f"fluoro_shots {shots_text!r} is not a whole number >= 0")
    fields = {"entry": entry, "lateral_deg": lat, "inferior_deg": inf, "depth_mm": depth, "side": side}
    return fields, folder, seed, int(shots_text or 0)


def make_trajectory(fields: dict, scene) -> Trajectory:
    """The row's trajectory in ``scene`` (a landmark entry must be one of the scene's)."""
    entry = fields["entry"]
    if isinstance(entry, str) and entry not in scene.landmarks:
        psis = [k for k in sorted(scene.landmarks) if k.endswith(("-psis", "-entry"))]
        raise RowError(f"entry {entry!r} is not a landmark of this scene (e.g. {', '.join(psis) or 'none'})")
    try:
        return Trajectory(**fields)
    except NeedlesimError as exc:
        raise RowError(str(exc)) from None


class SceneCache:
    """Scenes by ``(folder, seed)``: each loaded or built once per run (an error too)."""

    def __init__(self, base: Path | None = None, loader: Callable | None = None) -> None:
        self.base, self._scenes = base, {}
        self._load = loader or _load_scene

    def get(self, folder: str | None, seed: int | None):
        key = (folder, seed)
        if key not in self._scenes:
            try:
                p = None if folder is None else (Path(folder) if self.base is None or Path(folder).is_absolute()
                                                 else self.base / folder)
                self._scenes[key] = self._load(p, seed)
            except (NeedlesimError, OSError) as exc:
                self._scenes[key] = RowError(f"scene {folder or f'seed {seed}'}: {exc}")
        got = self._scenes[key]
        if isinstance(got, RowError):
            raise got
        return got


def _load_scene(folder: Path | None, seed: int | None):
    from .library import _scene_for
    from .scenario import MAX_SEED, SceneRef

    if seed is not None and seed > MAX_SEED:
        raise RowError(f"seed {seed} is above {MAX_SEED}")
    return _scene_for(SceneRef(seed=seed, folder=None if folder is None else str(folder)))


def grade_row(row: Mapping[str, str], scenes: SceneCache, *, envelope: str = "nam2019") -> dict:
    """The row with its grade columns added (see the module docstring)."""
    out = dict(row)
    out.update({k: "" for k in ADDED})
    try:
        fields, folder, seed, shots = parse_row(row)
        scene = scenes.get(folder, seed)
        t = make_trajectory(fields, scene)
        s = score_attempt(scene, t, fluoro_shots=shots, envelope=envelope)
    except (RowError, NeedlesimError) as exc:
        out.update(status="error", reasons=str(exc))
        return out
    out.update(status="ok", score=f"{s.total:.1f}", verdict=s.report.verdict.value, reasons="; ".join(s.reasons),
               **{f"part_{p.name.value}": f"{p.points:.1f}" for p in s.parts})
    return out
