"""Simulated fluoroscopy: a digitally reconstructed radiograph (DRR) through the meshes.

A C-arm (:class:`CArm`) sends one ray from its source to each detector pixel. Every
crossing of every ray with the skin and the bones is found at once, by projecting the
triangles onto the detector (:mod:`needlesim.core.geometry.raster`, float64, watertight;
:attr:`Method.PROJECTION`) or by the engine's all-hits caster (:attr:`Method.CAST`);
the signed depths give, per ray, the path length through soft tissue, cortex and marrow
(``np.bincount``, no sorting, no loop over rays). The image is Beer-Lambert,
``I = exp(-sum mu_m L_m)``, shown as ``1 - I`` (bone and metal bright, as on a monitor).

The bone image (:class:`BoneImage`) depends only on the scene and the C-arm, so it is cast
once and cached; the needle is added analytically per pixel (its chord through a cylinder
of the needle's radius, :func:`needle_path_mm`), so moving the aim never recasts the bone.

Path lengths by material
    * a **shell bone** (outer and endosteal surface in one mesh, the Visible Human ilia): the
      length inside the shell is cortex, the length inside the endosteal surface is marrow;
    * a **solid bone** (the sacrum): each surface crossing adds ``cortical_thickness_mm /
      |cos|`` of cortex (at most :data:`MAX_CORTEX_OBLIQUITY` times the thickness); the rest
      of its inside length is marrow;
    * **soft tissue**: from the first to the last skin crossing of the ray (the built-in skin
      is cropped, so not closed), minus the bone on the ray. Nerves, vessels and the dura have
      soft-tissue attenuation and are invisible, as on a real radiograph.

Attenuation coefficients (:data:`MU_PER_MM`), at 60 keV, the effective energy of a
fluoroscopy beam at about 80-90 kVp: mass attenuation coefficients from NIST XCOM /
Hubbell & Seltzer, *Tables of X-Ray Mass Attenuation Coefficients* (NIST Standard Reference
Database 126) times the ICRU Report 44 densities:

=============  ===============  ================  ===========
material       mu/rho (cm2/g)   density (g/cm3)   mu (1/mm)
=============  ===============  ================  ===========
soft tissue    0.2048           1.06              0.0217
cortical bone  0.3148           1.92              0.0604
marrow*        0.2280           1.18              0.0269
steel (iron)   1.205            7.874             0.949
=============  ===============  ================  ===========

\\* the marrow space is spongiosa: trabecular bone and red marrow, density 1.18 g/cm3
(Woodard & White 1986); its mu/rho is taken between soft tissue and cortical bone in
proportion to the bone mineral fraction (an estimate, stated as such).
"""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.geometry.raster import RayGrid, grid_crossings
from ..core.geometry.raycast import Backend, make_caster
from ..core.geometry.soup import TriangleSoup
from ..core.model.scene import Role, Scene


class Material(str, enum.Enum):
    SOFT_TISSUE = "soft tissue"
    CORTEX = "cortex"
    MARROW = "marrow"
    METAL = "metal"


#: Linear attenuation at 60 keV, 1/mm (table in the module docstring).
MU_PER_MM = {Material.SOFT_TISSUE: 0.0217, Material.CORTEX: 0.0604, Material.MARROW: 0.0269, Material.METAL: 0.949}
#: A solid bone's cortex along a grazing ray is at most this many times its thickness.
MAX_CORTEX_OBLIQUITY = 4.0
#: Default detector: pixels a side, and its width in mm (a 30-40 cm flat panel).
DEFAULT_PIXELS = 512
DEFAULT_DETECTOR_MM = 400.0
#: Source to isocentre and source to detector, mm (a mobile C-arm).
DEFAULT_SOURCE_ISO_MM = 600.0
DEFAULT_SOURCE_DETECTOR_MM = 1000.0


