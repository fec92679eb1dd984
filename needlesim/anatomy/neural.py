"""The dural sac, the S1-S4 roots with their ganglia and dural sleeves, and the sciatic nerves,
built onto a real pelvis from its landmarks and bone meshes.

Everything is derived from :class:`~needlesim.anatomy.landmarks.PelvisLandmarks` and the bones,
in the neutral (anterior pelvic plane) frame: x right, y anterior, z superior, mm. Numbers are
in :class:`~needlesim.anatomy.params.AnatomyParams`, each with its source.

Definitions
-----------
- **Canal centreline**: the landmark centreline, smoothed, moved within 3 mm in each cross-
  section to the point farthest from bone, continued straight above the canal's entrance (the
  lumbar canal, :attr:`AnatomyParams.sac_cranial_extension_mm`) and below the hiatus (past S4).
- **Canal levels**: ``top`` is the canal's entrance; ``f1``..``f4`` are the projections onto the
  centreline of the S1..S4 intervertebral foramina (midpoint of the dorsal and ventral opening
  centres, mean of both sides). A sacral foramen lies between two fused vertebrae, so S2 spans
  ``f1``..``f2``; :data:`~needlesim.anatomy.params.DURAL_TIP_LEVELS` places the sac tip.
- **Dural sac**: a tube down the canal centreline to the tip; its radius is the canal's free
  radius (the shortest of 24 rays cast from the centreline across the canal to bone) less a
  margin, capped, with a half-ellipsoid end.
- **Tunnel point** of a root: the point of its foramen axis (dorsal opening centre to ventral
  opening centre) nearest the canal: the intervertebral foramen, the middle of the tunnel.
- **Root**: leaves the sac (its take-off lies above its foramen; a root whose take-off is below
  the sac's end leaves the tip and descends in the canal; where the sac's body ends above the
  sacral canal's entrance, it leaves the sac's rounded end just inside the canal,
  :data:`DESCENT_ENTRY_MM`), runs to its tunnel point, out through
  the ventral opening and on to the sacral plexus, ending inside the sciatic nerve (S1-S3; S4 is
  cut short, running outward and down: it feeds the pudendal plexus). Each leg is a least-cost
  path through free space (:mod:`.freespace`) kept near the straight leg, so it follows the
  middle of its own tunnel.
- **Ganglion**: a swelling of the root at its tunnel point plus a level's offset (Ebraheim & Lu
  1998). **Sleeve**: a tube around the root from its take-off to the ganglion's proximal end.
- **Sciatic nerve**: from the plexus point (in front of the sacrum, lateral of the ventral
  foramina, between them and the notch) through the greater sciatic foramen below the top of
  the notch, then down behind the hip.

Wherever bone is closer than the wanted radius, a tube is thinned (:func:`.tubefit.fitted_radius`)
rather than allowed to cut bone; :attr:`.tubefit.Tube.thinned_fraction` records how much.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import trimesh
from scipy import ndimage

from needlesim.anatomy.freespace import FreeSpace, smooth_path
from needlesim.anatomy.landmarks import PelvisLandmarks
from needlesim.anatomy.params import DURAL_TIP_LEVELS, AnatomyError, AnatomyParams
from needlesim.anatomy.tubefit import BoneDistance, Tube, fitted_radius, point_at, project, resampled, rounded_end, swelling
from needlesim.core.model.scene import Level, Role, Side

SIDES = (Side.LEFT, Side.RIGHT)
#: The usual sacral levels; roots are built for the levels each side has (``lm.levels``).
LEVELS = (1, 2, 3, 4)
#: The S1 body is looked for within this of the sacral mid-plane, mm, ...
ENDPLATE_HALF_WIDTH_MM = 8.0
#: ... and at least this far in front of the canal's entrance, mm (past the canal's floor).
ENDPLATE_VENTRAL_MM = 8.0
#: The canal's lumen is taken no wider than this radius, mm (a ray escaping through a
#: foramen would otherwise make it unbounded).
CANAL_LUMEN_MAX_MM = 12.0
#: A canal centreline point that steps back along the course over this window (Gaussian sigma,
#: points about 0.5-1 mm apart) is dropped, mm: a few vertebral-body heights' tenths.
FORWARD_WINDOW_MM = 5.0
#: A canal centreline point found in bone is moved to the freest point within this of it, mm
#: (the canal's lumen is 5-10 mm across at S3 and above).
LUMEN_SEARCH_MM = 5.0
#: Rays cast round the canal centreline to measure its free radius.
CANAL_RAYS = 24
#: Each centreline point may move this far in its cross-section toward the canal's middle, mm.
RECENTRE_MM = 3.0
#: Roots and nerves may pass this close to bone when a tunnel leaves no more room, as a
#: fraction of the wanted clearance, tried in turn (the tube is then thinned to fit).
CLEARANCE_FALLBACK = (1.0, 0.75, 0.5, 0.3, 0.15)
#: Half-width of the corridor a path leg may use around its straight line, mm.
CANAL_CORRIDOR_MM = 10.0
TUNNEL_CORRIDOR_MM = 8.0
PELVIS_CORRIDOR_MM = 12.0
#: Smoothing of the root and nerve paths (Gaussian sigma), mm.
ROOT_SMOOTH_MM = 3.0
SCIATIC_SMOOTH_MM = 14.0
#: A root that descends in the canal below the sac turns out to its tunnel this far above
#: its foramen's level, mm.
DESCENT_ABOVE_MM = 6.0
#: A root may stray this far past the sacral mid-plane (the canal's centre and the mid-plane
#: fitted to the foramina differ by a millimetre or two), mm.
MIDPLANE_SLACK_MM = 1.0
#: A root that leaves the sac's tip where the sac's body ends above the sacral canal's entrance
#: (a short sacrum: the sac's rounded end reaches into the canal) leaves it this far inside the
#: canal instead, within the rounded end, so that it descends in the canal's lumen with the
#: others from its start (where the validator lets them crowd) rather than beside them above
#: the canal, mm: a few voxels (0.5 mm) past the entrance.
DESCENT_ENTRY_MM = 2.0
#: Share of the canal's free half-width at which a root descends, by level (S3 outer).
DESCENT_LATERAL_SHARE = {1: 0.9, 2: 0.9, 3: 0.55, 4: 0.15}
#: The notch's mouth is probed this far out from its top, mm, ...
NOTCH_PROBE_MM = (6.0, 25.0)
#: ... over this half-width across the bone (x), mm: the notch's bony edge is 5-15 mm thick.
NOTCH_HALF_WIDTH_MM = 12.0
#: How far a root runs inside the sciatic nerve past the plexus point, mm (a join, not a gap).
ROOT_MERGE_MM = 8.0


@dataclass(frozen=True)
class Canal:
    """The sacral canal centreline (cranial to caudal, 1 mm steps, mm) and its levels (arc, mm)."""

    centreline: np.ndarray
    levels: Mapping[str, float]
    free_profile_mm: np.ndarray
    #: Arc (mm) from which the lumen counts, when a dural sac ending above the sacral canal
    #: makes the roots run together from higher up (None: the canal's entrance).
    lumen_from_arc: float | None = None

    @property
    def free_radius_mm(self) -> np.ndarray:
        """(n,) mm: the canal's free radius at each centreline point (its shortest ray)."""
        return self.free_profile_mm.min(axis=1)

    def lumen(self, points: np.ndarray) -> np.ndarray:
        """(n,) bool: points in the canal's lumen from its entrance down (inside the star-shaped
        cross-section the rays of :func:`_free_profile` found, capped at
        :data:`CANAL_LUMEN_MAX_MM`), where the roots below the sac run together."""
        from scipy.spatial import cKDTree

        p = np.atleast_2d(points)
        d, k = cKDTree(self.centreline).query(p)
        u, v = _cross_section_bases(self.centreline)
        rel = p - self.centreline[k]
        angle = np.arctan2(np.sum(rel * v[k], axis=1), np.sum(rel * u[k], axis=1)) % (2 * np.pi)
        ray = np.round(angle / (2 * np.pi) * CANAL_RAYS).astype(int) % CANAL_RAYS
        reach = np.minimum(self.free_profile_mm[k, ray], CANAL_LUMEN_MAX_MM)
        start = self.levels["canal"] if self.lumen_from_arc is None else min(self.levels["canal"], self.lumen_from_arc)
        return (d <= reach) & (k >= start)

    def at(self, arc_mm: float) -> np.ndarray:
        return point_at(self.centreline, arc_mm)

    def tangent(self, arc_mm: float) -> np.ndarray:
        d = self.at(arc_mm + 1.0) - self.at(arc_mm - 1.0)
        return d / np.linalg.norm(d)

    def tip_arc(self, level: str) -> float:
        a, b, t = DURAL_TIP_LEVELS[level]
        return (1.0 - t) * self.levels[a] + t * self.levels[b]


