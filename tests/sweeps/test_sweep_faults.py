"""Sweeps under faults (issue 10, item 9): a changed, swapped, truncated, empty or stray
chunk file is never folded into the table; a corrupt job file starts afresh; pool workers die
with their parent; files and folders follow the umask."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from needlesim.sweeps import api, sweep
from needlesim.sweeps.table import read_table

# 21 x 16 = 336 directions in chunks of 64: 6 chunks
GRID = dict(entries=("left-psis",), lateral_deg="0:40:2", inferior_deg="0:30:2", depths_mm="0:100:10")
CHUNKS = 6


class Interrupted(Exception):
    pass


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(api, "CHUNK_DIRECTIONS", 64)


@pytest.fixture()
def whole(analytic_scene, small_chunks):
    return sweep(analytic_scene, workers=1, **GRID)


def stop_at(n):
    def hook(index, done, total):
        if done == n:
            raise Interrupted
    return hook


def interrupted_run(scene, out: Path, n: int = CHUNKS) -> Path:
    """Run until ``n`` chunks are stored, then stop before the table is written."""
    with pytest.raises(Interrupted):
        sweep(scene, workers=1, output=out, on_chunk=stop_at(n), **GRID)
    parts = out.with_name(out.name + ".parts")
    assert len(list(parts.glob("chunk-*.parquet"))) == n and not out.exists()
    return parts


def chunk(parts: Path, i: int) -> Path:
    return parts / f"chunk-{i:06d}.parquet"


def resume(scene, out: Path) -> tuple[pd.DataFrame, list[int]]:
    computed: list[int] = []
    frame = sweep(scene, workers=1, output=out, on_chunk=lambda i, d, t: computed.append(i), **GRID)
    return frame, computed


def notices(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("needlesim sweep:")]


def test_the_job_file_records_each_chunk_hash_and_slice(analytic_scene, small_chunks, tmp_path):
    parts = interrupted_run(analytic_scene, tmp_path / "s.parquet", 3)
    record = json.loads((parts / "job.json").read_text())
    job_chunks = [(0, a, min(a + 64, 336)) for a in range(0, 336, 64)]
    assert sorted(record["chunks"]) == ["0", "1", "2"]
    for i, entry in record["chunks"].items():
        assert entry["sha256"] == hashlib.sha256(chunk(parts, int(i)).read_bytes()).hexdigest()
        assert tuple(entry["slice"]) == job_chunks[int(i)]
        assert entry["rows"] == job_chunks[int(i)][2] - job_chunks[int(i)][1]


def test_a_chunk_with_64_bytes_changed_is_recomputed(analytic_scene, whole, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    parts = interrupted_run(analytic_scene, out)
    data = bytearray(chunk(parts, 2).read_bytes())
    rng = np.random.default_rng(3)
    for at in rng.choice(len(data), 64, replace=False):
        data[at] ^= int(rng.integers(1, 256))
    chunk(parts, 2).write_bytes(bytes(data))
    capsys.readouterr()
    frame, computed = resume(analytic_scene, out)
    assert computed == [2]
    said = notices(capsys)
    assert len(said) == 1 and "chunk 2" in said[0] and "recomput" in said[0]
    pd.testing.assert_frame_equal(frame, whole)
    pd.testing.assert_frame_equal(read_table(out)[0], whole)


def test_a_valid_chunk_in_the_wrong_slot_is_recomputed(analytic_scene, whole, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    parts = interrupted_run(analytic_scene, out)
    chunk(parts, 4).write_bytes(chunk(parts, 1).read_bytes())  # a valid chunk, copied over another
    capsys.readouterr()
    frame, computed = resume(analytic_scene, out)
    assert computed == [4] and len(notices(capsys)) == 1
    pd.testing.assert_frame_equal(frame, whole)


def test_a_chunk_copied_into_a_slot_not_yet_done_is_not_trusted(analytic_scene, whole, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    parts = interrupted_run(analytic_scene, out, 2)  # chunks 0 and 1 on disk
    chunk(parts, 3).write_bytes(chunk(parts, 0).read_bytes())  # nothing recorded for slot 3
    capsys.readouterr()
    frame, computed = resume(analytic_scene, out)
    assert sorted(computed) == [2, 3, 4, 5]
    said = notices(capsys)
    assert len(said) == 1 and "chunk 3" in said[0] and "not recorded" in said[0]
    pd.testing.assert_frame_equal(frame, whole)


@pytest.mark.parametrize("fault", ["truncated", "empty", "stray", "stray-index", "stray-other", "job-file"])
def test_broken_or_stray_files_never_crash_a_rerun(analytic_scene, whole, tmp_path, capsys, fault):
    out = tmp_path / "s.parquet"
    parts = interrupted_run(analytic_scene, out)
    want = {"truncated": [1], "empty": [1], "stray": [], "stray-index": [], "stray-other": [],
            "job-file": list(range(CHUNKS))}[fault]
    if fault == "truncated":
        data = chunk(parts, 1).read_bytes()
        chunk(parts, 1).write_bytes(data[: len(data) // 2])
    elif fault == "empty":
        chunk(parts, 1).write_bytes(b"")
    elif fault == "stray":
        (parts / "chunk-abc.parquet").write_bytes(b"not a chunk")
    elif fault == "stray-index":
        (parts / "chunk-000099.parquet").write_bytes(chunk(parts, 0).read_bytes())  # beyond the job
    elif fault == "stray-other":
        (parts / "notes.txt").write_text("mine")
    else:
        (parts / "job.json").write_text("{not json")
    capsys.readouterr()
    frame, computed = resume(analytic_scene, out)
    assert sorted(computed) == want
    said = notices(capsys)
    assert len(said) == 1, said
    if fault.startswith("stray"):
        assert "ignor" in said[0] and ("chunk-abc" in said[0] or "chunk-000099" in said[0] or "notes.txt" in said[0])
    pd.testing.assert_frame_equal(frame, whole)
    again, computed = resume(analytic_scene, out)  # the next rerun of the finished job starts clean
    pd.testing.assert_frame_equal(again, whole)


def test_a_chunk_changed_while_the_job_runs_is_recomputed_before_the_join(analytic_scene, whole, small_chunks,
                                                                           tmp_path, capsys):
    out = tmp_path / "s.parquet"
    parts = out.with_name(out.name + ".parts")
    computed: list[int] = []

    def spoil(index, done, total):
        computed.append(index)
        if index == 1:
            chunk(parts, 0).write_bytes(b"spoilt")  # chunk 0 was verified and stored already

    frame = sweep(analytic_scene, workers=1, output=out, on_chunk=spoil, **GRID)
    assert computed == [0, 1, 2, 3, 4, 5, 0]
    assert len(notices(capsys)) == 1
    pd.testing.assert_frame_equal(frame, whole)


# -- workers die with their parent ---------------------------------------------------------

def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the pool's workers")
def test_pool_workers_exit_when_the_main_process_is_killed(scene_dir, tmp_path):
    out = tmp_path / "s.parquet"
    script = textwrap.dedent(f"""
        import time
        from needlesim.sweeps import sweep
        sweep({str(scene_dir)!r}, workers=2, output={str(out)!r}, on_chunk=lambda i, d, t: time.sleep(60),
              lateral_deg="-30:60:1", inferior_deg="-30:60:1", depths_mm="0:100:5")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (len(workers) >= 2 and
                                                   list((tmp_path / "s.parquet.parts").glob("chunk-*.parquet"))):
            workers = _children(proc.pid)
            time.sleep(0.1)
        assert len(workers) >= 2, "the pool did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "pool workers outlived their parent"
    finally:
        for w in workers:  # the processes this test started, by id
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)


