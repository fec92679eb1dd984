"""Every tolerance and default in one place, each with its reason.

Modelled on trimesh's ``ToleranceMesh``: nothing in the engine writes ``eps = 1e-6``
inline. Change a value here and the whole engine follows.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Outer diameter of an 8 G bone-marrow trocar (Hernigou 2014; gauge tables), mm.
DEFAULT_NEEDLE_DIAMETER_MM = 3.26

#: Clearance below which a critical structure makes the verdict ``caution``, mm.
#: 5 mm is about twice the largest tolerable placement error (2.7 mm) in the interventional
#: radiology survey of 2018 and close to the mean unwanted needle bending (5.3 mm).
DEFAULT_MARGIN_MM = 5.0

#: How far along the needle line every intersection is listed, mm. Harvest needles are
#: advanced at most 6-8 cm; 150 mm also reaches the far side of the pelvis for sweeps.
DEFAULT_MAX_LENGTH_MM = 150.0

#: How far behind the bone entry the skin is searched for, mm. The thickest published
#: soft tissue over the PSIS is well under 150 mm even in obesity.
SKIN_SEARCH_MM = 300.0

#: The forward cast starts this far before the skin puncture so that the skin itself is
#: listed as a hit at depth 0 (a cast starting exactly on a surface may miss it), mm.
CAST_LEAD_IN_MM = 1.0

#: Default cortical thickness of a bone whose marrow is not a mesh of its own, mm. No
#: published value for the posterior ilium near the PSIS (see references, "Gaps"); 1.5 mm
#: is the middle of the 1-2 mm seen on CT of the iliac crest. A per-structure parameter.
DEFAULT_CORTICAL_THICKNESS_MM = 1.5


@dataclass(frozen=True)
class Tolerances:
    """Numerical tolerances of the engine, in mm unless stated."""

    #: Two hits on the same structure closer than this along a ray are one hit: a ray
    #: through a shared edge or vertex meets two triangles at the same depth.
    merge_mm: float = 1e-6
    #: Relative step past a hit before the next embree cast (float32 has about 7 digits).
    #: A surface of another mesh within the step is never skipped: meshes closer than twice
    #: the step are cast in separate layers (:class:`~needlesim.core.geometry.raycast.EmbreeCaster`).
    embree_step_rel: float = 1e-5
    #: Absolute floor of that step, mm.
    embree_step_mm: float = 1e-4
    #: Ray-triangle determinant below which a ray is taken as parallel to the triangle.
    parallel_det: float = 1e-12
    #: Embree and the exact backend must agree on hit depths within this, mm. float32 on
    #: coordinates re-centred on the scene keeps about 1e-5 mm per 100 mm.
    backend_agreement_hits_mm: float = 1e-3
    #: ... and on contact depths at the needle's radius, which embree gets from an offset
    #: surface (vertex normals) rather than the exact Minkowski sum: the offset surface is
    #: never inside the exact one, so embree errs early (on the safe side) by at most this.
    backend_agreement_contact_mm: float = 0.25
    #: Plausible size of one structure in mm (its bounding-box diagonal). Outside this
    #: the units are almost certainly wrong (metres read as mm, or mm read as metres).
    min_structure_size_mm: float = 1.0
    max_structure_size_mm: float = 3000.0
    #: Every clearance (from the needle's outer surface) up to this is exact (float64, to
    #: ~1e-9 mm); a structure that certainly stays farther from the needle's surface gets an
    #: upper bound within a few mm of the truth (a point on its surface), marked approximate
    #: (``~`` in reports). The engine widens it to margin + 10 mm for larger margins, so no
    #: verdict depends on an approximate clearance, mm.
    exact_clearance_horizon_mm: float = 25.0
    #: Longest a joined scene may be across before it is refused as mis-scaled, mm.
    max_scene_size_mm: float = 5000.0


TOL = Tolerances()


def clearance_horizon_mm(margin_mm: float) -> float:
    """The clearance (from the needle's surface) up to which every clearance is exact:
    ``Tolerances.exact_clearance_horizon_mm``, or margin + 10 mm if that is more, mm."""
    return max(TOL.exact_clearance_horizon_mm, float(margin_mm) + 10.0)
