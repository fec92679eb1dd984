"""Teaching scenarios: a published case or a recommended aim, as a data file.

A scenario is a small TOML file (``needlesim/teaching/scenarios/*.toml`` for the built-in
ones; a user may open their own): its citation, a short narrative in plain words, the
scene (the built-in one, a drawn individual by seed, or a scene folder), the aim (entry,
angles, depth), the camera, the envelope it is judged against and the verdict it claims.

The loader is strict: the file must be a regular file under :data:`MAX_SCENARIO_BYTES`,
UTF-8 TOML (parsed by :mod:`tomllib`, which never executes anything), with only the keys
below, each of the right type and range. Every problem found is reported, one line each,
in one :class:`ScenarioError`.

.. code-block:: toml

    name = "nam2019-left-s2"
    title = "..."
    citation = "..."
    narrative = "..."
    envelope = "nam2019"          # optional, default nam2019
    [scene]
    builtin = true                # or: seed = 17   or: folder = "my-scene"
    [aim]
    entry = "left-entry"          # a landmark, or [x, y, z] in RAS mm with side
    lateral_deg = -46.0
    inferior_deg = 18.0
    depth_mm = 80.0
    [camera]
    view = "posterior"            # one of CAMERA_VIEWS
    zoom = 1.3                    # optional
    [expect]
    verdict = "danger"
    touches = ["left S2 root"]    # optional: critical structures the needle must touch
    first_event = "leaves the left ilium through the sacroiliac joint"  # optional: where playback pauses first
"""

from __future__ import annotations

import math
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import NeedlesimError
from ..core.model.trajectory import Trajectory
from ..core.verdict.risk import Verdict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Largest scenario file accepted, bytes: a scenario is a page of text, not data.
MAX_SCENARIO_BYTES = 64 * 1024
#: Camera views a scenario may name (the views of :mod:`needlesim.viz.scene_view`).
CAMERA_VIEWS = ("posterior", "lateral-left", "lateral-right", "axial", "oblique")
#: Largest seed of a drawn individual (the anatomy module takes any non-negative int).
MAX_SEED = 2**31 - 1

_TOP = {"name": str, "title": str, "citation": str, "narrative": str, "envelope": str,
        "scene": dict, "aim": dict, "camera": dict, "expect": dict}
_REQUIRED = ("name", "title", "citation", "narrative", "scene", "aim", "expect")
_AIM = {"entry", "side", "lateral_deg", "inferior_deg", "depth_mm", "needle_diameter_mm"}
_SCENE = {"builtin", "seed", "folder"}
_CAMERA = {"view", "zoom"}
_EXPECT = {"verdict", "first_event", "touches"}