# -- files and folders follow the umask ----------------------------------------------------

@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_outputs_follow_the_umask(analytic_scene, small_chunks, tmp_path, umask_022, suffix):
    from needlesim.sweeps.maps import save_map

    out = tmp_path / f"s{suffix}"
    parts = interrupted_run(analytic_scene, out, 2) if suffix == ".parquet" else None
    if parts is not None:
        assert parts.stat().st_mode & 0o777 == 0o755
        for p in parts.iterdir():
            assert p.stat().st_mode & 0o777 == 0o644, p
    sweep(analytic_scene, workers=1, output=out, **GRID)
    assert out.stat().st_mode & 0o777 == 0o644
    if suffix == ".csv":
        assert Path(str(out) + ".meta.json").stat().st_mode & 0o777 == 0o644
    save_map(out, tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_mode & 0o777 == 0o644
    os.umask(0o077)  # a private umask is followed too
    private = tmp_path / f"p{suffix}"
    sweep(analytic_scene, workers=1, output=private, **GRID)
    assert private.stat().st_mode & 0o777 == 0o600


def test_cached_phantom_folders_follow_the_umask(analytic_scene, tmp_path, umask_022):
    from needlesim.anatomy.individuals import draw_morphometry
    from needlesim.sweeps.builds import BuildCache

    cache = BuildCache(tmp_path / "pop.phantoms", analytic_scene.geometry_key)
    folder = cache.put(draw_morphometry(7), analytic_scene)
    assert (tmp_path / "pop.phantoms").stat().st_mode & 0o777 == 0o755
    assert folder.stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in folder.iterdir())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a parent to kill")
def test_the_watchdog_alone_ends_an_orphaned_worker(tmp_path):
    """The portable fallback: with the Linux death signal unavailable, the watchdog thread
    still ends a worker whose parent is gone."""
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import os, time
        from needlesim.sweeps import lifetime
        lifetime._parent_death_signal = lambda: False  # as on a system without prctl
        parent = os.getpid()
        if os.fork() == 0:
            lifetime.exit_with_parent(parent)
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)
            os._exit(0)
        while not os.path.exists({str(pid_file)!r}):
            time.sleep(0.02)
        os._exit(0)  # the parent dies; the child is orphaned
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    child = int(pid_file.read_text())
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_long_job_does_not_rewrite_its_job_file_per_chunk_and_records_all_when_stopped(
        analytic_scene, whole, tmp_path, monkeypatch):
    from needlesim.sweeps import runner

    monkeypatch.setattr(runner, "RECORD_EVERY_CHUNK_UP_TO", 2)
    monkeypatch.setattr(runner, "RECORD_INTERVAL_S", 1e9)
    writes = []
    real = runner.PartStore._write_record
    monkeypatch.setattr(runner.PartStore, "_write_record", lambda self: (writes.append(len(self.records)), real(self))[1])
    out = tmp_path / "s.parquet"
    parts = interrupted_run(analytic_scene, out, 5)
    assert writes == [0, 1, 2, 5]  # opened, the first two chunks, then once as the run stopped
    assert len(json.loads((parts / "job.json").read_text())["chunks"]) == 5
    frame, computed = resume(analytic_scene, out)
    assert computed == [5]
    pd.testing.assert_frame_equal(frame, whole)
