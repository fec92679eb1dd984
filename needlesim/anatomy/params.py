"""Parameters of the built anatomy (dural sac, roots, sleeves, sciatic nerve, superior gluteal
vessels) and of the scene build (pelvic tilt), each with its source or marked as an estimate.

Every number the builders in :mod:`.neural`, :mod:`.vessels` and :mod:`.build` use lives here,
in :class:`AnatomyParams` (frozen; :meth:`AnatomyParams.validated` checks it). Published
figures are from ``shared/references/anatomy-numbers.md``; "estimate" marks a number that is not
from a paper (the references list it as a gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping

from needlesim.core.errors import NeedlesimError


class AnatomyError(NeedlesimError, ValueError):
    """A parameter of the built anatomy is out of range, or a structure cannot be built on
    this pelvis (e.g. a root finds no free path through its foramen)."""


#: Where the dural sac may end, as a fraction of the way along the sacral canal between
#: markers found on the pelvis: ``(marker, fraction)`` means the canal level of ``marker``.
#: Markers: ``top`` = the canal's cranial end (upper edge of the S1 lamina, about the L5/S1
#: disc); ``f1``..``f4`` = the level of the S1..S4 intervertebral foramina (mean of the
#: dorsal and ventral openings of both sides, projected onto the canal centreline). A sacral
#: foramen lies between two fused vertebrae, so the S1 vertebra spans ``top``..``f1``, S2
#: spans ``f1``..``f2``, S3 ``f2``..``f3``. "upper/mid/lower" are the centres of the thirds.
DURAL_TIP_LEVELS: Mapping[str, tuple[str, str, float]] = MappingProxyType({
    "L5-S1": ("top", "top", 0.0),
    "S1": ("top", "f1", 0.5),
    "S1-S2": ("f1", "f1", 0.0),
    "S2-upper": ("f1", "f2", 1.0 / 6.0),
    "S2-upper-mid": ("f1", "f2", 1.0 / 3.0),
    "S2-mid": ("f1", "f2", 0.5),
    "S2-lower": ("f1", "f2", 5.0 / 6.0),
    "S2-S3": ("f2", "f2", 0.0),
    "S3": ("f2", "f3", 0.5),
})
#: Default: the boundary of the upper and middle thirds of S2, where the sac most often ends
#: (Binokay et al., Acta Radiol 2006;47:397, n=743 MRI; Al Jawad 2022: upper, middle and lower
#: S2 together 72 %).
DEFAULT_DURAL_TIP = "S2-upper-mid"

#: Largest pelvic tilt accepted, degrees: beyond +/-30 the prone pelvis is not on a table.
MAX_TILT_DEG = 30.0


def _levels(values: tuple[float, float, float, float]) -> Mapping[int, float]:
    return MappingProxyType(dict(zip((1, 2, 3, 4), values)))


@dataclass(frozen=True)
class AnatomyParams:
    """Everything the anatomy builders use; lengths in mm, angles in degrees.

    Attributes (source, or "estimate")
    ----------------------------------
    dural_tip : str
        Level of the dural sac tip, a key of :data:`DURAL_TIP_LEVELS` (Binokay 2006).
    tilt_deg : float
        Pelvic tilt about the inter-ASIS line, positive = anterior tilt (the sacrum and iliac
        crests rotate anteriorly, the pubic symphysis posteriorly); 0 = the anterior pelvic
        plane parallel to the table (prone). See :mod:`.build`.
    sac_margin_mm : float
        Gap kept between the dural sac and the canal's bone (epidural fat; estimate).
    sac_max_radius_mm : float
        Cap on the sac radius: a lumbosacral thecal sac is about 12-16 mm across (estimate
        from MRI norms), so 7.5 mm.
    sac_min_radius_mm : float
        The sac is never thinner than this above its taper (estimate).
    sac_taper_mm : float
        Length of the rounded (half-ellipsoid) end of the sac (estimate).
    sac_cranial_extension_mm : float
        The sac is continued this far above the sacral canal's entrance, where the lumbar canal
        would be (the scene has no L5): so that an S1 sleeve and an L5/S1 tear can be modelled.
    root_diameter_mm : {level: float}
        S1 5.38 (Clin Anat 2018;31:782, n=11, 5 mm from the ganglion); S2 4.5 (estimate,
        4-5 mm, a little under S1); S3 3.5 and S4 2.5 (estimates, sacral roots thin caudally).
    ganglion_swelling : float
        Ganglion diameter / root diameter (estimate; the S1 ganglion is the largest,
        Hasegawa 1996).
    ganglion_length_mm : float
        Length of the swelling (estimate).
    ganglion_offset_mm : {level: float}
        Ganglion centre along the root relative to the middle of the foramen tunnel, positive
        toward the ventral opening, negative back toward the canal. S1 0 (in the foramen,
        55-60 %); S2 -6 (in the canal, 50-85 %) (Ebraheim & Lu, Surg Radiol Anat 1998;20:105);
        S3, S4 -5 (estimate: like S2).
    root_takeoff_mm : {level: float}
        How far above its foramen a root leaves the sac, along the canal (estimate; the S1 root
        leaves most cephalad and most vertically, Hasegawa 1996).
    sleeve_thickness_mm : float
        Sleeve radius minus root radius: dura plus CSF (estimate).
    root_exit_mm : float
        How far a root runs straight on out of its ventral foramen before turning to the plexus.
    s4_length_mm : float
        S4 joins the pudendal and coccygeal plexuses, not the sciatic nerve: it is modelled for
        this length past its ventral foramen, outward and down toward the pudendal plexus (estimate).
    sciatic_diameter_mm : float
        12 mm: the middle of the 10-16 mm range of the brief (estimate; ultrasound and MRI
        series report about 10-15 x 5-8 mm at the gluteal level, a flat nerve modelled round).
    sciatic_below_notch_mm : float
        The sciatic nerve leaves through the greater sciatic foramen below piriformis, this far
        below the top of the notch (estimate).
    sciatic_descent_mm : float
        How far the nerve is followed down behind the hip past the notch (a few cm).
    plexus_anterior_mm : float
        The sacral plexus lies on piriformis, this far in front of the sacrum (estimate; the
        muscle is about 1 cm thick).
    artery_diameter_mm, vein_diameter_mm : float
        Superior gluteal artery about 4 mm at the notch (estimate from angiographic series of
        3-5 mm); its vein (venae comitantes modelled as one) 5 mm (estimate).
    sga_psis_distance_mm : float
        Where along the notch's upper border the vessels leave: the first place within this of
        the PSIS, walking back from the notch's top: 60 mm, the superior gluteal artery's
        distance from the PSIS at the notch (Am J Orthop 1998;27:427, n=20; PSIS to the
        vessels 5.4 +/- 0.95 cm, Sittitavornwong 2013).
    vessel_length_mm : float
        How far the vessels are followed over the gluteal surface of the ilium (a few cm).
    vessel_gap_mm : float
        Gap between the vessels and the bone they run on (periosteum, gluteus minimus fascia;
        estimate).
    bone_margin_mm : float
        Every built structure keeps at least this from bone (a tube is thinned locally where a
        tunnel is narrower; the root records how much).
    voxel_mm : float
        Resolution of the free-space grid the paths are planned on.
    """

    dural_tip: str = DEFAULT_DURAL_TIP
    tilt_deg: float = 0.0
    sac_margin_mm: float = 0.5
    sac_max_radius_mm: float = 7.5
    sac_min_radius_mm: float = 2.0
    sac_taper_mm: float = 8.0
    sac_cranial_extension_mm: float = 10.0
    root_diameter_mm: Mapping[int, float] = field(default_factory=lambda: _levels((5.38, 4.5, 3.5, 2.5)))
    ganglion_swelling: float = 1.4
    ganglion_length_mm: float = 9.0
    ganglion_offset_mm: Mapping[int, float] = field(default_factory=lambda: _levels((0.0, -6.0, -5.0, -5.0)))
    root_takeoff_mm: Mapping[int, float] = field(default_factory=lambda: _levels((14.0, 12.0, 10.0, 8.0)))
    sleeve_thickness_mm: float = 0.75
    root_exit_mm: float = 8.0
    s4_length_mm: float = 20.0
    sciatic_diameter_mm: float = 12.0
    sciatic_below_notch_mm: float = 22.0
    sciatic_descent_mm: float = 40.0
    plexus_anterior_mm: float = 10.0
    artery_diameter_mm: float = 4.0
    vein_diameter_mm: float = 5.0
    sga_psis_distance_mm: float = 60.0
    vessel_length_mm: float = 50.0
    vessel_gap_mm: float = 1.5
    bone_margin_mm: float = 0.3
    voxel_mm: float = 0.5

    def validated(self) -> "AnatomyParams":
        """Return ``self`` if every value is in range, else raise :class:`AnatomyError`."""
        if self.dural_tip not in DURAL_TIP_LEVELS:
            raise AnatomyError(
                f"dural sac tip level {self.dural_tip!r} is not one of {', '.join(DURAL_TIP_LEVELS)}"
                " (published range: L5/S1 disc to S3, Binokay 2006)")
        tilt = _number("tilt_deg", self.tilt_deg, allow_negative=True)
        if abs(tilt) > MAX_TILT_DEG:
            raise AnatomyError(f"pelvic tilt {tilt:g} deg is beyond +/-{MAX_TILT_DEG:g} deg")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("dural_tip", "tilt_deg"):
                continue
            if isinstance(value, Mapping):
                if set(value) != {1, 2, 3, 4}:
                    raise AnatomyError(f"{f.name} must give a value for each of the levels 1-4, got {sorted(value)}")
                for level, v in value.items():
                    _number(f"{f.name}[S{level}]", v, allow_negative=f.name == "ganglion_offset_mm")
            else:
                _number(f.name, value, allow_negative=False)
        if self.ganglion_swelling < 1.0:
            raise AnatomyError(f"ganglion_swelling must be >= 1 (a swelling), got {self.ganglion_swelling:g}")
        if not 0.2 <= self.voxel_mm <= 2.0:
            raise AnatomyError(f"voxel_mm must be between 0.2 and 2 mm, got {self.voxel_mm:g}")
        return self


def _number(name: str, value: object, *, allow_negative: bool) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnatomyError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise AnatomyError(f"{name} must be finite, got {v}")
    if v < 0 and not allow_negative:
        raise AnatomyError(f"{name} must not be negative, got {v:g}")
    return v
