"""Pin the frame and angle conventions (docs/conventions.md) with numbers a wrong
implementation would miss: a swapped sign, a mirrored side, tan for sin, degrees for radians."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from needlesim.core.model.conventions import (
    FRAME_TO_RAS,
    UNIT_TO_MM,
    angles_from_direction,
    direction_from_angles,
    direction_from_projected,
    projected_angles,
)
from needlesim.core.errors import NeedlesimError, TrajectoryError

REPO = Path(__file__).resolve().parents[2]

#: The worked example of docs/conventions.md: L = 30, I = 22.5 from the left.
LEFT_30_22 = np.array([-0.5, 0.776887, -0.382683])

#: Angle pairs that leave the needle an anterior component (sin^2 L + sin^2 I < 1).
GRID = [
    (lat, inf)
    for lat in (-80.0, -45.0, -30.0, -7.5, 0.0, 12.0, 30.0, 44.0, 60.0, 85.0)
    for inf in (-80.0, -25.0, -10.0, 0.0, 5.0, 22.5, 40.0, 85.0)
    if math.sin(math.radians(lat)) ** 2 + math.sin(math.radians(inf)) ** 2 < 0.999
]
SIDES = ("left", "right")


# --------------------------------------------------------------------------- directions
def test_worked_example_left() -> None:
    d = direction_from_angles(30.0, 22.5, "left")
    np.testing.assert_allclose(d, LEFT_30_22, atol=1e-6)
    assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("lat, inf", [(30.0, 22.5), (-15.0, 10.0), (24.0, 0.0), (40.0, 37.5)])
def test_right_mirrors_left(lat: float, inf: float) -> None:
    left = direction_from_angles(lat, inf, "left")
    right = direction_from_angles(lat, inf, "right")
    np.testing.assert_allclose(right, left * [-1.0, 1.0, 1.0], atol=1e-15)


def test_lateral_points_away_from_the_midline() -> None:
    assert direction_from_angles(30.0, 0.0, "left")[0] == pytest.approx(-0.5, abs=1e-12)
    assert direction_from_angles(30.0, 0.0, "right")[0] == pytest.approx(0.5, abs=1e-12)


def test_medial_is_negative_and_points_to_the_midline() -> None:
    left = direction_from_angles(-20.0, 10.0, "left")
    right = direction_from_angles(-20.0, 10.0, "right")
    assert left[0] == pytest.approx(math.sin(math.radians(20.0)), abs=1e-12)  # +x: to the midline
    assert right[0] == pytest.approx(-math.sin(math.radians(20.0)), abs=1e-12)


def test_inferior_positive_points_to_the_feet() -> None:
    d = direction_from_angles(0.0, 22.5, "left")
    assert d[2] < 0
    i = math.radians(22.5)
    np.testing.assert_allclose(d, [0.0, math.cos(i), -math.sin(i)], atol=1e-12)
    # D'Souza 2021's "25 deg cephalad" is inferior -25 here: the tip rises toward the head.
    cephalad = direction_from_angles(25.0, -25.0, "left")
    assert cephalad[2] == pytest.approx(math.sin(math.radians(25.0)))


def test_every_direction_advances_anteriorly() -> None:
    for side in SIDES:
        for lat, inf in GRID:
            d = direction_from_angles(lat, inf, side)
            assert d[1] > 0
            assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-12)
            # L and I are angles to planes, not rotations: sin, not tan, of each angle.
            assert d[2] == pytest.approx(-math.sin(math.radians(inf)), abs=1e-12)


@pytest.mark.parametrize("side", SIDES)
def test_angles_from_direction_inverts_direction_from_angles(side: str) -> None:
    for lat, inf in GRID:
        got = angles_from_direction(direction_from_angles(lat, inf, side), side)
        assert got == pytest.approx((lat, inf), abs=1e-9)


def test_angles_from_direction_depends_on_the_side_and_not_on_the_length() -> None:
    d = direction_from_angles(30.0, 22.5, "left")
    assert angles_from_direction(d, "right") == pytest.approx((-30.0, 22.5))
    assert angles_from_direction(7.0 * d, "left") == pytest.approx((30.0, 22.5))


# --------------------------------------------------------------------------- projected angles
@pytest.mark.parametrize("side", SIDES)
def test_projected_angles_of_the_worked_example(side: str) -> None:
    axial, sagittal = projected_angles(direction_from_angles(30.0, 22.5, side), side)
    assert axial == pytest.approx(32.765, abs=1e-3)
    assert sagittal == pytest.approx(26.224, abs=1e-3)
    # exactly atan(sin L / d_y) and atan(sin I / d_y)
    assert axial == pytest.approx(math.degrees(math.atan2(0.5, LEFT_30_22[1])), abs=1e-4)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("angle", [-40.0, -12.5, 0.0, 24.0, 60.0])
def test_projected_angles_equal_L_and_I_when_the_other_is_zero(side: str, angle: float) -> None:
    assert projected_angles(direction_from_angles(angle, 0.0, side), side) == pytest.approx(
        (angle, 0.0), abs=1e-9)
    assert projected_angles(direction_from_angles(0.0, angle, side), side) == pytest.approx(
        (0.0, angle), abs=1e-9)


@pytest.mark.parametrize("side", SIDES)
def test_direction_from_projected_inverts_projected_angles(side: str) -> None:
    inverted = 0
    for lat, inf in GRID:
        d = direction_from_angles(lat, inf, side)
        axial, sagittal = projected_angles(d, side)
        if max(abs(axial), abs(sagittal)) >= 85.0 - 1e-9:
            continue  # projected angles of a steep aim can pass the +/-85 deg input limit
        np.testing.assert_allclose(direction_from_projected(axial, sagittal, side), d, atol=1e-9)
        inverted += 1
    assert inverted >= 40
    for axial in (-80.0, -30.0, 0.0, 32.765, 85.0):
        for sagittal in (-85.0, -25.0, 0.0, 26.224, 70.0):
            d = direction_from_projected(axial, sagittal, side)
            assert projected_angles(d, side) == pytest.approx((axial, sagittal), abs=1e-9)


# --------------------------------------------------------------------------- frames and units
def _apply(frame: str, p) -> np.ndarray:
    return (FRAME_TO_RAS[frame] @ np.r_[np.asarray(p, float), 1.0])[:3]


def test_gltf_to_ras_axes() -> None:
    np.testing.assert_array_equal(_apply("glTF", [1, 0, 0]), [-1, 0, 0])  # +X (left) -> -x
    np.testing.assert_array_equal(_apply("glTF", [0, 1, 0]), [0, 0, 1])  # +Y (up) -> superior
    np.testing.assert_array_equal(_apply("glTF", [0, 0, 1]), [0, 1, 0])  # +Z -> anterior
    np.testing.assert_array_equal(FRAME_TO_RAS["glTF"][3], [0, 0, 0, 1])


def test_gltf_to_ras_is_a_rotation_that_keeps_windings() -> None:
    r = FRAME_TO_RAS["glTF"][:3, :3]
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-15)
    a, b, c = np.array([0.0, 0, 0]), np.array([1.0, 0, 0]), np.array([0.0, 1, 0])
    n = np.cross(b - a, c - a)
    np.testing.assert_allclose(np.cross(r @ (b - a), r @ (c - a)), r @ n)


def test_gltf_metres_to_ras_mm() -> None:
    p = _apply("glTF", [0.1, 0.2, 0.3]) * UNIT_TO_MM["m"]
    np.testing.assert_allclose(p, [-100.0, 300.0, 200.0])


def test_lps_and_ras() -> None:
    np.testing.assert_array_equal(_apply("LPS", [1, 1, 1]), [-1, -1, 1])
    np.testing.assert_array_equal(FRAME_TO_RAS["LPS"] @ FRAME_TO_RAS["LPS"], np.eye(4))
    np.testing.assert_array_equal(FRAME_TO_RAS["RAS"], np.eye(4))


def test_units() -> None:
    assert UNIT_TO_MM == {"mm": 1.0, "cm": 10.0, "m": 1000.0}


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 85.001, -86.0, 90.0, 180.0])
@pytest.mark.parametrize("which", ["lateral", "inferior"])
def test_bad_angle_raises_naming_the_angle(which: str, bad: float) -> None:
    args = {"lateral": (bad, 0.0), "inferior": (0.0, bad)}[which]
    with pytest.raises(TrajectoryError, match=which):
        direction_from_angles(*args, "left")


@pytest.mark.parametrize("lat, inf", [(45.0, 45.0), (60.0, 50.0), (-70.0, 30.0), (85.0, 85.0)])
def test_no_anterior_component_raises(lat: float, inf: float) -> None:
    assert math.sin(math.radians(lat)) ** 2 + math.sin(math.radians(inf)) ** 2 >= 1.0 - 1e-12
    with pytest.raises(TrajectoryError, match=r"lateral .*inferior") as info:
        direction_from_angles(lat, inf, "right")
    assert "anterior" in str(info.value)


def test_limits_are_inclusive() -> None:
    assert direction_from_angles(85.0, 0.0, "left")[1] == pytest.approx(math.cos(math.radians(85)))
    assert direction_from_angles(0.0, -85.0, "left")[1] > 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, 89.95, -90.0, True, "a"])
@pytest.mark.parametrize("which", ["axial", "sagittal"])
def test_bad_projected_angle_raises_naming_the_angle(which: str, bad: float) -> None:
    args = {"axial": (bad, 0.0), "sagittal": (0.0, bad)}[which]
    with pytest.raises(TrajectoryError, match=which):
        direction_from_projected(*args, "left")


def test_trajectory_error_is_a_needlesim_error_and_a_value_error() -> None:
    assert issubclass(TrajectoryError, NeedlesimError)
    assert issubclass(TrajectoryError, ValueError)


# --------------------------------------------------------------------------- docs and figure
def test_docs_quote_the_numbers_the_code_computes() -> None:
    text = (REPO / "docs" / "conventions.md").read_text(encoding="utf-8")
    d = direction_from_angles(30.0, 22.5, "left")
    axial, sagittal = projected_angles(d, "left")
    for number in (f"{d[1]:.4f}", f"{d[2]:.4f}", f"{axial:.2f}", f"{sagittal:.2f}"):
        assert number in text
    assert "images/conventions.png" in text


def test_figure_script_writes_the_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    path = REPO / "scripts" / "make_convention_figures.py"
    spec = importlib.util.spec_from_file_location("make_convention_figures", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    written = module.main(tmp_path)
    png = tmp_path / "conventions.png"
    assert png in written and (tmp_path / "conventions.svg") in written
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000
    assert (tmp_path / "conventions.svg").stat().st_size > 10_000


@pytest.mark.parametrize("direction", [(0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.2, -0.5, -0.3)])
def test_directions_that_do_not_advance_anteriorly_are_refused(direction) -> None:
    with pytest.raises(TrajectoryError, match="anteriorly"):
        angles_from_direction(np.array(direction), "left")
    with pytest.raises(TrajectoryError, match="anteriorly"):
        projected_angles(np.array(direction), "left")


def test_a_boolean_is_not_an_angle() -> None:
    with pytest.raises(TrajectoryError, match="lateral"):
        direction_from_angles(True, 0.0, "left")


def test_midline_has_no_lateral_direction() -> None:
    with pytest.raises(TrajectoryError, match="side"):
        direction_from_angles(10.0, 0.0, "midline")


def test_steep_aims_round_trip_through_projected_angles() -> None:
    d = direction_from_angles(60.0, 29.9, "left")
    axial, sagittal = projected_angles(d, "left")
    assert axial > 85
    np.testing.assert_allclose(direction_from_projected(axial, sagittal, "left"), d, atol=1e-12)
