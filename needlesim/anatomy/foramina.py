"""Sacral foramina and the sacral canal, found as holes and tunnels in a closed sacrum mesh.

Method
------
1. A sacral frame: the sacrum's long axis is the major principal axis of its surface (area
   weighted, so independent of the mesh resolution) seen in the sagittal plane of the APP
   frame (pointing caudally); its dorsoventral axis is perpendicular to it and to the pelvic
   left-right axis (pointing ventrally).
2. Two depth images, one cast from behind the sacrum along the dorsoventral axis and one from
   in front against it (one embree ray per pixel, first hit). A foramen is a hole in that
   surface: pixels whose depth exceeds a grey morphological opening of the image (the surface
   with narrow pits removed) by :data:`HOLE_DEPTH_MM`, or rays that pass right through; a
   ventral hole must reach :data:`FORAMEN_MIN_DEPTH_MM` somewhere to be a tunnel. Holes
   touching the outside of the silhouette (notches) or straddling the midline (the canal's
   upper opening, the hiatus) are not foramina. Every ventral hole left is kept, whatever
   their number; they are grouped into rows and labelled S1, S2, ... from the promontory down
   (:mod:`.foramen_levels`: a closed foramen, a fifth row, counts differing left and right
   are reported, not refused). The dorsal foramen of a
   level is the most lateral dorsal hole joined to that ventral foramen by a straight free
   channel (through the intervertebral foramen): the dorsal foramina lie lateral of the
   intermediate crest, while other holes into the canal (glimpses of its upper opening past
   the articular processes, an open lamina) lie medial of it.
3. A foramen's **centre** is the centre of its opening: the centroid of the bone surface
   points (first hits) in a thin ring around its hole. The **axis** of the foramen of one side and
   level runs from its dorsal opening centre to its ventral opening centre (through the
   intervertebral foramen that joins them, where the ganglion lies), pointing ventrally. On
   the Visible Human Female that segment lies in free space (the tunnel) along its whole
   length at every level. (A centreline fitted to the tunnel's cross-sections was tried and
   dropped: the lower tunnels are only 3-7 mm long, and their fitted directions swung by
   10-70 degrees under a 10 % scaling.)
4. The **canal**: rays along the dorsoventral axis in the sacrum's mid-sagittal plane
   (fitted through the midpoints of the left-right foramen pairs,
   :func:`sacral_midplane`). Where the canal has a roof, a ray enters the roof, leaves it
   into the canal, then enters the floor (the bodies). The canal centreline is the middle of that
   gap, over the longest run of levels that have one. Its cranial end (the upper edge of the
   S1 lamina) is ``sacral-canal-s1``; its caudal end (where the roof stops: the apex of the
   hiatus) is ``sacral-hiatus``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy import ndimage

from needlesim.anatomy import foramen_levels as _levels
from needlesim.anatomy.pelvic_frame import PelvicFrame, Plane
from needlesim.core.errors import LandmarkError

#: Pixel size of the depth images, mm: a quarter of the smallest published foramen width
#: (S2 dorsal, 7.1 mm; Saluja 2018) so a foramen spans >= 14 pixels across.
PIXEL_MM = 0.5
#: Diameter of the disc used to open the depth image, mm. Larger than the widest foramen
#: (S1 ventral, 13 x 12.2 mm; Saluja 2018), so every foramen is removed by the opening.
OPENING_DIAMETER_MM = 20.0
#: A pixel belongs to a hole if its ray goes this much deeper than the opened surface, mm.
#: Grooves and pits of the dorsal surface are shallower; a foramen leads into a tunnel of
#: about 11 mm (S1 dorsal depth 11.0 +/- 1.9 mm; Kim 2023) and on into the canal.
HOLE_DEPTH_MM = 8.0
#: A ventral hole is a foramen only if its deepest ray goes this much deeper than the opened
#: surface, mm: through the wall and on across the canal or out through the dorsal foramen.
#: On the Visible Human Female every ventral foramen reaches 24 mm or more under 8 random
#: 10 % scalings and decimation, and no other ventral hole reaches 20 mm. (Dorsal holes are
#: not judged by depth: seen obliquely, the S1 tunnel may look only 16 mm deep while glimpses
#: of the canal past the articular processes look 18 mm deep; they are judged by the free
#: channel to the ventral foramen instead, see the module docstring.)
FORAMEN_MIN_DEPTH_MM = 20.0
#: Width of the ring of surface pixels around a hole whose centroid is the opening's centre
#: (1 mm). The centroid of the hole's own pixels was tried: it depends on how far one sees
#: into an oblique tunnel, and moved up to 3.5 mm under 10 % scalings against 1.9 mm.
RIM_PIXELS = 2
#: The free-channel test starts this far behind a dorsal opening, mm, so that it starts
#: outside the bone even where the rim around the opening is not flat.
CHANNEL_LEAD_IN_MM = 3.0
#: ... and accepts a first hit this close before the ventral opening's centre, mm (that centre
#: lies at the level of the rim around the opening, which may be curved).
CHANNEL_END_SLACK_MM = 1.5
#: The lower half of the sacrum is also seen along its own ventral axis when that turns from the
#: whole sacrum's by more than this, degrees: the depth tests need a view within about 30 deg
#: of a tunnel's axis, and a sacrum's lower foramina face up to 40 deg more caudally on a
#: strongly curved sacrum (estimate); a third of that.
LOWER_VIEW_MIN_DEG = 10.0
#: A hole of the lower view within this of one already found is the same hole, mm: the
#: smallest published foramen width (S2 dorsal, 7.1 mm; Saluja 2018).
SAME_HOLE_MM = 7.1
#: Smallest hole area kept as a foramen, mm^2: a fifth of the smallest published foramen
#: area (about 7 x 7 mm) seen obliquely, well above single-pixel noise.
MIN_HOLE_AREA_MM2 = 8.0
#: Holes are sided by the plane through the sacrum's (area) centroid normal to the pelvic
#: left-right axis; holes closer than this to it straddle the midline (the canal's openings),
#: not foramina, mm. Published S2 dorsal foramina lie about 15 mm from the midline; on the
#: Visible Human Female the nearest foramen is 18 mm from that plane, and still 7 mm or more
#: (on its own side) after each of 20 random 10 % scalings, which skew the pelvis and tilt
#: the plane against the sacrum.
MIDLINE_EXCLUSION_MM = 4.0
#: Sacral levels with paired foramina in the usual sacrum (the nominal landmark names); the
#: search itself takes every row it finds (:mod:`.foramen_levels`).
N_LEVELS = 4
#: The promontory is looked for within this share of the sacrum's width of its centroid's
#: sagittal plane: the S1 body is about a third of the sacral width (S1 body about 45-50 mm
#: wide against a sacral width of 103.6 +/- 6.8 mm; dry-bone study), so a tenth either side
#: stays on the body, clear of the alae.
PROMONTORY_HALF_WIDTH = 0.1
#: The row spacing assumed where no side has two foramina, as a share of the sacrum's length:
#: four rows over a sacrum 98-107 mm high (Oman Med J; dry-bone study), about a fifth.
FALLBACK_SPACING = 0.2
#: Holes of at least this area get full confidence for size, mm^2: a disc of half the smallest
#: published foramen width (S2 dorsal, 7.1 mm; Saluja 2018) is 10 mm^2; twice that.
FULL_CONFIDENCE_AREA_MM2 = 20.0
#: The sacral mid-plane's normal may differ from the mean left-to-right foramen direction by at
#: most this, degrees; more means the foramen midpoints are nearly collinear and the plane
#: fit is meaningless (on the Visible Human Female they differ by a few degrees).
MIDPLANE_MAX_TILT_DEG = 30.0
#: Spacing of the canal rays along the sacrum, mm.
CANAL_STEP_MM = 0.5
#: A canal gap (roof to floor) must be at least this wide to count, mm (the thinnest
#: lower canal is several mm; thinner gaps are surface folds).
CANAL_MIN_GAP_MM = 1.0


@dataclass(frozen=True)
class SacralFrame:
    """Axes of the sacrum, unit vectors in the input frame; ``origin`` is its centroid, mm."""

    origin: np.ndarray
    right: np.ndarray
    caudal: np.ndarray
    ventral: np.ndarray


@dataclass(frozen=True)
class Foramen:
    """One opening of a sacral foramen: its ``centre`` (3,) mm, its area in the image, mm^2,
    and the confidence of its label, 0..1 (1 = every check passed; see docs/anatomy.md)."""

    side: str
    level: int
    surface: str
    centre: np.ndarray
    area_mm2: float
    confidence: float = 1.0


def foramen_axis(foramina: list[Foramen], side: str, level: int) -> tuple[np.ndarray, np.ndarray]:
    """The axis of one foramen: the dorsal opening centre, and the unit direction from it to
    the ventral opening centre (module docstring, step 3)."""
    centre = {f.surface: f.centre for f in foramina if f.side == side and f.level == level}
    direction = centre["ventral"] - centre["dorsal"]
    return centre["dorsal"], direction / np.linalg.norm(direction)


@dataclass(frozen=True)
class SacralCanal:
    """The canal centreline ``polyline`` ((n, 3) mm, cranial to caudal) and its two ends."""

    polyline: np.ndarray
    s1_entrance: np.ndarray
    hiatus: np.ndarray


def sacral_frame(sacrum: trimesh.Trimesh, frame: PelvicFrame) -> SacralFrame:
    """The sacral axes (module docstring, step 1)."""
    weights = sacrum.area_faces / sacrum.area
    centre = weights @ sacrum.triangles_center
    sagittal = (sacrum.triangles_center - centre) @ frame.axes[1:].T
    _, vectors = np.linalg.eigh((sagittal * weights[:, None]).T @ sagittal)
    long_axis = frame.axes[1:].T @ vectors[:, 1]
    caudal = long_axis if long_axis @ frame.axes[2] < 0 else -long_axis
    ventral = np.cross(frame.axes[0], caudal)
    ventral = ventral if ventral @ frame.axes[1] > 0 else -ventral
    right = np.cross(caudal, ventral)
    return SacralFrame(centre, right / np.linalg.norm(right), caudal, ventral)


@dataclass(frozen=True)
class _DepthImage:
    origins: np.ndarray  # (nu, ns, 3) ray origins, mm
    direction: np.ndarray  # (3,)
    depth: np.ndarray  # (nu, ns) first-hit distance, nan where the ray misses, mm


def _depth_image(sacrum: trimesh.Trimesh, sf: SacralFrame, sign: float, from_mm: float = -np.inf) -> _DepthImage:
    """Cast one ray per pixel along ``sign * ventral`` from outside the sacrum (from the height
    ``from_mm`` along ``caudal`` down, if given)."""
    rel = sacrum.vertices - sf.origin
    u, s, a = rel @ sf.right, rel @ sf.caudal, rel @ sf.ventral
    gu = np.arange(u.min() - 2.0, u.max() + 2.0, PIXEL_MM)
    gs = np.arange(max(s.min() - 2.0, from_mm), s.max() + 2.0, PIXEL_MM)
    start = a.min() - 5.0 if sign > 0 else a.max() + 5.0
    grid_u, grid_s = np.meshgrid(gu, gs, indexing="ij")
    origins = sf.origin + grid_u[..., None] * sf.right + grid_s[..., None] * sf.caudal + start * sf.ventral
    direction = sign * sf.ventral
    flat = origins.reshape(-1, 3)
    loc, ray, _ = sacrum.ray.intersects_location(flat, np.tile(direction, (len(flat), 1)), multiple_hits=False)
    depth = np.full(len(flat), np.nan)
    depth[ray] = (loc - flat[ray]) @ direction
    return _DepthImage(origins, direction, depth.reshape(grid_u.shape))


def _hole_labels(image: _DepthImage) -> tuple[np.ndarray, int, np.ndarray]:
    """Label the holes of a depth image (module docstring, step 2); also the residual depth."""
    miss = np.isnan(image.depth)
    miss_labels, _ = ndimage.label(miss)
    border = np.unique(np.concatenate([miss_labels[0], miss_labels[-1], miss_labels[:, 0], miss_labels[:, -1]]))
    outside = np.isin(miss_labels, border[border > 0])
    filled = np.where(miss, np.nanmax(image.depth) + 2.0 * HOLE_DEPTH_MM, image.depth)
    radius = int(round(OPENING_DIAMETER_MM / 2.0 / PIXEL_MM))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    opened = ndimage.grey_opening(filled, footprint=(xx**2 + yy**2) <= radius**2)
    residual = filled - opened
    hole = (residual > HOLE_DEPTH_MM) & ~outside
    labels, count = ndimage.label(hole)
    touching = np.unique(labels[ndimage.binary_dilation(outside) & hole])
    labels[np.isin(labels, touching[touching > 0])] = 0
    return labels, count, residual


def _rim_centre(image: _DepthImage, mask: np.ndarray) -> np.ndarray:
    """Centre of a hole's opening: the centroid of the bone surface points ringing it."""
    ring = ndimage.binary_dilation(mask, iterations=RIM_PIXELS) & ~mask & ~np.isnan(image.depth)
    return (image.origins[ring] + image.depth[ring][:, None] * image.direction).mean(0)