class ScenarioError(NeedlesimError):
    """A scenario file is missing, too large, not TOML or has bad fields. ``problems``
    holds one line per problem; ``str()`` joins them with newlines."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.where, self.problems = where, list(problems)
        super().__init__("\n".join(f"{where}: {p}" for p in self.problems))


@dataclass(frozen=True)
class SceneRef:
    """Which scene a scenario is set in: the built-in one, a drawn individual, or a folder."""

    seed: int | None = None
    folder: str | None = None

    @property
    def builtin(self) -> bool:
        return self.seed is None and self.folder is None

    def describe(self) -> str:
        if self.seed is not None:
            return f"individual drawn with seed {self.seed}"
        return f"scene folder {self.folder}" if self.folder else "built-in scene (Visible Human Female)"


@dataclass(frozen=True)
class Camera:
    view: str = "posterior"
    zoom: float = 1.0


@dataclass(frozen=True)
class Scenario:
    """One teaching scenario (see the module docstring for the file format)."""

    name: str
    title: str
    citation: str
    narrative: str
    scene: SceneRef
    trajectory: Trajectory
    camera: Camera
    expected_verdict: Verdict
    envelope: str = "nam2019"
    first_event: str | None = None
    touches: tuple[str, ...] = ()
    source: str = ""

    def to_toml(self) -> str:
        """The scenario as the TOML text :func:`parse_scenario` reads back."""
        t = self.trajectory
        q = _quote
        entry = q(t.entry) if isinstance(t.entry, str) else "[" + ", ".join(f"{x!r}" for x in t.entry) + "]"
        scene = "builtin = true" if self.scene.builtin else (
            f"seed = {self.scene.seed}" if self.scene.seed is not None else f"folder = {q(self.scene.folder)}")
        lines = [f"name = {q(self.name)}", f"title = {q(self.title)}", f"citation = {q(self.citation)}",
                 f"narrative = {q(self.narrative)}", f"envelope = {q(self.envelope)}", "", "[scene]", scene, "",
                 "[aim]", f"entry = {entry}", f"side = {q(t.side.value)}", f"lateral_deg = {t.lateral_deg!r}",
                 f"inferior_deg = {t.inferior_deg!r}", f"depth_mm = {t.depth_mm!r}",
                 f"needle_diameter_mm = {t.needle_diameter_mm!r}", "", "[camera]", f"view = {q(self.camera.view)}",
                 f"zoom = {self.camera.zoom!r}", "", "[expect]", f"verdict = {q(self.expected_verdict.value)}"]
        if self.touches:
            lines.append("touches = [" + ", ".join(q(x) for x in self.touches) + "]")
        if self.first_event:
            lines.append(f"first_event = {q(self.first_event)}")
        return "\n".join(lines) + "\n"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def read_scenario_file(path: str | Path) -> Scenario:
    """Load a scenario from a file, refusing anything that is not a small regular file."""
    p = Path(path)
    where = str(p)
    try:
        st = os.stat(p)
    except OSError as exc:
        raise ScenarioError(where, [f"cannot open scenario file ({exc.strerror or exc})"]) from None
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(where, ["not a regular file (a scenario is a .toml text file)"])
    if st.st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError(where, [f"{st.st_size} bytes is too large for a scenario "
                                    f"(at most {MAX_SCENARIO_BYTES // 1024} KiB)"])
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_SCENARIO_BYTES + 1)
        text = data.decode("utf-8")
    except OSError as exc:
        raise ScenarioError(where, [f"cannot read scenario file ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError:
        raise ScenarioError(where, ["not UTF-8 text"]) from None
    return parse_scenario(text, where=where, base=p.parent)


def parse_scenario(text: str, *, where: str = "scenario", base: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML text; every problem is listed in one error."""
    if not text.strip():
        raise ScenarioError(where, ["the file is empty"])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, [f"not valid TOML ({exc})"]) from None
    problems: list[str] = []
    for key in sorted(set(doc) - set(_TOP)):
        problems.append(f"unknown key {key!r}; valid keys: {', '.join(sorted(_TOP))}")
    for key in _REQUIRED:
        if key not in doc:
            problems.append(f"missing {key!r}")
    for key, kind in _TOP.items():
        if key in doc and not isinstance(doc[key], kind):
            problems.append(f"{key!r} must be a {'table' if kind is dict else 'string'}")
        elif kind is str and key in doc and not doc[key].strip():
            problems.append(f"{key!r} is empty")
    scene = _scene(doc.get("scene"), problems, base)
    camera = _camera(doc.get("camera", {}), problems)
    verdict, first_event, touches = _expect(doc.get("expect"), problems)
    envelope = doc.get("envelope", "nam2019") if isinstance(doc.get("envelope", "nam2019"), str) else "nam2019"
    trajectory = _aim(doc.get("aim"), problems)
    if problems:
        raise ScenarioError(where, problems)
    return Scenario(name=doc["name"], title=doc["title"], citation=doc["citation"],
                    narrative=" ".join(doc["narrative"].split()), scene=scene, trajectory=trajectory,
                    camera=camera, expected_verdict=verdict, envelope=envelope, first_event=first_event,
                    touches=touches, source=where)


def _unknown(table: dict, valid: set[str], section: str, problems: list[str]) -> None:
    for key in sorted(set(table) - valid):
        problems.append(f"unknown key {key!r} in [{section}]; valid: {', '.join(sorted(valid))}")


