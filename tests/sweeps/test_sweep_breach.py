"""The vectorised breach classification follows :func:`needlesim.core.needle.breach.classify`."""

from __future__ import annotations

import numpy as np

from needlesim.core.needle.breach import classify
from needlesim.core.needle.engine import get_engine
from needlesim.core.model.scene import Role, Structure
from needlesim.core.batch.sweep_breach import KINDS, Exits, classify_exits, first_breaches

from tests.conftest import box


def test_every_rule_matches_the_scalar_classifier(analytic_scene):
    sacrum = Structure.from_trimesh("sacrum", Role.SACRUM, box([-20, 60, -20], [20, 80, 20]))
    scene = analytic_scene.with_structures([*analytic_scene.structures, sacrum]).with_landmarks(
        {**analytic_scene.landmarks, "left-sciatic-notch-top": [-60.0, 40.0, -60.0]})
    engine = get_engine(scene, needle_diameter_mm=3.26)
    ilium, sac = [s.name for s in engine.structures].index("left ilium"), len(engine.structures) - 1
    rng = np.random.default_rng(2)
    n = 400
    normal = rng.normal(size=(n, 3))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    geom = np.where(rng.random(n) < 0.8, ilium, sac)
    depth = rng.uniform(0, 100, n)
    points = np.where(rng.random((n, 1)) < 0.2, [-55.0, 40.0, -55.0], rng.uniform(-100, 100, (n, 3)))
    # every third exit has another bone entered 3 mm later, every fifth one 9 mm later
    nxt = np.where(np.arange(n) % 3 == 0, sac + ilium - geom, -1)
    far = np.arange(n) % 5 == 0
    e_depth = depth + np.where(far, 9.0, 3.0)
    has = (nxt >= 0) | far
    ex = Exits(np.arange(n), depth, geom, normal, np.arange(n)[has], e_depth[has], np.where(nxt >= 0, nxt, sac)[has])
    got = classify_exits(engine, ex, points, span=1000.0)
    for i in range(n):
        nb = engine.structures[nxt[i]] if (nxt[i] >= 0 and not far[i]) else None
        want = classify(engine.structures[geom[i]], points[i], normal[i], nb, scene.landmarks)
        assert KINDS[got[i]] is want, i
    breach, g, code, danger = first_breaches(n, ex, got)
    assert np.array_equal(breach, depth) and np.array_equal(code, got)