@dataclass(frozen=True)
class CArm:
    """Where the C-arm stands.

    Parameters
    ----------
    orbit_deg : rotation about the patient's long axis; 0 is AP (the beam runs from anterior
        to posterior, detector over the prone patient's back), + turns the detector toward the
        patient's left (90: a lateral view, beam from right to left).
    tilt_deg : + tips the beam toward the feet (an inlet view), - toward the head (outlet).
    source_iso_mm : source to isocentre, mm; ``None`` for parallel rays (a test geometry).
    source_detector_mm, detector_mm, pixels : detector distance and size (mm), pixels a side.
    isocentre : (3,) RAS mm, or ``None`` for the centre of the scene's bones.
    """

    orbit_deg: float = 0.0
    tilt_deg: float = 0.0
    source_iso_mm: float | None = DEFAULT_SOURCE_ISO_MM
    source_detector_mm: float = DEFAULT_SOURCE_DETECTOR_MM
    detector_mm: float = DEFAULT_DETECTOR_MM
    pixels: int = DEFAULT_PIXELS
    isocentre: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("orbit_deg", "tilt_deg", "source_detector_mm", "detector_mm"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"C-arm {name} must be finite")
        if abs(self.tilt_deg) > 60:
            raise ValueError(f"C-arm tilt {self.tilt_deg:g} deg is beyond +/-60 deg")
        if not 16 <= int(self.pixels) <= 2048:
            raise ValueError(f"C-arm image of {self.pixels} pixels: give 16 to 2048")
        if self.source_iso_mm is not None and not 0 < self.source_iso_mm < self.source_detector_mm:
            raise ValueError("the isocentre must lie between the source and the detector")

    @property
    def beam(self) -> np.ndarray:
        """(3,) unit direction from the source to the detector."""
        o, t = math.radians(self.orbit_deg), math.radians(self.tilt_deg)
        return np.array([-math.sin(o) * math.cos(t), -math.cos(o) * math.cos(t), -math.sin(t)])

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, v): the image's rightward and upward directions. The image is seen from the
        detector, like the posterior 3D view: the patient's left on the left in AP, the head up."""
        b = self.beam
        up = np.array([0.0, 0.0, 1.0]) - b[2] * b
        v = up / np.linalg.norm(up)
        return np.cross(-b, v), v


#: The standard views (the oblique turns the detector 25 deg toward the patient's left).
VIEWS = {"AP": CArm(), "inlet": CArm(tilt_deg=40.0), "outlet": CArm(tilt_deg=-40.0),
         "oblique": CArm(orbit_deg=25.0), "lateral": CArm(orbit_deg=90.0)}


@dataclass(frozen=True, eq=False)
class BoneImage:
    """Per-pixel path lengths (mm) through each material, and the rays that made them."""

    carm: CArm
    isocentre: np.ndarray  #: (3,)
    origins: np.ndarray  #: (n, 3) ray starts (the source, or the parallel plane)
    directions: np.ndarray  #: (n, 3) unit
    lengths: dict  #: Material -> (pixels, pixels) mm
    filled_pixels: int = 0  #: rays with a lost crossing, filled from their neighbours

    def line_integral(self, extra: np.ndarray | None = None) -> np.ndarray:
        """(pixels, pixels) ``sum mu L`` (dimensionless), plus ``extra`` (metal path, mm)."""
        p = sum(MU_PER_MM[m] * L for m, L in self.lengths.items())
        return p if extra is None else p + MU_PER_MM[Material.METAL] * extra

    def project(self, points: np.ndarray) -> np.ndarray:
        """(k, 2) pixel coordinates (column, row from the top) of RAS points."""
        u, v = self.carm.axes()
        pts = np.atleast_2d(np.asarray(points, float))
        c = self.carm
        half = c.detector_mm / 2
        if c.source_iso_mm is None:
            rel = pts - self.isocentre
            x, y = rel @ u, rel @ v
        else:
            src = self.isocentre - self.carm.beam * c.source_iso_mm
            rel = pts - src
            depth = rel @ self.carm.beam
            x, y = rel @ u * c.source_detector_mm / depth, rel @ v * c.source_detector_mm / depth
        n = c.pixels
        return np.stack([(x + half) / c.detector_mm * n - 0.5, (half - y) / c.detector_mm * n - 0.5], axis=1)


def _grid(carm: CArm, iso: np.ndarray, reach_mm: float) -> tuple[RayGrid, float]:
    """The detector's ray grid (row-major, top row first) and the cast length of a ray."""
    u, v = carm.axes()
    b = carm.beam
    if carm.source_iso_mm is None:
        return RayGrid(iso - b * reach_mm, u, v, b, carm.detector_mm, carm.pixels), 2 * reach_mm
    return (RayGrid(iso - b * carm.source_iso_mm, u, v, b, carm.detector_mm, carm.pixels, carm.source_detector_mm),
            float(carm.source_detector_mm) * 1.2)


