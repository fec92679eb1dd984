"""The default scene measured against the published numbers (docs/anatomy-calibration.md)."""

from __future__ import annotations

import pytest

from needlesim.anatomy.calibration import TARGETS, measure
from needlesim.core.io.builtin import load_builtin_scene


@pytest.fixture(scope="module")
def measured():
    return measure(load_builtin_scene())


def target(key):
    return next(t for t in TARGETS if t.key == key)


@pytest.mark.parametrize("key", ["s1_root_diameter", "psis_sg_vessels", "psis_level_s2", "dural_tip_s2"])
def test_within_the_published_range(measured, key):
    assert target(key).inside_2sd(measured[key]), (key, measured[key])


def test_dural_sac_ends_in_the_upper_third_of_s2(measured):
    assert 0.2 <= measured["dural_tip_s2"] <= 0.45


def test_soft_tissue_over_the_psis_is_the_measured_33_to_36_mm(measured):
    assert 30.0 <= measured["soft_tissue_psis"] <= 37.0


def test_the_default_pelvis_is_large_and_reported_so(measured):
    """One real person: outside the published sacrum size, which docs/anatomy.md reports."""
    assert measured["sacrum_width"] == pytest.approx(127.3, abs=0.5)
    assert not target("sacrum_width").inside_2sd(measured["sacrum_width"])
