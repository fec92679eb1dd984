"""Population sweeps: the same aims over N phantom individuals, and the fraction of
anatomies in which each aim, at each depth, is ``danger`` (and ``caution``).

Individuals are the morphometric warps of :mod:`needlesim.anatomy.individuals`. Individual
``k`` (0-based) of a run with seed ``S`` is drawn with the seed
``SeedSequence([S, k]).generate_state(1)[0]`` (a uint32, see :func:`phantom_seeds`): same
``S``, same individuals, and the first N of a larger run are the N of a smaller one. A
seed whose warped pelvis lacks a landmark (any :class:`NeedlesimError` while building) is
skipped and counted, never fatal.

Individuals are built on every core (or on the Dask cluster of ``scheduler``) and cached
as scene folders in ``<output>.phantoms/``, keyed by a hash of their parameters and the
template's geometry (:mod:`needlesim.sweeps.builds`; a skipped seed leaves its reason
there), so a rerun builds nothing and another template never reuses them. Each individual
is swept from its folder as loaded back from disk, so a first run and a rerun give one
table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..core.errors import NeedlesimError
from ..core.model.scene import Scene
from .defaults import DEFAULT_SEED, MAX_PHANTOMS_WITHOUT_CONFIRM
from .grid import check_size
from .montecarlo import wilson
from .table import to_long

#: Columns of the population table, after ``entry, lateral_deg, inferior_deg, depth_mm``.
COUNT_COLUMNS = ("n_anatomies", "n_danger", "n_caution")


class PopulationError(NeedlesimError, ValueError):
    """A phantom count or seed is invalid, too large without ``--yes``, or no individual
    could be built."""


@dataclass(frozen=True)
class Built:
    """The individuals of a run: ``(seed, scene or folder)`` built, ``(seed, reason)`` skipped."""

    seeds: tuple[int, ...]
    built: tuple[tuple[int, Scene | Path], ...] = ()
    skipped: tuple[tuple[int, str], ...] = field(default=())


def parse_count(value: object, *, confirm: bool) -> int:
    """The number of phantoms, checked: a whole number >= 1, at most
    :data:`MAX_PHANTOMS_WITHOUT_CONFIRM` unless ``confirm``."""
    if isinstance(value, str):
        try:
            n = int(value.strip())
        except ValueError:
            raise PopulationError(f"--phantoms must be a whole number of individuals, got {value!r}") from None
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = int(value)
    else:
        raise PopulationError(f"--phantoms must be a whole number of individuals, got {value!r}")
    if n < 1:
        raise PopulationError(f"--phantoms must be at least 1, got {n}")
    if n > MAX_PHANTOMS_WITHOUT_CONFIRM and not confirm:
        raise PopulationError(f"--phantoms {n}: building more than {MAX_PHANTOMS_WITHOUT_CONFIRM} individuals "
                              f"takes about {n * 20 / 60:.0f} min; pass --yes to build them anyway")
    return int(n)


def phantom_seeds(seed: int, n: int) -> tuple[int, ...]:
    """The seeds of individuals ``0..n-1`` of a run seeded ``seed`` (uint32 each)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PopulationError(f"--seed must be a non-negative whole number, got {seed!r}")
    return tuple(int(np.random.SeedSequence([int(seed), k]).generate_state(1)[0]) for k in range(n))


def check_template(template: Scene) -> None:
    """Refuse up front a template that cannot be warped (no bones to warp)."""
    from ..anatomy.individuals import BONES

    missing = [b for b in BONES if b != "coccyx" and b not in template.names]
    if missing:
        raise PopulationError(f"phantoms are warps of a pelvis; the scene {template.name!r} lacks "
                              f"{', '.join(missing)} (use the built-in scene or a built one)")


def build_individuals(template: Scene, source, seeds: Sequence[int], cache_folder: Path | None, *,
                      workers: int = 1, scheduler: str | None = None, progress: bool | None = None) -> Built:
    """Build (or find in the cache) the individual of every seed, on ``workers`` processes or
    a Dask ``scheduler`` (:mod:`needlesim.sweeps.builds`); skip those that fail."""
    from ..anatomy.individuals import draw_morphometry
    from .builds import BuildCache, build_many

    cache = BuildCache(cache_folder, template.landmarks_key if "landmarks_file" in (template.metadata or {})
                       else template.geometry_key)  # a corrected template's individuals are others
    outcomes = build_many(source, [draw_morphometry(s) for s in seeds], cache, workers=workers,
                          scheduler=scheduler, progress=progress, label="phantoms")
    built = tuple((o.seed, o.result) for o in outcomes if o.reason is None)
    skipped = tuple((o.seed, o.reason) for o in outcomes if o.reason is not None)
    return Built(tuple(seeds), built, skipped)