#: Face kinds of a :class:`_Soup` (columns of the per-ray sums in :func:`_lengths`).
_OUTER, _ENDOSTEAL, _SOLID, _SKIN = range(4)


class _Soup:
    """The skin and bones of one scene as one triangle soup, with per-face material rules."""

    def __init__(self, scene: Scene, backend: Backend) -> None:
        parts = [s for s in scene if s.role is Role.SKIN or (s.is_bone and not s.critical)]
        self.soup = TriangleSoup.from_meshes([(s.vertices, s.faces) for s in parts])
        self.caster = make_caster(self.soup, backend)
        nf = len(self.soup)
        self.skin = np.zeros(nf, bool)
        self.shell = np.zeros(nf, bool)  # faces of a shell bone
        self.endosteal = np.zeros(nf, bool)
        self.thickness = np.zeros(nf)  # a solid bone's cortical thickness (0 elsewhere)
        self.kind = np.full(nf, _SOLID, np.int64)  # _OUTER, _ENDOSTEAL, _SOLID or _SKIN per face
        for g, s in enumerate(parts):
            a, b = self.soup.geom_starts[g], self.soup.geom_starts[g + 1]
            if s.role is Role.SKIN:
                self.skin[a:b] = True
                self.kind[a:b] = _SKIN
            elif s.marrow_faces is not None:
                self.shell[a:b] = True
                self.endosteal[a + s.marrow_faces] = True
                self.kind[a:b] = _OUTER
                self.kind[a + s.marrow_faces] = _ENDOSTEAL
            else:
                self.thickness[a:b] = s.cortical_thickness_mm
        # balance groups of _unbalanced: 0 the skin (not checked), 1 every shell, 2 + g solid bone g
        self.group = np.where(self.skin, 0, np.where(self.shell, 1, 2 + self.soup.geom))
        self.n_groups = len(parts) + 2
        lo, hi = scene.bounds
        self.reach = float(np.linalg.norm(hi - lo))
        bones = [s for s in parts if s.is_bone] or parts
        self.bone_centre = (np.min([s.vertices.min(0) for s in bones], 0) + np.max([s.vertices.max(0) for s in bones], 0)) / 2


def _lengths(soup: _Soup, hits, directions: np.ndarray, n: int) -> dict:
    """Per ray: mm through soft tissue, cortex and marrow (see the module docstring)."""
    ray, t, face = hits.ray, hits.t, hits.face
    signed = np.where(hits.entering, -t, t)  # inside length = sum(exit t) - sum(entry t)
    cls = soup.kind[face]
    sums = np.bincount(ray * 4 + cls, weights=signed, minlength=4 * n).reshape(n, 4)
    cortex = sums[:, _OUTER] + sums[:, _ENDOSTEAL]  # between a shell's outer and endosteal surfaces
    marrow, solid_len = -sums[:, _ENDOSTEAL], sums[:, _SOLID]
    sel = np.flatnonzero(cls == _SOLID)
    cos = np.abs(np.einsum("ij,ij->i", soup.soup.normals[face[sel]], directions[ray[sel]]))
    th = soup.thickness[face[sel]]
    per_crossing = np.minimum(th / np.maximum(cos, 1e-6), MAX_CORTEX_OBLIQUITY * th)
    solid_cortex = np.minimum(np.bincount(ray[sel], weights=per_crossing, minlength=n), solid_len)
    cortex, marrow = cortex + solid_cortex, marrow + solid_len - solid_cortex
    skin = np.flatnonzero(cls == _SKIN)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, ray[skin], t[skin])
    np.maximum.at(last, ray[skin], t[skin])
    body = np.where(last > first, last - first, 0.0)
    soft = np.maximum(body - cortex - marrow, 0.0)
    return {Material.SOFT_TISSUE: soft, Material.CORTEX: np.maximum(cortex, 0.0), Material.MARROW: np.maximum(marrow, 0.0)}


