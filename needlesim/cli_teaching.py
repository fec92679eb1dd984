"""``needlesim scenario list|show|render`` and ``needlesim report``: thin shells over
:mod:`needlesim.teaching` (and :mod:`needlesim.viz.teaching_render` for images)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from .core.errors import NeedlesimError

#: Seconds a video holds on a breach or a contact.
PAUSE_S = 1.5
#: Depth step between video frames, mm.
VIDEO_STEP_MM = 1.0
#: Most frames in an image strip.
STRIP_FRAMES = 6
OUTPUT_KINDS = (".mp4", ".gif", ".png")
#: Frame sizes (width, height) of a video and of each frame of a strip, pixels, and the
#: range ``--size`` accepts (a multiple of 8 each way: the H.264 macro block).
VIDEO_SIZE = (960, 720)
STRIP_SIZE = (720, 560)
SIZE_RANGE = (64, 3840)


class OutputPathError(NeedlesimError):
    """An output file cannot be written, or its kind is not known."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``scenario`` and ``report`` to the ``needlesim`` sub-command parsers."""
    s = sub.add_parser("scenario", help="the teaching scenarios: published cases and recommended aims",
                       description="List, show and render teaching scenarios (built-in names or .toml files).")
    ss = s.add_subparsers(dest="scenario_command", metavar="ACTION", required=True, parser_class=type(s))
    ls = ss.add_parser("list", help="list the built-in scenarios")
    ls.set_defaults(func=_cmd_list)
    sh = ss.add_parser("show", help="print a scenario's narrative, aim, verdict and reasons")
    sh.add_argument("name", help="a built-in scenario name or a scenario .toml file")
    sh.add_argument("--backend", choices=["embree", "exact"], default="embree")
    sh.set_defaults(func=_cmd_show)
    rd = ss.add_parser("render", help="render the insertion as a video (.mp4, .gif) or an image strip (.png)")
    rd.add_argument("name", help="a built-in scenario name or a scenario .toml file")
    rd.add_argument("-o", "--output", type=Path, required=True, help="nam.mp4, nam.gif or nam.png")
    rd.add_argument("--speed", type=float, default=10.0, metavar="MM_S", help="insertion speed, mm/s (default 10)")
    rd.add_argument("--size", metavar="WxH", help=f"frame size in pixels (default {VIDEO_SIZE[0]}x{VIDEO_SIZE[1]} "
                                                 f"for a video, {STRIP_SIZE[0]}x{STRIP_SIZE[1]} per frame of a strip)")
    rd.set_defaults(func=_cmd_render)
    _add_report(sub)


