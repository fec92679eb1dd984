"""Running a sweep job: chunks, in this process, in a pool of processes, or on a Dask
cluster; each chunk written atomically as it finishes so that a rerun resumes.

Parts live in ``<output>.parts/``: ``job.json`` (the job's key) and one Parquet file per
finished chunk. A rerun of the same job skips the chunks on disk; a different job in the
same folder starts it afresh. Chunks are joined in chunk order, so the table does not
depend on which worker finished first, nor on interruptions.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ..core.model.scene import Scene
from .grid import OutputError, SweepJob
from .progress import Progress
from .table import result_to_frame

#: Called after each chunk is stored: ``(chunk index, chunks done, chunks total)``.
ChunkHook = Callable[[int, int, int], None]


@dataclass(frozen=True)
class SceneSource:
    """How a worker gets the scene: a manifest path, the built-in scene (no path), or an
    in-memory scene (shipped once per worker)."""

    path: str | None = None
    scene: Scene | None = None

    def load(self) -> Scene:
        if self.scene is not None:
            return self.scene
        from ..core.io.builtin import load_builtin_scene
        from ..core.io.manifest import load_scene

        return load_builtin_scene() if self.path is None else load_scene(self.path)


_STATE: dict = {}  # per process: (source token, settings) -> (engine, envelope)


def _engine(source: SceneSource, job):
    """The engine and envelope for ``job`` (a sweep job, or one wrapping it), built once
    per process."""
    from ..core.needle.engine import get_engine
    from ..core.verdict.envelope import load_envelope

    job = getattr(job, "sweep", job)
    key = (job.scene_key, job.backend, job.needle_diameter_mm, job.margin_mm, job.envelope)
    if key not in _STATE:
        scene = source.load()
        _STATE.clear()
        _STATE[key] = (get_engine(scene, backend=job.backend, needle_diameter_mm=job.needle_diameter_mm,
                                  margin_mm=job.margin_mm), load_envelope(job.envelope))
    return _STATE[key]


def run_chunk(source: SceneSource, job, chunk: tuple[int, int, int]) -> pd.DataFrame:
    """The table rows of one chunk ``(entry index, first, end direction)``; a job other
    than a :class:`SweepJob` computes its own rows (``job.compute``)."""
    from ..core.batch.sweep import sweep_entry

    engine, envelope = _engine(source, job)
    if not isinstance(job, SweepJob):
        return job.compute(engine, envelope, chunk)
    e, a, b = chunk
    lat, inf = job.angles(a, b)
    r = sweep_entry(engine, job.entries[e], lat, inf, depths_mm=job.depths_mm, envelope=envelope,
                    max_length_mm=job.max_length_mm)
    return result_to_frame(r)


def _pool_init(source: SceneSource, job: SweepJob) -> None:
    _engine(source, job)  # each worker loads the scene once, up front


def _pool_chunk(job: SweepJob, chunk: tuple[int, int, int]) -> pd.DataFrame:
    return run_chunk(SceneSource(), job, chunk)  # the engine is already in _STATE


class PartStore:
    """Finished chunks of one job on disk (``None`` folder: kept in memory only)."""

    def __init__(self, folder: Path | None, job: SweepJob) -> None:
        self.folder, self.job, self.memory = folder, job, {}
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            marker = folder / "job.json"
            if os.path.lexists(marker) and read_job_file(marker).get("key") != job.key:
                for p in folder.glob("chunk-*.parquet"):
                    p.unlink()  # parts of another job: ours to discard
            _atomic_bytes(marker, json.dumps({"key": job.key}).encode())
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot use parts folder {folder}: {exc}") from None

    def _path(self, i: int) -> Path:
        return self.folder / f"chunk-{i:06d}.parquet"  # type: ignore[operator]

    def done(self) -> set[int]:
        if self.folder is None:
            return set(self.memory)
        return {int(p.stem[6:]) for p in self.folder.glob("chunk-*.parquet")}

    def put(self, i: int, frame: pd.DataFrame) -> None:
        if self.folder is None:
            self.memory[i] = frame
            return
        tmp = self.folder / f".chunk-{i:06d}.{os.getpid()}.tmp"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, self._path(i))

    def join(self, n: int) -> pd.DataFrame:
        parts = [self.memory[i] if self.folder is None else pd.read_parquet(self._path(i)) for i in range(n)]
        return pd.concat(parts, ignore_index=True)

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def read_job_file(path: Path) -> dict:
    """The parsed job file of a parts folder: a regular file under its limit, valid JSON
    object (``core.io.files``, ``core.io.schema``), else :class:`OutputError`."""
    from ..core.io.files import read_text
    from ..core.io.schema import parse_json

    doc = parse_json(read_text(path, "sweep job", OutputError), str(path), OutputError)
    if not isinstance(doc, dict):
        raise OutputError(f"{path}: not a sweep job file (not a JSON object)")
    return doc


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def run_job(source: SceneSource, job: SweepJob, store: PartStore, *, workers: int = 1,
            scheduler: str | None = None, progress: bool | None = None, on_chunk: ChunkHook | None = None
            ) -> pd.DataFrame:
    """Run every chunk of ``job`` not yet in ``store`` and return the joined table."""
    chunks = job.chunks()
    todo = [i for i in range(len(chunks)) if i not in store.done()]
    bar = Progress(len(chunks), initial=len(chunks) - len(todo), enabled=progress, label="sweep")
    done_count = len(chunks) - len(todo)

    def finished(i: int, frame: pd.DataFrame) -> None:
        nonlocal done_count
        store.put(i, frame)
        done_count += 1
        bar.update(1)
        if on_chunk is not None:
            on_chunk(i, done_count, len(chunks))

    try:
        if scheduler is not None:
            from .cluster import run_on_dask

            run_on_dask(scheduler, source, job, [(i, chunks[i]) for i in todo], finished)
        elif workers <= 1 or len(todo) <= 1:
            for i in todo:
                finished(i, run_chunk(source, job, chunks[i]))
        else:
            _run_pool(source, job, [(i, chunks[i]) for i in todo], workers, finished)
    finally:
        bar.close()
    return store.join(len(chunks))


def _run_pool(source: SceneSource, job: SweepJob, todo: Iterable[tuple[int, tuple[int, int, int]]],
              workers: int, finished: Callable[[int, pd.DataFrame], None]) -> None:
    with ProcessPoolExecutor(max_workers=workers, initializer=_pool_init, initargs=(source, job)) as pool:
        pending = {pool.submit(_pool_chunk, job, c): i for i, c in todo}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    finished(pending.pop(f), f.result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise
