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


# --- Human size: the check that catches wrong units (issue 10 item 5) -----------------------
# Each range holds every real adult and child pelvis with room to spare, and is narrower
# than a factor of 10 beyond the real extremes where anatomy allows, so that a mesh read
# in the wrong unit (cm as mm: 0.1x; mm as cm: 10x) falls outside it. Sources: the rows of
# /work/shared/references/anatomy-numbers.md and standard anatomy texts (figures below).
# "Extent" is the largest side of the structure's axis-aligned bounding box; "thickness"
# is 4 V / A of a closed mesh, which is exactly the diameter of a long tube (for a shell
# bone with its marrow surface it is twice the cortex). Not fitted to the built-in scene.


@dataclass(frozen=True)
class SizeRange:
    """Plausible sizes of one kind of structure, mm; ``None`` means not checked."""

    extent_mm: tuple[float, float]
    thickness_mm: tuple[float, float] | None
    reason: str


#: Per role (see :class:`needlesim.core.model.scene.Role`), the human range.
HUMAN_SIZE: dict[str, SizeRange] = {
    "pelvis": SizeRange((60.0, 700.0), None,
                        "all bones together: the adult bi-iliac breadth is about 230-330 mm, a 1-year-old's "
                        "about 110 mm; a scene cropped to the posterior pelvis still spans more than 60 mm"),
    "whole_pelvis": SizeRange((150.0, 450.0), None,
                              "an imported whole adult pelvis (both hip bones and the sacrum): inter-iliac-crest "
                              "breadth about 250-300 mm, the largest published male values under 350 mm"),
    "cortical_bone": SizeRange((25.0, 450.0), (0.4, 70.0),
                               "one bone: from the coccyx (30-45 mm in an adult; a young child's is mostly "
                               "cartilage) to a whole adult pelvis in one mesh (under 350 mm); thickness from a "
                               "shell bone's cortex (4V/A = 2 x 0.5-2 mm) to a solid adult sacrum (about 20-30 mm)"),
    "sacrum": SizeRange((25.0, 450.0), (0.4, 70.0), "as cortical_bone; the adult sacrum is 90-130 mm tall"),
    "marrow": SizeRange((10.0, 450.0), None, "the marrow space of one bone, smaller than the bone"),
    "skin": SizeRange((60.0, 2500.0), None, "from a crop around the PSIS to a whole tall adult"),
    "nerve_root": SizeRange((5.0, 400.0), (1.0, 15.0),
                            "sacral roots are 2-6 mm thick (S1 5.38 +/- 0.7 mm, Clin Anat 2018), ganglia "
                            "up to about 10 mm; a child's S4 root is over 1 mm"),
    "nerve": SizeRange((8.0, 1500.0), (1.5, 40.0),
                       "pelvic nerves from the superior gluteal (2-3 mm) to the sciatic (10-20 mm, flat)"),
    "dura": SizeRange((5.0, 700.0), (1.0, 30.0),
                      "root sleeves (3-7 mm) to the lumbosacral dural sac (10-25 mm across)"),
    "vessel": SizeRange((5.0, 1500.0), (0.8, 30.0),
                        "named pelvic vessels from about 1 mm to the common iliac vein and vena cava (20-25 mm)"),
    "joint": SizeRange((3.0, 400.0), None, "a joint space or capsule"),
    "other": SizeRange((1.0, 3000.0), None, "anything else: only gross unit errors are caught"),
}

# --- Mesh budget and cleaning (issue 10 item 6) ----------------------------------------------
#: Most triangles one mesh file may hold. Loading, cleaning and indexing takes about 1.1 kB
#: per triangle at its peak (a 10 M triangle STL grew past 11 GB), so 2 M is about 2.2 GB;
#: the largest built-in mesh has 20 k, and a CT segmentation decimated for simulation a few
#: hundred k. Checked from the file's header before it is read (core.io.mesh_budget).
MAX_MESH_TRIANGLES = 2_000_000
#: Largest file of a format whose header gives no triangle count (glTF/GLB, VTK/VTP), MB:
#: 2 M triangles with normals take under 150 MB in any of them.
MAX_MESH_FILE_MB = 400.0
#: A triangle whose smallest height (2 x area / longest edge) is below this is degenerate
#: (collinear or repeated vertices) and is dropped: it has no inside, no normal and no
#: reliable ray hit. 1e-6 mm is far below any real surface feature, mm.
DEGENERATE_HEIGHT_MM = 1e-6
#: A mesh none of whose triangles is at least this high is refused as having no surface,
#: mm. Collinear points written as float32 (STL) are no longer exactly collinear: at pelvic
#: coordinates (|x| < 500 mm, float32 spacing about 3e-5 mm) their triangles are a few 1e-6
#: mm high and pass the test above, so a "mesh" of such slivers is caught here. 1e-4 mm is
#: far below any real surface detail (meshes are sampled at 0.1-1 mm).
SURFACE_MIN_HEIGHT_MM = 1e-4


def clearance_horizon_mm(margin_mm: float) -> float:
    """The clearance (from the needle's surface) up to which every clearance is exact:
    ``Tolerances.exact_clearance_horizon_mm``, or margin + 10 mm if that is more, mm."""
    return max(TOL.exact_clearance_horizon_mm, float(margin_mm) + 10.0)
