"""A scene with its landmarks replaced by a corrected 3D Slicer markups file
(``needlesim check|sweep|map|report --landmarks FILE``).

The file is checked whole before anything is used, and every fault is named in one line:

- it must read as a markups file (:func:`.review.read_landmarks`: finite positions, unique
  labels, RAS or LPS in mm) and hold at least one placed point;
- every label must be a landmark of the scene, or a landmark the search can name
  (:data:`.landmarks.LANDMARK_NAMES`, and a foramen of any sacral level); a misspelt one is
  shown with the nearest known name;
- every point must lie within :data:`MAX_OFF_BONE_MM` of the bone surface (a file made for
  another scene, or in another frame, is tens of mm off);
- a left or right landmark must stay on its side of the scene's mid-plane between the ASISs.

:func:`apply_landmarks` does the same for points given as a mapping (a session file keeps
the corrected landmarks in its JSON: :mod:`needlesim.session_io`).

Points equal to the scene's (within :data:`MOVED_MM`) change nothing. When a moved point is
one the built anatomy is built from (:func:`used_by_build`: the foramina, the canal ends, the
sciatic notch tops, the PSISs and the ASISs), and the scene has built anatomy, the dural sac,
roots, nerves and vessels are rebuilt on the corrected landmarks with
:func:`.review.rebuild_from_landmarks` (the bones, skin and marrow stay as they are); the
others (the entries, the sacroiliac joints, the symphysis) are only replaced.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from needlesim.anatomy.landmarks import LANDMARK_NAMES, SIDES
from needlesim.anatomy.review import LandmarkFile, read_landmarks, rebuild_from_landmarks
from needlesim.anatomy.review_model import RebuildCancelled
from needlesim.core.errors import LandmarkError, ManifestError, NeedlesimError
from needlesim.core.model.scene import Scene

#: Farthest a landmark may lie from the bone surface, mm. Opening and canal centres lie off
#: the surface by the opening's or canal's radius: at most 7 mm on the built-in pelvis (the S2
#: ventral foramen), so 15 mm leaves room for a pelvis 1.5 times the size, while a point made
#: for another scene or read in the wrong frame (LPS as RAS) lies tens of mm off.
MAX_OFF_BONE_MM = 15.0
#: A point closer than this to the scene's landmark of the same name has not moved, mm: the
#: markups writer rounds to 1e-6 mm (:data:`needlesim.core.io.markups.POSITION_DECIMALS`).
MOVED_MM = 1e-4
#: Landmarks the built anatomy is made from (module docstring); the rest are only replaced.
_BUILD_LANDMARK = re.compile(r"^(left|right)-(asis|psis|sciatic-notch-top|s\d+-(dorsal|ventral)-foramen)$"
                             r"|^sacral-(canal-s1|hiatus)$")
#: Names the search can give beyond :data:`LANDMARK_NAMES` (a fifth or sixth foramen row).
_FORAMEN = re.compile(r"^(left|right)-s\d+-(dorsal|ventral)-foramen$")


@dataclass(frozen=True)
class CorrectedScene:
    """A scene with a landmarks file applied."""

    #: The scene with the file's landmarks (and, if ``rebuilt``, its anatomy rebuilt on them).
    scene: Scene
    #: The markups file (or, for :func:`apply_landmarks`, the ``where`` the points came from).
    path: Path | str
    #: Names whose points the file changed or added, in the file's order.
    moved: tuple[str, ...]
    rebuilt: bool
    #: SHA-256 of the file's bytes (a sweep table records it; ``map`` compares it); of the
    #: points (:func:`points_sha256`) for :func:`apply_landmarks`.
    sha256: str

    def describe(self) -> str:
        """One line: the file, what moved and whether the anatomy was rebuilt."""
        moved = ", ".join(self.moved) if self.moved else "none"
        what = ("the built anatomy rebuilt on them" if self.rebuilt
                else "the built anatomy unchanged (no landmark it is built from moved)")
        return f"landmarks from {self.path}: moved {moved}; {what}"


def used_by_build(name: str) -> bool:
    """Whether the built anatomy (dural sac, roots, nerves, vessels) is made from ``name``."""
    return bool(_BUILD_LANDMARK.match(name))


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _known(scene: Scene, name: str) -> bool:
    return name in scene.landmarks or name in LANDMARK_NAMES or bool(_FORAMEN.match(name))


def _unknown_names(scene: Scene, names: list[str], path: str | Path) -> None:
    unknown = [n for n in names if not _known(scene, n)]
    if not unknown:
        return
    vocabulary = sorted(set(scene.landmarks) | set(LANDMARK_NAMES))
    said = []
    for n in unknown:
        near = difflib.get_close_matches(n, vocabulary, n=1)
        said.append(f"{n!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    raise LandmarkError(f"{path}: {len(unknown)} unknown landmark name(s): {', '.join(said)}; "
                        "the names are in docs/anatomy.md, 'Landmarks, found by geometry'")


def bone_distance_mm(scene: Scene, points: np.ndarray) -> np.ndarray:
    """(n,) float, mm: each point's distance from the nearest bone surface of ``scene``."""
    bones = [s for s in scene.structures if s.is_bone]
    if not bones:
        raise ManifestError(f"the scene {scene.name!r} has no bone to check landmarks against")
    vertices = np.vstack([s.vertices for s in bones])
    upper = cKDTree(vertices).query(points)[0]  # the nearest vertex: never nearer than the surface
    out = upper.copy()
    far = upper > MAX_OFF_BONE_MM
    if far.any():  # only these need the exact surface distance
        mesh = trimesh.util.concatenate([s.mesh for s in bones])
        out[far] = trimesh.proximity.closest_point(mesh, points[far])[1]
    return out


