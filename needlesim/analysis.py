"""Questions asked of a scene in the docs and tests: the aims the case reports describe,
and the published distances a scene is calibrated against. numpy + the core only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core.needle.engine import get_engine
from .core.errors import NeedlesimError
from .core.model.scene import Scene
from .core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_NEEDLE_DIAMETER_MM
from .core.model.trajectory import Trajectory


@dataclass(frozen=True)
class ContactAim:
    """The aim from ``entry`` that reaches ``structure`` at the shallowest depth."""

    entry: str
    structure: str
    lateral_deg: float
    inferior_deg: float
    contact_depth_mm: float
    directions_searched: int


def shallowest_contact(scene: Scene, entry: str, structure: str, *, lateral=(-60.0, 40.0), inferior=(-30.0, 50.0),
                       step_deg: float = 1.0, max_depth_mm: float = 150.0,
                       needle_diameter_mm: float = DEFAULT_NEEDLE_DIAMETER_MM) -> ContactAim:
    """Search a lateral x inferior grid from ``entry`` for the aim whose needle first
    touches ``structure`` at the smallest depth (from the skin puncture)."""
    engine = get_engine(scene, needle_diameter_mm=needle_diameter_mm, margin_mm=DEFAULT_MARGIN_MM)
    names = [engine.structures[i].name for i in engine.critical_ids]
    if structure not in names:
        raise NeedlesimError(f"{structure!r} is not a critical structure of this scene")
    k = names.index(structure)
    best = (np.inf, np.nan, np.nan)
    lats = np.arange(lateral[0], lateral[1] + 1e-9, step_deg)
    infs = np.arange(inferior[0], inferior[1] + 1e-9, step_deg)
    n = 0
    entry_point = scene.landmark(entry)
    for lat in lats:  # a documentation query, not an interactive path
        for inf in infs:
            try:
                t = Trajectory(entry, float(lat), float(inf), 0.0, needle_diameter_mm=needle_diameter_mm)
            except NeedlesimError:
                continue
            d = np.asarray(t.direction)
            puncture, _ = engine.skin_puncture(entry_point, d)
            depth = engine.contact_depths(puncture, d, engine.radius, max_depth_mm)[k]
            n += 1
            if depth < best[0]:
                best = (float(depth), float(lat), float(inf))
    if not np.isfinite(best[0]):
        raise NeedlesimError(f"no aim from {entry} within the grid reaches the {structure} within {max_depth_mm:g} mm")
    return ContactAim(entry, structure, best[1], best[2], best[0], n)