def _holes(
    sacrum: trimesh.Trimesh, sf: SacralFrame, midline: Plane, sign: float, *, min_depth_mm: float,
    from_mm: float = -np.inf,
) -> dict[str, list[tuple[np.ndarray, float]]]:
    """Holes of one depth image by side: (opening centre (3,) mm, area mm^2) each."""
    image = _depth_image(sacrum, sf, sign, from_mm)
    labels, count, residual = _hole_labels(image)
    holes: dict[str, list[tuple[np.ndarray, float]]] = {"left": [], "right": []}
    for index in range(1, count + 1):
        mask = labels == index
        area = mask.sum() * PIXEL_MM**2
        if area < MIN_HOLE_AREA_MM2 or residual[mask].max() < min_depth_mm:
            continue
        centre = _rim_centre(image, mask)
        if abs(midline.signed_distance(centre)) >= MIDLINE_EXCLUSION_MM:
            holes["right" if midline.signed_distance(centre) > 0 else "left"].append((centre, float(area)))
    return holes


def lower_frame(sacrum: trimesh.Trimesh, sf: SacralFrame) -> SacralFrame:
    """The axes of the sacrum's lower half (faces below its centroid): its own long axis in the
    sacral sagittal plane and the ventral axis normal to it. On a curved sacrum the lower
    foramina face this way rather than along the whole sacrum's ventral axis."""
    lower = (sacrum.triangles_center - sf.origin) @ sf.caudal > 0.0
    weights = sacrum.area_faces[lower] / sacrum.area_faces[lower].sum()
    centre = weights @ sacrum.triangles_center[lower]
    plane = np.stack([sf.caudal, sf.ventral])
    sagittal = (sacrum.triangles_center[lower] - centre) @ plane.T
    _, vectors = np.linalg.eigh((sagittal * weights[:, None]).T @ sagittal)
    caudal = plane.T @ vectors[:, 1]
    caudal = caudal if caudal @ sf.caudal > 0 else -caudal
    ventral = np.cross(sf.right, caudal)
    ventral = ventral if ventral @ sf.ventral > 0 else -ventral
    return SacralFrame(centre, sf.right, caudal, ventral / np.linalg.norm(ventral))


