"""The map's cell under an aim has the verdict ``check`` gives that aim."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.core.api import check
from needlesim.core.batch.sweep import Code
from needlesim.core.model.trajectory import Trajectory
from needlesim.core.verdict.envelope import load_envelope
from needlesim.teaching.riskmap import angle_map


@pytest.fixture(scope="module")
def left_map(builtin_scene):
    return angle_map(builtin_scene, "left-entry", load_envelope("nam2019"))


@pytest.mark.parametrize("lat, inf, depth", [(30, 22, 60), (-46, 18, 80), (-46, 18, 50), (0, 0, 60), (15, 31, 100),
                                             (40, 38, 60), (25, -25, 80), (30, 22, 70)])
def test_the_cell_under_an_aim_has_the_verdict_of_check(builtin_scene, left_map, lat, inf, depth):
    r = check(builtin_scene, Trajectory("left-entry", lat, inf, depth))
    assert left_map.verdict_at(lat, inf, depth).name == r.verdict.name, [x.text for x in r.reasons]


def test_the_grid_is_one_degree_and_knows_its_entry(builtin_scene, left_map):
    assert np.all(np.diff(left_map.lateral_deg) == 1.0) and np.all(np.diff(left_map.inferior_deg) == 1.0)
    assert left_map.verdict_grid(60).shape == (101, 121)
    assert left_map.cell(30, 22.5) in ((62, 90), (63, 90)) and left_map.cell(200, 0) is None
    assert left_map.matches(builtin_scene, Trajectory("left-entry", 0, 0, 10))
    assert not left_map.matches(builtin_scene, Trajectory("left-psis", 0, 0, 10))
    # deeper is never safer: the share of danger cells grows with depth
    share = [np.mean(left_map.verdict_grid(d) == Code.DANGER) for d in (40, 60, 80, 100)]
    assert share == sorted(share) and share[0] < share[-1]
    safe = left_map.max_safe_grid()[left_map.cell(30, 22)]
    assert 60 < safe <= 150