def aggregate(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One row per entry x aim x depth: how many anatomies (where the aim is feasible) give
    ``danger`` and ``caution``, their fractions and 95 % Wilson intervals."""
    keys = ["entry", "lateral_deg", "inferior_deg", "depth_mm"]
    longs = [to_long(f).assign(verdict=lambda d: d["verdict"].astype(str)) for f in frames]
    long = pd.concat(longs, ignore_index=True)
    counted = long.assign(n_anatomies=long.verdict != "infeasible", n_danger=long.verdict == "danger",
                          n_caution=long.verdict == "caution")
    out = counted.groupby(keys, sort=False)[list(COUNT_COLUMNS)].sum().reset_index()
    n = out["n_anatomies"].to_numpy(float)
    n[n == 0] = np.nan  # an infeasible aim: no anatomy, no fraction
    for what in ("danger", "caution"):
        k = out[f"n_{what}"].to_numpy(float)
        out[f"p_{what}"] = k / n
        out[f"p_{what}_lo"], out[f"p_{what}_hi"] = wilson(k, n)
    first = frames[0][["entry", "lateral_deg", "inferior_deg", "inside_envelope"]]
    out = out.merge(first, on=["entry", "lateral_deg", "inferior_deg"], how="left", sort=False)
    order = {e: i for i, e in enumerate(dict.fromkeys(first["entry"]))}  # entries as requested
    out = out.sort_values(keys, key=lambda c: c.map(order) if c.name == "entry" else c, kind="stable")
    out = out.reset_index(drop=True)
    for c in COUNT_COLUMNS:
        out[c] = out[c].astype(np.int64)
    return out


def population_sweep(scene: Scene | str | Path | None = None, *, phantoms: int | str, seed: int = DEFAULT_SEED,
                     output: str | Path | None = None, phantom_cache: str | Path | None = None,
                     confirm: bool = False, progress: bool | None = None, **sweep_kwargs) -> pd.DataFrame:
    """Sweep the grid of :func:`needlesim.sweeps.sweep` (same keywords) over ``phantoms``
    individuals warped from ``scene`` (the template), seeded from ``seed``.

    ``phantom_cache`` is where individuals are kept (default ``<output>.phantoms``; none
    when there is no output). Returns the table of :func:`aggregate`;
    ``frame.attrs["needlesim"]`` holds the metadata written to the file (seeds, built and
    skipped individuals, the template's hash)."""
    from .api import check_output, default_workers, job_metadata, make_job, resolve_scene, sweep
    from .table import write_table

    n = parse_count(phantoms, confirm=confirm)
    seeds = phantom_seeds(seed, n)
    template, source = resolve_scene(scene)
    check_template(template)
    grid = {"entries": ("left-psis",), "lateral_deg": "-30:60:1", "inferior_deg": "-30:60:1",
            "depths_mm": "0:100:1", "envelope": "nam2019", "margin_mm": 5.0, "needle_diameter_mm": 3.26,
            "backend": "embree", "max_length_mm": 150.0}
    run_opts = {k: sweep_kwargs.pop(k) for k in ("workers", "scheduler") if k in sweep_kwargs}
    grid.update(sweep_kwargs)
    entries = list(grid.pop("entries"))
    job = make_job(template, entries, grid.pop("lateral_deg"), grid.pop("inferior_deg"), grid.pop("depths_mm"),
                   **grid)  # validates every input on the template before anything is built
    check_size(len(job.entries) * job.n_directions * n, len(job.depths_mm), confirm=confirm)
    path = None if output is None else check_output(output)
    folder = phantom_cache if phantom_cache is not None else (None if path is None else
                                                              path.with_name(path.name + ".phantoms"))
    workers = run_opts.get("workers")
    built = build_individuals(template, source, seeds, None if folder is None else Path(folder),
                              workers=default_workers() if workers is None else int(workers),
                              scheduler=run_opts.get("scheduler"), progress=progress)
    if not built.built:
        raise PopulationError(f"none of the {n} individuals could be built: "
                              + "; ".join(f"seed {s}: {r}" for s, r in built.skipped))
    kwargs = dict(entries=entries, lateral_deg=list(job.lateral_deg), inferior_deg=list(job.inferior_deg),
                  depths_mm=list(job.depths_mm), envelope=job.envelope, margin_mm=job.margin_mm,
                  needle_diameter_mm=job.needle_diameter_mm, backend=job.backend, max_length_mm=job.max_length_mm,
                  confirm=True, progress=False, **run_opts)
    frames, keys = [], []
    for s, individual in built.built:
        frame = sweep(individual, **kwargs)
        frames.append(frame)
        keys.append(frame.attrs["needlesim"]["scene_geometry_key"])
    out = aggregate(frames)
    out.attrs["needlesim"] = job_metadata(
        template, job, kind="population", seed=int(seed), phantoms=n, seeds=list(seeds),
        seed_rule="individual k: numpy SeedSequence([seed, k]).generate_state(1)[0]",
        built_seeds=[s for s, _ in built.built], individual_geometry_keys=keys,
        skipped={str(s): r for s, r in built.skipped}, n_built=len(built.built), n_skipped=len(built.skipped),
        template_geometry_key=template.geometry_key)
    if path is not None:
        write_table(out, path, out.attrs["needlesim"])
    return out