def _with_lower_view(sacrum, sf, midline, ventral, dorsal) -> None:
    """Add the holes of the lower half seen along its own ventral axis (:func:`lower_frame`)
    that the main view missed, if that axis turns by more than :data:`LOWER_VIEW_MIN_DEG`."""
    low = lower_frame(sacrum, sf)
    if np.degrees(np.arccos(np.clip(low.ventral @ sf.ventral, -1.0, 1.0))) <= LOWER_VIEW_MIN_DEG:
        return
    for holes, sign, depth in ((ventral, -1.0, FORAMEN_MIN_DEPTH_MM), (dorsal, 1.0, HOLE_DEPTH_MM)):
        top = (sf.origin - low.origin) @ low.caudal - OPENING_DIAMETER_MM  # the lower half, and a margin
        for side, found in _holes(sacrum, low, midline, sign, min_depth_mm=depth, from_mm=top).items():
            for centre, area in found:
                new = all(np.linalg.norm(centre - c) > SAME_HOLE_MM for c, _ in holes[side])
                if new and (centre - sf.origin) @ sf.caudal > 0.0:
                    holes[side].append((centre, area))


def _free_channel(sacrum: trimesh.Trimesh, dorsal: np.ndarray, ventral: np.ndarray, sf: SacralFrame) -> bool:
    """Whether a straight line from a dorsal opening to a ventral one crosses no bone."""
    start = dorsal - CHANNEL_LEAD_IN_MM * sf.ventral
    length = np.linalg.norm(ventral - start)
    direction = (ventral - start) / length
    loc, _, _ = sacrum.ray.intersects_location(start[None], direction[None], multiple_hits=False)
    return len(loc) == 0 or (loc[0] - start) @ direction >= length - CHANNEL_END_SLACK_MM


