"""The one call the CLI, the GUI and scripts share: evaluate a trajectory and judge it."""

from __future__ import annotations

from pathlib import Path

from .needle.engine import evaluate
from .verdict.envelope import DEFAULT_ENVELOPE, Envelope, load_envelope
from .geometry.raycast import Backend
from .verdict.risk import RiskReport, assess
from .model.scene import Scene
from .tolerances import DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM
from .model.trajectory import Trajectory


def check(scene: Scene, trajectory: Trajectory, *, envelope: Envelope | str | Path = DEFAULT_ENVELOPE,
          margin_mm: float = DEFAULT_MARGIN_MM, backend: Backend | str = Backend.EMBREE,
          max_length_mm: float = DEFAULT_MAX_LENGTH_MM) -> RiskReport:
    """Evaluate ``trajectory`` in ``scene`` and return the verdict with its reasons.

    Parameters
    ----------
    scene : Scene
    trajectory : Trajectory
    envelope : an :class:`Envelope`, a built-in name or a TOML path (default ``nam2019``)
    margin_mm : clearance below which a critical structure is ``caution``, mm
    backend : ``"embree"`` (fast, float32 BVH) or ``"exact"`` (float64 reference)
    max_length_mm : how far along the needle line hits are listed, mm
    """
    from .model.trajectory import _check_range

    _check_range("margin", margin_mm, 0.0, 50.0, "mm")
    env = envelope if isinstance(envelope, Envelope) else load_envelope(envelope)
    ev = evaluate(scene, trajectory, backend=backend, margin_mm=margin_mm, max_length_mm=max_length_mm)
    return assess(ev, env, scene=scene)
