"""The practice log: every attempt a trainee submits, in a local SQLite file.

The file is ``practice.sqlite`` in the user's data directory (:func:`platformdirs.user_data_path`),
or the path in the environment variable :data:`ENV_VAR`, or the one passed to
:class:`PracticeLog`. Each attempt keeps its exercise and level, the aim set and the aim
submitted (they differ under tremor), the score and its parts, the reasons, the time taken
and the app's version.

A log that cannot be used never stops the app and is never deleted: a file that is not an
SQLite database, is corrupt, is locked by another program, cannot be opened, or holds
something other than a practice log is renamed aside (``practice.sqlite.set-aside-<UTC time>``),
a message says so (:attr:`PracticeLog.messages`), and a new log is started. If even that
fails (a read-only folder) the log lives in memory for the session, with a message.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .._version import __version__

#: Environment variable naming the log file (tests, shared class computers).
ENV_VAR = "NEEDLESIM_PRACTICE_DB"
#: File name in the user data directory.
LOG_NAME = "practice.sqlite"
#: The schema's version (``PRAGMA user_version``); a file with another is set aside.
SCHEMA_VERSION = 1
#: How long to wait for a lock held by another program, s: a second is longer than any
#: write of this log takes, so a lock held longer belongs to something stuck.
LOCK_TIMEOUT_S = 1.0

COLUMNS = ("id", "created_utc", "trainee", "exercise", "level", "scene", "side", "entry", "lateral_deg",
           "inferior_deg", "depth_mm", "submitted_entry", "submitted_lateral_deg", "submitted_inferior_deg",
           "submitted_depth_mm", "score", "verdict", "parts", "reasons", "fluoro_shots", "time_s", "app_version")
_SCHEMA = f"""CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_utc TEXT NOT NULL, trainee TEXT NOT NULL,
    exercise TEXT NOT NULL, level TEXT NOT NULL, scene TEXT NOT NULL, side TEXT NOT NULL, entry TEXT NOT NULL,
    lateral_deg REAL NOT NULL, inferior_deg REAL NOT NULL, depth_mm REAL NOT NULL, submitted_entry TEXT NOT NULL,
    submitted_lateral_deg REAL NOT NULL, submitted_inferior_deg REAL NOT NULL, submitted_depth_mm REAL NOT NULL,
    score REAL NOT NULL, verdict TEXT NOT NULL, parts TEXT NOT NULL, reasons TEXT NOT NULL,
    fluoro_shots INTEGER NOT NULL, time_s REAL NOT NULL, app_version TEXT NOT NULL);
PRAGMA user_version = {SCHEMA_VERSION};"""


def default_log_path() -> Path:
    """The log file: ``$NEEDLESIM_PRACTICE_DB`` if set, else in the user data directory."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_data_path("needlesim", appauthor=False) / LOG_NAME


def entry_text(entry) -> str:
    """A trajectory entry as text: the landmark, or ``"x,y,z"`` (mm, one decimal more than a hand sets)."""
    return entry if isinstance(entry, str) else ",".join(f"{float(x):.2f}" for x in entry)


@dataclass(frozen=True)
class AttemptRecord:
    """One logged attempt (a row of the log)."""

    id: int
    created_utc: str
    trainee: str
    exercise: str
    level: str
    scene: str
    side: str
    entry: str
    lateral_deg: float
    inferior_deg: float
    depth_mm: float
    submitted_entry: str
    submitted_lateral_deg: float
    submitted_inferior_deg: float
    submitted_depth_mm: float
    score: float
    verdict: str
    parts: dict
    reasons: list
    fluoro_shots: int
    time_s: float
    app_version: str