def _far_from_bone(scene: Scene, given: Mapping[str, np.ndarray], path: str | Path) -> None:
    names = list(given)
    d = bone_distance_mm(scene, np.array([given[n] for n in names]))
    far = [(n, float(x)) for n, x in zip(names, d) if x > MAX_OFF_BONE_MM]
    if far:
        listed = ", ".join(f"{n} {x:.0f} mm" for n, x in far)
        raise LandmarkError(f"{path}: {len(far)} landmark(s) lie far from the bone ({listed}; at most "
                            f"{MAX_OFF_BONE_MM:g} mm): is the file for another scene, or in another frame?")


def _wrong_side(scene: Scene, given: Mapping[str, np.ndarray], path: str | Path) -> None:
    if not all(f"{s}-asis" in scene.landmarks for s in SIDES):
        return
    left, right = scene.landmarks["left-asis"], scene.landmarks["right-asis"]
    normal, centre = (right - left) / np.linalg.norm(right - left), (left + right) / 2
    wrong = [n for n, p in given.items() if n.split("-")[0] in SIDES
             and ((p - centre) @ normal < 0) != (n.startswith("left"))]
    if wrong:
        raise LandmarkError(f"{path}: on the wrong side of the midline (between the scene's ASISs): "
                            f"{', '.join(wrong)}; a left landmark stays on the left, a right one on the right")


def check_landmarks(scene: Scene, points: Mapping[str, np.ndarray], where: str) -> None:
    """Check landmark ``points`` (RAS mm, finite) whole against ``scene`` (module docstring);
    every message starts with ``where`` (the file, or a session's field, they came from).

    Raises
    ------
    ManifestError
        No point is given.
    LandmarkError
        An unknown name, a point far from the bone or on the wrong side; all of them named.
    """
    if not points:
        raise ManifestError(f"{where}: no landmark is given")
    _unknown_names(scene, list(points), where)
    _far_from_bone(scene, points, where)
    _wrong_side(scene, points, where)


def check_landmarks_file(scene: Scene, path: str | Path) -> LandmarkFile:
    """Read ``path`` and check it whole against ``scene`` (module docstring).

    Raises
    ------
    ManifestError
        The file cannot be read as markups, or holds no placed point.
    LandmarkError
        An unknown name, a point far from the bone or on the wrong side; all of them named.
    """
    path = Path(path)
    read = read_landmarks(path)
    if not read.points:
        raise ManifestError(f"{path}: the markups file places no landmark")
    check_landmarks(scene, read.points, str(path))
    return read


def built_anatomy(scene: Scene) -> bool:
    """Whether ``scene`` carries anatomy built by :mod:`needlesim.anatomy.build`."""
    source = dict((scene.metadata or {}).get("source") or {})
    return "anatomy" in (scene.metadata or {}) or any(k.startswith("anatomy_") for k in source)