def _add_report(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("report", help="write a one-page plan card (PDF or HTML) for a scenario or a trajectory",
                       description="A one-page plan card: two rendered views, the angles and depth, the verdict "
                                   "and its reasons, clearances, the envelope rule by rule, the tissue path, the "
                                   "citation, the scene and the app version. Give --scenario, or an aim.")
    r.add_argument("--scenario", help="a built-in scenario name or a scenario .toml file")
    r.add_argument("--entry", help="bone entry: a landmark name or 'x,y,z' in RAS mm")
    r.add_argument("--side", choices=["left", "right"])
    r.add_argument("--lateral", type=float, metavar="DEG")
    r.add_argument("--inferior", type=float, metavar="DEG")
    r.add_argument("--depth", type=float, metavar="MM")
    r.add_argument("--envelope", default=None, help="envelope name or TOML (default: the scenario's, or nam2019)")
    r.add_argument("--scene", type=Path, help="scene folder for an aim (default: the built-in scene)")
    r.add_argument("--compare", metavar="SCENARIO", help="set the card against this scenario's aim (the reference)")
    r.add_argument("--no-images", action="store_true", help="no 3D renders (the fluoroscopic view stays: see --fluoro)")
    r.add_argument("--fluoro", default="best", metavar="VIEW",
                   help="the fluoroscopic view on the card: best (the standard view that shows the needle "
                        "longest; AP unless another is clearly better), AP, inlet, outlet, oblique, lateral, "
                        "or none")
    r.add_argument("-o", "--output", type=Path, required=True, help="card.pdf or card.html")
    from .cli import add_landmarks_option

    add_landmarks_option(r)
    r._negative_number_matcher = __import__("re").compile(r"^-\d+$|^-\d*\.\d+$")
    r.set_defaults(func=_cmd_report)


def _cmd_list(args: argparse.Namespace) -> int:
    from .teaching import list_scenarios, load_scenario

    for name in list_scenarios():
        s = load_scenario(name)
        print(f"{name:<28} {s.expected_verdict.value:<8} {s.title}")
    return 0


def describe(scenario, report) -> str:
    """The text ``scenario show`` prints."""
    from .core.model.results import clearance_text

    t = scenario.trajectory
    entry = t.entry if isinstance(t.entry, str) else ", ".join(f"{x:.1f}" for x in t.entry)
    wrap = lambda s: textwrap.fill(s, width=96, subsequent_indent="  ")  # noqa: E731
    lines = [scenario.title, "", textwrap.fill(scenario.narrative, width=96), "",
             wrap(f"source: {scenario.citation}"), f"scene: {scenario.scene.describe()}",
             f"aim: {t.side.value} entry {entry}, lateral {t.lateral_deg:g} deg, inferior {t.inferior_deg:g} deg, "
             f"depth {t.depth_mm:g} mm (envelope {scenario.envelope})",
             f"verdict: {report.verdict.value.upper()} (the scenario claims {scenario.expected_verdict.value})"]
    lines += [f"  - {r.text}" for r in report.reasons]
    lines.append(f"path: {report.evaluation.describe_path()}")
    near = sorted(report.evaluation.contacts, key=lambda c: c.clearance_mm)[:3]
    lines.append("nearest: " + ", ".join(f"{c.structure} {clearance_text(c.clearance_mm)}" for c in near))
    return "\n".join(lines)


def _cmd_show(args: argparse.Namespace) -> int:
    from .teaching import load_scenario, run_scenario

    s = load_scenario(args.name)
    r = run_scenario(s, backend=args.backend)
    print(describe(s, r))
    return 0 if r.verdict is s.expected_verdict else 1


def check_output(path: Path, kinds=OUTPUT_KINDS) -> Path:
    """Refuse, before any work, an output of unknown kind or in a missing folder."""
    if path.suffix.lower() not in kinds:
        raise OutputPathError(f"output {path} must end in {', '.join(kinds)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {path}: folder {parent} does not exist")
    if path.is_dir():
        raise OutputPathError(f"output {path} is a folder")
    return path


def frame_size(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` from ``"WxH"`` (or ``default``), each a multiple of 8 in :data:`SIZE_RANGE`."""
    if text is None:
        return default
    lo, hi = SIZE_RANGE
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise OutputPathError(f"--size {text!r}: give WIDTHxHEIGHT in pixels, e.g. 320x240") from None
    if not (lo <= w <= hi and lo <= h <= hi and w % 8 == 0 and h % 8 == 0):
        raise OutputPathError(f"--size {text}: width and height must be multiples of 8 from {lo} to {hi}")
    return w, h


def check_speed(speed_mm_s: float) -> float:
    """Refuse an insertion speed outside (0, 200] mm/s."""
    if not speed_mm_s > 0 or speed_mm_s > 200:
        raise OutputPathError(f"speed {speed_mm_s:g} mm/s is out of range: give 0 to 200 mm/s")
    return speed_mm_s


def video_depths(playback, speed_mm_s: float, fps: int) -> list[float]:
    """Depths of the video's frames: ``speed / fps`` apart, each pause held ``PAUSE_S``."""
    from .teaching.playback import advance

    check_speed(speed_mm_s)
    pos, out = 0.0, [0.0]
    while pos < playback.depth_mm:
        pos, event = advance(pos, 1.0 / fps, speed_mm_s, playback)
        out += [pos] * (int(PAUSE_S * fps) if event is not None else 1)
    return out + [pos] * int(PAUSE_S * fps)


def strip_depths(playback) -> list[float]:
    """Up to :data:`STRIP_FRAMES` depths for slides: in soft tissue, at the bone, at each
    breach or contact, at the full depth."""
    ev = playback.evaluation
    marks = [min(15.0, playback.depth_mm)]
    if ev.soft_tissue_mm is not None and ev.soft_tissue_mm < playback.depth_mm:
        marks.append(ev.soft_tissue_mm + 2.0)
    marks += [e.depth_mm for e in playback.events if e.pauses]
    marks = sorted(set(m for m in marks if m < playback.depth_mm))[:STRIP_FRAMES - 1]  # exact: a pause's frame
    return marks + [playback.depth_mm]


def _cmd_render(args: argparse.Namespace) -> int:
    from .teaching import Playback, load_scenario, run_scenario, scenario_scene
    from .viz.teaching_render import VIDEO_FPS, image_strip, playback_frames, write_video

    out = check_output(args.output)
    strip = out.suffix.lower() == ".png"
    size = frame_size(args.size, STRIP_SIZE if strip else VIDEO_SIZE)
    if not strip:
        check_speed(args.speed)  # refused before any work
    s = load_scenario(args.name)
    scene = scenario_scene(s)
    pb = Playback(scene, run_scenario(s, scene=scene))
    if strip:
        import imageio.v2 as imageio

        frames = playback_frames(scene, pb, strip_depths(pb), view=s.camera.view, zoom=s.camera.zoom, size=size)
        imageio.imwrite(out, image_strip(frames, columns=3))
    else:
        depths = video_depths(pb, args.speed, VIDEO_FPS)
        unique = sorted(set(depths))
        frames = dict(zip(unique, playback_frames(scene, pb, unique, view=s.camera.view, zoom=s.camera.zoom,
                                                  size=size)))
        write_video([frames[d] for d in depths], out, fps=VIDEO_FPS)
    pause = pb.pause_event
    print(f"wrote {out}: {s.name}, {pb.depth_mm:g} mm, verdict {pb.report.verdict.value}"
          + (f"; pauses where it {pause.message}" if pause else ""))
    return 0


def _label(label: str, corrected) -> str:
    return label if corrected is None else f"{label}; {corrected.describe()}"


def _report_subject(args: argparse.Namespace):
    """(scene, scene label, scenario or None, report) from the arguments (``--landmarks``:
    the scene corrected by the file, named on the card)."""
    from .cli import _load_scene, _parse_entry, corrected_scene
    from .core.api import check
    from .core.model.trajectory import Trajectory
    from .teaching import load_scenario, run_scenario, scenario_scene

    if args.scenario:
        s = load_scenario(args.scenario)
        scene, corrected = corrected_scene(scenario_scene(s), args.landmarks)
        env = args.envelope or s.envelope
        return scene, _label(s.scene.describe(), corrected), s, check(scene, s.trajectory, envelope=env)
    missing = [f"--{k}" for k in ("entry", "lateral", "inferior", "depth") if getattr(args, k) is None]
    if missing:
        raise OutputPathError(f"give --scenario NAME, or an aim: missing {', '.join(missing)}")
    scene, corrected = corrected_scene(_load_scene(args.scene), args.landmarks)
    traj = Trajectory(_parse_entry(args.entry), args.lateral, args.inferior, args.depth, side=args.side)
    label = "built-in scene (Visible Human Female)" if args.scene is None else f"scene {args.scene}"
    return scene, _label(label, corrected), None, check(scene, traj, envelope=args.envelope or "nam2019")


def card_images(scene, report, *, view: str = "oblique", zoom: float = 1.4, compare=None) -> list:
    """The card's pictures: the posterior view and the scenario's view, off-screen."""
    from .viz.scene_view import view_caption
    from .viz.teaching_render import still_views

    views = [("posterior", 1.3), (view if view != "posterior" else "axial", zoom)]
    imgs = still_views(scene, report, views, compare=compare)
    return [(view_caption(v), img) for (v, _), img in zip(views, imgs)]


def _cmd_report(args: argparse.Namespace) -> int:
    from .teaching import load_scenario, run_scenario
    from .teaching.card import make_card, write_html, write_pdf

    from .teaching.fluoro import VIEWS

    out = check_output(args.output, kinds=(".pdf", ".html"))
    if args.fluoro not in ("best", "none", *VIEWS):
        raise OutputPathError(f"unknown --fluoro {args.fluoro!r}: give best, none or one of {', '.join(VIEWS)}")
    scene, label, scenario, report = _report_subject(args)
    reference = None
    if args.compare:
        ref = load_scenario(args.compare)
        reference = run_scenario(ref, scene=scene)
    images = [] if args.no_images else card_images(
        scene, report, view=scenario.camera.view if scenario else "oblique",
        zoom=scenario.camera.zoom if scenario else 1.4, compare=reference)
    if args.fluoro != "none":
        from .teaching.fluoro_view import card_picture

        images.append(card_picture(scene, report, view=args.fluoro, compare=reference))
    card = make_card(report, scene=label, scenario=scenario, compare_with=reference, images=images)
    (write_pdf if out.suffix.lower() == ".pdf" else write_html)(card, out)
    print(f"wrote {out}: verdict {report.verdict.value}" + (f"; {card.comparison}" if card.comparison else ""))
    return 0
