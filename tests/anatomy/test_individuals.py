"""Individuals: draws follow the published spreads, the warp hits its targets, and one
individual is built end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.anatomy.individuals import (SACRUM_HEIGHT_MM, SACRUM_WIDTH_MM, draw_morphometry,
                                           sacrum_measures, thin_plate_warp, warp_targets)
from needlesim.anatomy.params import AnatomyError


def test_same_seed_same_individual_and_overrides():
    assert draw_morphometry(7) == draw_morphometry(7)
    assert draw_morphometry(7) != draw_morphometry(8)
    m = draw_morphometry(7, sex="male", soft_tissue_mm=42.0, dural_tip="S3", tilt_deg=-4.0)
    assert (m.sex, m.soft_tissue_mm, m.dural_tip, m.tilt_deg) == ("male", 42.0, "S3", -4.0)


@pytest.mark.parametrize("sex", ["female", "male"])
def test_draws_follow_the_published_spread(sex):
    draws = [draw_morphometry(s, sex=sex) for s in range(1500)]
    w = np.array([d.sacrum_width_mm for d in draws])
    h = np.array([d.sacrum_height_mm for d in draws])
    (wm, ws), (hm, hs) = SACRUM_WIDTH_MM[sex], SACRUM_HEIGHT_MM[sex]
    assert abs(w.mean() - wm) < 0.6 and 0.8 * ws < w.std() < 1.05 * ws  # truncated at 2.5 SD
    assert abs(h.mean() - hm) < 0.8 and 0.8 * hs < h.std() < 1.05 * hs
    tips = [d.dural_tip for d in draws]
    assert 0.6 < sum(t.startswith("S2-") and t != "S2-S3" for t in tips) / len(tips) < 0.8  # Al Jawad: 72 %


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"soft_tissue_mm": -1.0}, "soft tissue"), ({"soft_tissue_mm": math.nan}, "soft tissue"),
    ({"dural_tip": "L4"}, "dural level 'L4'"), ({"tilt_deg": 31.0}, "tilt 31"),
    ({"sex": "other"}, "sex must be"), ({"seed": -3}, "seed"),
])
def test_bad_parameters_are_refused(kwargs, match):
    kwargs = {"seed": 1, **kwargs}
    with pytest.raises(AnatomyError, match=match):
        draw_morphometry(**kwargs)


def test_warp_hits_the_targets_exactly():
    rng = np.random.default_rng(0)
    sacrum = rng.normal([0, -60, 40], [50, 15, 45], (500, 3))
    lm = {"sacral-canal-s1": np.array([0.0, -70, 80]), "sacral-hiatus": np.array([0.0, -80, -10]),
          "left-s2-dorsal-foramen": np.array([-15.0, -75, 40]), "left-psis": np.array([-40.0, -90, 60]),
          "left-asis": np.array([-120.0, 0, 0]), "right-asis": np.array([120.0, 0, 0])}
    m = draw_morphometry(3)
    src, dst = warp_targets(lm, sacrum, m)
    warp = thin_plate_warp(src, dst, np.array([[-400.0, -400, -400], [400, 400, 400], [-400, 400, 0],
                                               [400, -400, 0]]), dst[0, 0] / src[0, 0] if src[0, 0] else 1.0)
    np.testing.assert_allclose(warp(src), dst, atol=1e-6)
    width, _ = sacrum_measures(sacrum, lm)
    s = m.sacrum_width_mm / width
    np.testing.assert_allclose(dst[[k for k, n in enumerate(sorted(lm)) if n == "left-asis"][0]], lm["left-asis"] * s)
