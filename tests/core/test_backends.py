"""Embree and the exact float64 backend agree, within the tolerances in
``needlesim.core.tolerances``, on the real pelvis with tubes standing in for roots."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.anatomy.tubes import tube
from needlesim.core.io.builtin import load_builtin_scene
from needlesim.core.needle.engine import Engine
from needlesim.core.model.scene import Role, Structure
from needlesim.core.tolerances import TOL
from needlesim.core.model.trajectory import Trajectory


@pytest.fixture(scope="module")
def pelvis_with_tubes():
    scene = load_builtin_scene()
    c = scene["sacrum"].vertices.mean(axis=0)
    extra = []
    for i, (side, z) in enumerate([(-1, 20), (1, 20), (-1, 5), (1, 5)]):
        p0, p1 = c + [side * 10, 0, z], c + [side * 45, 25, z - 25]
        extra.append(Structure.from_trimesh(f"tube {i}", Role.NERVE_ROOT, tube(np.array([p0, p1]), 2.5)))
    scene = scene.with_structures(list(scene.structures) + extra)
    psis = {s: scene[f"{s} ilium"].vertices[np.argmin(scene[f"{s} ilium"].vertices[:, 1])] for s in ("left", "right")}
    return scene, psis


def test_backends_agree_on_real_anatomy(pelvis_with_tubes):
    scene, psis = pelvis_with_tubes
    embree = Engine(scene, backend="embree", needle_diameter_mm=3.26)
    exact = Engine(scene, backend="exact", needle_diameter_mm=3.26)
    rng = np.random.default_rng(11)
    compared_contacts = 0
    for _ in range(25):
        side = str(rng.choice(["left", "right"]))
        t = Trajectory(tuple(psis[side]), rng.uniform(-40, 40), rng.uniform(-10, 35), 80, side=side)
        a, b = embree.evaluate(t), exact.evaluate(t)
        assert a.skin_puncture == pytest.approx(b.skin_puncture, abs=TOL.backend_agreement_hits_mm)
        assert [(h.structure, h.entering) for h in a.hits] == [(h.structure, h.entering) for h in b.hits]
        np.testing.assert_allclose([h.depth_mm for h in a.hits], [h.depth_mm for h in b.hits],
                                   atol=TOL.backend_agreement_hits_mm)
        for ca, cb in zip(a.contacts, b.contacts):
            assert ca.clearance_mm == pytest.approx(cb.clearance_mm, abs=1e-9)  # exact on both
            for x, y in ((ca.contact_depth_mm, cb.contact_depth_mm), (ca.margin_depth_mm, cb.margin_depth_mm)):
                assert np.isfinite(x) == np.isfinite(y) or min(x, y) > 140
                if np.isfinite(x) and np.isfinite(y):
                    compared_contacts += 1
                    # the offset surface errs early (never late) by at most the stated tolerance
                    assert y - TOL.backend_agreement_contact_mm <= x <= y + TOL.backend_agreement_hits_mm
    assert compared_contacts > 0


def test_batch_and_single_casts_agree(pelvis_with_tubes):
    scene, psis = pelvis_with_tubes
    engine = Engine(scene, backend="embree", needle_diameter_mm=3.26)
    rng = np.random.default_rng(12)
    origins = psis["left"] + rng.normal(0, 5, (50, 3)) - [0, 40, 0]
    dirs = rng.normal([0, 1, 0], 0.3, (50, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    batch = engine.caster.all_hits(origins, dirs, 150.0)
    for i in range(50):
        one = engine.caster.all_hits(origins[i:i + 1], dirs[i:i + 1], 150.0)
        mine = batch.for_ray(i)
        np.testing.assert_array_equal(one.face, mine.face)
        np.testing.assert_allclose(one.t, mine.t, atol=1e-12)