def _unbalanced(soup: _Soup, hits, n: int) -> np.ndarray:
    """(n,) bool: rays whose crossings do not pair up (a crossing lost by the float32 caster
    at an edge, or a crack between meshes that should close together). Checked per group
    whose signed sum must close (:attr:`_Soup.group`): all shell surfaces together and all
    endosteal surfaces together (the ilium, ischium and pubis meshes abut at the acetabulum,
    so a ray may enter one and leave through another), and each solid bone. The skin is open
    (cropped) and not checked."""
    m = soup.n_groups
    sign = np.where(hits.entering, 1.0, -1.0)
    bal = np.bincount(hits.ray * m + soup.group[hits.face], weights=sign, minlength=n * m).reshape(n, m)
    endo = soup.endosteal[hits.face]
    bal_endo = np.bincount(hits.ray[endo], weights=sign[endo], minlength=n)
    return (np.abs(bal[:, 1:]).sum(axis=1) > 0) | (bal_endo != 0)


def _fill(a: np.ndarray, lost: np.ndarray, *, passes: int = 4) -> np.ndarray:
    """``a`` with each ``lost`` pixel replaced by the mean of its good 8 neighbours; a lost
    pixel with none takes the next pass's (clusters fill from their rim inward)."""
    out = a
    for _ in range(passes):
        if not lost.any():
            break
        out, lost = _fill_once(out, lost)
    return out


