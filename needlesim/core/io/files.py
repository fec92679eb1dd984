"""Reading any file the project is given: a regular file, under a size limit, or a clear error.

A path handed to needlesim may be a folder, a FIFO (a read blocks forever), a device such
as ``/dev/zero`` (a read never ends) or a file far larger than anything it should be.
Every reader in needlesim (manifest, mesh, markups/landmarks, envelope, session, sweep
job file) goes through this module, which checks the path with ``os.stat`` (which never
opens it), then opens it without blocking, checks the open file again with ``os.fstat``
(so a path swapped between the two checks is still caught) and reads at most the limit.

The limits, per kind of file, are in :data:`LIMITS` with the reason for each.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import NeedlesimError

MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimit:
    """The largest file of one kind that is read, and why."""

    max_bytes: int
    reason: str


#: Largest file read, per kind. A file over its limit is refused before it is read.
LIMITS: dict[str, FileLimit] = {
    "scene manifest": FileLimit(4 * MB, "a scene manifest is a few kB per structure; 4 MB is thousands of structures"),
    "markups": FileLimit(32 * MB, "a Slicer markups file holds about 500 bytes per point: 32 MB is 60,000 points"),
    "envelope": FileLimit(1 * MB, "an envelope is a dozen lines of TOML"),
    "session": FileLimit(32 * MB, "a session is about 400 bytes per saved trajectory: 32 MB holds the "
                                  "1,000 allowed (see session_io.MAX_SAVED) many times over"),
    "sweep job": FileLimit(1 * MB, "a sweep job file holds a key and one hash per chunk"),
    "mesh": FileLimit(2048 * MB, "the triangle budget (TOL.max_mesh_triangles) is checked from the header "
                                 "where the format has one; this bounds the formats that do not"),
}


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_stat(st: os.stat_result, path: Path, kind: str, error: type[NeedlesimError], max_bytes: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is {_kind_of(st.st_mode)}, not a {kind} file")
    if st.st_size > max_bytes:
        raise error(f"{path}: {st.st_size / MB:.1f} MB is larger than any {kind} file should be "
                    f"(limit {max_bytes / MB:g} MB: {LIMITS[kind].reason if kind in LIMITS else 'see core.io.files'})")


def check_file(path: str | Path, kind: str, error: type[NeedlesimError], *, max_bytes: int | None = None) -> Path:
    """Check that ``path`` is an existing regular file within the limit of ``kind``
    (without opening it) and return it as a :class:`Path`; raise ``error`` otherwise."""
    path = _as_path(path, kind, error)
    limit = LIMITS[kind].max_bytes if max_bytes is None else max_bytes
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except (OSError, ValueError) as exc:
        raise error(f"{path}: cannot be read as a {kind} file ({_why(exc)})") from None
    _check_stat(st, path, kind, error, limit)
    return path


def read_bytes(path: str | Path, kind: str, error: type[NeedlesimError], *, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of ``kind``, refused (``error``) if it is not one or
    is over its limit. A FIFO is never opened for a blocking read."""
    path = check_file(path, kind, error, max_bytes=max_bytes)
    limit = LIMITS[kind].max_bytes if max_bytes is None else max_bytes
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise error(f"{path}: cannot be read as a {kind} file ({_why(exc)})") from None
    try:
        _check_stat(os.fstat(fd), path, kind, error, limit)  # the path may have changed since the stat
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot be read as a {kind} file ({_why(exc)})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: grew past the {limit / MB:g} MB limit of a {kind} file while being read")
    return data


def read_text(path: str | Path, kind: str, error: type[NeedlesimError], *, max_bytes: int | None = None) -> str:
    """The text (UTF-8) of a regular file of ``kind``; see :func:`read_bytes`."""
    data = read_bytes(path, kind, error, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{Path(path)}: is not UTF-8 text, so not a {kind} file (byte {exc.start})") from None


def _as_path(path: str | Path, kind: str, error: type[NeedlesimError]) -> Path:
    text = os.fspath(path)
    if not isinstance(text, str) or not text or "\x00" in text:
        raise error(f"{text!r}: not a usable {kind} file path (empty, or with a NUL byte)")
    return Path(text)


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def current_umask() -> int:
    """This process's umask (read from ``/proc`` where it can be, so that it is never changed,
    even for an instant)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask
