"""Files that are not files (issue 10 item 7): every reader refuses a FIFO, a folder, a
device and an oversized file with one line, before reading it; none hangs or reads
/dev/zero until memory runs out."""

from __future__ import annotations

import os

import pytest

from tests.badinput.conftest import guarded


def _read_mesh(p):
    from needlesim.core.io.meshio import read_mesh

    return len(read_mesh(p).faces)


def _load_scene(p):
    from needlesim.core.io.manifest import load_scene

    return load_scene(p).names


def _read_points(p):
    from needlesim.core.io.markups import read_points

    return sorted(read_points(p))


def _load_envelope(p):
    from needlesim.core.verdict.envelope import load_envelope

    return load_envelope(str(p)).name


def _read_session(p):
    from needlesim.session_io import read_session

    return read_session(p).scene


def _read_job(p):
    from needlesim.sweeps.runner import load_job_file

    return load_job_file(p)


#: (reader, file suffix, what a file over the limit is)
READERS = {
    "mesh": (_read_mesh, ".stl"),
    "manifest": (_load_scene, ".toml"),
    "markups": (_read_points, ".mrk.json"),
    "envelope": (_load_envelope, ".toml"),
    "session": (_read_session, ".json"),
    "sweep job": (_read_job, ".json"),
}
SIZES = {"mesh": 3 * 1024**3, "manifest": 5 * 1024**2, "markups": 40 * 1024**2, "envelope": 2 * 1024**2,
         "session": 40 * 1024**2, "sweep job": 2 * 1024**2}


def _make(tmp_path, kind: str, suffix: str, reader: str):
    path = tmp_path / f"thing{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        if reader == "manifest":  # a folder is read as the scene folder: make its manifest a folder
            (path / "scene.toml").mkdir()
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(path, "wb") as fh:  # sparse: no disk is used
            fh.truncate(SIZES[reader])
    return path


WORDS = {"fifo": "FIFO", "folder": "folder", "device": "device", "huge": "larger than|over the"}


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "huge"])
@pytest.mark.parametrize("reader", list(READERS))
def test_not_a_regular_file_is_refused_in_one_line(tmp_path, reader, kind):
    fn, suffix = READERS[reader]
    path = _make(tmp_path, kind, suffix, reader)
    out = guarded(fn, path, timeout=20)
    assert out.kind == "error", out
    assert out.one_line, out.message
    assert str(path.name) in out.message
    import re

    assert re.search(WORDS[kind], out.message), out.message


@pytest.mark.parametrize("reader", ["envelope", "session"])
def test_dev_zero_itself(reader):
    out = guarded(READERS[reader][0], "/dev/zero", timeout=20)
    assert out.kind == "error" and out.one_line and "device" in out.message, out


def test_landmarks_fifo_in_a_manifest_does_not_hang(tmp_path):
    from tests.badinput.conftest import human_scene

    path = human_scene(tmp_path, scene_extra='landmarks = "lm.mrk.json"')
    os.mkfifo(tmp_path / "lm.mrk.json")
    out = guarded(_load_scene, path, timeout=20)
    assert out.kind == "error" and "FIFO" in out.message and "lm.mrk.json" in out.message, out


def test_a_mesh_fifo_or_folder_is_not_called_missing(tmp_path):
    from tests.badinput.conftest import human_scene

    path = human_scene(tmp_path)
    (tmp_path / "sacrum.ply").unlink()
    (tmp_path / "sacrum.ply").mkdir()
    out = guarded(_load_scene, path)
    assert out.kind == "error" and "is a folder, not a mesh file" in out.message, out
    (tmp_path / "sacrum.ply").rmdir()
    os.mkfifo(tmp_path / "sacrum.ply")
    out = guarded(_load_scene, path)
    assert out.kind == "error" and "FIFO" in out.message and "no such" not in out.message, out


def test_a_nul_byte_in_a_path_is_one_line(tmp_path):
    for fn in (_read_mesh, _read_points, _read_session, _load_envelope):
        out = guarded(fn, str(tmp_path / "a\x00b.json"))
        assert out.kind == "error" and out.one_line, (fn, out)


def test_good_files_still_read(tmp_path):
    from needlesim.core.verdict.envelope import list_envelopes

    assert guarded(_load_envelope, "nam2019").value == "nam2019"
    assert len(list_envelopes()) >= 4
    src = tmp_path / "env.toml"
    src.write_text('name = "mine"\ntitle = "t"\ncitation = "c"\n[depth_mm]\nmax = 60\n')
    assert guarded(_load_envelope, src).value == "mine"