@dataclass(frozen=True)
class ForaminaSurvey:
    """Everything the foramen search found and saw.

    Attributes
    ----------
    foramina : tuple of Foramen
        Every opening found and labelled, each with its ``confidence`` (0..1).
    levels : {"left", "right"} -> tuple of int
        The levels of each side with both openings found (a root can be built through them).
    log : tuple of str
        What the search saw, in readable sentences ("5 ventral foramina on the left: ...").
    missing : tuple of str
        Landmark names (``{side}-s{level}-{surface}-foramen``) of the levels S1 to the lowest
        row found that have no opening on that side.
    """

    foramina: tuple[Foramen, ...]
    levels: dict[str, tuple[int, ...]]
    log: tuple[str, ...]
    missing: tuple[str, ...]


def find_foramina(sacrum: trimesh.Trimesh, sf: SacralFrame) -> list[Foramen]:
    """The dorsal and ventral foramina found on both sides, labelled by level
    (:func:`survey_foramina`, which also says what it saw)."""
    return list(survey_foramina(sacrum, sf).foramina)


def promontory(sacrum: trimesh.Trimesh, sf: SacralFrame) -> np.ndarray:
    """The sacral promontory: the most cranial point of the sacrum within
    :data:`PROMONTORY_HALF_WIDTH` of its width from the centroid's sagittal plane and ventral
    of the centroid (the top of the first sacral body, not the articular processes behind)."""
    rel = sacrum.vertices - sf.origin
    u = rel @ sf.right
    width = np.ptp(u)
    near = (np.abs(u) < PROMONTORY_HALF_WIDTH * width) & (rel @ sf.ventral > 0.0)
    if not near.any():
        raise LandmarkError("cannot find the sacral promontory: no bone in front of the sacrum's centre near its midline")
    return sacrum.vertices[near][np.argmin(rel[near] @ sf.caudal)]


