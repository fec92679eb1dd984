"""CLI fuzz (issue 10 corpus): `needlesim check` with bad arguments exits non-zero with
one line on stderr and no traceback, or gives a correct result; none hangs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = ["check", "--entry", "left-psis", "--lateral", "30", "--inferior", "22", "--depth", "60"]


def _with(**opts):
    args = list(BASE)
    for key, value in opts.items():
        flag = "--" + key.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


CASES = {
    "lateral-nan": _with(lateral="nan"),
    "lateral-inf": _with(lateral="inf"),
    "lateral-huge": _with(lateral="1e308"),
    "lateral-string": _with(lateral="thirty"),
    "inferior-minus-inf": _with(inferior="-inf"),
    "depth-nan": _with(depth="nan"),
    "depth-negative": _with(depth="-5"),
    "depth-huge": _with(depth="1e400"),
    "margin-nan": _with(margin="nan"),
    "margin-huge": _with(margin="1e9"),
    "needle-zero": _with(needle="0"),
    "needle-inf": _with(needle="inf"),
    "entry-unknown": _with(entry="no-such-landmark"),
    "entry-two-numbers": _with(entry="1,2"),
    "entry-nan-coords": _with(entry="nan,0,0") + ["--side", "left"],
    "entry-nul": _with(entry="left\x01psis"),
    "scene-missing": _with(scene="/no/such/scene"),
    "scene-dev-zero": _with(scene="/dev/zero"),
    "envelope-dev-zero": _with(envelope="/dev/zero"),
    "envelope-missing-file": _with(envelope="/no/such/envelope.toml"),
    "envelope-unknown": _with(envelope="nope"),
    "backend-gpu": _with(backend="gpu"),
    "side-up": _with(side="up"),
    "no-args": ["check"],
}


def _run(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "needlesim.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)


def _main(args):
    """``needlesim.cli.main(args)`` with stdout/stderr captured; SystemExit is an exit code."""
    import contextlib
    import io

    from needlesim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue()[-500:], err.getvalue()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cli_arguments_give_one_line(case):
    from tests.badinput.conftest import guarded

    got = guarded(_main, CASES[case], timeout=60)
    assert got.kind == "ok", got  # main() itself never raises: it prints and returns
    code, stdout, stderr = got.value
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code not in (0, None), (case, stdout)
    assert "Traceback" not in stderr and len(lines) == 1 and "error" in lines[0], stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["lateral-nan", "envelope-dev-zero"])
def test_bad_cli_arguments_end_to_end(tmp_path, case):
    r = _run(CASES[case], tmp_path)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(lines) == 1, r.stderr[-2000:]


@pytest.mark.slow
def test_a_fifo_envelope_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "env.toml")
    r = _run(_with(envelope=str(tmp_path / "env.toml")), tmp_path)
    assert r.returncode == 2 and "FIFO" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
