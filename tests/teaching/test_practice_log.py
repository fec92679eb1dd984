"""The practice log: attempts round-trip, CSV export, and a bad file (garbage, corrupt,
locked, foreign, a folder, gone) is set aside with a message and a new log started."""

from __future__ import annotations

import csv
import os
import sqlite3

import pytest

from needlesim import __version__
from needlesim.core.model.trajectory import Trajectory
from needlesim.teaching.practice_log import COLUMNS, ENV_VAR, LOG_NAME, PracticeLog, default_log_path
from needlesim.teaching.score import score_attempt


@pytest.fixture(scope="module")
def scored(analytic_scene):
    t = Trajectory("left-psis", 20.0, 30.0, 70.0)
    return t, score_attempt(analytic_scene, t, fluoro_shots=2)


def add(log, scored, level="built-in", **kw):
    t, s = scored
    return log.record(exercise="e1", level=level, trajectory=t, score=s, time_s=12.5, scene="analytic", **kw)


def test_attempts_round_trip_with_parts_time_and_version(tmp_path, scored):
    t, s = scored
    with PracticeLog(tmp_path / "log.sqlite") as log:
        jittered = Trajectory((1.0, 20.0, -2.0), 21.0, 29.0, 71.5, side="left")
        a = add(log, scored, trainee="ana", submitted=jittered)
        b = add(log, scored, level="unseen")
        assert (a, b) == (1, 2) and not log.messages
    with PracticeLog(tmp_path / "log.sqlite") as log:  # it persists
        rows = log.attempts()
        assert len(rows) == 2 and [r.level for r in log.attempts(level="unseen")] == ["unseen"]
        r = rows[0]
        assert (r.trainee, r.exercise, r.entry, r.lateral_deg, r.depth_mm) == ("ana", "e1", "left-psis", 20.0, 70.0)
        assert (r.submitted_entry, r.submitted_lateral_deg, r.submitted_depth_mm) == ("1.00,20.00,-2.00", 21.0, 71.5)
        assert r.score == pytest.approx(s.total) and r.parts == {p.name.value: p.points for p in s.parts}
        assert r.reasons == list(s.reasons) and r.fluoro_shots == 2 and r.time_s == 12.5
        assert r.app_version == __version__ and r.created_utc.endswith("+00:00")
        assert rows[1].submitted_entry == "left-psis"  # no tremor: the aim set is the aim scored


def test_export_csv(tmp_path, scored):
    with PracticeLog(tmp_path / "log.sqlite") as log:
        add(log, scored)
        add(log, scored, level="tremor")
        assert log.export_csv(tmp_path / "out.csv") == 2
    rows = list(csv.DictReader(open(tmp_path / "out.csv", newline="")))
    assert [r["level"] for r in rows] == ["built-in", "tremor"]
    assert float(rows[0]["part_envelope"]) == pytest.approx(15.0) and float(rows[0]["part_fluoroscopy"]) == 8.0
    assert "5 deg more medial" in rows[0]["reasons"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _aside(tmp_path, name="log.sqlite"):
    return sorted(p for p in tmp_path.iterdir() if p.name.startswith(name + ".set-aside-"))


def test_a_garbage_file_is_set_aside_not_deleted(tmp_path, scored):
    path = tmp_path / "log.sqlite"
    garbage = b"this is not a database\x00\xff" * 100
    path.write_bytes(garbage)
    log = PracticeLog(path)
    assert len(log.messages) == 1 and "renamed to log.sqlite.set-aside-" in log.messages[0]
    assert "nothing deleted" in log.messages[0] and not log.in_memory
    (aside,) = _aside(tmp_path)
    assert aside.read_bytes() == garbage
    add(log, scored)
    assert len(log.attempts()) == 1
    log.close()
    assert len(PracticeLog(path).attempts()) == 1  # the new log is a real file


def test_a_corrupt_log_is_set_aside(tmp_path, scored):
    path = tmp_path / "log.sqlite"
    with PracticeLog(path) as log:
        for _ in range(30):
            add(log, scored)
    data = bytearray(path.read_bytes())
    data[100:len(data) - 100] = os.urandom(len(data) - 200)  # keep the header, ruin the pages
    path.write_bytes(bytes(data))
    log = PracticeLog(path)
    assert log.set_aside and log.attempts() == [] and "could not be used" in log.messages[0]
    assert _aside(tmp_path)[0].read_bytes() == bytes(data)


def test_a_locked_log_is_set_aside(tmp_path, scored):
    path = tmp_path / "log.sqlite"
    PracticeLog(path).close()
    other = sqlite3.connect(path)
    other.execute("BEGIN EXCLUSIVE")
    try:
        log = PracticeLog(path, lock_timeout_s=0.05)
        assert "locked" in log.messages[0] and len(_aside(tmp_path)) == 1
        add(log, scored)
        assert len(log.attempts()) == 1
    finally:
        other.rollback()
        other.close()


@pytest.mark.parametrize("kind", ["foreign", "folder"])
def test_a_foreign_database_or_a_folder_is_set_aside(tmp_path, kind):
    path = tmp_path / "log.sqlite"
    if kind == "folder":
        path.mkdir()
        (path / "keep.txt").write_text("mine")
    else:
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE patients (name TEXT)")
        con.commit()
        con.close()
    log = PracticeLog(path)
    assert log.set_aside and path.is_file()
    (aside,) = _aside(tmp_path)
    if kind == "folder":
        assert (aside / "keep.txt").read_text() == "mine"
    else:
        assert "something other than a needlesim practice log" in log.messages[0]
        assert sqlite3.connect(aside).execute("SELECT count(*) FROM patients").fetchone() == (0,)


def test_a_log_removed_while_open_starts_anew(tmp_path, scored):
    path = tmp_path / "log.sqlite"
    log = PracticeLog(path)
    add(log, scored)
    os.remove(path)
    add(log, scored)
    assert "was gone" in log.messages[-1] and len(log.attempts()) == 1 and path.exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_folder_keeps_the_log_in_memory(tmp_path, scored):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "log.sqlite").write_bytes(b"junk")
    folder.chmod(0o500)
    try:
        log = PracticeLog(folder / "log.sqlite")
        assert log.in_memory and "in memory" in log.messages[-1]
        add(log, scored)
        assert len(log.attempts()) == 1 and (folder / "log.sqlite").read_bytes() == b"junk"
    finally:
        folder.chmod(0o700)


def test_the_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "x.sqlite"))
    assert default_log_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv(ENV_VAR)
    import platformdirs

    assert default_log_path() == platformdirs.user_data_path("needlesim", appauthor=False) / LOG_NAME
    assert COLUMNS[0] == "id"


def test_a_log_that_cannot_be_made_lives_in_memory(tmp_path, scored):
    (tmp_path / "a-file").write_text("not a folder")
    log = PracticeLog(tmp_path / "a-file" / "log.sqlite")  # its folder cannot be made, even by root
    assert log.in_memory and "kept in memory only" in log.messages[-1]
    add(log, scored)
    assert len(log.attempts()) == 1 and (tmp_path / "a-file").read_text() == "not a folder"