def _sagittal(points: np.ndarray, sf: SacralFrame) -> np.ndarray:
    rel = np.atleast_2d(points) - sf.origin
    return np.stack([rel @ sf.caudal, rel @ sf.ventral], axis=1)


def _dorsal_partner(sacrum, sf, centre, dorsal, used, midline):
    """The most lateral unused dorsal opening joined to ``centre`` by a free channel."""
    joined = [k for k, hole in enumerate(dorsal) if k not in used and _free_channel(sacrum, hole[0], centre, sf)]
    return max(joined, key=lambda k: abs(midline.signed_distance(dorsal[k][0]))) if joined else None


def survey_foramina(sacrum: trimesh.Trimesh, sf: SacralFrame) -> ForaminaSurvey:
    """Find every ventral and dorsal foramen, label them by level, say what was seen.

    Every ventral hole that is a tunnel is kept, whatever their number on each side; the rows
    are labelled from the promontory down by :func:`.foramen_levels.label_rows`. The dorsal
    opening of a level is the most lateral dorsal hole joined to its ventral foramen by a
    straight free channel (module docstring, step 2).

    Raises
    ------
    LandmarkError
        If a side has no ventral foramen at all (the message asks for them to be placed).
    """
    midline = Plane(sf.origin, sf.right)
    ventral = _holes(sacrum, sf, midline, -1.0, min_depth_mm=FORAMEN_MIN_DEPTH_MM)
    dorsal = _holes(sacrum, sf, midline, 1.0, min_depth_mm=HOLE_DEPTH_MM)
    _with_lower_view(sacrum, sf, midline, ventral, dorsal)
    empty = [side for side in ("left", "right") if not ventral[side]]
    if empty:
        names = ", ".join(f"{side}-s1-ventral-foramen" for side in empty)
        raise LandmarkError(f"found no ventral sacral foramina on the {' and '.join(empty)} (a sacrum without open"
                            f" foramina, or a wrong mesh?); place them by hand ({names} ...) in a landmarks file")
    for side in ventral:
        ventral[side].sort(key=lambda hole: hole[0] @ sf.caudal)
    heights = {side: np.array([h[0] @ sf.caudal for h in ventral[side]]) for side in ventral}
    sagittal = {side: _sagittal(np.array([h[0] for h in ventral[side]]), sf) for side in ventral}
    length = np.ptp((sacrum.vertices - sf.origin) @ sf.caudal)
    labelling = _levels.label_rows(heights, sagittal, _sagittal(promontory(sacrum, sf), sf)[0],
                                   FALLBACK_SPACING * length)
    return _survey(sacrum, sf, midline, ventral, dorsal, labelling)


