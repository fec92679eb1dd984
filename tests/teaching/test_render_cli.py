"""``needlesim scenario render NAME -o x.gif|x.mp4|x.png`` end to end, headless: each format
is written and reads back with imageio as what it claims, with frames that change as the
needle advances. Small frames of the small analytic scene (a scenario file may name a scene
folder), so the three renders take seconds."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.cli import main
from tests.conftest import write_manifest

imageio = pytest.importorskip("imageio.v3")

W, H = 160, 120
SCENARIO = """
name = "straight-through-the-slab"
title = "Straight through the slab"
citation = "analytic phantom (tests/conftest.py)"
narrative = "The needle goes straight in, through the bone slab and out of it."
[scene]
folder = "{folder}"
[aim]
entry = "left-psis"
lateral_deg = 0.0
inferior_deg = 0.0
depth_mm = 90.0
[camera]
view = "lateral-left"
[expect]
verdict = "{verdict}"
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory, analytic_scene):
    from needlesim.teaching import load_scenario, run_scenario

    folder = write_manifest(analytic_scene, tmp_path_factory.mktemp("scene"))
    path = folder / "straight.toml"
    path.write_text(SCENARIO.format(folder=folder.as_posix(), verdict="safe"))
    verdict = run_scenario(load_scenario(path)).verdict.value
    path.write_text(SCENARIO.format(folder=folder.as_posix(), verdict=verdict))
    return path


def _render(scenario_file, out, capsys):
    assert main(["scenario", "render", str(scenario_file), "--size", f"{W}x{H}", "--speed", "200",
                 "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}") and "pauses where it leaves the left ilium" in said
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("kind", ["gif", "mp4"])
def test_a_video_has_frames_that_follow_the_needle(scenario_file, tmp_path, capsys, kind):
    out = tmp_path / f"straight.{kind}"
    _render(scenario_file, out, capsys)
    frames = imageio.imread(out, index=None)  # every frame, (n, h, w, channels)
    assert frames.ndim == 4 and frames.shape[0] > 1 and frames.shape[1:3] == (H, W)
    scene = frames[:, H // 2:, :, :3].astype(int)  # below the read-out text: the needle itself
    assert np.abs(scene[0] - scene[-1]).mean() > 0.5  # the needle has advanced
    steps = [np.abs(scene[i + 1] - scene[i]).mean() for i in range(len(scene) - 1)]
    assert sum(s > 0.2 for s in steps) >= 2  # in steps, not one jump
    if kind == "mp4":  # the pause at the breach is held (2 s at 10 frames/s); a gif stores a held frame once
        assert sum(s < 0.05 for s in steps) >= 10
    assert frames.std() > 10  # not blank


def test_an_image_strip_has_one_tile_per_stage(scenario_file, tmp_path, capsys):
    out = tmp_path / "straight.png"
    _render(scenario_file, out, capsys)
    img = imageio.imread(out)
    assert img.shape[1] == 3 * W and img.shape[0] % H == 0 and img.shape[0] >= H
    tiles = [img[r:r + H, c:c + W, :3].astype(int) for r in range(0, img.shape[0], H) for c in range(0, 3 * W, W)]
    drawn = [t for t in tiles if t.std() > 5]  # the last row may end with white padding
    assert len(drawn) >= 3  # in soft tissue, at the breach, at the full depth
    assert all(np.abs(a - b).mean() > 1.0 for a, b in zip(drawn, drawn[1:]))


def test_a_bad_size_is_refused_before_any_work(scenario_file, tmp_path, capsys):
    for bad in ("160", "100x120", "8x8", "axb"):
        out = tmp_path / "x.gif"
        assert main(["scenario", "render", str(scenario_file), "--size", bad, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--size" in err and not out.exists()


def test_pictures_draw_the_axial_view_in_parallel_projection_framing_the_bone(analytic_scene):
    """A picture's axial view is orthographic (in perspective, a view from the feet zoomed on
    the needle looks oblique), framed on the bone's extent across the view; the others stay
    in perspective; the caption says the axial view is seen from the feet."""
    from needlesim.viz.scene_view import view_caption
    from needlesim.viz.teaching_render import OffscreenView

    bone = np.vstack([s.vertices for s in analytic_scene if s.is_bone])
    width, height = np.ptp(bone[:, 0]), np.ptp(bone[:, 1])  # from the feet: R-L across, anterior up
    with OffscreenView(analytic_scene, size=(W, H)) as ov:
        ov.aim("axial", 1.0)
        cam = ov.plotter.camera
        assert cam.parallel_projection
        assert cam.parallel_scale == pytest.approx(0.5 * 1.05 * max(height, width * H / W), rel=1e-6)
        ov.aim("axial", 2.0)
        assert cam.parallel_scale == pytest.approx(0.25 * 1.05 * max(height, width * H / W), rel=1e-6)
        ov.aim("posterior", 1.0)
        assert not cam.parallel_projection
    assert view_caption("axial") == "axial view (from the feet)"
    assert view_caption("lateral-left") == "lateral left view"
