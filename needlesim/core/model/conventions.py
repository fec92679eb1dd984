"""The patient frame and the angle conventions, in one place.

Frame
    3D Slicer's RAS, millimetres: +x toward the patient's **right**, +y **anterior**,
    +z **superior**. LPS (DICOM) converts by negating x and y; glTF's Y-up as used by the
    HuBMAP atlas (+X left, +Y superior, +Z anterior, metres) converts by
    ``RAS = (-X, Z, Y) * 1000``. The patient lies prone; the needle advances anteriorly.

Angles (degrees at every interface; radians only inside functions)
    *Lateral angle* ``L``: the angle between the needle axis and the para-sagittal plane
    (the plane x = const), positive when the tip points away from the midline on the side
    of entry; so ``sin L = d . lateral``, and a medial aim is negative.
    *Inferior angle* ``I``: the angle between the needle axis and the transverse plane
    (z = const), positive when the tip points toward the feet: ``sin I = d . (0, 0, -1)``.
    The anterior component is what remains: ``d_y = sqrt(1 - sin^2 L - sin^2 I) > 0``.

Projected angles (what a clinician reads on an image)
    *Axial* ``atan2(d . lateral, d_y)``: the lateral tilt seen on an axial (transverse)
    slice. *Sagittal* ``atan2(d . (0,0,-1), d_y)``: the inferior tilt seen on a sagittal
    slice. They equal ``L`` and ``I`` only when the other angle is zero.

Depth
    Along the needle from the skin puncture: the point where the needle line through the
    bone entry meets the skin (the entry itself when a scene has no skin).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import TrajectoryError
from .scene import Side

#: The anatomical unit vectors in RAS.
ANTERIOR = np.array([0.0, 1.0, 0.0])
INFERIOR = np.array([0.0, 0.0, -1.0])
RIGHT = np.array([1.0, 0.0, 0.0])

#: Homogeneous matrices from each supported source frame to RAS (units handled apart).
FRAME_TO_RAS: dict[str, np.ndarray] = {
    "RAS": np.eye(4),
    "LPS": np.diag([-1.0, -1.0, 1.0, 1.0]),
    "glTF": np.array(
        [[-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    ),
}

#: Scale from each supported unit to mm.
UNIT_TO_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0}

#: Largest magnitude accepted for either angle, degrees. Past this the needle runs almost
#: parallel to the skin, which is no harvest trajectory.
MAX_ANGLE_DEG = 85.0
#: Largest projected angle accepted, degrees: a steep aim within +/-85 deg projects to
#: nearly 90 deg on one image (L 60, I 30 projects to 88 deg).
MAX_PROJECTED_DEG = 89.9
#: Smallest anterior component a direction may have (sin^2 L + sin^2 I < 1 - this).
MIN_ANTERIOR_SQ = 1e-9


def lateral_unit(side: Side | str) -> np.ndarray:
    """(3,) unit vector pointing away from the midline on ``side`` (left: -x, right: +x)."""
    try:
        return RIGHT * Side(side).lateral_sign
    except ValueError:
        raise TrajectoryError(f"side must be 'left' or 'right', got {side!r}") from None


def check_angles(lateral_deg: float, inferior_deg: float) -> None:
    """Raise :class:`TrajectoryError` unless both angles are finite, within +/-85 deg,
    and together still leave the needle advancing anteriorly."""
    for name, a in (("lateral", lateral_deg), ("inferior", inferior_deg)):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.floating, np.integer)) or not math.isfinite(a):
            raise TrajectoryError(f"{name} angle must be a finite number of degrees, got {a!r}")
        if abs(a) > MAX_ANGLE_DEG:
            raise TrajectoryError(
                f"{name} angle {a:g} deg is out of range: it must be within +/-{MAX_ANGLE_DEG:g} deg"
            )
    s2 = math.sin(math.radians(lateral_deg)) ** 2 + math.sin(math.radians(inferior_deg)) ** 2
    if s2 >= 1.0 - MIN_ANTERIOR_SQ:
        raise TrajectoryError(
            f"lateral {lateral_deg:g} deg and inferior {inferior_deg:g} deg together leave no "
            "forward (anterior) component: sin^2(lateral) + sin^2(inferior) must be below 1"
        )


def direction_from_angles(lateral_deg: float, inferior_deg: float, side: Side | str) -> np.ndarray:
    """The needle's unit direction in RAS.

    Parameters
    ----------
    lateral_deg, inferior_deg : float, degrees
        See the module docstring for definitions and signs.
    side : Side
        The side of entry (``left`` or ``right``); decides which way is lateral.

    Returns
    -------
    (3,) float
        Unit vector with ``d . lateral = sin L``, ``d_z = -sin I`` and ``d_y > 0``.
    """
    check_angles(lateral_deg, inferior_deg)
    sl = math.sin(math.radians(lateral_deg))
    si = math.sin(math.radians(inferior_deg))
    d = lateral_unit(side) * sl + INFERIOR * si + ANTERIOR * math.sqrt(1.0 - sl * sl - si * si)
    return d


def angles_from_direction(direction: np.ndarray, side: Side | str) -> tuple[float, float]:
    """``(lateral_deg, inferior_deg)`` of a direction; the inverse of
    :func:`direction_from_angles` for any direction with an anterior component."""
    d = _unit(direction)
    lat = math.degrees(math.asin(float(np.clip(d @ lateral_unit(side), -1, 1))))
    inf = math.degrees(math.asin(float(np.clip(d @ INFERIOR, -1, 1))))
    return lat, inf


def projected_angles(direction: np.ndarray, side: Side | str) -> tuple[float, float]:
    """``(axial_deg, sagittal_deg)``: the lateral tilt seen on an axial slice and the
    inferior tilt seen on a sagittal slice, both from the anterior axis."""
    d = _unit(direction)
    ant = float(d @ ANTERIOR)
    axial = math.degrees(math.atan2(float(d @ lateral_unit(side)), ant))
    sagittal = math.degrees(math.atan2(float(d @ INFERIOR), ant))
    return axial, sagittal


def direction_from_projected(axial_deg: float, sagittal_deg: float, side: Side | str) -> np.ndarray:
    """The unit direction whose projected angles are ``axial_deg`` and ``sagittal_deg``
    (both within +/-85 deg): ``d ~ (tan A * lateral + tan S * inferior + anterior)``."""
    for name, a in (("axial", axial_deg), ("sagittal", sagittal_deg)):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.floating, np.integer)) \
                or not math.isfinite(a) or abs(a) > MAX_PROJECTED_DEG:
            raise TrajectoryError(f"{name} angle must be finite and within +/-{MAX_PROJECTED_DEG:g} deg, got {a!r}")
    d = (
        lateral_unit(side) * math.tan(math.radians(axial_deg))
        + INFERIOR * math.tan(math.radians(sagittal_deg))
        + ANTERIOR
    )
    return d / np.linalg.norm(d)


def _unit(v: np.ndarray) -> np.ndarray:
    """``v`` normalised; it must be finite and point anteriorly (the needle advances)."""
    v = np.asarray(v, dtype=np.float64).reshape(3)
    n = float(np.linalg.norm(v))
    if not math.isfinite(n) or n == 0.0:
        raise TrajectoryError(f"direction must be a finite non-zero vector, got {v.tolist()}")
    if v[1] <= 0:
        raise TrajectoryError(f"direction {v.tolist()} does not point anteriorly (+y): the needle advances anteriorly")
    return v / n