def _survey(sacrum, sf, midline, ventral, dorsal, labelling) -> ForaminaSurvey:
    found: list[Foramen] = []
    log = list(labelling.log)
    levels: dict[str, list[int]] = {"left": [], "right": []}
    rows = [row for row in labelling.rows if row.level <= _levels.MAX_LEVEL]
    for row in labelling.rows[len(rows):]:
        log.append(f"a row of holes below S{_levels.MAX_LEVEL} (level {row.level}) is not used")
    for side in ("left", "right"):
        used: set[int] = set()
        for row in rows:
            k = getattr(row, side)
            if k is None:
                continue
            other = row.right if side == "left" else row.left
            centre, area = ventral[side][k]
            conf = _confidence(area, paired=other is not None, row=row)
            d = _dorsal_partner(sacrum, sf, centre, dorsal[side], used, midline)
            if d is None:
                log.append(f"{side} S{row.level}: a ventral foramen with no dorsal opening joined to it; no root is"
                           " built through it")
                found.append(Foramen(side, row.level, "ventral", centre, area, 0.5 * conf))
                continue
            used.add(d)
            found.append(Foramen(side, row.level, "ventral", centre, area, conf))
            found.append(Foramen(side, row.level, "dorsal", dorsal[side][d][0], dorsal[side][d][1],
                                 conf * min(_size_factor(dorsal[side][d][1]), 1.0)))
            levels[side].append(row.level)
    log[:0] = _count_sentences(ventral, rows)
    top = max((row.level for row in rows), default=0)
    have = {(f.side, f.level, f.surface) for f in found}
    missing = tuple(f"{side}-s{level}-{surface}-foramen" for side in ("left", "right") for level in range(1, top + 1)
                    for surface in ("dorsal", "ventral") if (side, level, surface) not in have)
    return ForaminaSurvey(tuple(found), {s: tuple(v) for s, v in levels.items()}, tuple(log), missing)


def _size_factor(area_mm2: float) -> float:
    """1 for a hole at least :data:`FULL_CONFIDENCE_AREA_MM2`, down to 0.4 for the smallest kept."""
    return float(np.clip(area_mm2 / FULL_CONFIDENCE_AREA_MM2, 0.4, 1.0))


def _confidence(area_mm2: float, *, paired: bool, row) -> float:
    c = _size_factor(area_mm2)
    c *= 1.0 if paired else _levels.UNPAIRED_FACTOR
    c *= _levels.INFERRED_FACTOR if row.inferred else 1.0
    return c * (_levels.EXTRA_ROW_FACTOR if row.level > 4 else 1.0)


def _count_sentences(ventral, rows) -> list[str]:
    out = []
    for side in ("left", "right"):
        labels = [f"S{row.level}" for row in rows if getattr(row, side) is not None]
        text = f"{len(ventral[side])} ventral foramina on the {side}: {', '.join(labels)}"
        if any(row.level == 5 and getattr(row, side) is not None for row in rows):
            text += (" (the lowest taken as the foramen between S5 and a fused first coccygeal segment; if the top"
                     " segment is a sacralised L5 instead, correct the labels)")
        unpaired = [f"S{row.level}" for row in rows if getattr(row, side) is not None
                    and getattr(row, "right" if side == "left" else "left") is None]
        if unpaired:
            text += f"; {', '.join(unpaired)} with no partner on the other side"
        out.append(text)
    return out


def sacral_midplane(foramina: list[Foramen]) -> Plane:
    """The sacrum's own mid-sagittal plane: fitted (least squares) through the midpoints of
    the left-right foramen pairs; its normal points to the patient's right.

    Being built from the foramina, it follows the sacrum under any affine change, unlike a
    plane taken from the pelvic frame, whose tilt against the sacrum changes with the pelvis.
    """
    by_key = {(f.side, f.level, f.surface): f.centre for f in foramina}
    pairs = [(by_key[key], by_key[("right", *key[1:])]) for key in by_key
             if key[0] == "left" and ("right", *key[1:]) in by_key]
    if len(pairs) < 3:
        raise LandmarkError(f"cannot find the sacral mid-plane: only {len(pairs)} foramen openings are found on both"
                            " sides (3 needed); place the foramina by hand in a landmarks file")
    mids = np.array([(left + right) / 2.0 for left, right in pairs])
    across = sum(right - left for left, right in pairs)
    across = across / np.linalg.norm(across)
    normal = np.linalg.svd(mids - mids.mean(0))[2][2]
    normal = normal if normal @ across > 0 else -normal
    if normal @ across < np.cos(np.radians(MIDPLANE_MAX_TILT_DEG)):
        raise LandmarkError(
            "cannot find the sacral mid-plane: the midpoints of the paired foramina do not lie in a"
            f" plane across the left-right pairs (tilt {np.degrees(np.arccos(normal @ across)):.0f} deg)"
        )
    return Plane(mids.mean(0), normal)