def _number(table: dict, key: str, section: str, problems: list[str], *, required: bool = True) -> float | None:
    if key not in table:
        if required:
            problems.append(f"[{section}] is missing {key!r}")
        return None
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        problems.append(f"{section}.{key} must be a number, got {v!r}")
        return None
    if not math.isfinite(v):
        problems.append(f"{section}.{key} must be finite, got {v!r}")
        return None
    return float(v)


def _scene(table: object, problems: list[str], base: Path | None) -> SceneRef:
    if not isinstance(table, dict):
        return SceneRef()
    _unknown(table, _SCENE, "scene", problems)
    given = [k for k in ("builtin", "seed", "folder") if k in table]
    if len(given) != 1:
        problems.append("[scene] needs exactly one of builtin = true, seed = N or folder = \"path\"")
        return SceneRef()
    key, v = given[0], table[given[0]]
    if key == "builtin":
        if v is not True:
            problems.append("scene.builtin must be true (or give seed or folder instead)")
        return SceneRef()
    if key == "seed":
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEED:
            problems.append(f"scene.seed must be a whole number from 0 to {MAX_SEED}, got {v!r}")
            return SceneRef()
        return SceneRef(seed=v)
    if not isinstance(v, str) or not v.strip():
        problems.append("scene.folder must be a path (a string)")
        return SceneRef()
    folder = Path(v) if base is None or Path(v).is_absolute() else base / v
    return SceneRef(folder=str(folder))


def _camera(table: object, problems: list[str]) -> Camera:
    if not isinstance(table, dict):
        return Camera()
    _unknown(table, _CAMERA, "camera", problems)
    view = table.get("view", "posterior")
    if view not in CAMERA_VIEWS:
        problems.append(f"camera.view must be one of {', '.join(CAMERA_VIEWS)}, got {view!r}")
        view = "posterior"
    zoom = _number(table, "zoom", "camera", problems, required=False)
    if zoom is not None and not 0.2 <= zoom <= 5.0:
        problems.append(f"camera.zoom {zoom:g} is out of range: it must be from 0.2 to 5")
        zoom = None
    return Camera(view=view, zoom=1.0 if zoom is None else zoom)


def _expect(table: object, problems: list[str]) -> tuple[Verdict, str | None, tuple[str, ...]]:
    if not isinstance(table, dict):
        return Verdict.SAFE, None, ()
    _unknown(table, _EXPECT, "expect", problems)
    v = table.get("verdict")
    try:
        verdict = Verdict(v)
    except ValueError:
        problems.append(f"expect.verdict must be one of safe, caution, danger, got {v!r}")
        verdict = Verdict.SAFE
    first = table.get("first_event")
    if first is not None and (not isinstance(first, str) or not first.strip()):
        problems.append("expect.first_event must be a non-empty string")
        first = None
    touches = table.get("touches", [])
    if not isinstance(touches, list) or not all(isinstance(x, str) and x for x in touches):
        problems.append("expect.touches must be a list of structure names")
        touches = []
    return verdict, first, tuple(touches)


def _aim(table: object, problems: list[str]) -> Trajectory | None:
    if not isinstance(table, dict):
        return None
    _unknown(table, _AIM, "aim", problems)
    entry = table.get("entry")
    if isinstance(entry, list) and len(entry) == 3 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in entry):
        entry = tuple(float(x) for x in entry)
    elif not isinstance(entry, str) or not entry:
        problems.append("aim.entry must be a landmark name or [x, y, z] in RAS mm")
        entry = None
    side = table.get("side")
    if side is not None and side not in ("left", "right"):
        problems.append(f"aim.side must be 'left' or 'right', got {side!r}")
        side = None
    nums = {k: _number(table, k, "aim", problems) for k in ("lateral_deg", "inferior_deg", "depth_mm")}
    diameter = _number(table, "needle_diameter_mm", "aim", problems, required=False)
    if entry is None or any(v is None for v in nums.values()):
        return None
    kwargs = {} if diameter is None else {"needle_diameter_mm": diameter}
    try:
        return Trajectory(entry, nums["lateral_deg"], nums["inferior_deg"], nums["depth_mm"], side=side, **kwargs)
    except NeedlesimError as exc:
        problems.append(f"[aim]: {exc}")
        return None
