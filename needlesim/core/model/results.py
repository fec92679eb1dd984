"""The small frozen records the engine returns. Depths are mm along the needle from the
skin puncture; points are RAS mm."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Tissue(str, enum.Enum):
    """What the needle axis is in, over one stretch of its path."""

    OUTSIDE = "outside the body"
    SOFT_TISSUE = "soft tissue"
    CORTEX = "cortex"
    MARROW = "marrow"
    JOINT = "joint"
    CRITICAL = "critical structure"
    OTHER = "other"


@dataclass(frozen=True)
class Hit:
    """One crossing of a structure's surface by the needle line."""

    structure: str
    depth_mm: float
    entering: bool
    point: tuple[float, float, float]

    def to_dict(self) -> dict:
        return {"structure": self.structure, "depth_mm": self.depth_mm, "entering": self.entering,
                "point": list(self.point)}


@dataclass(frozen=True)
class PathSegment:
    """A stretch ``[start_mm, end_mm]`` of the needle path inside one tissue."""

    start_mm: float
    end_mm: float
    tissue: Tissue
    structure: str | None = None

    @property
    def length_mm(self) -> float:
        return self.end_mm - self.start_mm

    def describe(self) -> str:
        what = self.tissue.value if self.structure is None else f"{self.tissue.value} ({self.structure})"
        return f"{what} {self.start_mm:.1f}-{self.end_mm:.1f} mm"

    def to_dict(self) -> dict:
        return {"start_mm": self.start_mm, "end_mm": self.end_mm, "tissue": self.tissue.value,
                "structure": self.structure}


@dataclass(frozen=True)
class Breach:
    """The needle leaves a bone before its tip: through a table, a notch or a joint
    (``through``, a :class:`needlesim.core.needle.breach.BreachKind` value)."""

    structure: str
    depth_mm: float
    into: str
    through: str = "cortex"

    def describe(self) -> str:
        return f"leaves the {self.structure} through its {self.through} at {self.depth_mm:.1f} mm into {self.into}" \
            if self.through in ("inner table", "outer table", "cortex") else \
            f"leaves the {self.structure} through the {self.through} at {self.depth_mm:.1f} mm into {self.into}"

    def to_dict(self) -> dict:
        return {"structure": self.structure, "depth_mm": self.depth_mm, "into": self.into, "through": self.through}


@dataclass(frozen=True)
class Contact:
    """How the needle stands to one critical structure.

    Attributes
    ----------
    contact_depth_mm : depth at which a needle advanced along this line first touches the
        structure (its outer surface, radius included); ``inf`` if never within the cast.
    margin_depth_mm : depth at which it first comes within the margin; ``inf`` if never.
    clearance_mm : gap between the needle's outer surface (skin puncture to tip) and the
        structure; <= 0 is contact, ``-radius`` means the axis itself reaches it.
    needle_point, structure_point : the closest points (RAS mm).
    clearance_exact : False when the structure stays farther than
        ``Tolerances.exact_clearance_horizon_mm`` (25 mm, or margin + 10 mm if more) from the
        needle's surface, and the clearance is an upper bound within a few mm of the truth (no
        verdict depends on it). Every clearance up to that horizon is exact.
    """

    structure: str
    contact_depth_mm: float
    margin_depth_mm: float
    clearance_mm: float
    needle_point: tuple[float, float, float]
    structure_point: tuple[float, float, float]
    clearance_exact: bool = True

    @property
    def touches(self) -> bool:
        return self.clearance_mm <= 0.0

    def to_dict(self) -> dict:
        f = lambda x: None if not np.isfinite(x) else float(x)  # noqa: E731 (JSON has no inf)
        return {"structure": self.structure, "contact_depth_mm": f(self.contact_depth_mm),
                "margin_depth_mm": f(self.margin_depth_mm), "clearance_mm": float(self.clearance_mm),
                "clearance_exact": self.clearance_exact,
                "needle_point": list(self.needle_point), "structure_point": list(self.structure_point)}


def clearance_text(clearance_mm: float, *, exact: bool = True, touching: str = "touches") -> str:
    """A clearance in words, as every read-out says it: ``"12.3 mm"``, ``"~32.2 mm"`` (an upper
    bound), or, where the needle touches (:attr:`Contact.touches`), ``touching`` with the
    overlap (a negative distance on screen or paper reads as a typo): ``"touches (1.1 mm
    overlap)"``."""
    if clearance_mm > 0.0:
        return f"{'' if exact else '~'}{clearance_mm:.1f} mm"
    return f"{touching} ({-clearance_mm:.1f} mm overlap)" if round(-clearance_mm, 1) > 0 else touching


def _pt(p: np.ndarray) -> tuple[float, float, float]:
    return (float(p[0]), float(p[1]), float(p[2]))
