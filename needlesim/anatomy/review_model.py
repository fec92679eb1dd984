"""The landmark review as data (Qt-free; the app's landmark dock is a thin view of it).

A :class:`LandmarkReview` holds one scene's landmarks as the reviewer corrects them: where
each one is now, its confidence and how far it has moved. Moving a landmark keeps it on its
bone: the point is taken to the nearest point of the bone it was found on and lifted off it
by the distance it was found at (0 for a point on the bone, such as a PSIS; a foramen's or the
canal's centre stays as far from the rim as the search put it), so a drag slides it over
the bone and never into it or off into space. A moved landmark has confidence 1 (placed by a
person, as :func:`.landmarks.landmarks_from_points` takes it). Saving and loading use the 3D
Slicer markups files of :mod:`.review`; rebuilding calls :func:`.review.rebuild_from_landmarks`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import trimesh

from needlesim.anatomy.landmarks import LANDMARK_NAMES
from needlesim.anatomy.review import LandmarkFile, read_landmarks, rebuild_from_landmarks, write_landmarks
from needlesim.core.errors import ManifestError, NeedlesimError
from needlesim.core.model.scene import Scene

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Display bands of the confidence (a "look here first" score, not a probability: see
#: :mod:`.landmarks`). 1 means every check passed with margin and each doubt multiplies it by a
#: factor below 1, so under 0.9 at least one check raised a doubt ...
REVIEW_BELOW = 0.9
#: ... and under 0.5 several doubts or a strong one did: the landmark is likely misplaced.
DOUBTFUL_BELOW = 0.5
#: A loaded landmark farther than this from every bone is refused, mm. Landmarks lie on the
#: bone or inside its openings (a foramen's or the sacral canal's centre, under 10 mm from
#: its rim); a file in another frame or unit puts points tens of mm off.
MAX_OFF_BONE_MM = 25.0
_FORAMEN = re.compile(r"^(left|right)-s[1-9]-(dorsal|ventral)-foramen$")


class RebuildCancelled(NeedlesimError):
    """The user cancelled a rebuild; the scene is unchanged."""


class Band(Enum):
    """How much a landmark needs looking at."""

    OK = "ok"
    REVIEW = "review"
    DOUBTFUL = "doubtful"


def band(confidence: float) -> Band:
    """The display band of a confidence (:data:`REVIEW_BELOW`, :data:`DOUBTFUL_BELOW`)."""
    return Band.DOUBTFUL if confidence < DOUBTFUL_BELOW else Band.REVIEW if confidence < REVIEW_BELOW else Band.OK


@dataclass(frozen=True)
class LandmarkRow:
    """One landmark as the review shows it: RAS mm point, confidence, band, distance moved (mm)."""

    name: str
    point: np.ndarray
    confidence: float
    band: Band
    moved_mm: float


def scene_confidence(scene: Scene) -> tuple[dict[str, float], tuple[str, ...], tuple[str, ...]]:
    """(confidence by landmark, the landmarks not found, what the search saw) of ``scene``:
    from the record it was built on, else from the landmarks file its manifest names (points
    without a confidence are taken as placed by a person: 1)."""
    record = getattr((scene.metadata or {}).get("anatomy"), "landmarks", None)
    if record is not None:
        return dict(record.confidence), tuple(record.missing), tuple(record.log)
    seen = str(dict((scene.metadata or {}).get("source") or {}).get("landmark_search", ""))
    log = tuple(s for s in seen.split(" | ") if s)
    path = _landmarks_file(scene)
    if path is None:
        return {}, (), log
    try:
        given = read_landmarks(path)
    except ManifestError:
        return {}, (), log
    return dict(given.confidence), given.missing, log


def _landmarks_file(scene: Scene) -> Path | None:
    manifest = Path(scene.source or "")
    if manifest.is_dir():
        manifest = manifest / "scene.toml"
    try:
        name = tomllib.loads(manifest.read_text(encoding="utf-8")).get("scene", {}).get("landmarks")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    path = manifest.parent / str(name) if name else None
    return path if path is not None and path.is_file() else None


class LandmarkReview:
    """The landmarks of ``scene`` under review (module docstring).

    Parameters
    ----------
    scene : Scene
        A scene with bones and landmarks (RAS mm).
    confidence : mapping of str to float, optional
        Default: :func:`scene_confidence`.
    """

    def __init__(self, scene: Scene, confidence: Mapping[str, float] | None = None) -> None:
        self.scene = scene
        known, self.missing, self.log = scene_confidence(scene)
        if confidence is not None:
            known = dict(confidence)
        self.bones = {s.name: s.mesh for s in scene.structures if s.is_bone}
        self.original = {k: np.asarray(v, float).copy() for k, v in scene.landmarks.items()}
        self.points = {k: v.copy() for k, v in self.original.items()}
        self.confidence = {k: float(known.get(k, 1.0)) for k in self.points}
        self._bone: dict[str, str] = {}
        self._lift_mm: dict[str, float] = {}
        self._placed = False  # which bone each landmark is on: found on the first move (~1 s)

    def _ensure_placed(self) -> None:
        if not self._placed:
            self._place(self.original)
            self._placed = True

    def _distances(self, points: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
        """(bone names, (n points, n bones) distances, mm)."""
        names = list(self.bones)
        p = np.array([points[k] for k in points], float).reshape(-1, 3)
        if not len(p) or not names:
            return names, np.zeros((len(p), len(names)))
        return names, np.column_stack([trimesh.proximity.closest_point(self.bones[b], p)[1] for b in names])

    def _place(self, points: Mapping[str, np.ndarray]) -> None:
        """Record the bone each point lies on (the nearest) and its distance from it."""
        bones, d = self._distances(points)
        if not bones:
            return
        for i, name in enumerate(points):
            j = int(np.argmin(d[i]))
            self._bone[name], self._lift_mm[name] = bones[j], float(d[i, j])

    # -- reading -----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The landmark names, in the search's order, then any others by name."""
        order = {n: i for i, n in enumerate(LANDMARK_NAMES)}
        return sorted(self.points, key=lambda n: (order.get(n, len(order)), n))

    def row(self, name: str) -> LandmarkRow:
        c = self.confidence[name]
        return LandmarkRow(name, self.points[name].copy(), c, band(c), self.moved_mm(name))

    def rows(self) -> list[LandmarkRow]:
        return [self.row(n) for n in self.names]

    def moved_mm(self, name: str) -> float:
        """How far ``name`` is from where the scene has it, mm (0 for one added by a file)."""
        if name not in self.original:
            return 0.0
        return float(np.linalg.norm(self.points[name] - self.original[name]))

    @property
    def moved(self) -> list[str]:
        """The landmarks not where the scene has them."""
        return [n for n in self.names if n not in self.original or self.moved_mm(n) > 0.0]

    # -- editing -----------------------------------------------------------------------------
    def constrain(self, name: str, point: np.ndarray) -> np.ndarray:
        """Where ``name`` goes when dragged to ``point`` (module docstring), RAS mm."""
        p = np.asarray(point, float).reshape(3)
        if not np.all(np.isfinite(p)):
            raise NeedlesimError(f"{name}: the point {p} is not finite")
        self._ensure_placed()
        bone = self._bone.get(name)
        if bone is None:
            return p
        mesh = self.bones[bone]
        q, _, face = trimesh.proximity.closest_point(mesh, p[None])
        return q[0] + self._lift_mm[name] * mesh.face_normals[face[0]]

    def move(self, name: str, point: np.ndarray) -> np.ndarray:
        """Move ``name`` towards ``point``, kept on its bone; return where it went."""
        if name not in self.points:
            raise NeedlesimError(f"no landmark {name!r} in this scene")
        self.points[name] = self.constrain(name, point)
        self.confidence[name] = 1.0
        return self.points[name].copy()

    def reset(self) -> None:
        """Every landmark back where the scene has it, with the scene's confidence."""
        self.__init__(self.scene)

    # -- files -------------------------------------------------------------------------------
    def as_file(self) -> LandmarkFile:
        """The landmarks as :func:`.review.write_landmarks` and the rebuild take them."""
        return LandmarkFile(dict(self.points), dict(self.confidence), tuple(self.missing))

    def save(self, path: str | Path) -> Path:
        """Write the landmarks as a 3D Slicer fiducial list (:mod:`.review`)."""
        try:
            return write_landmarks(path, self.as_file(), name=f"{self.scene.name} landmarks")
        except OSError as exc:
            raise ManifestError(f"{path}: cannot be written ({exc.strerror or exc})") from None

    def load(self, path: str | Path) -> list[str]:
        """Take the points of a markups file (every one checked first; on an error nothing
        changes); return the names whose point changed."""
        given = read_landmarks(path)
        for name in given.points:
            if name not in self.points and name not in LANDMARK_NAMES and not _FORAMEN.match(name):
                raise ManifestError(f"{path}: {name!r} is not a landmark needlesim knows (names in docs/anatomy.md)")
        _, d = self._distances(given.points)
        for name, off in zip(given.points, d.min(axis=1) if d.size else []):
            if off > MAX_OFF_BONE_MM:
                raise ManifestError(f"{path}: {name} lies {off:.0f} mm from every bone: is the file in this "
                                    f"scene's frame (RAS or LPS, mm)?")
        changed = [n for n, p in given.points.items() if n not in self.points or not np.allclose(p, self.points[n])]
        self._ensure_placed()
        self._place({n: p for n, p in given.points.items() if n not in self._bone})
        for name, p in given.points.items():
            self.points[name] = np.asarray(p, float).copy()
            self.confidence[name] = float(given.confidence.get(name, 1.0))
        self.missing = tuple(m for m in given.missing if m not in self.points)
        return changed

    # -- rebuilding --------------------------------------------------------------------------
    def rebuild(self, *, progress: Callable[[float, str], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> Scene:
        """The scene with its anatomy rebuilt on these landmarks (:func:`.review.rebuild_from_landmarks`).

        ``cancel()`` returning True stops the rebuild at its next step (:class:`RebuildCancelled`).
        """
        def tell(fraction: float, message: str) -> None:
            if cancel is not None and cancel():
                raise RebuildCancelled("rebuild cancelled: the scene is unchanged")
            if progress is not None:
                progress(fraction, message)

        return rebuild_from_landmarks(self.scene, self.as_file(), progress=tell)
