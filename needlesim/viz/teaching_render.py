"""Off-screen renders for teaching: playback frames (a video or an image strip) and the
still views of a plan card. pyvista only, no Qt; the frames come from
:class:`needlesim.teaching.playback.Playback` and are never recomputed here."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np
import pyvista as pv

from ..core.model.scene import Scene
from ..core.verdict.risk import RiskReport
from .colors import VERDICT_COLORS
from .scene_view import ORTHOGRAPHIC_VIEWS, SceneView

#: Frame size of videos and strips, pixels.
FRAME_SIZE = (960, 720)
#: Caption font size (VTK points; fixed, so every frame of a video reads the same).
CAPTION_FONT_SIZE = 10
#: Frames per second of a playback video.
VIDEO_FPS = 10


class OffscreenView:
    """One off-screen plotter with a :class:`SceneView`; close it when done."""

    def __init__(self, scene: Scene, *, size: tuple[int, int] = FRAME_SIZE) -> None:
        self.plotter = pv.Plotter(off_screen=True, window_size=size)
        self.plotter.set_background("white")
        self.view = SceneView(self.plotter)
        self.view.set_scene(scene)
        self._text: list[object] = []

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self) -> "OffscreenView":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def aim(self, view: str, zoom: float, report: RiskReport | None = None) -> None:
        """A standard view, centred on the needle's middle (if a report is given), zoomed;
        :data:`ORTHOGRAPHIC_VIEWS` in parallel projection."""
        self.view.view(view, report)
        self.view.set_orthographic(view in ORTHOGRAPHIC_VIEWS)
        cam = self.plotter.camera
        if report is not None and view != "needle":
            ev = report.evaluation
            mid = np.asarray(ev.skin_puncture) + 0.5 * ev.depth_mm * np.asarray(ev.trajectory.direction)
            shift = mid - np.asarray(cam.focal_point)
            cam.focal_point = tuple(mid)
            cam.position = tuple(np.asarray(cam.position) + shift)
        cam.zoom(zoom)
        self.plotter.reset_camera_clipping_range()

    def image(self, report: RiskReport | None, *, lines: Sequence[str] = (), color: str = "black",
              compare: RiskReport | None = None) -> np.ndarray:
        """(h, w, 3) uint8: the scene with ``report``'s needle and a caption."""
        self.view.show_report(report, compare=compare)
        for actor in self._text:
            self.plotter.remove_actor(actor, render=False)
        # a text actor at a fixed size, hung from the top left ("upper_left" is a corner
        # annotation, which shrinks its font as lines grow: frames of one video differed)
        w, h = self.plotter.window_size
        # wrapped to the frame: a character is about 0.9 font sizes wide in VTK's default font
        chars = max(30, int((w - 16) / (0.9 * CAPTION_FONT_SIZE)))
        text = "\n".join(textwrap.fill(line, width=chars, subsequent_indent="  ") for line in lines)
        self._text = [self.plotter.add_text(text, position=(8, h - 8), font_size=CAPTION_FONT_SIZE, color=color)] \
            if lines else []
        for actor in self._text:  # a pale box behind the caption: coloured text over bone is hard to read
            prop = actor.GetTextProperty()
            prop.SetVerticalJustificationToTop()
            prop.SetBackgroundColor(1.0, 1.0, 1.0)
            prop.SetBackgroundOpacity(0.75)
        self.plotter.render()  # a camera move alone does not mark the off-screen window dirty
        return np.asarray(self.plotter.screenshot(return_img=True))


def playback_frames(scene: Scene, playback, depths: Sequence[float], *, view: str, zoom: float,
                    size: tuple[int, int] = FRAME_SIZE) -> list[np.ndarray]:
    """One image per depth: the needle to that depth, the tissue read-out, the verdict and,
    from the first breach or contact on, its message."""
    out = []
    with OffscreenView(scene, size=size) as ov:
        ov.aim(view, zoom, playback.report)
        for d in depths:
            f = playback.frame(d)
            passed = [e for e in playback.events if e.pauses and e.depth_mm <= f.depth_mm + 1e-5]
            lines = [f"{f.tip_text}", f"verdict: {f.verdict.value.upper()}"]
            if f.clearances:
                lines.append(f"nearest: {f.nearest_text(1)}")
            lines += [f"! {e.message}" for e in passed]
            out.append(ov.image(playback.report_at(d), lines=lines, color=VERDICT_COLORS[f.verdict.value]))
    return out


def write_video(frames: Sequence[np.ndarray], path: str | Path, *, fps: int = VIDEO_FPS) -> Path:
    """Write frames as ``.mp4`` (imageio-ffmpeg) or ``.gif``."""
    import imageio.v2 as imageio

    path = Path(path)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, [np.asarray(f) for f in frames], duration=1.0 / fps, loop=0)
    else:
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=8, quality=7) as w:
            for f in frames:
                w.append_data(np.asarray(f))
    return path


def image_strip(frames: Sequence[np.ndarray], *, columns: int = 3) -> np.ndarray:
    """Frames tiled left to right, top to bottom, on white (one picture for a slide)."""
    h, w = frames[0].shape[:2]
    rows = -(-len(frames) // columns)
    out = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
    for i, f in enumerate(frames):
        r, c = divmod(i, columns)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = f[..., :3]
    return out


def still_views(scene: Scene, report: RiskReport, views: Sequence[tuple[str, float]], *,
                size: tuple[int, int] = (640, 520), compare: RiskReport | None = None) -> list[np.ndarray]:
    """Images of ``report`` (and ``compare``) from each ``(view, zoom)``."""
    out = []
    with OffscreenView(scene, size=size) as ov:
        for view, zoom in views:
            ov.aim(view, zoom, report)
            out.append(ov.image(report, compare=compare))
    return out
