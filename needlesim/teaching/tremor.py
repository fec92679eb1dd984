"""Hand tremor: the submitted aim jittered by the measured free-hand error, and the
probability that an aim breaches under that error.

The error model is the Monte Carlo one of the sweeps (:class:`needlesim.sweeps.montecarlo.HandError`,
defaults and sources in :mod:`needlesim.sweeps.defaults`): the lateral and inferior angles each
off by N(0, ``angle_sd_deg``), the entry point off by N(0, ``entry_sd_mm``) left-right and
cranio-caudal (on the posterior surface, patient prone), the depth off by N(0,
``depth_sd_mm``). A draw uses the same five normals, in the same order, as one Monte Carlo
sample, so a trainee's jittered needle is one of the needles the probability counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.geometry.raycast import Backend
from ..core.model.scene import Scene
from ..core.model.trajectory import MAX_DEPTH_MM, Trajectory
from ..core.needle.engine import get_engine
from ..core.tolerances import DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM
from ..sweeps.defaults import DEFAULT_SEED
from ..sweeps.montecarlo import HandError, sample_aims

#: Samples for an aim's breach probability: 2,000 gives a 95 % interval about +/- 2
#: percentage points wide at p = 5 %, in well under a second on two cores.
DEFAULT_SAMPLES = 2000
#: Angles are clipped here after jitter, deg (the conventions' feasible range, as the
#: Monte Carlo engine does).
ANGLE_LIMIT_DEG = 85.0


@dataclass(frozen=True)
class TremorDraw:
    """One jitter of an aim: the nominal and the jittered trajectory, and the offsets."""

    nominal: Trajectory
    jittered: Trajectory
    lateral_off_deg: float
    inferior_off_deg: float
    entry_off_mm: tuple[float, float, float]  #: RAS, the y component 0
    depth_off_mm: float

    def words(self) -> str:
        """E.g. ``"your hand moved the aim 2.1 deg lateral, 1.3 deg cephalad, the entry
        2.4 mm and the depth +1.8 mm"``."""
        lat, inf = self.lateral_off_deg, self.inferior_off_deg
        e = float(np.hypot(self.entry_off_mm[0], self.entry_off_mm[2]))
        return (f"tremor moved the aim {abs(lat):.1f} deg {'lateral' if lat >= 0 else 'medial'}, "
                f"{abs(inf):.1f} deg {'inferior' if inf >= 0 else 'cephalad'}, the entry {e:.1f} mm "
                f"and the depth {self.depth_off_mm:+.1f} mm")


def jitter(trajectory: Trajectory, scene: Scene, rng: np.random.Generator | int | None = None, *,
           hand_error: HandError = HandError()) -> TremorDraw:
    """Draw one jitter of ``trajectory`` (its entry looked up in ``scene``).

    ``rng`` is a generator or a seed (``None``: :data:`~needlesim.sweeps.defaults.DEFAULT_SEED`);
    the same seed gives the same draw. The jittered entry is given as coordinates with the
    nominal side.
    """
    hand_error.validate()
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(DEFAULT_SEED if rng is None else rng)
    z = rng.standard_normal(5)
    e = hand_error
    lat = float(np.clip(trajectory.lateral_deg + e.angle_sd_deg * z[0], -ANGLE_LIMIT_DEG, ANGLE_LIMIT_DEG))
    inf = float(np.clip(trajectory.inferior_deg + e.angle_sd_deg * z[1], -ANGLE_LIMIT_DEG, ANGLE_LIMIT_DEG))
    off = (float(e.entry_sd_mm * z[2]), 0.0, float(e.entry_sd_mm * z[3]))
    depth = float(np.clip(trajectory.depth_mm + e.depth_sd_mm * z[4], 0.0, MAX_DEPTH_MM))
    point = trajectory.entry_point(scene) + np.array(off)
    jittered = replace(trajectory, entry=tuple(float(x) for x in point), side=trajectory.side,
                       lateral_deg=lat, inferior_deg=inf, depth_mm=depth)
    return TremorDraw(trajectory, jittered, lat - trajectory.lateral_deg, inf - trajectory.inferior_deg, off,
                      depth - trajectory.depth_mm)


@dataclass(frozen=True)
class AimRisk:
    """An aim's breach probability under the hand error, from ``samples`` Monte Carlo
    needles: ``p_any`` (a contact or a ``danger`` exit by the aim's depth) with its 95 %
    Wilson interval, and ``p_contact`` per critical structure."""

    p_any: float
    p_any_lo: float
    p_any_hi: float
    p_breach: float
    p_contact: dict
    samples: int
    seed: int
    hand_error: HandError

    def words(self) -> str:
        """E.g. ``"with a free hand this aim breaches 4.1 % of the time (95 % CI 3.3-5.0 %)"``."""
        return (f"with a free hand (angle s.d. {self.hand_error.angle_sd_deg:.1f} deg, entry "
                f"{self.hand_error.entry_sd_mm:g} mm, depth {self.hand_error.depth_sd_mm:g} mm) this aim breaches "
                f"{100 * self.p_any:.1f} % of the time (95 % CI {100 * self.p_any_lo:.1f}-{100 * self.p_any_hi:.1f} %, "
                f"{self.samples} needles)")


def aim_breach_probability(scene: Scene, trajectory: Trajectory, *, samples: int = DEFAULT_SAMPLES,
                           hand_error: HandError = HandError(), seed: int = DEFAULT_SEED,
                           backend: Backend | str = Backend.EMBREE, margin_mm: float = DEFAULT_MARGIN_MM,
                           max_length_mm: float = DEFAULT_MAX_LENGTH_MM) -> AimRisk:
    """P(contact or danger exit by the aim's depth) under ``hand_error``, by the Monte Carlo
    engine (:func:`needlesim.sweeps.montecarlo.sample_aims`), seeded."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples must be a positive whole number, got {samples!r}")
    hand_error.validate()
    engine = get_engine(scene, backend=backend, needle_diameter_mm=trajectory.needle_diameter_mm,
                        margin_mm=margin_mm)
    name = trajectory.entry if isinstance(trajectory.entry, str) else f"{trajectory.side.value}-aim"
    point = np.asarray(trajectory.entry_point(scene), float)
    frame = sample_aims(engine, name, point, np.array([trajectory.lateral_deg]), np.array([trajectory.inferior_deg]),
                        np.array([trajectory.depth_mm]), int(samples), hand_error, np.random.default_rng(seed),
                        max(max_length_mm, trajectory.depth_mm))
    row = frame.iloc[0]
    contact = {c[len("p_contact["):-1]: float(row[c]) for c in frame.columns if c.startswith("p_contact[")}
    return AimRisk(float(row.p_any), float(row.p_any_lo), float(row.p_any_hi), float(row.p_breach), contact,
                   int(row.samples), int(seed), hand_error)
