"""Running a sweep job: chunks, in this process, in a pool of processes, or on a Dask
cluster; each chunk written atomically as it finishes so that a rerun resumes.

Parts live in ``<output>.parts/``: ``job.json`` (the job's key, and per finished chunk its
grid slice, rows and sha256) and one Parquet file per finished chunk. A rerun of the same job
skips the chunks on disk that verify (:class:`PartStore`) and recomputes the others with a
one-line notice; a different job in the same folder starts it afresh. Chunks are joined in
chunk order, so the table does not depend on which worker finished first, nor on
interruptions. Pool workers exit with the main process (:mod:`needlesim.sweeps.lifetime`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..core.model.scene import Scene
from .defaults import RECORD_EVERY_CHUNK_UP_TO, RECORD_INTERVAL_S
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


def _pool_init(source: SceneSource, job: SweepJob, main_pid: int | None = None) -> None:
    """A pool worker's start: exit with ``main_pid`` (default: the parent), load the scene."""
    from .lifetime import exit_with_parent

    exit_with_parent(os.getppid() if main_pid is None else main_pid)  # a killed sweep leaves no worker behind
    _engine(source, job)  # each worker loads the scene once, up front


def _pool_chunk(job: SweepJob, chunk: tuple[int, int, int]) -> pd.DataFrame:
    return run_chunk(SceneSource(), job, chunk)  # the engine is already in _STATE


def load_job_file(path: Path) -> dict:
    """The job file of a parts folder, strictly: a regular file under its limit holding a
    JSON object (``core.io.files``, ``core.io.schema``), else :class:`OutputError`."""
    from ..core.io.files import read_text
    from ..core.io.schema import parse_json

    data = parse_json(read_text(path, "sweep job", OutputError), str(path), OutputError)
    if not isinstance(data, dict):
        raise OutputError(f"{path}: not a sweep job file (not a JSON object)")
    return data


def read_job_file(path: Path) -> dict | None:
    """The job file of a parts folder: ``{"key": ..., "chunks": {...}}``, or None when it is
    missing or not a job file (not a regular file, too large, not JSON, not an object): the
    job is then recomputed, never trusted."""
    try:
        return load_job_file(path)
    except (OSError, OutputError):
        return None


def notice(text: str) -> None:
    """One line on stderr about what a rerun found and did."""
    print(f"needlesim sweep: {text}", file=sys.stderr)


