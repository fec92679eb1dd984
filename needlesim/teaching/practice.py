"""One practice attempt, Qt-free: the exercise, its clock, the fluoroscopy shots, and the
submission (tremor, score, the envelope's aim beside the trainee's, the log).

The GUI's practice dock drives a :class:`PracticeRun`; a test or a script can drive one
the same way without a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.api import check
from ..core.geometry.raycast import Backend
from ..core.model.scene import Scene
from ..core.model.trajectory import Trajectory
from ..core.tolerances import DEFAULT_MARGIN_MM
from ..core.verdict.envelope import Envelope, load_envelope
from ..core.verdict.risk import RiskReport
from .exercise import Exercise
from .practice_log import PracticeLog
from .score import Score, score_report
from .tremor import AimRisk, TremorDraw, aim_breach_probability, jitter

#: The depth of the envelope's aim when the envelope bounds the depth on one side only:
#: at its bound (the deepest the rule allows, or the shallowest it asks for).
ENVELOPE_DEFAULT_DEPTH_MM = 60.0


def envelope_aim(envelope: Envelope, scene: Scene, exercise: Exercise) -> Trajectory:
    """The envelope's centre aim from the exercise's side: the middle of each bounded
    rule (a one-sided depth rule at its bound), from the ``<side>-entry`` landmark if the
    scene has one, else from the PSIS."""
    def mid(b, default: float) -> float:
        if b.min is not None and b.max is not None:
            return (b.min + b.max) / 2
        return b.max if b.max is not None else (b.min if b.min is not None else default)

    entry = f"{exercise.side.value}-entry"
    entry = entry if entry in scene.landmarks else exercise.psis
    return Trajectory(entry, mid(envelope.lateral_deg, 0.0), mid(envelope.inferior_deg, 0.0),
                      mid(envelope.depth_mm, ENVELOPE_DEFAULT_DEPTH_MM))


@dataclass(frozen=True)
class PracticeResult:
    """What Submit gives: the aim set, the aim scored (jittered under tremor), the score,
    the envelope's aim and its report, the breach probability under tremor, the time."""

    exercise: Exercise
    aim: Trajectory
    submitted: Trajectory
    draw: TremorDraw | None
    score: Score
    reference: RiskReport
    risk: AimRisk | None
    time_s: float
    log_id: int | None

    @property
    def report(self) -> RiskReport:
        return self.score.report

    def lines(self) -> list[str]:
        """The result in words, a line each: score, tremor, breach probability, parts."""
        out = [f"Score {self.score.total:.1f} / 100 ({self.report.verdict.value}), {self.time_s:.0f} s"]
        if self.draw is not None:
            out.append(self.draw.words())
        if self.risk is not None:
            out.append(self.risk.words())
        for p in self.score.parts:
            out.append(f"{p.name.value}: {p.points:.1f} / {p.max_points:g} — " + "; ".join(p.reasons))
        return out


class PracticeRun:
    """An exercise in progress in ``scene``.

    Parameters
    ----------
    exercise : Exercise
    scene : Scene
        The exercise's scene (:func:`needlesim.teaching.exercise.exercise_scene`).
    log : PracticeLog or None
        Where the submitted attempt is recorded (``None``: not recorded).
    clock : callable
        Seconds, monotonic (injected by tests).
    tremor_seed : int or None
        Seeds the tremor draw of each submission (``None``: fresh entropy, as in the app).
    """

    def __init__(self, exercise: Exercise, scene: Scene, *, log: PracticeLog | None = None,
                 clock: Callable[[], float] = time.monotonic, tremor_seed: int | None = None,
                 envelope: Envelope | None = None, margin_mm: float = DEFAULT_MARGIN_MM,
                 backend: Backend | str = Backend.EMBREE, trainee: str = "") -> None:
        self.exercise, self.scene, self.log, self.clock = exercise, scene, log, clock
        self.envelope = envelope if envelope is not None else load_envelope(exercise.envelope)
        self.margin_mm, self.backend, self.trainee = margin_mm, Backend(backend), trainee
        self.rng = np.random.default_rng(tremor_seed)
        self.started = clock()
        self.fluoro_shots = 0
        self.result: PracticeResult | None = None

    @property
    def submitted(self) -> bool:
        return self.result is not None

    def shot(self) -> int:
        """Count one fluoroscopy shot (not after Submit); returns the count."""
        if not self.submitted:
            self.fluoro_shots += 1
        return self.fluoro_shots

    def submit(self, aim: Trajectory) -> PracticeResult:
        """Score ``aim`` (jittered first under tremor), log it, and return the result; a
        second submission returns the first result."""
        if self.result is not None:
            return self.result
        elapsed = self.clock() - self.started
        draw = jitter(aim, self.scene, self.rng) if self.exercise.tremor else None
        submitted = aim if draw is None else draw.jittered
        kw = dict(envelope=self.envelope, margin_mm=self.margin_mm, backend=self.backend)
        score = score_report(check(self.scene, submitted, **kw), fluoro_shots=self.fluoro_shots)
        reference = check(self.scene, envelope_aim(self.envelope, self.scene, self.exercise), **kw)
        risk = aim_breach_probability(self.scene, aim, margin_mm=self.margin_mm, backend=self.backend) \
            if self.exercise.tremor else None
        log_id = None
        if self.log is not None:
            log_id = self.log.record(exercise=self.exercise.id, level=self.exercise.level.value, trajectory=aim,
                                     score=score, time_s=elapsed, submitted=submitted, scene=self.scene.name,
                                     trainee=self.trainee)
        self.result = PracticeResult(self.exercise, aim, submitted, draw, score, reference, risk, elapsed, log_id)
        return self.result
