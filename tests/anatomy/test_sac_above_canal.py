"""Issue 12/14: a dural sac whose tip is drawn at S1 (or L5-S1) ends above the sacral canal;
its individual must still build and validate, with every root and no root thinned to fit.
The roots leave the sac's end side by side and run together in the canal's lumen from there
(:func:`needlesim.anatomy.neural._with_high_sac`), as they do below a lower sac."""
import numpy as np
import pytest

from needlesim.core.model.scene import Role


@pytest.mark.slow
def test_unseen_exercise_with_sac_ending_above_canal_builds_and_validates():
    from needlesim.anatomy.validate import validate_scene
    from needlesim.teaching.exercise import exercise_scene, exercise_set, morphometry

    ex = exercise_set("unseen", seed=0)[0]
    assert morphometry(ex).dural_tip in ("S1", "L5-S1")  # the case this test is about
    scene = exercise_scene(ex)
    anatomy = scene.metadata["anatomy"]
    assert validate_scene(scene, lumen=anatomy.canal.lumen) == []
    roots = {s.name for s in scene if s.role is Role.NERVE_ROOT}
    assert roots == {f"{side} S{lv} root" for side in ("left", "right") for lv in (1, 2, 3, 4)}
    for name in roots:
        tube = anatomy.tubes[name]
        assert np.median(tube.radius_mm / tube.nominal_radius_mm) > 0.9, name


@pytest.fixture(scope="module")
def template():
    from needlesim.core.io.builtin import load_builtin_scene

    return load_builtin_scene()


@pytest.mark.slow
@pytest.mark.parametrize("tip,seed", [("S1", 1), ("S1", 4), ("L5-S1", 1), ("L5-S1", 3)])
def test_individuals_whose_sac_ends_above_the_canal_build(tip, seed, template):
    """Drawn individuals with a high sac tip (refused before: 16-36 overlaps of the roots and
    sleeves leaving the sac side by side above the canal): every root, zero problems."""
    from needlesim.anatomy.individuals import draw_morphometry, make_individual
    from needlesim.anatomy.validate import validate_scene

    scene = make_individual(template, draw_morphometry(seed, dural_tip=tip))
    anatomy = scene.metadata["anatomy"]
    canal = anatomy.canal
    assert canal.lumen_from_arc is not None and canal.lumen_from_arc < canal.levels["canal"]
    assert validate_scene(scene, lumen=canal.lumen) == []
    roots = [t for n, t in anatomy.tubes.items() if n.endswith(" root")]
    assert len(roots) == 8
    assert all(np.median(t.radius_mm / t.nominal_radius_mm) > 0.9 for t in roots)