class PracticeLog:
    """The practice log at ``path`` (default :func:`default_log_path`).

    Parameters
    ----------
    path : path or None
    lock_timeout_s : float
        How long to wait for another program's lock before setting the file aside.
    """

    def __init__(self, path: str | Path | None = None, *, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.lock_timeout_s = float(lock_timeout_s)
        self.messages: list[str] = []
        self.set_aside: list[Path] = []
        self.in_memory = False
        self._con = self._open()

    # -- opening, and setting a bad file aside ---------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.lock_timeout_s)
        try:
            if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the integrity check failed")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version not in (0, SCHEMA_VERSION) or (tables - {"attempts", "sqlite_sequence"}) or \
                    (version == 0 and tables):
                raise sqlite3.DatabaseError("it holds something other than a needlesim practice log")
            con.executescript(_SCHEMA)
            cols = tuple(r[1] for r in con.execute("PRAGMA table_info(attempts)"))
            if cols != COLUMNS:
                raise sqlite3.DatabaseError("its table of attempts has other columns")
            con.execute("BEGIN IMMEDIATE")  # a lock held by another program shows here
            con.rollback()
        except BaseException:
            con.close()
            raise
        return con

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except (sqlite3.Error, OSError) as exc:
            first = exc
        aside = self._set_aside(first)
        if aside is not None:
            try:
                return self._connect()
            except (sqlite3.Error, OSError) as exc:
                first = exc
        self.in_memory = True
        self.messages.append(f"the practice log {self.path} cannot be used ({first}); this session's attempts "
                             "are kept in memory only (export them to CSV before closing)")
        con = sqlite3.connect(":memory:")
        con.executescript(_SCHEMA)
        return con

    def _set_aside(self, why: Exception) -> Path | None:
        if not os.path.lexists(self.path):
            return None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.set-aside-{stamp}")
        k = 1
        while os.path.lexists(target):
            target = self.path.with_name(f"{self.path.name}.set-aside-{stamp}-{k}")
            k += 1
        try:
            os.replace(self.path, target)
            for extra in ("-journal", "-wal", "-shm"):  # its journal belongs with it
                side = self.path.with_name(self.path.name + extra)
                if side.exists():
                    os.replace(side, target.with_name(target.name + extra))
        except OSError as exc:
            self.messages.append(f"the practice log {self.path} cannot be used ({why}) nor renamed ({exc})")
            return None
        self.set_aside.append(target)
        self.messages.append(f"the practice log {self.path} could not be used ({why}); it was renamed to "
                             f"{target.name} (nothing deleted) and a new log was started")
        return target

    # -- writing and reading ----------------------------------------------------------
    def record(self, *, exercise: str, level: str, trajectory, score, time_s: float, submitted=None,
               scene: str = "", trainee: str = "") -> int:
        """Log one attempt; returns its id. ``trajectory`` is the aim set, ``submitted`` the
        aim scored (under tremor; default the same), ``score`` a :class:`~needlesim.teaching.score.Score`."""
        sub = trajectory if submitted is None else submitted
        row = (datetime.now(timezone.utc).isoformat(timespec="seconds"), trainee, exercise, level, scene,
               trajectory.side.value, entry_text(trajectory.entry), trajectory.lateral_deg, trajectory.inferior_deg,
               trajectory.depth_mm, entry_text(sub.entry), sub.lateral_deg, sub.inferior_deg, sub.depth_mm,
               float(score.total), score.report.verdict.value, json.dumps({p.name.value: p.points for p in score.parts}),
               json.dumps(list(score.reasons)), int(score.fluoro_shots), float(time_s), __version__)
        sql = f"INSERT INTO attempts ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(row))})"
        try:
            if not self.in_memory and not self.path.exists():
                raise sqlite3.OperationalError("the file is gone")
            with self._con:
                return int(self._con.execute(sql, row).lastrowid)
        except sqlite3.Error as exc:  # the file went bad under us: set it aside, write to a new one
            self._con.close()
            if os.path.lexists(self.path):
                self._set_aside(exc)
            else:
                self.messages.append(f"the practice log {self.path} was gone ({exc}); a new log was started")
            self._con = self._open()
            with self._con:
                return int(self._con.execute(sql, row).lastrowid)

    def attempts(self, *, level: str | None = None, exercise: str | None = None) -> list[AttemptRecord]:
        """Logged attempts, oldest first, optionally of one level or exercise."""
        where, args = [], []
        for col, v in (("level", level), ("exercise", exercise)):
            if v is not None:
                where.append(f"{col} = ?")
                args.append(v)
        sql = f"SELECT {', '.join(COLUMNS)} FROM attempts" + (f" WHERE {' AND '.join(where)}" if where else "") + \
            " ORDER BY id"
        out = []
        for r in self._con.execute(sql, args):
            d = dict(zip(COLUMNS, r))
            d["parts"], d["reasons"] = json.loads(d["parts"]), json.loads(d["reasons"])
            out.append(AttemptRecord(**d))
        return out

    def export_csv(self, path: str | Path) -> int:
        """Write every attempt to ``path`` (one column per part); returns the rows written.
        Written to a temporary file and renamed, so a failure leaves no half file."""
        rows = self.attempts()
        parts = sorted({k for r in rows for k in r.parts})
        p = Path(path)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow([c for c in COLUMNS if c != "parts"] + [f"part_{k}" for k in parts])
                for r in rows:
                    d = r.__dict__
                    w.writerow([("; ".join(d[c]) if c == "reasons" else d[c]) for c in COLUMNS if c != "parts"]
                               + [r.parts.get(k, "") for k in parts])
            os.replace(tmp, p)
        finally:
            if tmp.exists():
                tmp.unlink()
        return len(rows)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "PracticeLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
