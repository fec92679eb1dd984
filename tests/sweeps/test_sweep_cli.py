"""``needlesim sweep`` / ``needlesim map`` on the command line: files, one-line errors,
nothing half-written, and a killed process resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from needlesim.sweeps import sweep
from needlesim.sweeps.table import read_table

SMALL = ["--lateral", "0:40:10", "--inferior", "0:30:10", "--depth", "0:100:10", "--workers", "1"]


def test_sweep_writes_parquet(cli, scene_dir, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    assert cli("sweep", "--scene", str(scene_dir), "--entries", "left-psis,right-psis", *SMALL, "-o", str(out)) == 0
    df, meta = read_table(out)
    assert len(df) == 2 * 5 * 4 and set(df.entry) == {"left-psis", "right-psis"}
    assert meta["scene_name"] == "analytic" and meta["entries"]["left-psis"] == [0.0, 20.0, 0.0]
    assert "wrote" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--lateral", "10:0:1"], "empty"),
    (["--lateral", "0:10:0"], "step 0"),
    (["--inferior", "nan"], "finite"),
    (["--lateral", "-30:60:0.0001", "--inferior", "-30:60:0.01"], "--yes"),
    (["--depth", "0:400:1"], "depth"),
    (["--entry", "nowhere"], "unknown landmark"),
    (["--margin", "-1"], "margin"),
])
def test_bad_inputs_fail_in_one_line_and_write_nothing(cli, scene_dir, tmp_path, capsys, args, words):
    out = tmp_path / "s.parquet"
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, *args, "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_and_bad_scene(cli, scene_dir, tmp_path, capsys):
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "-o", str(tmp_path / "no" / "s.parquet")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "-o", str(tmp_path / "s.txt")) == 2
    assert ".parquet or .csv" in capsys.readouterr().err
    assert cli("sweep", "--scene", str(tmp_path / "missing"), *SMALL, "-o", str(tmp_path / "s.parquet")) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_killed_sweep_resumes_to_the_same_table(scene_dir, tmp_path):
    out = tmp_path / "s.parquet"
    grid = dict(lateral_deg="-30:60:1", inferior_deg="-30:60:1", depths_mm="0:100:5")
    script = textwrap.dedent(f"""
        import time
        from needlesim.sweeps import sweep
        sweep({str(scene_dir)!r}, workers=1, output={str(out)!r}, on_chunk=lambda i, d, t: time.sleep(30), **{grid!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    parts = tmp_path / "s.parquet.parts"
    deadline = time.monotonic() + 60
    while not list(parts.glob("chunk-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(parts.glob("chunk-*.parquet"))) == 1 and not out.exists()
    computed = []
    resumed = sweep(scene_dir, workers=1, output=out, on_chunk=lambda i, d, t: computed.append(i), **grid)
    assert len(computed) == 4
    pd.testing.assert_frame_equal(resumed, sweep(scene_dir, workers=1, **grid))


def test_map_png_and_svg(cli, scene_dir, tmp_path, capsys):
    table = tmp_path / "s.parquet"
    assert cli("sweep", "--scene", str(scene_dir), "--lateral", "-30:60:2", "--inferior", "-30:60:2",
               "--depth", "0:100:10", "-o", str(table)) == 0
    for name in ("map.png", "map.svg"):
        assert cli("map", str(table), "-o", str(tmp_path / name)) == 0
        assert (tmp_path / name).stat().st_size > 10_000
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "map.svg").read_bytes()[:500]


def test_map_draws_the_envelope_box_where_it_belongs(analytic_scene):
    from needlesim.sweeps.maps import draw_map

    df = sweep(analytic_scene, workers=1, lateral_deg="-30:60:2", inferior_deg="-30:60:2", depths_mm="0:100:50")
    drawn = draw_map(df, df.attrs["needlesim"])
    assert drawn.envelope_box == (25.0, 35.0, 20.0, 25.0)  # nam2019
    for ax in drawn.figure.axes[::2][:1] + [drawn.figure.axes[-1]]:
        boxes = [p for p in ax.patches if p.get_gid() == "envelope-box"]
        if not boxes:
            continue
        (x0, y0), w, h = boxes[0].get_xy(), boxes[0].get_width(), boxes[0].get_height()
        assert (x0, x0 + w, y0, y0 + h) == (25.0, 35.0, 20.0, 25.0)
    assert "lateral angle (deg)" in drawn.figure.axes[0].get_xlabel()


def _legend_labels(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


@pytest.mark.parametrize(("envelope", "centre"), [("nam2019", (30.0, 22.5)), ("kitchel", (40.0, 37.5))])
def test_map_labels_say_what_they_mark(analytic_scene, envelope, centre):
    """Issue 11, item 11: the marker at the envelope's middle is its centre, not a
    case-report aim; every label and legend entry names what is drawn."""
    from needlesim.core.verdict.envelope import load_envelope
    from needlesim.sweeps.maps import SHORT_OF_BONE_LABEL, draw_map

    df = sweep(analytic_scene, workers=1, lateral_deg="-30:60:5", inferior_deg="-30:60:5", depths_mm="0:100:50",
               envelope=envelope)
    drawn = draw_map(df, df.attrs["needlesim"])
    env = load_envelope(envelope)
    assert centre == ((env.lateral_deg.min + env.lateral_deg.max) / 2, (env.inferior_deg.min + env.inferior_deg.max) / 2)
    assert drawn.centre_deg == centre
    marks = [ln for ax in drawn.figure.axes for ln in ax.lines if ln.get_gid() == "envelope-centre"]
    assert len(marks) == 2 and all(tuple(m.get_xydata()[0]) == centre for m in marks)
    texts = [t for ax in drawn.figure.axes for t in _legend_labels(ax)]
    assert f"envelope centre ({centre[0]:g}, {centre[1]:g})" in texts and f"envelope ({envelope})" in texts
    assert not any("case" in t for t in texts)
    # the short-of-bone hatch: exactly the feasible rows with reaches_bone false
    want = int((df.feasible & ~df.reaches_bone).sum())
    assert drawn.short_of_bone == want > 0
    assert (SHORT_OF_BONE_LABEL in texts) and "no safe depth" in SHORT_OF_BONE_LABEL
    hatched = [c for c in drawn.figure.axes[0].collections if c.get_gid() == "short-of-bone"]
    assert len(hatched) == 1 and hatched[0].get_hatch() == "////"
    assert len(hatched[0].get_paths()) == want
    ax1, ax2 = drawn.figure.axes[0], drawn.figure.axes[1]
    bar = drawn.figure.axes[-1]  # the colour bar
    assert bar.get_ylabel() == "maximum safe depth (mm from the skin)"
    assert ax2.get_title() == "first critical structure the needle touches within 150 mm of the skin"
    assert "none touched" in _legend_labels(ax2)
    assert ax1.get_ylabel() == "inferior angle (deg)"


def test_progress_bar_only_when_asked_or_on_a_terminal():
    import io

    from needlesim.sweeps.progress import Progress

    quiet, loud = io.StringIO(), io.StringIO()
    for stream, enabled in ((quiet, None), (loud, True)):
        bar = Progress(4, enabled=enabled, label="sweep", stream=stream)
        bar.update(2)
        bar.close()
    assert quiet.getvalue() == ""  # a StringIO is not a terminal
    assert "2/4" in loud.getvalue() and "ETA" in loud.getvalue() and loud.getvalue().endswith("\n")


def test_monte_carlo_table_and_map(cli, scene_dir, tmp_path):
    out = tmp_path / "mc.parquet"
    assert cli("sweep", "--scene", str(scene_dir), *SMALL, "--mc-samples", "50", "--seed", "1", "-o", str(out)) == 0
    df, meta = read_table(out)
    assert meta["kind"] == "monte-carlo" and meta["samples"] == 50 and meta["seed"] == 1
    assert meta["hand_error"]["angle_sd_deg"] == pytest.approx(3.4 / np.sqrt(np.pi / 2))
    assert len(df) == 5 * 4 * 11 and ((df.p_any_lo <= df.p_any) & (df.p_any <= df.p_any_hi)).all()
    assert cli("map", str(out), "--depth", "100", "-o", str(tmp_path / "mc.png")) == 0


def test_monte_carlo_map_labels_name_the_depth_and_the_probability(analytic_scene):
    from needlesim.sweeps.maps import draw_map
    from needlesim.sweeps.montecarlo import breach_probability

    df = breach_probability(analytic_scene, samples=20, seed=1, lateral_deg="0:40:10", inferior_deg="0:30:10",
                            depths_mm="0:100:50", workers=1)
    drawn = draw_map(df, df.attrs["needlesim"], depth_mm=100)
    ax1, ax2, bar = drawn.figure.axes[0], drawn.figure.axes[1], drawn.figure.axes[-1]
    assert bar.get_ylabel() == "P(contact or dangerous breach) at 100 mm"
    assert ax2.get_title() == "critical structure most likely touched by 100 mm"
    assert _legend_labels(ax2)[0] == "none touched in any sample"
    assert drawn.short_of_bone == 0 and _no_hatch_label(ax1)


def _no_hatch_label(ax) -> bool:  # a Monte Carlo table has no reaches_bone column: no hatch
    from needlesim.sweeps.maps import SHORT_OF_BONE_LABEL

    return SHORT_OF_BONE_LABEL not in _legend_labels(ax)