def _canal_gaps(sacrum: trimesh.Trimesh, sf: SacralFrame, plane: Plane) -> np.ndarray:
    """Canal centre (nan where there is no roofed canal) at each step down the sacrum.

    Rays run along the sacrum's ventral axis, projected into ``plane``, from behind the
    sacrum, one every :data:`CANAL_STEP_MM` along the caudal axis (also projected).
    """
    caudal = sf.caudal - (sf.caudal @ plane.normal) * plane.normal
    caudal /= np.linalg.norm(caudal)
    ventral = np.cross(plane.normal, caudal)
    ventral = ventral if ventral @ sf.ventral > 0 else -ventral
    rel = sacrum.vertices - plane.point
    s_values = np.arange((rel @ caudal).min(), (rel @ caudal).max(), CANAL_STEP_MM)
    origins = plane.point + s_values[:, None] * caudal + ((rel @ ventral).min() - 5.0) * ventral
    loc, ray, _ = sacrum.ray.intersects_location(origins, np.tile(ventral, (len(origins), 1)), multiple_hits=True)
    depth = (loc - origins[ray]) @ ventral
    centres = np.full((len(origins), 3), np.nan)
    for i in range(len(origins)):
        hits = np.sort(depth[ray == i])
        if len(hits) >= 4 and hits[2] - hits[1] >= CANAL_MIN_GAP_MM:
            centres[i] = origins[i] + 0.5 * (hits[1] + hits[2]) * ventral
    return centres


def find_sacral_canal(sacrum: trimesh.Trimesh, sf: SacralFrame, foramina: list[Foramen], *,
                      check_ends: bool = True) -> SacralCanal:
    """The sacral canal centreline, S1 entrance and hiatus (module docstring, step 4);
    ``check_ends=False`` skips the check that its ends span the foramen rows (for ends given
    by hand)."""
    centres = _canal_gaps(sacrum, sf, sacral_midplane(foramina))
    roofed = np.isfinite(centres[:, 0])
    labels, count = ndimage.label(roofed)
    if count == 0:
        raise LandmarkError("cannot find the sacral canal: no midline ray crosses a roofed canal")
    longest = np.argmax(np.bincount(labels[labels > 0])[1:]) + 1
    polyline = centres[labels == longest]
    if len(polyline) < 10:
        raise LandmarkError(f"cannot find the sacral canal: its roofed part is only {len(polyline) * CANAL_STEP_MM:.1f} mm long")
    if check_ends:
        _check_canal_ends(polyline, sf, foramina)
    return SacralCanal(polyline, polyline[0], polyline[-1])


def _check_canal_ends(polyline: np.ndarray, sf: SacralFrame, foramina: list[Foramen]) -> None:
    """Raise if the roofed canal does not span the first two rows to the middle rows (an open
    lamina, or a broken roof, would otherwise move the S1 entrance or the hiatus silently)."""
    level = {}
    for lv in sorted({f.level for f in foramina if f.surface == "dorsal"}):
        level[lv] = np.mean([f.centre @ sf.caudal for f in foramina if f.level == lv and f.surface == "dorsal"])
    found = sorted(level)
    if len(found) < 3:
        return
    first, second, third = (level[lv] for lv in found[:3])
    if polyline[0] @ sf.caudal > (first + second) / 2.0:
        raise LandmarkError("cannot find the sacral canal entrance at S1: the canal's roof starts below the S1 foramina"
                            " (open S1 lamina?); place sacral-canal-s1 by hand in a landmarks file")
    if polyline[-1] @ sf.caudal < (second + third) / 2.0:
        raise LandmarkError("cannot find the sacral hiatus: the canal's roof ends above the S3 foramina (a broken"
                            " roof?); place sacral-hiatus by hand in a landmarks file")
