"""Where a needle leaving a bone goes out: the inner table (into the pelvis), the outer
table (into the gluteal muscles), the greater sciatic notch, or the sacroiliac joint into the
sacrum. The kind decides how severe the breach is (:mod:`needlesim.core.verdict.risk`).

Rules, in order, for the exit point ``p`` of a bone on side ``s`` with outward normal ``n``:

1. another bone is entered within :data:`JOINT_GAP_MM` of the exit -- after it, or before it
   where the two meshes touch or overlap at the joint: the sacroiliac joint when one of the
   two is the sacrum, else a joint between those bones (the breach then goes into that
   bone);
2. the scene has a ``{s}-sciatic-notch-top`` landmark within :data:`NOTCH_RADIUS_MM` of ``p``:
   the greater sciatic notch;
3. ``n`` points clearly away from the midline (``n . lateral(s) >`` :data:`TABLE_COSINE`):
   the outer table; clearly toward it: the inner table; in between (a superior, inferior,
   anterior or posterior face: the bone's edge) and for a midline bone: its cortex.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import numpy as np

from ..model.conventions import lateral_unit
from ..model.scene import Role, Side, Structure

#: A bone entered this close to where another is left (after it, or before it where the
#: meshes overlap) is across a joint, mm (the sacroiliac joint space is 2-4 mm on CT; 6 mm
#: allows for cartilage and an oblique crossing).
JOINT_GAP_MM = 6.0
#: An exit this close to the top of the greater sciatic notch is through the notch, mm.
NOTCH_RADIUS_MM = 20.0


#: |cos| between the exit normal and the lateral direction above which the exit is through a
#: table (the normal within about 60 degrees of lateral or medial).
TABLE_COSINE = 0.5


class BreachKind(str, enum.Enum):
    INNER_TABLE = "inner table"
    OUTER_TABLE = "outer table"
    SCIATIC_NOTCH = "greater sciatic notch"
    SACROILIAC_JOINT = "sacroiliac joint"
    JOINT = "joint"
    CORTEX = "cortex"


def classify(structure: Structure, exit_point: np.ndarray, exit_normal: np.ndarray, next_bone: Structure | None,
             landmarks: Mapping[str, np.ndarray]) -> BreachKind:
    """The kind of an exit (see the module docstring)."""
    if next_bone is not None:
        if Role.SACRUM in (structure.role, next_bone.role):
            return BreachKind.SACROILIAC_JOINT
        return BreachKind.JOINT
    if structure.side is Side.MIDLINE:
        return BreachKind.CORTEX
    notch = landmarks.get(f"{structure.side.value}-sciatic-notch-top")
    if notch is not None and float(np.linalg.norm(np.asarray(exit_point) - notch)) <= NOTCH_RADIUS_MM:
        return BreachKind.SCIATIC_NOTCH
    outward = float(np.asarray(exit_normal) @ lateral_unit(structure.side))
    if outward > TABLE_COSINE:
        return BreachKind.OUTER_TABLE
    if outward < -TABLE_COSINE:
        return BreachKind.INNER_TABLE
    return BreachKind.CORTEX