@dataclass(frozen=True)
class NeuralAnatomy:
    """Every built neural tube, by name, plus the canal and where each root's tunnel is."""

    canal: Canal
    tubes: Mapping[str, Tube]
    tunnel_points: Mapping[str, np.ndarray] = field(default_factory=dict)
    ganglia: Mapping[str, np.ndarray] = field(default_factory=dict)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _basis(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.cross(t, np.eye(3)[np.argmin(np.abs(t))])
    u = _unit(u)
    return u, np.cross(t, u)


def level_value(values: Mapping[int, float], level: int) -> float:
    """A per-level parameter; a level beyond those given (S5, found where a first coccygeal
    segment is fused) takes the lowest level's value (the sacral roots thin caudally: S5 is
    no thicker than S4)."""
    return float(values[level] if level in values else values[max(values)])


def levels_present(lm: PelvisLandmarks) -> tuple[int, ...]:
    """Every level with a foramen axis on at least one side, ascending."""
    return tuple(sorted(set(lm.levels.get("left", ())) | set(lm.levels.get("right", ()))))


def _sides_with(lm: PelvisLandmarks, level: int) -> list[Side]:
    return [s for s in SIDES if level in lm.levels.get(s.value, ())]


def _foramen_levels(lm: PelvisLandmarks, line: np.ndarray) -> dict[str, float]:
    """Arc of ``f1``.. ``f<lowest>`` on the canal line; a level found on neither side (closed
    on both) is interpolated between its neighbours, or extrapolated by the next spacing."""
    found = {lv: float(np.mean([project(line, _foramen_mid(lm, s, lv)) for s in _sides_with(lm, lv)]))
             for lv in levels_present(lm)}
    if len(found) < 2:
        raise AnatomyError(f"only {len(found)} sacral level(s) with foramina found; the canal levels need two")
    known = np.array(sorted(found))
    arcs = np.array([found[k] for k in known])
    wanted = np.arange(1, max(known.max(), 3) + 1)
    values = np.interp(wanted, known, arcs)
    slope_lo, slope_hi = (arcs[1] - arcs[0]) / (known[1] - known[0]), (arcs[-1] - arcs[-2]) / (known[-1] - known[-2])
    values = np.where(wanted < known[0], arcs[0] + (wanted - known[0]) * slope_lo, values)
    values = np.where(wanted > known[-1], arcs[-1] + (wanted - known[-1]) * slope_hi, values)
    return {f"f{lv}": float(v) for lv, v in zip(wanted, values)}


def _foramen_mid(lm: PelvisLandmarks, side: Side, level: int) -> np.ndarray:
    p = lm.points
    return 0.5 * (p[f"{side.value}-s{level}-dorsal-foramen"] + p[f"{side.value}-s{level}-ventral-foramen"])


def _recentre(points: np.ndarray, space: FreeSpace) -> np.ndarray:
    """Move each point within :data:`RECENTRE_MM` in its cross-section to the freest place."""
    g = np.arange(-RECENTRE_MM, RECENTRE_MM + 1e-9, 0.5)
    gu, gv = np.meshgrid(g, g)
    disc = np.hypot(gu, gv) <= RECENTRE_MM
    gu, gv = gu[disc], gv[disc]
    tangents = np.gradient(points, axis=0)
    shifts = np.zeros_like(points)
    for i, (p, t) in enumerate(zip(points, tangents)):
        u, v = _basis(_unit(t))
        cand = p + gu[:, None] * u + gv[:, None] * v
        shifts[i] = cand[np.argmax(space.clearance_at(cand))] - p
    return points + ndimage.gaussian_filter1d(shifts, 3.0, axis=0, mode="nearest")


def _forward_only(line: np.ndarray) -> np.ndarray:
    """``line`` without the points that step back along its general course (the direction over
    :data:`FORWARD_WINDOW_MM` around each point): a centreline that folds back on a curved
    sacrum (into the canal's roof) keeps only its forward run."""
    if len(line) < 3:
        return line
    course = ndimage.gaussian_filter1d(line, FORWARD_WINDOW_MM, axis=0, mode="nearest")
    tangent = np.gradient(course, axis=0)
    keep = [0]
    for i in range(1, len(line)):
        if (line[i] - line[keep[-1]]) @ tangent[i] > 0.0:
            keep.append(i)
    return line[keep]


def _in_lumen(core: np.ndarray, space: FreeSpace) -> np.ndarray:
    """``core`` with every point in bone moved to the freest point of its cross-section within
    :data:`LUMEN_SEARCH_MM`; raises if one still lies in bone."""
    bad = np.flatnonzero(space.clearance_at(core) <= 0.0)
    if len(bad) == 0:
        return core
    g = np.arange(-LUMEN_SEARCH_MM, LUMEN_SEARCH_MM + 1e-9, 0.5)
    gu, gv = (a.ravel() for a in np.meshgrid(g, g))
    tangents = np.gradient(core, axis=0)
    out = core.copy()
    for i in bad:
        u, v = _basis(_unit(tangents[i]))
        cand = core[i] + gu[:, None] * u + gv[:, None] * v
        out[i] = cand[np.argmax(space.clearance_at(cand))]
    still = np.flatnonzero(space.clearance_at(out) <= 0.0)
    if len(still):
        raise AnatomyError(f"the sacral canal centreline runs in bone at {len(still)} mm of its length (first at"
                           f" {np.round(out[still[0]], 1)}); correct sacral-canal-s1 / sacral-hiatus or the foramina")
    return out


def _s1_endplate_height(lm: PelvisLandmarks, sacrum: trimesh.Trimesh, entrance: np.ndarray, head: np.ndarray) -> float:
    """How far the top of the S1 body (the L5/S1 disc) lies above the canal's entrance along
    the canal's cranial direction, mm: the most cranial sacrum vertex within
    :data:`ENDPLATE_HALF_WIDTH_MM` of the sacral mid-plane and ventral of the canal."""
    ventral = _unit(sum(lm.axes[f"{s.value}-s{lm.levels[s.value][0]}-foramen"][1] for s in SIDES))
    ventral = _unit(ventral - (ventral @ head) * head)
    v = sacrum.vertices
    near = np.abs(lm.sacral_midline.signed_distance(v)) < ENDPLATE_HALF_WIDTH_MM
    body = near & ((v - entrance) @ ventral > ENDPLATE_VENTRAL_MM)
    if not body.any():
        raise AnatomyError("cannot find the S1 vertebral body in front of the sacral canal")
    return float(np.max((v[body] - entrance) @ head))


def sacral_canal(lm: PelvisLandmarks, sacrum: trimesh.Trimesh, bones: trimesh.Trimesh, space: FreeSpace,
                 params: AnatomyParams) -> Canal:
    """The canal centreline, recentred and extended (module docstring), and its levels."""
    core = resampled(_forward_only(lm.canal_polyline), 1.0)
    core = ndimage.gaussian_filter1d(core, 2.0, axis=0, mode="nearest")
    core = _in_lumen(resampled(_forward_only(_recentre(core, space)), 1.0), space)
    head = _unit(core[0] - core[min(10, len(core) - 1)])
    tail = _unit(core[-1] - core[max(len(core) - 11, 0)])
    endplate_mm = max(_s1_endplate_height(lm, sacrum, core[0], head), 0.0)
    below = max((_foramen_mid(lm, s, max(lm.levels[s.value])) - core[-1]) @ tail for s in SIDES)
    tail_mm = max(below, 0.0) + 15.0
    above = np.arange(endplate_mm + params.sac_cranial_extension_mm, 0.0, -1.0)[:, None] * head + core[0]
    after = np.arange(1.0, tail_mm + 1e-9, 1.0)[:, None] * tail + core[-1]
    line = resampled(np.vstack([above, core, after]), 1.0)
    levels = {"top": params.sac_cranial_extension_mm} | _foramen_levels(lm, line)
    levels["canal"] = project(line, core[0])
    order = [levels["top"], *(levels[f"f{lv}"] for lv in range(1, len(levels) - 1))]
    if np.any(np.diff(order) <= 0):
        raise AnatomyError(f"the sacral foramina do not descend along the canal (levels {np.round(order, 1)} mm)")
    return Canal(line, levels, _free_profile(line, bones))


def _cross_section_bases(centreline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3), (n, 3): two unit vectors spanning each cross-section of a polyline."""
    tangents = np.gradient(centreline, axis=0)
    pairs = [_basis(_unit(t)) for t in tangents]
    return np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])


def _free_profile(centreline: np.ndarray, bones: trimesh.Trimesh) -> np.ndarray:
    """(n, CANAL_RAYS) mm: distance to bone along rays from each point across its cross-section
    (ray ``j`` at angle ``2 pi j / CANAL_RAYS`` from the first basis vector; inf if it escapes)."""
    u, v = _cross_section_bases(centreline)
    th = np.linspace(0, 2 * np.pi, CANAL_RAYS, endpoint=False)
    dirs = (np.cos(th)[None, :, None] * u[:, None] + np.sin(th)[None, :, None] * v[:, None]).reshape(-1, 3)
    origins = np.repeat(centreline, CANAL_RAYS, axis=0)
    loc, ray, _ = bones.ray.intersects_location(origins, dirs, multiple_hits=False)
    dist = np.full(len(origins), np.inf)
    dist[ray] = np.linalg.norm(loc - origins[ray], axis=1)
    return dist.reshape(len(centreline), CANAL_RAYS)


def dural_sac(canal: Canal, bones: BoneDistance, params: AnatomyParams) -> Tube:
    """The dural sac from the top of the extended canal to its tip level, fitted to the canal."""
    tip = canal.tip_arc(params.dural_tip)
    line = canal.centreline[: int(np.floor(tip)) + 1]
    line = np.vstack([line, canal.at(tip)]) if tip - np.floor(tip) > 1e-6 else line
    free = _free_profile(line, bones._all).min(axis=1)
    nominal = np.clip(free - params.sac_margin_mm, params.sac_min_radius_mm, params.sac_max_radius_mm)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    top = canal.levels["canal"]
    nominal[s < top] = nominal[np.argmin(np.abs(s - top))]
    nominal = ndimage.minimum_filter1d(nominal, 5, mode="nearest")
    nominal = nominal * rounded_end(s, min(params.sac_taper_mm, 0.5 * s[-1]))
    radius = np.minimum(fitted_radius(line, nominal, bones, params.sac_margin_mm, floor_mm=0.05), nominal)
    return Tube("dural sac", Role.DURA, Side.MIDLINE, None, line, radius, nominal)


def _route(space: FreeSpace, waypoints: list[np.ndarray], needs: list[float], corridors: list[float],
           avoid: tuple[np.ndarray, np.ndarray] | None, what: str, sigma_mm: float,
           allowed: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    try:
        path, need = space.route(np.array(waypoints), min_clearance_mm=needs, corridor_mm=corridors, avoid=avoid,
                                 fallback=CLEARANCE_FALLBACK, allowed=allowed, what=what)
    except AnatomyError:
        if avoid is None:
            raise
        # No room beside the structures built so far (a narrow canal): share it with them.
        path, need = space.route(np.array(waypoints), min_clearance_mm=needs, corridor_mm=corridors, avoid=None,
                                 fallback=CLEARANCE_FALLBACK, allowed=allowed, what=what)
    return smooth_path(path, space, need, sigma_mm=sigma_mm)


def notch_mouth(notch_top: np.ndarray, space: FreeSpace) -> np.ndarray:
    """Unit direction from the top of a greater sciatic notch out through its mouth.

    Seen from the side (along x), the notch is a bay in the hip bone: the directions in the
    sagittal plane along which the view stays clear of bone (no occupied voxel within
    :data:`NOTCH_HALF_WIDTH_MM` across in x) from :data:`NOTCH_PROBE_MM` out form the bay's
    opening; its middle (the longest run of clear directions, circular mean) is the mouth.
    """
    theta = np.radians(np.arange(0.0, 360.0, 5.0))
    rho = np.arange(NOTCH_PROBE_MM[0], NOTCH_PROBE_MM[1] + 1e-9, 1.0)
    across = np.arange(-NOTCH_HALF_WIDTH_MM, NOTCH_HALF_WIDTH_MM + 1e-9, 1.0)
    dirs = np.stack([np.zeros_like(theta), np.cos(theta), np.sin(theta)], axis=1)
    pts = notch_top + rho[None, :, None, None] * dirs[:, None, None, :] + across[None, None, :, None] * np.eye(3)[0]
    idx = space.index(pts.reshape(-1, 3))
    clear = ~space.occupied[tuple(idx.T)].reshape(len(theta), -1).any(axis=1)
    if not clear.any():
        raise AnatomyError(f"the greater sciatic notch at {np.round(notch_top, 1)} has no opening seen from the side")
    run = np.concatenate([clear, clear])
    best, best_start, length = 0, 0, 0
    for i, c in enumerate(run):
        length = length + 1 if c else 0
        if length > best and length <= len(theta):
            best, best_start = length, i - length + 1
    chosen = theta[np.arange(best_start, best_start + best) % len(theta)]
    mean = np.array([0.0, np.cos(chosen).sum(), np.sin(chosen).sum()])
    return _unit(mean)


def sciatic_nerve(lm: PelvisLandmarks, side: Side, space: FreeSpace, bones: BoneDistance,
                  params: AnatomyParams) -> tuple[Tube, np.ndarray]:
    """One sciatic nerve, and its plexus point (where the roots join it)."""
    r = 0.5 * params.sciatic_diameter_mm
    need = r + params.bone_margin_mm
    notch = lm.points[f"{side.value}-sciatic-notch-top"]
    down = np.array([0.0, 0.0, -1.0])
    mouth = notch_mouth(notch, space)
    exit_ = space.nearest_free(notch + params.sciatic_below_notch_mm * mouth, need)
    upper = lm.levels[side.value][:3]  # S1-S3 feed the sciatic nerve; the top three found
    ventral = _unit(sum(lm.axes[f"{side.value}-s{k}-foramen"][1] for k in upper))
    foramina = np.mean([lm.points[f"{side.value}-s{k}-ventral-foramen"] for k in upper], axis=0)
    plexus = space.nearest_free(foramina + 0.45 * (exit_ - foramina) + params.plexus_anterior_mm * ventral, need)
    below = space.nearest_free(exit_ + params.sciatic_descent_mm * down, need, within_mm=30.0)
    line = _route(space, [plexus, exit_, below], [need, need], [PELVIS_CORRIDOR_MM] * 2, None,
                  f"{side.value} sciatic nerve", SCIATIC_SMOOTH_MM)
    nominal = np.full(len(line), r)
    radius = fitted_radius(line, nominal, bones, params.bone_margin_mm)
    return Tube(f"{side.value} sciatic nerve", Role.NERVE, side, None, line, radius, nominal), plexus


def _tunnel_point(lm: PelvisLandmarks, canal: Canal, side: Side, level: int) -> np.ndarray:
    """The point of the foramen axis (dorsal to ventral opening) nearest the canal centreline."""
    d = lm.points[f"{side.value}-s{level}-dorsal-foramen"]
    v = lm.points[f"{side.value}-s{level}-ventral-foramen"]
    seg = d + np.linspace(0.0, 1.0, 41)[:, None] * (v - d)
    dist = np.min(np.linalg.norm(seg[:, None] - canal.centreline[None], axis=2), axis=1)
    return seg[np.argmin(dist)]


def _outward(canal: Canal, arc: float, toward: np.ndarray) -> np.ndarray:
    """Unit vector in the canal's cross-section at ``arc`` pointing toward ``toward``."""
    t = canal.tangent(arc)
    d = toward - canal.at(arc)
    d = d - (d @ t) * t
    return _unit(d)


def _crowded_mask(points: np.ndarray, sac: Tube, nerves: list[Tube]) -> np.ndarray:
    """Points inside the sac or a sciatic nerve, where roots may crowd together."""
    out = np.zeros(len(points), dtype=bool)
    for t in (sac, *nerves):
        d, k = _nearest(t.centreline, points)
        out |= d <= t.radius_mm[k]
    return out


def _nearest(line: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    return cKDTree(line).query(points)


@dataclass(frozen=True)
class _RootPlan:
    start: np.ndarray
    below_tip: bool
    offset: np.ndarray


def _root_start(canal: Canal, sac: Tube, side: Side, level: int, tunnel: np.ndarray, params: AnatomyParams) -> _RootPlan:
    r_root = 0.5 * level_value(params.root_diameter_mm, level)
    body_end = sac.arc_mm[-1] - min(params.sac_taper_mm, 0.5 * sac.arc_mm[-1])
    take = canal.levels[f"f{level}"] - level_value(params.root_takeoff_mm, level)
    below = take > body_end - 1.0
    arc = min(take, body_end - 1.0)
    entry = canal.levels["canal"] + DESCENT_ENTRY_MM
    if below and arc < entry < sac.arc_mm[-1] - DESCENT_ENTRY_MM:  # the sac's body ends above the sacral canal
        arc = min(take, entry)
    r_sac = float(np.interp(arc, sac.arc_mm, sac.radius_mm))
    room = max(r_sac - r_root - 0.3, 0.0)
    offset = (room if not below else level_value(DESCENT_LATERAL_SHARE, level) * room) * _outward(canal, arc, tunnel)
    return _RootPlan(canal.at(arc) + offset, below, offset)


def _descent_point(canal: Canal, space: FreeSpace, level: int, tunnel: np.ndarray, r_root: float,
                   params: AnatomyParams) -> np.ndarray:
    """Where a root descending in the canal turns out to its tunnel: :data:`DESCENT_ABOVE_MM`
    above its foramen level, toward its side by a level's share of the canal's free half-width
    (:data:`DESCENT_LATERAL_SHARE`: the root leaving next lies outermost, so roots do not cross)."""
    arc = canal.levels[f"f{level}"] - DESCENT_ABOVE_MM
    centre, out = canal.at(arc), _outward(canal, arc, tunnel)
    steps = np.arange(0.0, 15.0, 0.25)
    wall = steps[np.flatnonzero(space.clearance_at(centre + steps[:, None] * out) < params.bone_margin_mm)]
    room = max((wall[0] if len(wall) else steps[-1]) - r_root - params.bone_margin_mm, 0.0)
    return centre + level_value(DESCENT_LATERAL_SHARE, level) * room * out


def sacral_root(lm: PelvisLandmarks, canal: Canal, sac: Tube, side: Side, level: int, plexus_line: np.ndarray,
                space: FreeSpace, bones: BoneDistance, avoid: tuple[np.ndarray, np.ndarray] | None,
                params: AnatomyParams) -> tuple[Tube, Tube, np.ndarray, np.ndarray]:
    """One root and its sleeve; also its tunnel point and ganglion centre (mm)."""
    name = f"{side.value} S{level}"
    r_root = 0.5 * level_value(params.root_diameter_mm, level)
    r_sleeve = r_root + params.sleeve_thickness_mm
    m = params.bone_margin_mm
    tunnel = _tunnel_point(lm, canal, side, level)
    ventral_opening = lm.points[f"{side.value}-s{level}-ventral-foramen"]
    axis = lm.axes[f"{side.value}-s{level}-foramen"][1]
    plan = _root_start(canal, sac, side, level, tunnel, params)
    out = space.nearest_free(ventral_opening + params.root_exit_mm * axis, r_root + m)
    merge = point_at(plexus_line, ROOT_MERGE_MM)
    if level >= 4:
        toward = (merge - out) * np.array([1.0, 1.0, 0.0])  # to the pudendal plexus: out and down
        end = space.nearest_free(out + params.s4_length_mm * _unit(_unit(toward) + np.array([0.0, 0.0, -1.0])), r_root + m)
    else:
        end = merge
    waypoints = [plan.start, tunnel, ventral_opening, out, end]
    needs = [r_sleeve + m, r_root + m, r_root + m, r_root + m]
    corridors = [CANAL_CORRIDOR_MM, TUNNEL_CORRIDOR_MM, TUNNEL_CORRIDOR_MM, PELVIS_CORRIDOR_MM]
    if plan.below_tip:  # down the canal first, then out to the tunnel
        waypoints.insert(1, _descent_point(canal, space, level, tunnel, r_root, params))
        needs.insert(1, r_sleeve + m)
        corridors[:1] = [0.6 * CANAL_CORRIDOR_MM, 0.6 * CANAL_CORRIDOR_MM]
    if avoid is not None:  # roots may share the canal's lumen: thin them only against others outside it
        outside = ~canal.lumen(avoid[0])
        avoid_fit = (avoid[0][outside], avoid[1][outside])
    else:
        avoid_fit = None
    sign = side.lateral_sign  # a root stays on its own side of the sacral mid-plane
    own_side = lambda p: sign * lm.sacral_midline.signed_distance(p) >= -MIDPLANE_SLACK_MM  # noqa: E731
    line = _route(space, waypoints, needs, corridors, avoid, f"{name} root", ROOT_SMOOTH_MM, own_side)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    g_arc = project(line, tunnel) + level_value(params.ganglion_offset_mm, level)
    nominal = r_root * swelling(arc, g_arc, params.ganglion_length_mm, params.ganglion_swelling)
    radius = _fit(line, nominal, bones, avoid_fit, m)
    root = Tube(f"{name} root", Role.NERVE_ROOT, side, Level(f"S{level}"), line, radius, nominal)
    sleeve_end = max(g_arc - 0.5 * params.ganglion_length_mm, 3.0)
    keep = arc <= sleeve_end
    s_line = np.vstack([line[keep], point_at(line, sleeve_end)])
    s_nom = np.interp(np.concatenate([arc[keep], [sleeve_end]]), arc, nominal) + params.sleeve_thickness_mm
    s_rad = np.maximum(_fit(s_line, s_nom, bones, avoid_fit, m), np.interp(np.concatenate([arc[keep], [sleeve_end]]), arc, radius))
    sleeve = Tube(f"{name} sleeve", Role.DURA, side, Level(f"S{level}"), s_line, s_rad, s_nom)
    return root, sleeve, tunnel, point_at(line, g_arc)


def _fit(line: np.ndarray, nominal: np.ndarray, bones: BoneDistance, avoid: tuple[np.ndarray, np.ndarray] | None,
         margin: float) -> np.ndarray:
    radius = fitted_radius(line, nominal, bones, margin)
    if avoid is not None and len(avoid[0]):
        from scipy.spatial import cKDTree

        d, k = cKDTree(avoid[0]).query(line, k=8)
        room = ndimage.minimum_filter1d(np.min(d - avoid[1][k], axis=1) - margin, 3, mode="nearest")
        radius = np.maximum(np.minimum(radius, room), 0.3)
    return radius


def build_neural(bones: Mapping[str, trimesh.Trimesh], lm: PelvisLandmarks, params: AnatomyParams,
                 *, space: FreeSpace, wide_space: FreeSpace) -> NeuralAnatomy:
    """Every neural structure (module docstring) on bones and landmarks in the neutral frame.

    ``space`` is a fine free-space grid over the sacrum and the plexus; ``wide_space`` a
    coarser one reaching the sciatic notches and the backs of the hips.
    """
    distance = BoneDistance(list(bones.values()))
    canal = sacral_canal(lm, bones["sacrum"], distance._all, space, params)
    sac = dural_sac(canal, distance, params)
    canal = _with_high_sac(canal, sac, params)
    tubes: dict[str, Tube] = {sac.name: sac}
    nerves = {}
    for side in SIDES:
        nerve, _ = sciatic_nerve(lm, side, wide_space, distance, params)
        nerves[side] = nerve
        tubes[nerve.name] = nerve
    tunnels, ganglia = {}, {}
    built: list[Tube] = []
    for level in levels_present(lm):
        for side in _sides_with(lm, level):
            avoid = _avoid(built, sac, list(nerves.values()))
            root, sleeve, tunnels[root.name], ganglia[root.name] = sacral_root(
                lm, canal, sac, side, level, nerves[side].centreline, space, distance, avoid, params)
            built += [sleeve, root]
            tubes[root.name] = root
            tubes[sleeve.name] = sleeve
    return NeuralAnatomy(canal, tubes, tunnels, ganglia)


def _with_high_sac(canal: Canal, sac: Tube, params: AnatomyParams) -> Canal:
    """``canal`` with its lumen reaching up to where the roots leave a sac that ends above the
    sacral canal (its tip short of :data:`DESCENT_ENTRY_MM` inside the entrance).

    There the roots leave the sac's end side by side and descend together (the cauda equina
    in the lowest lumbar canal, whose bone a pelvis scene does not hold) into the sacral canal:
    from the sac's end down, they run in the canal's lumen, where they may crowd as they do
    below a lower sac. A sac ending lower leaves the canal as it is."""
    entry = canal.levels["canal"] + DESCENT_ENTRY_MM
    if sac.arc_mm[-1] - DESCENT_ENTRY_MM >= entry:
        return canal
    body_end = sac.arc_mm[-1] - min(params.sac_taper_mm, 0.5 * sac.arc_mm[-1])
    return replace(canal, lumen_from_arc=float(max(np.floor(body_end - 2.0), 0.0)))


def _avoid(built: list[Tube], sac: Tube, nerves: list[Tube]) -> tuple[np.ndarray, np.ndarray] | None:
    """Centreline points and radii of the tubes built so far, less where roots may crowd."""
    if not built:
        return None
    pts = np.vstack([t.centreline for t in built])
    rad = np.concatenate([t.radius_mm for t in built])
    keep = ~_crowded_mask(pts, sac, nerves)
    return pts[keep], rad[keep]
