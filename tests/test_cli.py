"""The command line: readable reports, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_manifest

from needlesim.cli import main




@pytest.fixture()
def scene_dir(tmp_path, analytic_scene):
    """The analytic scene written as a manifest folder."""
    return write_manifest(analytic_scene, tmp_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json(capsys, scene_dir):
    code, out, err = run(capsys, "check", "--entry", "left-psis", "--lateral", "0", "--inferior", "0",
                         "--depth", "75", "--scene", str(scene_dir), "--json", "--backend", "exact")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["verdict"] == "danger"
    assert {"verdict", "reasons", "hits", "clearance_mm", "envelope", "trajectory", "backend"} <= d.keys()
    assert d["backend"] == "exact"
    assert d["envelope"] == {**d["envelope"], "name": "nam2019", "inside": False}
    assert [(h["structure"], round(h["depth_mm"], 6), h["entering"]) for h in d["hits"]] == [
        ("skin", 0.0, True), ("left ilium", 50.0, True), ("left ilium", 70.0, False), ("left S2 root", 107.5, True)
    ] or d["hits"][0]["structure"] == "skin"
    assert d["clearance_mm"]["left gluteal artery"] == pytest.approx(d["clearance_mm"]["left gluteal artery"])
    assert d["trajectory"]["lateral_deg"] == 0 and d["trajectory"]["depth_mm"] == 75
    assert any(r["rule"] == "breach" for r in d["reasons"])


def test_check_text(capsys, scene_dir):
    code, out, _ = run(capsys, "check", "--entry", "left-psis", "--lateral", "30", "--inferior", "22.5",
                       "--depth", "60", "--scene", str(scene_dir))
    assert code == 0
    assert out.startswith("verdict: ")
    assert "lateral 30.0 deg, inferior 22.5 deg, depth 60.0 mm" in out
    assert "axial image 32.8 deg, sagittal image 26.2 deg" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--lateral", "nan"], "lateral angle must be a finite number"),
    (["--lateral", "inf"], "lateral angle must be a finite number"),
    (["--lateral", "95"], "lateral angle 95 deg is out of range"),
    (["--inferior", "-90"], "inferior angle -90 deg is out of range"),
    (["--depth", "-5"], "depth -5 mm is out of range"),
    (["--depth", "nan"], "depth must be finite"),
    (["--entry", "left-asis"], "unknown landmark 'left-asis'"),
    (["--entry", "1,2"], "neither a landmark name nor 'x,y,z'"),
    (["--entry", "1,2,3"], "needs side='left' or 'right'"),
    (["--scene", "/no/such/scene"], "no such scene manifest"),
    (["--envelope", "nope"], "unknown envelope 'nope'"),
    (["--margin", "-1"], "margin -1 mm is out of range"),
    (["--lateral", "abc"], "invalid float value"),
])
def test_bad_input_is_one_line_and_nonzero(capsys, scene_dir, args, message):
    base = {"--entry": "left-psis", "--lateral": "30", "--inferior": "22.5", "--depth": "60", "--scene": str(scene_dir)}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["check"] + [x for kv in base.items() for x in kv]
    with pytest.raises(SystemExit) if "invalid float" in message else _nullcontext() as exc:
        code, out, err = run(capsys, *argv)
    if exc is not None and hasattr(exc, "value"):
        code, err = exc.value.code, capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("entry", ["foo", "psis", "left-psiss"])
def test_an_unknown_landmark_is_named_with_the_known_ones(capsys, scene_dir, entry):
    """Without --side, an unknown name used to say only "cannot tell the side"."""
    code, out, err = run(capsys, "check", "--entry", entry, "--lateral", "30", "--inferior", "22.5",
                         "--depth", "60", "--scene", str(scene_dir))
    assert code == 2 and out == ""
    assert f"unknown landmark {entry!r}; this scene has: left-psis, right-psis" in err
    assert "side" not in err and err.count("\n") == 1


def test_no_arguments_opens_the_app(monkeypatch):
    import needlesim.gui.app as app

    calls = []
    monkeypatch.setattr(app, "run", lambda scene, session, screenshot=None: calls.append((scene, session)) or 0)
    assert main([]) == 0
    assert calls == [(None, None)]


def test_console_script_runs_in_a_fresh_process(scene_dir):
    p = subprocess.run([sys.executable, "-m", "needlesim.cli", "check", "--entry", "left-psis", "--lateral", "nan",
                        "--inferior", "0", "--depth", "1", "--scene", str(scene_dir)], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "needlesim check: error: lateral angle must be a finite number of degrees, got nan"


# --- needlesim anatomy: progress -------------------------------------------------------------

def _fake_individual(scene):
    from needlesim.anatomy import individuals

    def fake(template, m, *, on_stage=None, **kwargs):
        for name in individuals.STAGES:
            on_stage(name)
        return scene
    return fake


def test_anatomy_says_each_stage_as_it_starts(capsys, monkeypatch, scene_dir, analytic_scene, tmp_path):
    """It printed nothing for 30-41 s; off a terminal (a log) each stage is one line on stderr."""
    from needlesim.anatomy import individuals

    monkeypatch.setattr(individuals, "make_individual", _fake_individual(analytic_scene))
    code, out, err = run(capsys, "anatomy", "--seed", "3", "--template", str(scene_dir), "-o", str(tmp_path / "ind"))
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'ind'}")
    lines = err.splitlines()
    n = len(individuals.STAGES) + 2
    assert [ln.split(" (at ")[0] for ln in lines] == [f"needlesim anatomy: {k}/{n} {name}" for k, name in enumerate(
        ("loading the template", *individuals.STAGES, "writing"), start=1)]
    assert (tmp_path / "ind" / "scene.toml").is_file()


def test_stage_progress_draws_a_bar_on_a_terminal():
    import io

    from needlesim.sweeps.stages import StageProgress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    stage = StageProgress(("a", "b", "c", "d"), label="job", stream=tty)
    for name in ("a", "b", "c"):
        stage(name)
    shown = tty.getvalue()
    assert "\n" not in shown and shown.count("\r") == 3  # one line, redrawn
    assert shown.split("\r")[-1].startswith("job [" + "#" * 15 + "-" * 15 + "] 3/4 c ")  # 2 of 4 stages done
    stage.close()
    assert tty.getvalue().endswith("] done in 00:00\n") and "[" + "#" * 30 + "]" in tty.getvalue()
    failed = Tty()
    broken = StageProgress(("a", "b"), label="job", stream=failed)
    broken("a")
    broken.close(done=False)
    assert "done" not in failed.getvalue() and failed.getvalue().endswith("\n")


# --- the app on a machine that cannot show it ----------------------------------------------

LDD_MISSING = """\
	linux-vdso.so.1 (0x00007ffd)
	libQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
	libxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f2)
	libxcb-icccm.so.4 => not found
	libxcb-keysyms.so.1 => not found
	libxcb-icccm.so.4 => not found
	libxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f3)
