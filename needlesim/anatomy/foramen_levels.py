"""Which sacral level each ventral foramen is: rows of holes, labelled from the top down.

The holes found on each side (:mod:`.foramina`) are not counted against an expected number.
They are grouped into **rows** (a left and a right hole at the same height), the rows are
ordered cranio-caudally, and labelled S1, S2, ... from the first sacral body down:

1. **Pairing across sides**: the two sides' holes, each sorted by height along the sacrum,
   are aligned by a monotone (edit-distance) alignment: two holes pair when their heights
   differ by less than :data:`PAIR_TOLERANCE` row spacings; a hole with no partner within
   that is a row seen on one side only (its partner closed, tiny or not open).
2. **Row spacing**: the median distance between consecutive holes of one side, measured in
   the sagittal plane (so a curved sacrum does not shorten its lower gaps), is the bone's own
   scale for every later rule; nothing is in fixed mm.
3. **Missing rows**: a gap between consecutive rows of more than :data:`GAP_RATIO` times the
   median of the other gaps has a row missing in it (closed on both sides); the levels below
   move down by the number of rows missing, and their labels get a lower confidence.
4. **S1**: the first row is S1 unless the sacral promontory (the top of the first sacral
   body) lies more than :data:`TOP_GAP_RATIO` spacings above it (along the sacrum's axis), in which case the S1 row
   is taken as missing. A sacrum with more than four rows keeps the top row as S1 and takes the
   fifth as the foramen between S5 and a fused first coccygeal segment; a sacralised L5 would
   also give five rows, and cannot be told from it without the lumbar spine: the log says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Two holes of opposite sides are one row if their heights differ by less than this share of
#: the row spacing: half way to the next row (rows are one spacing apart by definition).
PAIR_TOLERANCE = 0.5
#: A gap between rows of more than this many times the median of the other gaps hides a
#: missing row (two gaps in one). Published spacings between consecutive dorsal foramina
#: differ by under a third (S1-S2 14.2 +/- 2.7 mm, S2-S3 12.8 +/- 1.5 mm; Surg Radiol Anat,
#: doi 10.1007/s00276-010-0735-0), so an honest gap is under 1.4x its neighbours and a double
#: gap 2x; 1.6 lies between them.
GAP_RATIO = 1.6
#: The S1 row lies beside the lower end of the first sacral body: from the promontory (the top
#: of that body, which also stands above the alae) down to the S1 ventral foramina is about one
#: S1 body height, the tallest of the sacral bodies, 1.2-2.2 row spacings (estimate; 2.1 on the
#: Visible Human Female, a large sacrum): 1.7 in the middle.
S1_BODY_SPACINGS = 1.7
#: Without the S1 row the first row found lies one spacing further (2.2-3.2); the threshold is
#: between the two ranges. Measured along the sacrum's long axis only (the promontory lies far
#: ventral of the foramina).
TOP_GAP_RATIO = S1_BODY_SPACINGS + 1.0
#: Rows beyond this level are reported and not used (S5 is the last sacral vertebra; its
#: foramen exists only where the first coccygeal segment is fused to it).
MAX_LEVEL = 5
#: Confidence factors (each doubt multiplies a foramen's confidence by its factor):
#: the hole has no partner on the other side at its height ...
UNPAIRED_FACTOR = 0.8
#: ... its level was counted across a gap where a row was missing ...
INFERRED_FACTOR = 0.8
#: ... it is a fifth row (S5 or a transitional segment: the label rests on an assumption).
EXTRA_ROW_FACTOR = 0.7


@dataclass(frozen=True)
class Row:
    """One row of ventral foramina: its ``level`` (1 = S1), the index of its hole on each side
    (None where that side has none), and whether its label was counted across a missing row."""

    level: int
    left: int | None
    right: int | None
    inferred: bool


@dataclass(frozen=True)
class Labelling:
    """The rows found, and what the labelling saw (readable sentences)."""

    rows: tuple[Row, ...]
    log: tuple[str, ...]


def _align(left: np.ndarray, right: np.ndarray, tolerance: float) -> list[tuple[int | None, int | None]]:
    """Monotone alignment of two sorted height lists: matched pairs and singles, in order."""
    n, m = len(left), len(right)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1) * tolerance
    cost[0, :] = np.arange(m + 1) * tolerance
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = abs(left[i - 1] - right[j - 1])
            match = cost[i - 1, j - 1] + d if d < tolerance else np.inf
            cost[i, j] = min(match, cost[i - 1, j] + tolerance, cost[i, j - 1] + tolerance)
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        d = abs(left[i - 1] - right[j - 1]) if i > 0 and j > 0 else np.inf
        if i > 0 and j > 0 and d < tolerance and np.isclose(cost[i, j], cost[i - 1, j - 1] + d):
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and np.isclose(cost[i, j], cost[i - 1, j] + tolerance):
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((None, j - 1))
            j -= 1
    return out[::-1]


def row_spacing(sagittal: dict[str, np.ndarray], fallback_mm: float) -> float:
    """Median distance between consecutive holes of one side, mm (``sagittal``: each side's
    hole centres in the sagittal plane, (n, 2), sorted cranio-caudally); ``fallback_mm``
    where no side has two holes."""
    gaps = [np.linalg.norm(np.diff(p, axis=0), axis=1) for p in sagittal.values() if len(p) >= 2]
    gaps = np.concatenate(gaps) if gaps else np.array([])
    return float(np.median(gaps)) if len(gaps) else fallback_mm


def _missing_before(positions: list[np.ndarray], spacing: float, promontory: np.ndarray) -> list[int]:
    """How many rows are missing before each row (the first: between it and the promontory)."""
    gaps = [float(np.linalg.norm(b - a)) for a, b in zip(positions[:-1], positions[1:])]
    top = abs(float(positions[0][0] - promontory[0]))
    missing = [max(int(round(top / spacing - S1_BODY_SPACINGS)), 1) if top > TOP_GAP_RATIO * spacing else 0]
    for k, gap in enumerate(gaps):
        others = [g for i, g in enumerate(gaps) if i != k]
        typical = float(np.median(others)) if others else spacing
        missing.append(max(int(round(gap / typical)) - 1, 1) if gap > GAP_RATIO * typical else 0)
    return missing


def label_rows(heights: dict[str, np.ndarray], sagittal: dict[str, np.ndarray], promontory: np.ndarray,
               fallback_spacing_mm: float) -> Labelling:
    """Label the ventral foramina of both sides by level (module docstring).

    Parameters
    ----------
    heights : {"left", "right"} -> (n,) float, mm
        Each hole's height along the sacrum's caudal axis, sorted ascending (cranial first).
    sagittal : {"left", "right"} -> (n, 2) float, mm
        The same holes' centres in the sacral sagittal plane (caudal, ventral), same order.
    promontory : (2,) float, mm
        The top of the first sacral body in the same sagittal coordinates.
    fallback_spacing_mm : float
        The row spacing to assume where no side has two holes.
    """
    spacing = row_spacing(sagittal, fallback_spacing_mm)
    pairs = _align(heights["left"], heights["right"], PAIR_TOLERANCE * spacing)
    positions = [np.mean([sagittal[s][k] for s, k in zip(("left", "right"), pair) if k is not None], axis=0)
                 for pair in pairs]
    log: list[str] = []
    rows: list[Row] = []
    level, inferred = 0, False
    for pair, missing in zip(pairs, _missing_before(positions, spacing, promontory) if pairs else []):
        if missing:
            names = ", ".join(f"S{level + k + 1}" for k in range(missing))
            where = "above the first row (the promontory lies far above it)" if level == 0 else f"below S{level}"
            log.append(f"a gap of {missing + 1} row spacings {where}: {names} taken as closed on both sides")
            inferred = True
        level += missing + 1
        rows.append(Row(level, pair[0], pair[1], inferred))
    return Labelling(tuple(rows), tuple(log))
