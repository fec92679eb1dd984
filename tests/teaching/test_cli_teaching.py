"""``needlesim scenario ...``: list, show, render; errors are one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.cli import main
from needlesim.teaching import list_scenarios


def test_scenario_list_names_every_scenario_with_its_verdict(capsys):
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list_scenarios()
    assert any(line.split()[:2] == ["nam2019-left-s2", "danger"] for line in out)


def test_scenario_show_prints_narrative_verdict_and_reasons(capsys):
    assert main(["scenario", "show", "nam2019-left-s2"]) == 0
    out = capsys.readouterr().out
    assert "left S2 root" in out and "verdict: DANGER (the scenario claims danger)" in out
    assert "  - touches the left S2 root at 78.2 mm" in out and "BMC Cancer 2019;19:347" in out


def test_a_user_scenario_that_no_longer_holds_exits_1(tmp_path, capsys):
    from needlesim.teaching import load_scenario

    text = load_scenario("envelope-centre-left").to_toml().replace('verdict = "safe"', 'verdict = "danger"')
    p = tmp_path / "wrong.toml"
    p.write_text(text)
    assert main(["scenario", "show", str(p)]) == 1
    assert "verdict: SAFE (the scenario claims danger)" in capsys.readouterr().out


def test_bad_inputs_are_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n")
    assert main(["scenario", "show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("needlesim scenario: error: ") and "'name' must be a string" in err
    assert main(["scenario", "render", "nam2019-left-s2", "-o", str(tmp_path / "x.avi")]) == 2
    assert "must end in .mp4, .gif, .png" in capsys.readouterr().err
    assert main(["scenario", "render", "nam2019-left-s2", "-o", str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_video_depths_hold_each_pause(builtin_scene):
    from needlesim.cli_teaching import PAUSE_S, strip_depths, video_depths
    from needlesim.teaching import Playback, load_scenario, run_scenario

    pb = Playback(builtin_scene, run_scenario(load_scenario("nam2019-left-s2"), scene=builtin_scene))
    depths = np.array(video_depths(pb, 10.0, 10))
    assert depths[0] == 0 and depths[-1] == pb.depth_mm and np.all(np.diff(depths) >= 0)
    assert np.all(np.diff(depths) <= 1.0 + 1e-9)  # 10 mm/s at 10 frames/s
    for e in (e for e in pb.events if e.pauses):
        assert np.count_nonzero(depths == e.depth_mm) == int(PAUSE_S * 10)
    strip = strip_depths(pb)
    assert strip[-1] == pb.depth_mm and len(strip) <= 6
    assert pb.pause_event.depth_mm in strip


@pytest.mark.slow
def test_render_writes_an_image_strip(tmp_path):
    import imageio.v2 as imageio

    png = tmp_path / "nam.png"
    assert main(["scenario", "render", "nam2019-left-s2", "-o", str(png)]) == 0
    img = imageio.imread(png)
    assert img.shape[0] >= 2 * 560 and img.shape[1] == 3 * 720  # two rows of three frames
    assert img.std() > 10  # not blank
