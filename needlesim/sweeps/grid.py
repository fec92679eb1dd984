"""Sweep grids: ranges such as ``-30:60:1`` (start:stop:step, stop included when on the
grid), validated with one clear error, and the job that a sweep runs."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from ..core.errors import NeedlesimError
from .defaults import MAX_DEPTHS, MAX_LINES_WITHOUT_CONFIRM


class GridError(NeedlesimError, ValueError):
    """A sweep grid is empty, non-finite, has a zero step or is too large."""


class OutputError(NeedlesimError):
    """A sweep's output cannot be written, or a parts folder belongs to another sweep."""


def parse_range(text: str | float | tuple | list | np.ndarray, name: str, unit: str) -> np.ndarray:
    """The values of a range.

    Parameters
    ----------
    text : str, number or sequence
        ``"start:stop:step"`` (``stop`` included when it falls on the grid), ``"start:stop"``
        (step 1), a single number, a comma list ``"10,20,45"``, or numbers.
    name, unit : str
        For the error message, e.g. ``"lateral"``, ``"deg"``.
    """
    if isinstance(text, str):
        values = _parse_text(text.strip(), name, unit)
    else:
        values = np.atleast_1d(np.asarray(text, dtype=float)).ravel()
    if len(values) == 0:
        raise GridError(f"{name} range is empty")
    if not np.all(np.isfinite(values)):
        raise GridError(f"{name} values must be finite {unit}, got {text!r}")
    return values


def _parse_text(text: str, name: str, unit: str) -> np.ndarray:
    try:
        if ":" not in text:
            return np.array([float(x) for x in text.split(",")])
        parts = [float(x) for x in text.split(":")]
    except ValueError:
        raise GridError(f"{name} range {text!r} is not start:stop:step in {unit}") from None
    if len(parts) not in (2, 3):
        raise GridError(f"{name} range {text!r} is not start:stop:step in {unit}")
    start, stop, step = parts if len(parts) == 3 else (*parts, 1.0)
    if not all(math.isfinite(x) for x in (start, stop, step)):
        raise GridError(f"{name} range {text!r} must be finite")
    if step == 0:
        raise GridError(f"{name} range {text!r} has step 0")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count <= 0:
        raise GridError(f"{name} range {text!r} is empty (step {step:g} goes away from {stop:g})")
    if count > 10**8:
        raise GridError(f"{name} range {text!r} has {count:,} values")
    return np.round(start + step * np.arange(count), 12)


@dataclass(frozen=True)
class SweepJob:
    """Everything that decides a sweep's table; its :attr:`key` names resumable parts."""

    scene_key: str
    entries: tuple[str, ...]
    entry_points: tuple[tuple[float, float, float], ...]
    lateral_deg: tuple[float, ...]
    inferior_deg: tuple[float, ...]
    depths_mm: tuple[float, ...]
    envelope: str
    margin_mm: float
    needle_diameter_mm: float
    backend: str
    max_length_mm: float
    chunk_directions: int
    version: str

    @property
    def n_directions(self) -> int:
        return len(self.lateral_deg) * len(self.inferior_deg)

    @property
    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=12).hexdigest()

    def chunks(self) -> list[tuple[int, int, int]]:
        """``(entry index, first direction, end direction)`` of every chunk, in order."""
        n, c = self.n_directions, self.chunk_directions
        return [(e, a, min(a + c, n)) for e in range(len(self.entries)) for a in range(0, n, c)]

    def angles(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Lateral and inferior angles (deg) of directions ``a:b``: lateral-major order."""
        lat, inf = np.asarray(self.lateral_deg), np.asarray(self.inferior_deg)
        i = np.arange(a, b)
        return lat[i // len(inf)], inf[i % len(inf)]


def check_size(n_lines: int, n_depths: int, *, confirm: bool) -> None:
    """Refuse an accidental giant sweep unless ``confirm`` (``--yes``)."""
    if n_depths > MAX_DEPTHS:
        raise GridError(f"{n_depths:,} depths requested; at most {MAX_DEPTHS:,} (use a coarser --depth step)")
    if n_lines > MAX_LINES_WITHOUT_CONFIRM and not confirm:
        raise GridError(f"this sweep casts {n_lines:,} needle lines (more than {MAX_LINES_WITHOUT_CONFIRM:,}); "
                        "check the grid steps, or pass --yes to run it anyway")