class PartStore:
    """Finished chunks of one job on disk (``None`` folder: kept in memory only).

    ``job.json`` holds the job's key and, per stored chunk, its grid slice ``(entry, first,
    end)``, row count and the sha256 of its file, written after the chunk. On a rerun a chunk
    file is trusted only if its hash, slice and content (its rows' entry and angles) all
    match; any other is recomputed with a one-line notice, and stray files are ignored with
    one. Everything is verified again when the table is joined."""

    def __init__(self, folder: Path | None, job, *, say: Callable[[str], None] = notice) -> None:
        self.folder, self.job, self.memory, self.say = folder, job, {}, say
        self.records: dict[str, dict] = {}
        self._written = 0.0
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._adopt(read_job_file(folder / "job.json") if (folder / "job.json").exists() else {})
            self._write_record()
        except OSError as exc:
            raise OutputError(f"cannot use parts folder {folder}: {exc.strerror or exc}") from None

    def _adopt(self, found: dict | None) -> None:
        """Keep the records of this job; another job's parts are ours to discard."""
        if found is None:
            self.say(f"job file {self.folder / 'job.json'} is unreadable: recomputing every chunk")
        if not found or found.get("key") != self.job.key:
            for p in self.folder.glob("chunk-*.parquet"):  # type: ignore[union-attr]
                if _CHUNK_NAME.fullmatch(p.name):
                    p.unlink()
            return
        chunks = found.get("chunks")
        self.records = {k: v for k, v in chunks.items() if isinstance(v, dict)} if isinstance(chunks, dict) else {}

    def _path(self, i: int) -> Path:
        return self.folder / f"chunk-{i:06d}.parquet"  # type: ignore[operator]

    def done(self) -> set[int]:
        """The chunks whose files verify (each other file gets a notice)."""
        if self.folder is None:
            return set(self.memory)
        n, ok = len(self.job.chunks()), set()
        for p in sorted(self.folder.iterdir()):
            m = _CHUNK_NAME.fullmatch(p.name)
            if p.name == "job.json" or (p.name.startswith(".") and p.name.endswith(".tmp")):
                continue
            if m is None or int(m.group(1)) >= n or not p.is_file():
                self.say(f"ignoring stray file {p} (not a chunk of this sweep)")
                continue
            why = self.verify(int(m.group(1)))
            if why is None:
                ok.add(int(m.group(1)))
            else:
                self.say(f"chunk {int(m.group(1))} in {self.folder}: {why}: recomputing it")
        return ok

    def verify(self, i: int, frame: pd.DataFrame | None = None) -> str | None:
        """Why chunk ``i``'s file cannot be trusted, or None if its hash, slice and rows match."""
        rec, want = self.records.get(str(i)), list(self.job.chunks()[i])
        if rec is None:
            return "not recorded in the job file"
        try:
            data = self._path(i).read_bytes()
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
        if hashlib.sha256(data).hexdigest() != rec.get("sha256"):
            return "its content does not match its recorded hash (changed, truncated or copied)"
        if rec.get("slice") != want:
            return f"recorded for slice {rec.get('slice')}, not {want}"
        if frame is not None and not _rows_match(self.job, want, frame):
            return "its rows are not the aims of its slice"
        return None

    def put(self, i: int, frame: pd.DataFrame) -> None:
        if self.folder is None:
            self.memory[i] = frame
            return
        tmp = self.folder / f".chunk-{i:06d}.{os.getpid()}.tmp"
        frame.to_parquet(tmp, index=False)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        self.records.pop(str(i), None)
        os.replace(tmp, self._path(i))
        self.records[str(i)] = {"slice": list(self.job.chunks()[i]), "rows": len(frame), "sha256": digest}
        if len(self.records) <= RECORD_EVERY_CHUNK_UP_TO or time.monotonic() - self._written >= RECORD_INTERVAL_S:
            self._write_record()

    def flush(self) -> None:
        """Write the job file now (run_job calls it however the run ends)."""
        if self.folder is not None:
            self._write_record()

    def _write_record(self) -> None:
        blob = json.dumps({"key": self.job.key, "chunks": self.records}, sort_keys=True).encode()
        _atomic_bytes(self.folder / "job.json", blob)  # type: ignore[operator]
        self._written = time.monotonic()

    def join(self, n: int, recompute: Callable[[int], pd.DataFrame]) -> pd.DataFrame:
        """Every chunk in order, each verified again as it is read (a failing one is
        recomputed with a notice)."""
        return pd.concat([self._load(i, recompute) for i in range(n)], ignore_index=True)

    def _load(self, i: int, recompute: Callable[[int], pd.DataFrame]) -> pd.DataFrame:
        if self.folder is None:
            return self.memory[i]
        why = self.verify(i)
        frame = None
        if why is None:
            try:
                frame = pd.read_parquet(self._path(i))
            except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError / OSError
                why = f"unreadable ({exc})"
        if frame is not None:
            why = self.verify(i, frame)
        if why is None:
            return frame  # type: ignore[return-value]
        self.say(f"chunk {i} in {self.folder}: {why}: recomputing it")
        frame = recompute(i)
        self.put(i, frame)
        return frame

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


#: The name of a chunk file.
_CHUNK_NAME = re.compile(r"chunk-(\d{6})\.parquet")


def _rows_match(job, chunk: list, frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds the aims of ``chunk``, in order (one row per aim, or per aim
    x depth for a long table)."""
    sweep = getattr(job, "sweep", job)
    e, a, b = chunk
    lat, inf = sweep.angles(a, b)
    try:
        aims = frame[["lateral_deg", "inferior_deg"]].drop_duplicates().to_numpy(float)
        entries = set(frame["entry"].astype(str))
    except (KeyError, TypeError, ValueError):
        return False
    return entries == {sweep.entries[e]} and aims.shape == (len(lat), 2) \
        and np.array_equal(aims, np.stack([lat, inf], axis=1))


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def run_job(source: SceneSource, job: SweepJob, store: PartStore, *, workers: int = 1,
            scheduler: str | None = None, progress: bool | None = None, on_chunk: ChunkHook | None = None
            ) -> pd.DataFrame:
    """Run every chunk of ``job`` not yet in ``store`` and return the joined table."""
    chunks = job.chunks()
    done = store.done()
    todo = [i for i in range(len(chunks)) if i not in done]
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
        store.flush()

    def recompute(i: int) -> pd.DataFrame:
        frame = run_chunk(source, job, chunks[i])
        if on_chunk is not None:
            on_chunk(i, done_count, len(chunks))
        return frame

    return store.join(len(chunks), recompute)


def _run_pool(source: SceneSource, job: SweepJob, todo: Iterable[tuple[int, tuple[int, int, int]]],
              workers: int, finished: Callable[[int, pd.DataFrame], None]) -> None:
    with ProcessPoolExecutor(max_workers=workers, initializer=_pool_init,
                             initargs=(source, job, os.getpid())) as pool:
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
