"""The scene model: named structures (role, side, level, critical, triangle mesh in mm)
and named landmarks, all in the patient frame (RAS, mm; see ``docs/conventions.md``).

Structures and scenes are immutable. Their arrays are read-only and a scene's
:attr:`Scene.geometry_key` is a hash of every vertex and face, so an acceleration
structure keyed on it can never go stale (pyvista's cached ``obbTree`` does).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping

import numpy as np

from ..errors import LandmarkError, ManifestError
from ..tolerances import DEFAULT_CORTICAL_THICKNESS_MM


class Role(str, enum.Enum):
    """What a structure is. The role decides its colour, whether it is bone, and whether
    it is critical by default."""

    SKIN = "skin"
    CORTICAL_BONE = "cortical_bone"
    MARROW = "marrow"
    SACRUM = "sacrum"
    NERVE_ROOT = "nerve_root"
    DURA = "dura"
    NERVE = "nerve"
    VESSEL = "vessel"
    JOINT = "joint"
    OTHER = "other"

    @property
    def is_bone(self) -> bool:
        return self in (Role.CORTICAL_BONE, Role.SACRUM)

    @property
    def critical_by_default(self) -> bool:
        return self in (Role.NERVE_ROOT, Role.DURA, Role.NERVE, Role.VESSEL)


class Side(str, enum.Enum):
    LEFT = "left"
    RIGHT = "right"
    MIDLINE = "midline"

    @property
    def lateral_sign(self) -> float:
        """+1 where lateral is +x (RAS: the patient's right), -1 on the left."""
        if self is Side.MIDLINE:
            raise ValueError("the midline has no lateral direction")
        return 1.0 if self is Side.RIGHT else -1.0


class Level(str, enum.Enum):
    L5 = "L5"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"
    S5 = "S5"


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Structure:
    """One named structure of a scene.

    Parameters
    ----------
    name : str
        Unique within a scene, e.g. ``"left S2 root"``.
    role : Role
    vertices : (n, 3) float, mm, RAS
    faces : (m, 3) int
        Triangles, counter-clockwise seen from outside (outward normals).
    side : Side
    level : Level or None
    critical : bool
        Whether touching it is ``danger`` and nearing it ``caution``.
    cortical_thickness_mm : float
        For bone without a marrow mesh of its own: how deep the cortex is.
    closed : bool
        Whether the mesh is watertight and consistently wound, so inside/outside is
        well defined. Open meshes load with a warning.
    marrow_faces : (k,) int or None
        For a bone modelled as a cortical *shell* (an outer and an inner surface joined into
        one closed mesh, as the Visible Human ilia are): the faces of the inner, endosteal
        surface. The cavity they bound is marrow. ``None``: a solid bone, whose marrow is
        its interior deeper than ``cortical_thickness_mm``.
    """

    name: str
    role: Role
    vertices: np.ndarray
    faces: np.ndarray
    side: Side = Side.MIDLINE
    level: Level | None = None
    critical: bool = False
    cortical_thickness_mm: float = DEFAULT_CORTICAL_THICKNESS_MM
    closed: bool = True
    source: str = ""
    marrow_faces: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        f = np.asarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
            raise ManifestError(f"structure {self.name!r}: vertices must be (n, 3) and faces (m, 3)")
        object.__setattr__(self, "vertices", _readonly(v))
        object.__setattr__(self, "faces", _readonly(f))
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "side", Side(self.side))
        if self.level is not None:
            object.__setattr__(self, "level", Level(self.level))
        if self.marrow_faces is not None:
            mf = np.unique(np.asarray(self.marrow_faces, dtype=np.int64))
            if len(mf) and (mf[0] < 0 or mf[-1] >= len(f)):
                raise ManifestError(f"structure {self.name!r}: marrow_faces index faces it does not have")
            object.__setattr__(self, "marrow_faces", _readonly(mf))

    @classmethod
    def from_trimesh(cls, name: str, role: Role, mesh, **kwargs) -> "Structure":
        """Build from a :class:`trimesh.Trimesh`; ``critical`` defaults to the role's."""
        role = Role(role)
        kwargs.setdefault("critical", role.critical_by_default)
        kwargs.setdefault("closed", bool(mesh.is_watertight and mesh.is_winding_consistent))
        return cls(name=name, role=role, vertices=mesh.vertices, faces=mesh.faces, **kwargs)

    @cached_property
    def mesh(self):
        """A :class:`trimesh.Trimesh` view of the structure (do not modify it)."""
        import trimesh

        return trimesh.Trimesh(self.vertices, self.faces, process=False, validate=False)

    @cached_property
    def triangles(self) -> np.ndarray:
        """(m, 3, 3) float, mm: the corners of every triangle."""
        t = self.vertices[self.faces]
        t.flags.writeable = False
        return t

    @cached_property
    def geometry_key(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(self.vertices.tobytes())
        h.update(self.faces.tobytes())
        return h.hexdigest()

    @property
    def is_bone(self) -> bool:
        return self.role.is_bone

    def with_mesh(self, vertices: np.ndarray, faces: np.ndarray | None = None) -> "Structure":
        """A copy with new geometry (new faces drop ``marrow_faces``, which index the old)."""
        if faces is None:
            return replace(self, vertices=vertices)
        return replace(self, vertices=vertices, faces=faces, marrow_faces=None)

    def transformed(self, matrix: np.ndarray) -> "Structure":
        """A copy moved by a (4, 4) homogeneous matrix. A mirroring matrix flips the winding."""
        m = np.asarray(matrix, dtype=np.float64)
        v = self.vertices @ m[:3, :3].T + m[:3, 3]
        f = self.faces if np.linalg.det(m[:3, :3]) > 0 else self.faces[:, ::-1]
        return replace(self, vertices=v, faces=f)


@dataclass(frozen=True, eq=False)
class Scene:
    """A set of named structures and named landmarks in the patient frame (RAS, mm)."""

    structures: tuple[Structure, ...]
    landmarks: Mapping[str, np.ndarray] = field(default_factory=dict)
    name: str = "scene"
    source: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        structures = tuple(self.structures)
        names = [s.name for s in structures]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ManifestError(f"scene {self.name!r}: structure names must be unique, repeated: {dupes}")
        if not structures:
            raise ManifestError(f"scene {self.name!r} has no structures")
        object.__setattr__(self, "structures", structures)
        lm = {}
        for k, p in dict(self.landmarks).items():
            p = np.asarray(p, dtype=np.float64).reshape(3)
            if not np.all(np.isfinite(p)):
                raise ManifestError(f"landmark {k!r} has a non-finite coordinate")
            lm[str(k)] = _readonly(p)
        object.__setattr__(self, "landmarks", lm)

    def __getitem__(self, name: str) -> Structure:
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(f"no structure named {name!r}; the scene has {self.names}")

    def __iter__(self):
        return iter(self.structures)

    def __len__(self) -> int:
        return len(self.structures)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.structures]

    def by_role(self, *roles: Role) -> list[Structure]:
        return [s for s in self.structures if s.role in roles]

    @property
    def critical(self) -> list[Structure]:
        return [s for s in self.structures if s.critical]

    @cached_property
    def geometry_key(self) -> str:
        """A hash of every structure's geometry, role and flags: the key of any cache."""
        h = hashlib.blake2b(digest_size=16)
        for s in self.structures:
            h.update(f"{s.name}|{s.role.value}|{s.critical}|{s.cortical_thickness_mm}|".encode())
            h.update(s.geometry_key.encode())
            if s.marrow_faces is not None:
                h.update(s.marrow_faces.tobytes())
        return h.hexdigest()

    @cached_property
    def landmarks_key(self) -> str:
        """A hash of the geometry and of every landmark (name and point): the key of a cache
        of anything built from both (an individual warped from this scene)."""
        h = hashlib.blake2b(self.geometry_key.encode(), digest_size=16)
        for name in sorted(self.landmarks):
            h.update(name.encode() + b"|" + np.asarray(self.landmarks[name], dtype=np.float64).tobytes())
        return h.hexdigest()

    @cached_property
    def bounds(self) -> np.ndarray:
        """(2, 3) float, mm: the box around every structure."""
        lo = np.min([s.vertices.min(axis=0) for s in self.structures], axis=0)
        hi = np.max([s.vertices.max(axis=0) for s in self.structures], axis=0)
        return np.array([lo, hi])

    def landmark(self, name: str) -> np.ndarray:
        """The (3,) point of a named landmark, mm; a clear error listing the known ones."""
        try:
            return self.landmarks[name]
        except KeyError:
            known = ", ".join(sorted(self.landmarks)) or "none"
            raise LandmarkError(f"unknown landmark {name!r}; this scene has: {known}") from None

    def with_structures(self, structures: Iterable[Structure]) -> "Scene":
        return replace(self, structures=tuple(structures))

    def with_landmarks(self, landmarks: Mapping[str, np.ndarray]) -> "Scene":
        return replace(self, landmarks=dict(landmarks))

    def transformed(self, matrix: np.ndarray) -> "Scene":
        """The scene moved by a (4, 4) matrix: structures and landmarks alike."""
        m = np.asarray(matrix, dtype=np.float64)
        lm = {k: m[:3, :3] @ p + m[:3, 3] for k, p in self.landmarks.items()}
        return replace(self, structures=tuple(s.transformed(m) for s in self.structures), landmarks=lm)
