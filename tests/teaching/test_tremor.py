"""Tremor: seeded draws repeat, their spread is the stated s.d., and an aim's breach
probability matches an analytic answer with its Wilson interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.core.model.trajectory import Trajectory
from needlesim.sweeps.defaults import ANGLE_SD_DEG, DEPTH_SD_MM, ENTRY_SD_MM
from needlesim.sweeps.montecarlo import HandError, wilson
from needlesim.teaching.tremor import aim_breach_probability, jitter

R8G = 3.26 / 2


def test_a_fixed_seed_gives_the_same_draw(analytic_scene):
    t = Trajectory("left-psis", 30.0, 22.5, 60.0)
    a, b, c = jitter(t, analytic_scene, 7), jitter(t, analytic_scene, 7), jitter(t, analytic_scene, 8)
    assert a == b and a.jittered == b.jittered
    assert a.jittered != c.jittered
    assert a.jittered.side is t.side and a.jittered.entry != t.entry
    assert "tremor moved the aim" in a.words()


def test_the_spread_of_many_draws_is_the_stated_error(analytic_scene):
    t = Trajectory("left-psis", 30.0, 22.5, 60.0)
    rng = np.random.default_rng(1)
    draws = [jitter(t, analytic_scene, rng) for _ in range(4000)]
    lat = np.array([d.jittered.lateral_deg for d in draws]) - 30.0
    inf = np.array([d.jittered.inferior_deg for d in draws]) - 22.5
    dep = np.array([d.jittered.depth_mm for d in draws]) - 60.0
    ent = np.array([d.jittered.entry for d in draws]) - np.array([0.0, 20.0, 0.0])
    # 4000 normal draws: the sample s.d. is within 2.2 % of the truth with probability > 99.9 %
    for x, sd in ((lat, ANGLE_SD_DEG), (inf, ANGLE_SD_DEG), (dep, DEPTH_SD_MM), (ent[:, 0], ENTRY_SD_MM),
                  (ent[:, 2], ENTRY_SD_MM)):
        assert x.std() == pytest.approx(sd, rel=0.04) and abs(x.mean()) < 4 * sd / math.sqrt(4000)
    assert np.all(ent[:, 1] == 0.0)  # the entry moves on the posterior surface only
    assert abs(np.corrcoef(lat, inf)[0, 1]) < 0.06


def test_breach_probability_of_an_aim_matches_the_normal_tail(analytic_scene):
    # straight forward, 2 mm of clearance from the root's extreme vertex; with only the entry
    # jittered left-right by s.d. 2 mm, the needle touches the root when it moves > 2 mm toward
    # it: P = Phi(-1) = 0.1587
    x = -40 + 2.5 + R8G + 2.0
    t = Trajectory((x, 20.0, 0.0), 0.0, 0.0, 130.0, side="left")
    risk = aim_breach_probability(analytic_scene, t, samples=3000, seed=5, hand_error=HandError(0.0, 2.0, 0.0))
    p = risk.p_contact["left S2 root"]
    k = round(p * 3000)
    lo, hi = wilson(np.array([k]), np.array([3000]), z=3.29)
    assert lo[0] <= 0.5 * math.erfc(1 / math.sqrt(2)) <= hi[0], p
    assert risk.p_any == 1.0  # it also leaves the slab through its back: danger every time
    again = aim_breach_probability(analytic_scene, t, samples=3000, seed=5, hand_error=HandError(0.0, 2.0, 0.0))
    assert again == risk
    safe = aim_breach_probability(analytic_scene, Trajectory("left-psis", 0.0, 0.0, 60.0), samples=500)
    z2 = 1.959963984540054 ** 2
    assert safe.p_any == 0.0 and safe.p_any_lo == pytest.approx(0.0, abs=1e-12)
    assert safe.p_any_hi == pytest.approx(z2 / (500 + z2))  # Wilson's upper bound at k = 0
    assert "0.0 % of the time" in safe.words()