def apply_landmarks_file(scene: Scene, path: str | Path, *,
                         progress: Callable[[float, str], None] | None = None) -> CorrectedScene:
    """``scene`` with the landmarks of ``path`` in place of its own (module docstring).

    Parameters
    ----------
    scene : Scene
    path : path of a 3D Slicer markups JSON (``.mrk.json``), points in the scene's frame
    progress : callable (fraction 0..1, message), optional
        Told as each stage of a rebuild starts.

    Raises
    ------
    NeedlesimError
        The file fails a check, or the anatomy cannot be rebuilt on its landmarks; one line,
        naming the file.
    """
    path = Path(path)
    read = check_landmarks_file(scene, path)
    sha = file_sha256(path)
    return _apply(scene, read.points, str(path), progress, "landmarks_file", {"path": str(path), "sha256": sha})


def apply_landmarks(scene: Scene, points: Mapping[str, np.ndarray], *, where: str, record: str = "landmarks_given",
                    confidence: Mapping[str, float] | None = None,
                    progress: Callable[[float, str], None] | None = None) -> CorrectedScene:
    """``scene`` with ``points`` (name -> (3,) float, RAS mm) in place of its landmarks: the
    same checks and rebuild as :func:`apply_landmarks_file`, for points that come from
    elsewhere (a session file). ``where`` starts every message; the scene's metadata gets
    ``record`` -> ``{"path": where, "moved": [...], "rebuilt": bool}``. ``confidence`` (name
    -> 0..1, default 1: placed by a person) goes into a rebuilt scene's landmark record.

    Raises
    ------
    NeedlesimError
        A point fails a check, or the anatomy cannot be rebuilt on them; one line, naming ``where``.
    """
    points = {str(k): np.asarray(v, dtype=np.float64).reshape(3) for k, v in points.items()}
    bad = [k for k, p in points.items() if not np.all(np.isfinite(p))]
    if bad:
        raise LandmarkError(f"{where}: {', '.join(map(repr, bad))} has a non-finite coordinate")
    check_landmarks(scene, points, where)
    return _apply(scene, points, where, progress, record, {"path": where}, dict(confidence or {}))


def _apply(scene: Scene, given: Mapping[str, np.ndarray], where: str, progress: Callable[[float, str], None] | None,
           record: str, about: dict, confidence: dict[str, float] | None = None) -> CorrectedScene:
    """The checked ``given`` points applied to ``scene`` (rebuilt where a build landmark moved)."""
    moved = tuple(n for n, p in given.items()
                  if n not in scene.landmarks or np.linalg.norm(p - scene.landmarks[n]) > MOVED_MM)
    points = {**scene.landmarks, **given}
    rebuild = built_anatomy(scene) and any(used_by_build(n) for n in moved)
    digest = about.get("sha256") or points_sha256(given)
    key = (scene.landmarks_key, digest, where, record, tuple(sorted((confidence or {}).items())))
    if _LAST.get("key") != key:
        taken = LandmarkFile(points, confidence, ()) if confidence else points
        corrected = _rebuilt(scene, taken, where, progress) if rebuild else scene.with_landmarks(points)
        meta = {**(corrected.metadata or {}), record: {**about, "moved": list(moved), "rebuilt": rebuild}}
        _LAST.clear()
        _LAST.update(key=key, scene=replace(corrected, metadata=meta))
    return CorrectedScene(_LAST["scene"], Path(where) if record == "landmarks_file" else where, moved, rebuild, digest)


def points_sha256(points: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named points: every name and its float64 coordinates, in name order."""
    h = hashlib.sha256()
    for name in sorted(points):
        h.update(name.encode() + b"|" + np.asarray(points[name], dtype=np.float64).tobytes())
    return h.hexdigest()


#: The last corrected scene of this process (a rebuild takes 20-40 s; a notebook, the app or a
#: test applying the same file to the same scene again gets it back).
_LAST: dict = {}


def _rebuilt(scene: Scene, points: Mapping[str, np.ndarray] | LandmarkFile, where: str,
             progress: Callable[[float, str], None] | None) -> Scene:
    try:
        return rebuild_from_landmarks(scene, points, progress=progress)
    except RebuildCancelled:
        raise
    except NeedlesimError as exc:
        raise type(exc)(f"{where}: the anatomy cannot be rebuilt on these landmarks: {exc}") from None


__all__ = ["CorrectedScene", "apply_landmarks", "apply_landmarks_file", "check_landmarks", "check_landmarks_file",
           "points_sha256", "used_by_build", "MAX_OFF_BONE_MM"]