def _fill_once(a: np.ndarray, lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = a.shape
    rr, cc = np.nonzero(lost)
    total, count = np.zeros(len(rr)), np.zeros(len(rr))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            r, c = np.clip(rr + dy, 0, h - 1), np.clip(cc + dx, 0, w - 1)
            good = (r == rr + dy) & (c == cc + dx) & ~lost[r, c]
            total += np.where(good, a[r, c], 0.0)
            count += good
    out = a.copy()
    out[rr, cc] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    still = lost.copy()
    still[rr, cc] = count == 0
    return out, still


_SOUPS: "OrderedDict[tuple, _Soup]" = OrderedDict()
_IMAGES: "OrderedDict[tuple, BoneImage]" = OrderedDict()
_CACHE_SIZE = 8


def prepare(scene: Scene, *, backend: Backend | str = Backend.EMBREE) -> _Soup:
    """Build (once, cached) the casting structures of ``scene``. An app calls this on its
    GUI thread before casting on a worker: Embree scenes are built on the thread that owns
    them (building one on a worker thread crashed embreex under PySide6)."""
    skey = (scene.geometry_key, Backend(backend))
    soup = _SOUPS.get(skey)
    if soup is None:
        soup = _SOUPS[skey] = _Soup(scene, Backend(backend))
    return soup


class Method(str, enum.Enum):
    """How a bone image finds the crossings of its rays with the meshes."""

    #: Project every triangle onto the detector and test the pixel centres under it
    #: (:mod:`needlesim.core.geometry.raster`): float64, watertight, no ray cast.
    PROJECTION = "projection"
    #: Cast every ray with the engine's all-hits caster of the chosen backend.
    CAST = "cast"


def bone_image(scene: Scene, carm: CArm, *, backend: Backend | str = Backend.EMBREE,
               method: Method | str = Method.PROJECTION) -> BoneImage:
    """The cached bone image of ``scene`` seen by ``carm`` (computed once per geometry,
    C-arm and method). ``backend`` is the caster of :attr:`Method.CAST`, which is also
    used when a mesh reaches behind the source (it cannot be projected)."""
    backend, method = Backend(backend), Method(method)
    key = (scene.geometry_key, backend, method, carm)
    if key in _IMAGES:
        _IMAGES.move_to_end(key)
        return _IMAGES[key]
    soup = prepare(scene, backend=backend)
    iso = soup.bone_centre if carm.isocentre is None else np.asarray(carm.isocentre, float)
    grid, reach = _grid(carm, iso, soup.reach)
    origins, dirs = grid.rays()
    hits = None
    if method is Method.PROJECTION:
        try:
            hits = grid_crossings(soup.soup, grid, reach)
        except ValueError:  # a mesh behind the source: cast instead
            hits = None
    if hits is None:
        hits = soup.caster.all_hits(origins, dirs, reach)
    n = carm.pixels
    lost = _unbalanced(soup, hits, n * n).reshape(n, n)
    lengths = {m: _fill(L.reshape(n, n), lost) for m, L in _lengths(soup, hits, dirs, n * n).items()}
    img = BoneImage(carm, iso, origins, dirs, lengths, int(lost.sum()))
    _IMAGES[key] = img
    for cache in (_IMAGES, _SOUPS):
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return img


def needle_path_mm(image: BoneImage, start: np.ndarray, end: np.ndarray, radius_mm: float) -> np.ndarray:
    """(pixels, pixels) mm of needle (a solid cylinder from ``start`` to ``end``) along each
    pixel's ray: the chord ``2 sqrt(r^2 - delta^2) / sin(phi)`` where the ray passes at
    ``delta`` from the axis at angle ``phi``, where the closest point lies on the segment.
    Only the pixels around the needle's projection are computed (no ray is cast)."""
    a, b = np.asarray(start, float), np.asarray(end, float)
    n = image.carm.pixels
    out = np.zeros((n, n))
    axis = b - a
    length = float(np.linalg.norm(axis))
    if length <= 0 or radius_mm <= 0:
        return out
    px = image.project(np.array([a, b]))
    pad = 3 + radius_mm / image.carm.detector_mm * n * 3  # magnification is at most ~3
    c0, r0_ = np.floor(px.min(axis=0) - pad).astype(int)
    c1, r1_ = np.ceil(px.max(axis=0) + pad).astype(int)
    c0, r0_, c1, r1_ = max(c0, 0), max(r0_, 0), min(c1, n - 1), min(r1_, n - 1)
    if c0 > c1 or r0_ > r1_:
        return out
    rows, cols = np.mgrid[r0_:r1_ + 1, c0:c1 + 1]
    idx = (rows * n + cols).ravel()
    out[rows, cols] = _chords(image.origins[idx], image.directions[idx], a, axis / length, length,
                              radius_mm).reshape(rows.shape)
    return out


def _chords(o: np.ndarray, d: np.ndarray, a: np.ndarray, w: np.ndarray, length: float, r: float) -> np.ndarray:
    cos = d @ w
    sin2 = np.maximum(1.0 - cos * cos, 1e-12)
    r0 = o - a
    rd, rw = np.einsum("ij,ij->i", r0, d), r0 @ w
    # closest points of the ray line and the axis line: o + s d and a + q w
    q = (rw - cos * rd) / sin2
    s = (cos * rw - rd) / sin2
    gap = r0 + s[:, None] * d - q[:, None] * w
    chord = 2.0 * np.sqrt(np.maximum(r * r - np.einsum("ij,ij->i", gap, gap), 0.0)) / np.sqrt(sin2)
    chord = np.minimum(chord, length / np.maximum(np.abs(cos), 1e-9))
    chord[(q < 0) | (q > length)] = 0.0
    return chord


def transmission(image: BoneImage, *, needle: tuple[np.ndarray, np.ndarray, float] | None = None) -> np.ndarray:
    """(pixels, pixels) the transmitted fraction ``exp(-sum mu L)``, with the needle
    ``(start, end, radius_mm)`` as metal if given (Beer-Lambert; what the detector measures)."""
    extra = None if needle is None else needle_path_mm(image, *needle)
    return np.exp(-image.line_integral(extra))


#: The display window: line-integral percentiles of the bone image mapped to black and white.
WINDOW_PERCENTILES = (1.0, 99.7)


def radiograph(image: BoneImage, *, needle: tuple[np.ndarray, np.ndarray, float] | None = None,
               needles: Sequence[tuple[np.ndarray, np.ndarray, float]] = ()) -> np.ndarray:
    """(pixels, pixels) float in [0, 1] for display, bright = dense, as a fluoroscopy monitor
    shows it: the log of the transmission, windowed on the bone image alone (so the needle
    never changes the window, as automatic brightness control would not within one shot).
    ``needle`` and each of ``needles`` are ``(start, end, radius_mm)`` drawn as metal."""
    base = image.line_integral()
    lo, hi = np.percentile(base, WINDOW_PERCENTILES)
    metal = [needle_path_mm(image, *n) for n in ([needle] if needle is not None else []) + list(needles)]
    p = image.line_integral(sum(metal)) if metal else base
    return np.clip((p - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


def report_needle(report) -> tuple[np.ndarray, np.ndarray, float]:
    """The ``needle`` argument of :func:`radiograph` for a risk report (puncture to tip)."""
    ev = report.evaluation
    return np.asarray(ev.skin_puncture), np.asarray(ev.tip), ev.trajectory.radius_mm
