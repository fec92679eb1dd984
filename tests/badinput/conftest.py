"""The bad-input corpus: helpers. Every case is generated here (no committed binaries).

A case is run by :func:`guarded` in a forked child with a memory cap and a timeout, so a
case that would hang (a FIFO) or read without end (/dev/zero) fails its test instead of
the machine. The outcome is one of ``ok``, ``error`` (a :class:`NeedlesimError`: the
clear line), ``traceback`` (any other exception), ``hang``, ``crash`` (killed or out of
memory). Each test asserts the outcome and, for errors, one readable line.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import traceback
from dataclasses import dataclass

import numpy as np
import pytest
import trimesh

from tests.conftest import box

# imported here, once, so that each forked case starts with them loaded (fast)
import needlesim.core.io.manifest  # noqa: E402,F401
import needlesim.core.io.markups  # noqa: E402,F401
import needlesim.core.verdict.envelope  # noqa: E402,F401
import needlesim.session_io  # noqa: E402,F401
import needlesim.sweeps.runner  # noqa: E402,F401
import needlesim.cli  # noqa: E402,F401
import needlesim.core.api  # noqa: E402,F401

#: A case must finish within this, s (the slowest good case takes well under 5 s).
TIMEOUT_S = 30.0
#: Extra address space a case may take over the test process, bytes.
MEMORY_BYTES = 3 * 1024**3


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok, error, traceback, hang, crash
    message: str = ""
    value: object = None

    @property
    def one_line(self) -> bool:
        return bool(self.message) and "\n" not in self.message.strip() and "Traceback" not in self.message


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn, fn, args):
    from needlesim.core.errors import NeedlesimError

    limit = _vm_size() + MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        value = fn(*args)
        conn.send(("ok", "", _summary(value)))
    except NeedlesimError as exc:
        conn.send(("error", str(exc), type(exc).__name__))
    except MemoryError:
        conn.send(("crash", "MemoryError", None))
    except BaseException as exc:  # noqa: BLE001 - this is what the corpus looks for
        conn.send(("traceback", "".join(traceback.format_exception(exc))[-2000:], type(exc).__name__))
    finally:
        conn.close()


def _summary(value):
    try:
        import pickle

        pickle.dumps(value)
        return value
    except Exception:  # noqa: BLE001
        return repr(value)[:200]


def guarded(fn, *args, timeout: float = TIMEOUT_S) -> Outcome:
    """Run ``fn(*args)`` in a forked child under a memory cap and a timeout."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    p.start()
    child.close()
    got = parent.recv() if parent.poll(timeout) else None
    p.join(2.0)
    if p.is_alive():
        p.kill()
        p.join()
    if got is None:
        return Outcome("hang" if p.exitcode in (None, -9) else "crash", f"exit code {p.exitcode}")
    kind, message, value = got
    return Outcome(kind, message, value)


def human_scene(folder, *, bone=None, root=None, extra_structure="", scene_extra="", units_line='units = "mm"'):
    """A small human-sized scene: an ilium-sized bone, a sacrum-sized bone, an S1 root."""
    folder.mkdir(parents=True, exist_ok=True)
    (bone if bone is not None else box([-150, -20, -60], [-20, 20, 90])).export(folder / "ilium.ply")
    box([-20, -10, -40], [20, 30, 60]).export(folder / "sacrum.ply")
    r = root if root is not None else trimesh.creation.cylinder(radius=2.5, height=50)
    if root is None:
        r.apply_translation([-30, 40, 0])
    r.export(folder / "root.stl")
    (folder / "scene.toml").write_text(f"""
[scene]
name = "human-sized"
{units_line}
{scene_extra}

[scene.landmark_points]
left-psis = [-60.0, -20.0, 40.0]

[[structure]]
name = "left ilium"
role = "cortical_bone"
side = "left"
mesh = "ilium.ply"

[[structure]]
name = "sacrum"
role = "sacrum"
mesh = "sacrum.ply"

[[structure]]
name = "left S1 root"
role = "nerve_root"
side = "left"
level = "S1"
mesh = "root.stl"
{extra_structure}
""")
    return folder / "scene.toml"


def scaled_about_centre(mesh: trimesh.Trimesh, factor: float) -> trimesh.Trimesh:
    m = mesh.copy()
    c = m.bounds.mean(axis=0)
    m.apply_translation(-c)
    m.apply_scale(factor)
    m.apply_translation(c)
    return m


@pytest.fixture()
def fifo(tmp_path):
    """A FIFO nobody writes to: reading it blocks forever."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def load_scene_names(path):
    from needlesim.core.io.manifest import load_scene

    return load_scene(path).names


def cube_with_flipped_face() -> trimesh.Trimesh:
    m = box([-60, -20, -60], [60, 20, 60])
    f = np.array(m.faces)
    f[0] = f[0, ::-1]
    return trimesh.Trimesh(m.vertices, f, process=False)
