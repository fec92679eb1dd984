"""Breach probability: for each nominal aim, sample the hand's error and count how often
the needle touches each critical structure, or leaves the bone, by each depth.

Per sample: lateral and inferior angles each off by N(0, ``angle_sd_deg``); the entry
off by N(0, ``entry_sd_mm``) left-right and cranio-caudal (the posterior surface, patient
prone); the tip off the intended depth by N(0, ``depth_sd_mm``). Defaults and their
sources: :mod:`needlesim.sweeps.defaults`. One batched cast per sample gives every
depth. P is the fraction of samples; P(any) comes with a 95 % Wilson score interval.

Seeded runs are reproducible to the bit: each chunk draws from its own generator seeded
by ``(seed, entry, first aim)``, so the table does not depend on workers, order,
interruptions or the cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.model.scene import Scene
from ..core.batch.sweep import cast_lines, directions_from_angles
from ..core.model.trajectory import _check_range, _side_of
from .defaults import ANGLE_SD_DEG, DEFAULT_SEED, DEPTH_SD_MM, ENTRY_SD_MM, MC_BATCH_LINES, WILSON_Z
from .grid import GridError, SweepJob, check_size


@dataclass(frozen=True)
class HandError:
    """Free-hand placement error (s.d. per axis): degrees, mm, mm."""

    angle_sd_deg: float = ANGLE_SD_DEG
    entry_sd_mm: float = ENTRY_SD_MM
    depth_sd_mm: float = DEPTH_SD_MM

    def validate(self) -> None:
        _check_range("angle s.d.", self.angle_sd_deg, 0.0, 30.0, "deg")
        _check_range("entry s.d.", self.entry_sd_mm, 0.0, 50.0, "mm")
        _check_range("depth s.d.", self.depth_sd_mm, 0.0, 50.0, "mm")


def wilson(k: np.ndarray, n: np.ndarray, z: float = WILSON_Z) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(lo, hi)`` of a proportion ``k / n`` (NaN where n = 0)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def counts_by_depth(threshold: np.ndarray, depths: np.ndarray, strict: bool) -> np.ndarray:
    """(a, m) number of samples per row with ``threshold <= depth`` (``<`` if strict);
    ``threshold`` (a, S), NaN never counts. One sort, one searchsorted, no loop."""
    a, s = threshold.shape
    if not np.isfinite(threshold).any():  # most structures are out of reach of most aims
        return np.zeros((a, len(depths)), np.int64)
    t = np.where(np.isnan(threshold), np.inf, threshold)
    t = np.sort(t, axis=1)
    span = float(np.abs(depths).max(initial=0.0)) + 1.0
    finite = np.minimum(t, span)  # inf -> beyond every depth, but finite for the offset trick
    offset = (np.arange(a) * 4 * span)[:, None]
    flat = (finite + offset).ravel()
    q = (depths[None, :] + offset).ravel()
    idx = np.searchsorted(flat, q, side="left" if strict else "right").reshape(a, -1)
    return idx - (np.arange(a) * s)[:, None]


@dataclass(frozen=True)
class MonteCarloJob:
    """A sweep job plus the hand error, samples and seed: one chunk is a run of aims."""

    sweep: SweepJob
    samples: int
    hand_error: HandError
    seed: int

    @property
    def key(self) -> str:
        import hashlib
        import json

        blob = json.dumps([self.sweep.key, self.samples, asdict(self.hand_error), self.seed]).encode()
        return hashlib.blake2b(blob, digest_size=12).hexdigest()

    def chunks(self) -> list[tuple[int, int, int]]:
        n, c = self.sweep.n_directions, max(1, MC_BATCH_LINES // self.samples)
        return [(e, a, min(a + c, n)) for e in range(len(self.sweep.entries)) for a in range(0, n, c)]

    def compute(self, engine, envelope, chunk: tuple[int, int, int]) -> pd.DataFrame:
        e, a, b = chunk
        lat, inf = self.sweep.angles(a, b)
        rng = np.random.default_rng([self.seed, e, a])
        name = self.sweep.entries[e]
        return sample_aims(engine, name, np.asarray(self.sweep.entry_points[e]), lat, inf,
                           np.asarray(self.sweep.depths_mm), self.samples, self.hand_error, rng,
                           self.sweep.max_length_mm)


def sample_aims(engine, entry: str, point: np.ndarray, lat: np.ndarray, inf: np.ndarray, depths: np.ndarray,
                samples: int, err: HandError, rng: np.random.Generator, max_length_mm: float) -> pd.DataFrame:
    """Long table (one row per aim x depth) of contact probabilities for aims ``lat, inf``."""
    side = _side_of(entry)
    a, s = len(lat), samples
    noise = rng.standard_normal((5, a, s))
    lat_s = lat[:, None] + err.angle_sd_deg * noise[0]
    inf_s = inf[:, None] + err.angle_sd_deg * noise[1]
    pts = np.broadcast_to(point, (a, s, 3)).copy()
    pts[..., 0] += err.entry_sd_mm * noise[2]
    pts[..., 2] += err.entry_sd_mm * noise[3]
    depth_err = err.depth_sd_mm * noise[4]
    d, ok = directions_from_angles(np.clip(lat_s, -85, 85).ravel(), np.clip(inf_s, -85, 85).ravel(), side)
    _, nominal_ok = directions_from_angles(lat, inf, side)
    length = float(max_length_mm) + 4 * err.depth_sd_mm
    rd = cast_lines(engine, pts.reshape(-1, 3), d, length, full=False)
    ok = ok.reshape(a, s)
    n = ok.sum(axis=1)
    contact = rd.contact_mm.reshape(a, s, -1) - depth_err[..., None]
    contact[~ok] = np.nan
    breach = np.where(ok, rd.danger_breach_mm.reshape(a, s) - depth_err, np.nan)
    exits = np.where(ok, rd.breach_mm.reshape(a, s) - depth_err, np.nan)
    first = np.fmin(np.nanmin(contact, axis=2, initial=np.inf), np.nextafter(breach, np.inf))
    cols = {"entry": entry, "lateral_deg": np.repeat(lat, len(depths)), "inferior_deg": np.repeat(inf, len(depths)),
            "depth_mm": np.tile(depths, a), "samples": np.repeat(n, len(depths))}
    nn = np.repeat(n, len(depths)).astype(float)
    nn[nn == 0] = np.nan  # an infeasible nominal aim: no samples, no probability
    for k, ci in enumerate(engine.critical_ids):
        cols[f"p_contact[{engine.structures[ci].name}]"] = counts_by_depth(contact[..., k], depths, False).ravel() / nn
    cols["p_breach"] = counts_by_depth(breach, depths, True).ravel() / nn
    cols["p_exit"] = counts_by_depth(exits, depths, True).ravel() / nn
    k_any = counts_by_depth(np.where(ok, first, np.nan), depths, False).ravel()
    cols["p_any"] = k_any / nn
    cols["p_any_lo"], cols["p_any_hi"] = wilson(k_any, nn)
    frame = pd.DataFrame(cols)
    bad = ~np.repeat(nominal_ok, len(depths))
    frame.loc[bad, [c for c in frame.columns if c.startswith("p_")]] = np.nan
    return frame


def breach_probability(scene: Scene | str | Path | None = None, *, samples: int,
                       hand_error: HandError = HandError(), seed: int = DEFAULT_SEED, **sweep_kwargs) -> pd.DataFrame:
    """Monte Carlo over the grid of :func:`needlesim.sweeps.sweep` (same keywords).

    Returns a long table: one row per entry x aim x depth with ``samples`` (feasible
    samples), ``p_contact[<structure>]``, ``p_breach`` (leaving a bone other than through
    the outer table: ``danger``), ``p_exit`` (leaving it at all), ``p_any`` (contact or
    ``p_breach``: the verdict is ``danger``) and its 95 % Wilson interval ``p_any_lo``,
    ``p_any_hi``. ``frame.attrs["needlesim"]`` is the metadata."""
    from .api import check_output, default_workers, job_metadata, make_job, resolve_scene
    from .runner import PartStore, run_job
    from .table import write_table

    if not isinstance(samples, (int, np.integer)) or samples < 1:
        raise GridError(f"Monte Carlo samples must be a positive whole number, got {samples!r}")
    hand_error.validate()
    opts = {k: sweep_kwargs.pop(k, None) for k in ("workers", "scheduler", "output", "progress", "on_chunk")}
    confirm = sweep_kwargs.pop("confirm", False)
    entries, grid = sweep_kwargs.pop("entries", ("left-psis",)), {}
    for k, default in (("lateral_deg", "-30:60:1"), ("inferior_deg", "-30:60:1"), ("depths_mm", "0:100:1")):
        grid[k] = sweep_kwargs.pop(k, default)
    scene_obj, source = resolve_scene(scene)
    base = make_job(scene_obj, list(entries), grid["lateral_deg"], grid["inferior_deg"], grid["depths_mm"],
                    **{"envelope": "nam2019", "margin_mm": 5.0, "needle_diameter_mm": 3.26, "backend": "embree",
                       "max_length_mm": 150.0, **sweep_kwargs})
    job = MonteCarloJob(base, int(samples), hand_error, int(seed))
    check_size(len(base.entries) * base.n_directions * job.samples, len(base.depths_mm), confirm=confirm)
    path = None if opts["output"] is None else check_output(opts["output"])
    store = PartStore(None if path is None else path.with_name(path.name + ".parts"), job)
    frame = run_job(source, job, store, workers=default_workers() if opts["workers"] is None else int(opts["workers"]),
                    scheduler=opts["scheduler"], progress=opts["progress"], on_chunk=opts["on_chunk"])
    frame.attrs["needlesim"] = job_metadata(scene_obj, base, kind="monte-carlo", samples=job.samples,
                                            hand_error=asdict(hand_error), seed=job.seed)
    if path is not None:
        write_table(frame, path, frame.attrs["needlesim"])
        store.remove()
    return frame
