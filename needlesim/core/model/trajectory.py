"""A needle trajectory: where it enters the bone, which way it points, how deep it goes,
and how thick it is. Angles and depth follow ``docs/conventions.md``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .conventions import direction_from_angles, projected_angles
from ..errors import LandmarkError, TrajectoryError
from .scene import Scene, Side
from ..tolerances import DEFAULT_NEEDLE_DIAMETER_MM

#: Deepest a trajectory may go, mm: no harvest needle is longer than this.
MAX_DEPTH_MM = 300.0
#: Thickest needle accepted, mm (a 4 G trocar is about 5 mm).
MAX_DIAMETER_MM = 10.0


@dataclass(frozen=True)
class Trajectory:
    """A needle aimed from a bone entry point.

    Parameters
    ----------
    entry : str or (3,) float
        A landmark name (e.g. ``"left-psis"``) or a point in RAS mm on the bone.
    lateral_deg, inferior_deg : float, degrees
        See :mod:`needlesim.core.model.conventions`.
    depth_mm : float, mm
        How far the tip is along the needle from the skin puncture.
    side : Side or None
        Side of entry. Inferred from a landmark named ``left-...``/``right-...``.
    needle_diameter_mm : float, mm
        Outer diameter (default 8 G, 3.26 mm).
    """

    entry: str | tuple[float, float, float]
    lateral_deg: float
    inferior_deg: float
    depth_mm: float
    side: Side | None = None
    needle_diameter_mm: float = DEFAULT_NEEDLE_DIAMETER_MM
    direction: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entry = self.entry
        if not isinstance(entry, str):
            try:
                entry = tuple(float(x) for x in np.asarray(entry, dtype=float).reshape(3))
            except (TypeError, ValueError):
                raise TrajectoryError(f"entry must be a landmark name or 3 coordinates, got {self.entry!r}") from None
            if not all(math.isfinite(x) for x in entry):
                raise TrajectoryError(f"entry coordinates must be finite, got {entry}")
            object.__setattr__(self, "entry", entry)
        side = self.side if self.side is not None else _side_of(entry)
        check_side(entry, side)
        try:
            object.__setattr__(self, "side", Side(side))
        except ValueError:
            raise TrajectoryError(f"side must be 'left' or 'right', got {side!r}") from None
        if self.side is Side.MIDLINE:
            raise TrajectoryError("a harvest trajectory enters on the left or the right, not the midline")
        _check_range("depth", self.depth_mm, 0.0, MAX_DEPTH_MM, "mm")
        _check_range("needle diameter", self.needle_diameter_mm, 0.0, MAX_DIAMETER_MM, "mm", open_lo=True)
        for name in ("lateral_deg", "inferior_deg", "depth_mm", "needle_diameter_mm"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "direction", direction_from_angles(self.lateral_deg, self.inferior_deg, self.side))
        self.direction.flags.writeable = False

    @property
    def radius_mm(self) -> float:
        return self.needle_diameter_mm / 2.0

    @property
    def projected_deg(self) -> tuple[float, float]:
        """``(axial_deg, sagittal_deg)``: the angles read on an axial and a sagittal image."""
        return projected_angles(self.direction, self.side)

    def entry_point(self, scene_or_landmarks) -> np.ndarray:
        """The bone entry point in RAS mm: a landmark looked up in a scene (or in a mapping
        of landmarks), or the coordinates given."""
        if not isinstance(self.entry, str):
            return np.array(self.entry)
        if isinstance(scene_or_landmarks, Scene):
            return scene_or_landmarks.landmark(self.entry)
        if self.entry not in scene_or_landmarks:
            known = ", ".join(sorted(scene_or_landmarks)) or "none"
            raise LandmarkError(f"unknown landmark {self.entry!r}; this scene has: {known}")
        return np.asarray(scene_or_landmarks[self.entry], dtype=float)

    def to_dict(self) -> dict:
        axial, sagittal = self.projected_deg
        return {
            "entry": self.entry if isinstance(self.entry, str) else list(self.entry),
            "side": self.side.value, "lateral_deg": self.lateral_deg, "inferior_deg": self.inferior_deg,
            "depth_mm": self.depth_mm, "needle_diameter_mm": self.needle_diameter_mm,
            "direction": [float(x) for x in self.direction],
            "axial_projected_deg": axial, "sagittal_projected_deg": sagittal,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Trajectory":
        try:
            return cls(entry=d["entry"] if isinstance(d["entry"], str) else tuple(d["entry"]),
                       lateral_deg=d["lateral_deg"], inferior_deg=d["inferior_deg"], depth_mm=d["depth_mm"],
                       side=d.get("side"), needle_diameter_mm=d.get("needle_diameter_mm", DEFAULT_NEEDLE_DIAMETER_MM))
        except (KeyError, TypeError) as exc:
            raise TrajectoryError(f"not a trajectory: missing or bad field {exc}") from None


def _side_of(entry: object) -> str:
    if isinstance(entry, str):
        for s in ("left", "right"):
            if entry.lower().startswith(s):
                return s
        raise TrajectoryError(f"cannot tell the side from landmark {entry!r}: give side='left' or 'right'")
    raise TrajectoryError("an entry given as coordinates needs side='left' or 'right'")


def check_side(entry: object, side: object) -> None:
    """Refuse a side that contradicts the side in a landmark's name (``left-psis`` with
    side ``right``): the lateral angle would point the other way than the user reads it."""
    if not isinstance(entry, str) or side is None:
        return
    named = next((s for s in ("left", "right") if entry.lower().startswith(s)), None)
    given = getattr(side, "value", side)
    if named is not None and given in ("left", "right") and given != named:
        raise TrajectoryError(f"side {given!r} contradicts entry {entry!r}, a {named} landmark: drop the side, "
                              f"or use the {given} landmark")


def _check_range(name: str, value: object, lo: float, hi: float, unit: str, *, open_lo: bool = False) -> None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TrajectoryError(f"{name} must be a number of {unit}, got {value!r}") from None
    if not math.isfinite(v):
        raise TrajectoryError(f"{name} must be finite, got {value!r}")
    if v < lo or v > hi or (open_lo and v == lo):
        raise TrajectoryError(f"{name} {v:g} {unit} is out of range: it must be {'above' if open_lo else 'at least'} {lo:g} and at most {hi:g} {unit}")