"""
X11 = {"DISPLAY": ":0"}


def _problem(env, ldd_output="", platform="linux"):
    from needlesim.gui.app import display_problem

    return display_problem(env, platform=platform, plugin=lambda: Path("/venv/libqxcb.so"), ldd=lambda p: ldd_output)


def test_missing_xcb_libraries_are_named_with_the_command_that_installs_them():
    """Qt blamed libxcb-cursor0 (installed); ldd showed libxcb-icccm4 and libxcb-keysyms1 missing."""
    msg = _problem(X11, LDD_MISSING)
    assert "\n" not in msg and msg.startswith("needlesim: the app cannot start")
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1, not installed" in msg
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1;" in msg
    assert "dnf provides '*/libxcb-icccm.so.4'" in msg and "libxcb-cursor" not in msg


def test_no_display_is_one_line_suggesting_xvfb_or_the_cli():
    for env in ({}, {"DISPLAY": ""}, {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}):
        msg = _problem(env, LDD_MISSING)
        assert "\n" not in msg and "xvfb-run -a needlesim" in msg and "needlesim check" in msg, env


@pytest.mark.parametrize("env, platform", [
    (X11, "linux"),  # every library found
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"), ({"QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"), ({}, "darwin"), ({}, "win32"),
])
def test_no_problem_where_qt_can_start(env, platform):
    ldd = LDD_MISSING if env is not X11 else LDD_MISSING.replace("not found", "/lib/x.so (0x1)")
    assert _problem(env, ldd, platform) is None


def test_an_incomplete_pyside6_says_reinstall_it():
    msg = _problem(X11, "\tlibQt6XcbQpa.so.6 => not found\n\tlibxcb-icccm.so.4 => not found\n")
    assert "PySide6 is incomplete" in msg and "pip install --force-reinstall PySide6-Essentials" in msg


def test_the_real_plugin_and_ldd_are_found():
    from needlesim.gui.app import missing_libraries, run_ldd, xcb_plugin

    plugin = xcb_plugin()
    if plugin is None:
        pytest.skip("PySide6 has no xcb plugin here (not Linux)")
    report = run_ldd(plugin)
    assert "libxcb" in report  # the plugin links against xcb, and ldd read it
    assert missing_libraries(report) == []  # this machine runs the GUI tests


def test_the_app_without_a_display_exits_2_with_one_line(tmp_path):
    """It aborted (SIGABRT, rc 134, a core dump) inside Qt."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    p = subprocess.run([sys.executable, "-m", "needlesim.cli"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "xvfb-run -a needlesim" in p.stderr
