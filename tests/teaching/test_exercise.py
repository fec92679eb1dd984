"""Exercise sets: levels, reproducible sets, what is hidden, the size of a small or large pelvis."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.anatomy.individuals import SACRUM_HEIGHT_MM, SACRUM_WIDTH_MM, draw_morphometry
from needlesim.core.model.scene import Role
from needlesim.teaching.exercise import (LEVELS, SIZE_SD, Hide, Level, exercise_set, hidden_structures, morphometry,
                                         new_exercise)


def test_sets_are_reproducible_and_levels_differ():
    a, b = exercise_set("unseen", seed=3), exercise_set(Level.UNSEEN, seed=3)
    assert a == b and len(a) == 5 and len({e.seed for e in a}) == 5
    assert exercise_set("unseen", seed=4) != a
    sides = {e.side.value for lvl in LEVELS for e in exercise_set(lvl, seed=1, size=8)}
    assert sides == {"left", "right"}
    assert all(e.seed is None and not e.tremor for e in exercise_set("built-in"))
    assert all(e.tremor and e.seed is not None for e in exercise_set("tremor"))
    assert [e.id for e in exercise_set("small pelvis", size=2)] == ["small-pelvis-1", "small-pelvis-2"]
    with pytest.raises(ValueError):
        new_exercise("expert", 1)


def test_every_exercise_hides_the_answer(builtin_scene):
    ex = new_exercise("built-in", 0)
    assert ex.hidden == {Hide.RISK_PANEL, Hide.CLEARANCES, Hide.BUILT_STRUCTURES}
    hidden = set(hidden_structures(builtin_scene, ex))
    shown = set(builtin_scene.names) - hidden
    assert {"left S2 root", "dural sac", "left superior gluteal artery", "left sciatic nerve"} <= hidden
    assert shown == {s.name for s in builtin_scene if s.role in (Role.SKIN, Role.CORTICAL_BONE, Role.SACRUM)}
    assert "left ilium" in shown and "skin" in shown
    t = ex.start_trajectory()
    assert t.entry == ex.psis and t.lateral_deg == 0 and t.depth_mm == 20


@pytest.mark.parametrize("level, k", [("small pelvis", -1), ("large pelvis", 1)])
def test_small_and_large_pelvis_are_two_sd_from_the_mean(level, k):
    ex = exercise_set(level, seed=2, size=1)[0]
    m, drawn = morphometry(ex), draw_morphometry(ex.seed)
    w, h = SACRUM_WIDTH_MM[m.sex], SACRUM_HEIGHT_MM[m.sex]
    assert m.sacrum_width_mm == pytest.approx(w[0] + k * SIZE_SD * w[1])
    assert m.sacrum_height_mm == pytest.approx(h[0] + k * SIZE_SD * h[1])
    assert (m.soft_tissue_mm, m.sex, m.seed) == (drawn.soft_tissue_mm, drawn.sex, drawn.seed)
    assert morphometry(exercise_set("unseen", seed=2, size=1)[0]) == draw_morphometry(
        exercise_set("unseen", seed=2, size=1)[0].seed)
    assert morphometry(new_exercise("built-in", 0)) is None


@pytest.mark.slow
@pytest.mark.parametrize("level", ["small pelvis", "large pelvis"])
@pytest.mark.parametrize("set_seed", [0, 1])
def test_small_and_large_pelvis_exercises_build_and_validate(level, set_seed):
    """The first exercise of two class sets: its individual builds (make_individual refuses a
    scene the validator faults), nothing cuts bone or another structure, every root is built,
    the sacrum has the exercise's size, and no root was thinned to a thread to fit."""
    from needlesim.anatomy.individuals import sacrum_measures
    from needlesim.anatomy.validate import validate_scene
    from needlesim.teaching.exercise import exercise_scene

    ex = exercise_set(level, seed=set_seed, size=1)[0]
    m = morphometry(ex)
    scene = exercise_scene(ex)
    anatomy = scene.metadata["anatomy"]
    assert validate_scene(scene, lumen=anatomy.canal.lumen) == []
    roots = {s.name for s in scene if s.role is Role.NERVE_ROOT}
    assert roots == {f"{side} S{lv} root" for side in ("left", "right") for lv in (1, 2, 3, 4)}
    width, height = sacrum_measures(scene["sacrum"].vertices, scene.landmarks)  # tilt is about x: width kept
    assert width == pytest.approx(m.sacrum_width_mm, rel=0.05) and height == pytest.approx(m.sacrum_height_mm, rel=0.05)
    for name in roots:  # fitted to the room, not shrunk away: most of each root keeps most of its size
        tube = anatomy.tubes[name]
        assert np.median(tube.radius_mm / tube.nominal_radius_mm) > 0.9, name
