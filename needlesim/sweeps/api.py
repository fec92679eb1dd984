"""``needlesim.sweep(...)``: the sweep as a pandas table, for notebooks and the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .._version import __version__
from ..core.geometry.raycast import Backend
from ..core.model.scene import Scene
from ..core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM, DEFAULT_NEEDLE_DIAMETER_MM
from .defaults import CHUNK_DIRECTIONS, DEFAULT_SEED
from .grid import OutputError, SweepJob, check_size, parse_range
from .runner import ChunkHook, PartStore, SceneSource, run_job
from .table import write_table

RangeLike = str | float | Sequence[float] | np.ndarray


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return os.cpu_count() or 1


def resolve_scene(scene: Scene | str | Path | None) -> tuple[Scene, SceneSource]:
    """The scene and how workers get it (a path is reloaded by each worker)."""
    if isinstance(scene, Scene):
        return scene, SceneSource(scene=scene)
    source = SceneSource(path=None if scene is None else str(scene))
    return source.load(), source


def check_output(output: str | Path) -> Path:
    """Refuse, before any work, an output that cannot be written."""
    path = Path(output)
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise OutputError(f"output {path} must end in .parquet or .csv")
    if path.is_dir():
        raise OutputError(f"output {path} is a folder")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"cannot write {path}: permission denied")
    return path


def make_job(scene: Scene, entries: Sequence[str], lateral_deg: RangeLike, inferior_deg: RangeLike,
             depths_mm: RangeLike, *, envelope: str, margin_mm: float, needle_diameter_mm: float,
             backend: str, max_length_mm: float) -> SweepJob:
    """Validate every input and describe the sweep (nothing is cast yet)."""
    from ..core.verdict.envelope import load_envelope
    from ..core.model.trajectory import MAX_DEPTH_MM, MAX_DIAMETER_MM, _check_range

    _check_range("margin", margin_mm, 0.0, 50.0, "mm")
    _check_range("needle diameter", needle_diameter_mm, 0.0, MAX_DIAMETER_MM, "mm", open_lo=True)
    _check_range("max length", max_length_mm, 1.0, MAX_DEPTH_MM, "mm")
    depths = parse_range(depths_mm, "depth", "mm")
    _check_range("depth", float(depths.min()), 0.0, MAX_DEPTH_MM, "mm")
    _check_range("depth", float(depths.max()), 0.0, MAX_DEPTH_MM, "mm")
    env = load_envelope(envelope)
    points = tuple(tuple(float(x) for x in scene.landmark(e)) for e in entries)
    return SweepJob(scene.geometry_key, tuple(entries), points,  # type: ignore[arg-type]
                    tuple(parse_range(lateral_deg, "lateral", "deg").tolist()),
                    tuple(parse_range(inferior_deg, "inferior", "deg").tolist()), tuple(depths.tolist()),
                    str(envelope) if env.name == str(envelope) else str(Path(envelope).resolve()),
                    float(margin_mm), float(needle_diameter_mm), Backend(backend).value,
                    max(float(max_length_mm), float(depths.max())), CHUNK_DIRECTIONS, __version__)


def job_metadata(scene: Scene, job: SweepJob, **extra) -> dict:
    """What a sweep file records about how it was made."""
    from ..core.verdict.envelope import load_envelope

    env = load_envelope(job.envelope)
    return {"kind": "sweep", "needlesim_version": job.version, "scene_geometry_key": job.scene_key,
            "scene_name": scene.name, "scene_source": scene.source, "backend": job.backend,
            "envelope": {"name": env.name, "title": env.title, "citation": env.citation,
                         "lateral_deg": [env.lateral_deg.min, env.lateral_deg.max],
                         "inferior_deg": [env.inferior_deg.min, env.inferior_deg.max],
                         "depth_mm": [env.depth_mm.min, env.depth_mm.max]},
            "margin_mm": job.margin_mm, "needle_diameter_mm": job.needle_diameter_mm,
            "max_length_mm": job.max_length_mm, "entries": dict(zip(job.entries, job.entry_points)),
            "lateral_deg": list(job.lateral_deg), "inferior_deg": list(job.inferior_deg),
            "depths_mm": list(job.depths_mm), "job_key": job.key, **_landmarks_file(scene), **extra}


def _landmarks_file(scene: Scene) -> dict:
    """The corrected landmarks file a scene carries (``--landmarks FILE``), for the table."""
    given = (scene.metadata or {}).get("landmarks_file")
    return {"landmarks_file": dict(given)} if given else {}


def sweep(scene: Scene | str | Path | None = None, *, entries: Sequence[str] = ("left-psis",),
          lateral_deg: RangeLike = "-30:60:1", inferior_deg: RangeLike = "-30:60:1", depths_mm: RangeLike = "0:100:1",
          envelope: str = "nam2019", margin_mm: float = DEFAULT_MARGIN_MM,
          needle_diameter_mm: float = DEFAULT_NEEDLE_DIAMETER_MM, backend: Backend | str = Backend.EMBREE,
          max_length_mm: float = DEFAULT_MAX_LENGTH_MM, workers: int | None = None, scheduler: str | None = None,
          output: str | Path | None = None, confirm: bool = False, progress: bool | None = None,
          on_chunk: ChunkHook | None = None, phantoms: int | str | None = None, seed: int = DEFAULT_SEED,
          phantom_cache: str | Path | None = None) -> pd.DataFrame:
    """Sweep every lateral x inferior aim from each entry; one row per entry x direction.

    Parameters
    ----------
    scene : Scene, path of a manifest, or None for the built-in scene
    entries : landmark names, e.g. ``("left-psis", "right-psis")``
    lateral_deg, inferior_deg : ``"start:stop:step"`` or values, degrees (see
        :mod:`needlesim.core.model.conventions`); the grid is their outer product
    depths_mm : depths at which verdicts are reported, mm from the skin puncture
    envelope, margin_mm, needle_diameter_mm, backend, max_length_mm : as in ``check``
    workers : processes (default: every core); ``scheduler``: a Dask address instead
    output : ``.parquet`` or ``.csv`` path; written atomically, resumable through
        ``<output>.parts/`` if interrupted
    confirm : allow more than the size limit of :mod:`needlesim.sweeps.defaults`
    progress : a progress bar on stderr (default: when stderr is a terminal)
    on_chunk : called as ``on_chunk(index, done, total)`` after each chunk is stored
    phantoms, seed, phantom_cache : sweep the same aims over ``phantoms`` individuals
        warped from ``scene`` and seeded from ``seed``, cached in ``phantom_cache``
        (default ``<output>.phantoms``); see :mod:`needlesim.sweeps.population`

    Returns
    -------
    pandas.DataFrame
        Columns as in :mod:`needlesim.sweeps.table` (with ``phantoms``: one row per entry x
        aim x depth, as in :func:`needlesim.sweeps.population.aggregate`);
        ``frame.attrs["needlesim"]`` holds the metadata written to the file.
    """
    if phantoms is not None:
        from .population import population_sweep

        return population_sweep(scene, phantoms=phantoms, seed=seed, phantom_cache=phantom_cache, entries=entries,
                                lateral_deg=lateral_deg, inferior_deg=inferior_deg, depths_mm=depths_mm,
                                envelope=envelope, margin_mm=margin_mm, needle_diameter_mm=needle_diameter_mm,
                                backend=Backend(backend).value, max_length_mm=max_length_mm, workers=workers,
                                scheduler=scheduler, output=output, confirm=confirm, progress=progress)
    scene_obj, source = resolve_scene(scene)
    job = make_job(scene_obj, list(entries), lateral_deg, inferior_deg, depths_mm, envelope=envelope,
                   margin_mm=margin_mm, needle_diameter_mm=needle_diameter_mm, backend=backend,
                   max_length_mm=max_length_mm)
    check_size(len(job.entries) * job.n_directions, len(job.depths_mm), confirm=confirm)
    path = None if output is None else check_output(output)
    store = PartStore(None if path is None else path.with_name(path.name + ".parts"), job)
    frame = run_job(source, job, store, workers=default_workers() if workers is None else int(workers),
                    scheduler=scheduler, progress=progress, on_chunk=on_chunk)
    frame.attrs["needlesim"] = job_metadata(scene_obj, job)
    if path is not None:
        write_table(frame, path, frame.attrs["needlesim"])
        store.remove()
    return frame


__all__ = ["sweep", "default_workers"]
