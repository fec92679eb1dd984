"""The angle-space risk map of one entry, for the app: every lateral x inferior aim on a
grid, swept once (:func:`needlesim.core.batch.sweep.sweep_entry`), then re-judged at any
depth from the swept depths without casting again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.batch.sweep import Code, SweepResult, sweep_entry, verdicts
from ..core.geometry.raycast import Backend
from ..core.model.scene import Scene
from ..core.model.trajectory import Trajectory
from ..core.needle.engine import get_engine
from ..core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM, DEFAULT_NEEDLE_DIAMETER_MM
from ..core.verdict.envelope import Envelope

#: Default map: 1 deg over lateral -60..60 and inferior -40..60 (12,221 aims).
DEFAULT_STEP_DEG = 1.0
DEFAULT_LATERAL = (-60.0, 60.0)
DEFAULT_INFERIOR = (-40.0, 60.0)


@dataclass(frozen=True, eq=False)
class AngleMap:
    """A swept grid of aims from one entry (``ni`` inferior rows x ``nl`` lateral columns)."""

    lateral_deg: np.ndarray  #: (nl,)
    inferior_deg: np.ndarray  #: (ni,)
    result: SweepResult
    envelope: Envelope
    geometry_key: str = ""  #: of the scene swept

    @property
    def entry(self) -> str:
        return self.result.entry

    def verdict_grid(self, depth_mm: float) -> np.ndarray:
        """(ni, nl) :class:`Code` at ``depth_mm`` (the sweep's rules; infeasible aims -1)."""
        r = self.result
        v = verdicts(r.contact_mm, r.margin_contact_mm, r.breach_mm, r.danger_breach_mm, r.inside_envelope,
                     np.array([float(depth_mm)]), self.envelope.depth_mm, bone_entry_mm=r.bone_entry_mm,
                     other_side_mm=r.other_side_mm)[:, 0]
        v = np.where(r.feasible, v, np.int8(Code.INFEASIBLE))
        return v.reshape(len(self.inferior_deg), len(self.lateral_deg))

    def max_safe_grid(self) -> np.ndarray:
        """(ni, nl) the deepest depth whose verdict (the envelope aside) is safe, mm."""
        return self.result.max_safe_mm.reshape(len(self.inferior_deg), len(self.lateral_deg))

    def cell(self, lateral_deg: float, inferior_deg: float) -> tuple[int, int] | None:
        """(row, column) of the cell holding an aim, or ``None`` off the grid."""
        step_l = self.lateral_deg[1] - self.lateral_deg[0] if len(self.lateral_deg) > 1 else 1.0
        step_i = self.inferior_deg[1] - self.inferior_deg[0] if len(self.inferior_deg) > 1 else 1.0
        j = int(round((lateral_deg - self.lateral_deg[0]) / step_l))
        i = int(round((inferior_deg - self.inferior_deg[0]) / step_i))
        if 0 <= i < len(self.inferior_deg) and 0 <= j < len(self.lateral_deg):
            return i, j
        return None

    def verdict_at(self, lateral_deg: float, inferior_deg: float, depth_mm: float) -> Code | None:
        c = self.cell(lateral_deg, inferior_deg)
        return None if c is None else Code(int(self.verdict_grid(depth_mm)[c]))

    def matches(self, scene: Scene, trajectory: Trajectory) -> bool:
        """Whether this map was swept for the trajectory's entry in this scene."""
        return isinstance(trajectory.entry, str) and trajectory.entry == self.entry and \
            self.geometry_key == scene.geometry_key


def angle_map(scene: Scene, entry: str, envelope: Envelope, *, step_deg: float = DEFAULT_STEP_DEG,
              lateral: tuple[float, float] = DEFAULT_LATERAL, inferior: tuple[float, float] = DEFAULT_INFERIOR,
              margin_mm: float = DEFAULT_MARGIN_MM, backend: Backend | str = Backend.EMBREE,
              needle_diameter_mm: float = DEFAULT_NEEDLE_DIAMETER_MM,
              max_length_mm: float = DEFAULT_MAX_LENGTH_MM) -> AngleMap:
    """Sweep the grid from ``entry`` (a landmark) in one batch of casts."""
    if not step_deg > 0:
        raise ValueError(f"map step must be positive, got {step_deg!r}")
    lat = np.round(np.arange(lateral[0], lateral[1] + 1e-9, step_deg), 9)
    inf = np.round(np.arange(inferior[0], inferior[1] + 1e-9, step_deg), 9)
    L, I = np.meshgrid(lat, inf)
    engine = get_engine(scene, backend=backend, needle_diameter_mm=needle_diameter_mm, margin_mm=margin_mm)
    r = sweep_entry(engine, entry, L.ravel(), I.ravel(), depths_mm=np.array([0.0]), envelope=envelope,
                    max_length_mm=max_length_mm)
    return AngleMap(lat, inf, r, envelope, scene.geometry_key)
