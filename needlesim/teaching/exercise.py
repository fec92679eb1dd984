"""Practice exercises: the app picks the scene and the side, hides the answer, and the
trainee aims from the skin.

Levels, easiest first (:data:`LEVELS`):

``built-in``
    the built-in pelvis (Visible Human Female), the side drawn;
``unseen``
    an individual drawn by seed (:mod:`needlesim.anatomy.individuals`) the trainee has not
    seen, the side drawn;
``small pelvis`` / ``large pelvis``
    an individual whose sacrum is :data:`SIZE_SD` standard deviations below / above the
    published mean in width and height (by the drawn sex), the rest drawn;
``tremor``
    an unseen individual, and the submitted aim jittered by the free-hand error
    (:mod:`needlesim.teaching.tremor`).

Every exercise hides the risk panel, the clearances and the built structures (roots,
sleeves, dural sac, nerves, vessels: everything but bone and skin, which stay visible, as
palpated) until the attempt is submitted (:class:`Hide`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..core.model.scene import Role, Scene, Side
from ..core.model.trajectory import Trajectory
from .scenario import MAX_SEED


class Level(str, enum.Enum):
    BUILTIN = "built-in"
    UNSEEN = "unseen"
    SMALL = "small pelvis"
    LARGE = "large pelvis"
    TREMOR = "tremor"


#: The levels in the order a trainee meets them.
LEVELS = (Level.BUILTIN, Level.UNSEEN, Level.SMALL, Level.LARGE, Level.TREMOR)
#: How far from the mean a small or large pelvis is, standard deviations (inside the
#: individuals' truncation at 2.5 SD, so it is a pelvis the population holds).
SIZE_SD = 2.0
#: The aim an exercise starts from: straight ahead, level, short of the bone (the trainee
#: sets every angle and the depth; nothing of the answer is given away).
START_LATERAL_DEG, START_INFERIOR_DEG, START_DEPTH_MM = 0.0, 0.0, 20.0
#: Exercises per level in a set.
SET_SIZE = 5


class Hide(str, enum.Enum):
    """What an exercise hides until Submit."""

    RISK_PANEL = "risk panel"
    CLEARANCES = "clearances"
    BUILT_STRUCTURES = "built structures"


HIDE_ALL = frozenset(Hide)
#: Roles shown during an exercise: what a hand palpates and an eye sees.
VISIBLE_ROLES = frozenset({Role.SKIN, Role.CORTICAL_BONE, Role.SACRUM, Role.MARROW})


@dataclass(frozen=True)
class Exercise:
    """One exercise: its level, the scene (``seed`` None for the built-in), the side, the
    landmark the PSIS region is shown around, and what is hidden."""

    id: str
    level: Level
    side: Side
    seed: int | None = None
    tremor: bool = False
    hidden: frozenset = HIDE_ALL
    envelope: str = "nam2019"

    @property
    def psis(self) -> str:
        return f"{self.side.value}-psis"

    @property
    def title(self) -> str:
        where = "the built-in pelvis" if self.seed is None else f"an unseen {self.level.value if self.level in (Level.SMALL, Level.LARGE) else 'pelvis'}"
        return f"{self.level.value}: {self.side.value} PSIS on {where}" + (", with tremor" if self.tremor else "")

    def instructions(self) -> str:
        text = (f"Harvest from the {self.side.value} posterior superior iliac spine. Pick the skin puncture over "
                "it, set the lateral and inferior angles and advance the needle; the roots, vessels and the risk "
                "panel are hidden until you submit. Each fluoroscopy shot costs a point.")
        if self.tremor:
            text += " Your hand trembles: the aim you submit is jittered by the measured free-hand error."
        return text

    def start_trajectory(self) -> Trajectory:
        """The aim the exercise starts from (see :data:`START_DEPTH_MM`)."""
        return Trajectory(self.psis, START_LATERAL_DEG, START_INFERIOR_DEG, START_DEPTH_MM)

    def to_dict(self) -> dict:
        return {"id": self.id, "level": self.level.value, "side": self.side.value, "seed": self.seed,
                "tremor": self.tremor, "hidden": sorted(h.value for h in self.hidden), "envelope": self.envelope}


def hidden_structures(scene: Scene, exercise: Exercise) -> list[str]:
    """Names of the structures the exercise hides (none if it does not hide built ones)."""
    if Hide.BUILT_STRUCTURES not in exercise.hidden:
        return []
    return [s.name for s in scene if s.role not in VISIBLE_ROLES]


def new_exercise(level: Level | str, rng: np.random.Generator | int, *, number: int = 1) -> Exercise:
    """A fresh exercise of ``level``: side and (off the built-in level) the individual drawn from ``rng``."""
    level = Level(level)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    side = (Side.LEFT, Side.RIGHT)[int(rng.integers(2))]
    seed = None if level is Level.BUILTIN else int(rng.integers(0, MAX_SEED))
    slug = level.value.replace(" ", "-")
    return Exercise(f"{slug}-{number}", level, side, seed, tremor=level is Level.TREMOR)


def exercise_set(level: Level | str, *, seed: int = 0, size: int = SET_SIZE) -> tuple[Exercise, ...]:
    """``size`` exercises of one level, the same for the same ``seed`` (a class shares a set)."""
    level = Level(level)
    rng = np.random.default_rng([int(seed), LEVELS.index(level)])
    return tuple(new_exercise(level, rng, number=k + 1) for k in range(size))


def morphometry(exercise: Exercise):
    """The drawn measures of an exercise's individual (``None`` for the built-in pelvis);
    a small or large pelvis has its sacrum set :data:`SIZE_SD` SD from the mean."""
    if exercise.seed is None:
        return None
    from ..anatomy.individuals import SACRUM_HEIGHT_MM, SACRUM_WIDTH_MM, draw_morphometry

    m = draw_morphometry(exercise.seed)
    if exercise.level in (Level.SMALL, Level.LARGE):
        k = -SIZE_SD if exercise.level is Level.SMALL else SIZE_SD
        (wm, ws), (hm, hs) = SACRUM_WIDTH_MM[m.sex], SACRUM_HEIGHT_MM[m.sex]
        m = replace(m, sacrum_width_mm=wm + k * ws, sacrum_height_mm=hm + k * hs)
    return m


@lru_cache(maxsize=2)
def _individual(m) -> Scene:
    from ..anatomy.individuals import make_individual
    from ..core.io.builtin import load_builtin_scene

    return make_individual(load_builtin_scene(), m)


def exercise_scene(exercise: Exercise) -> Scene:
    """The scene of an exercise (an individual takes 13-30 s to build; the last two are cached)."""
    m = morphometry(exercise)
    if m is None:
        from ..core.io.builtin import load_builtin_scene

        return load_builtin_scene()
    return _individual(m)
