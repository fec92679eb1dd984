"""The fluoroscopic picture of a plan: the view chosen from the needle's direction, the
needle drawn as metal and its tip circled where it projects."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.core.model.scene import Scene
from needlesim.teaching import fluoro as F
from needlesim.teaching.fluoro_view import AP_MIN_SHOWN, TIP_RING, needle_view, picture
from tests.teaching.test_fluoro import PARALLEL, pixel_x, slab


def unit(*v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def test_ap_unless_the_needle_runs_along_the_ap_beam():
    assert needle_view([unit(0.5, 0.8, 0.3)]) == "AP"  # a usual PSIS aim: ~60 % of its length in AP
    along = math.acos(AP_MIN_SHOWN)  # the needle just within 30 deg of the beam
    assert needle_view([unit(math.sin(along + 0.01), math.cos(along + 0.01), 0)]) == "AP"
    assert needle_view([unit(0, 1, 0)]) == "lateral"  # straight along the beam: the orthogonal view
    assert needle_view([unit(0.0, 0.95, -0.31)]) == "lateral"
    # two needles: the view must show the shorter one too
    assert needle_view([unit(0.5, 0.8, 0.3), unit(0, 1, 0)]) == "lateral"


def test_the_needle_is_metal_and_its_tip_is_circled_where_it_projects():
    carm = F.CArm(**PARALLEL)
    img = F.bone_image(Scene((slab(),)), carm)
    x = pixel_x(carm)
    row = 4  # above the slab (|z| > 100): air, black without the needle
    z = -x[row]
    assert abs(z) > 110
    start, tip = np.array([-60.0, -40.0, z]), np.array([40.0, -40.0, z])
    rgb = picture(img, [((start, tip, 1.63), "#ff0000")])
    n = carm.pixels
    assert rgb.shape == (n, n, 3) and rgb.dtype == np.uint8
    plain = np.round(F.radiograph(img) * 255)
    cols = (x > -50) & (x < 30)
    assert np.all(plain[row, cols] == 0) and np.all(rgb[row, cols, 0] > 100)  # the needle is metal
    assert np.array_equal(rgb[row + 12, :, 1], plain[row + 12])  # untouched away from it
    tc, tr = img.project(tip[None])[0]
    radius = max(3.0, TIP_RING * n)
    ring_col = int(round(tc + radius))
    assert tuple(rgb[int(round(tr)), ring_col]) == (255, 0, 0)
    assert tuple(rgb[int(round(tr)), int(round(tc))]) != (255, 0, 0)  # a circle, not a disc
