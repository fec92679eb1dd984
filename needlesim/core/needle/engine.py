"""The needle engine: from a scene and a trajectory to every hit, the tissue path, the
breaches, and the contact depth and clearance of every critical structure.

One :class:`Engine` is built per (scene geometry, backend, needle diameter, margin) and
cached on those keys, so moving a slider only casts rays. Per evaluation:

1. one first-hit cast backward from the bone entry against the skin finds the puncture;
2. one all-hits cast forward through every structure gives every depth (hits, path,
   breaches) up to the maximum length;
3. one all-hits cast against the critical structures offset by the needle's radius, and
   one against them offset by radius + margin, give the first contact and the first
   approach within the margin (embree); the exact backend solves the same Minkowski sums
   analytically;
4. an exact float64 segment-to-triangle distance, on triangles a bounding-sphere test
   cannot rule out, gives each clearance and its closest points (both backends).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .breach import JOINT_GAP_MM, classify
from ..geometry.clearance import ClearanceIndex
from ..geometry.soup import TriangleSoup
from ..geometry.offset import offset_vertices
from ..geometry.proximity import first_contact_per_group
from ..geometry.raycast import Backend, RayHits, make_caster
from ..model.results import Breach, Contact, Hit, PathSegment, Tissue, _pt
from ..model.scene import Role, Scene
from .tissue import Interval, breaches, clean_crossings, inside_intervals, structure_intervals, tissue_path
from ..tolerances import TOL, CAST_LEAD_IN_MM, clearance_horizon_mm, DEFAULT_MARGIN_MM, DEFAULT_MAX_LENGTH_MM, SKIN_SEARCH_MM
from ..model.trajectory import Trajectory

#: Direction of the inside/outside probe ray (unit; irrational-looking on purpose).
PROBE_DIRECTION = np.array([0.48112522, 0.61237244, 0.62720236]) / np.linalg.norm([0.48112522, 0.61237244, 0.62720236])


@dataclass(frozen=True)
class Evaluation:
    """Everything the engine found for one trajectory (depths in mm from the puncture)."""

    trajectory: Trajectory
    backend: Backend
    margin_mm: float
    max_length_mm: float
    entry_point: tuple[float, float, float]
    skin_puncture: tuple[float, float, float]
    puncture_on_skin: bool
    tip: tuple[float, float, float]
    bone_entry: tuple[float, float, float] | None
    soft_tissue_mm: float | None
    bone_mm: float
    hits: tuple[Hit, ...]
    path: tuple[PathSegment, ...]
    breaches: tuple[Breach, ...]
    contacts: tuple[Contact, ...]

    @property
    def depth_mm(self) -> float:
        return self.trajectory.depth_mm

    @property
    def tip_tissue(self) -> PathSegment | None:
        """The path segment holding the tip (the last one)."""
        return self.path[-1] if self.path else None

    def contact(self, structure: str) -> Contact:
        for c in self.contacts:
            if c.structure == structure:
                return c
        raise KeyError(f"{structure!r} is not a critical structure of this scene")

    def describe_path(self) -> str:
        """E.g. ``"soft tissue 0.0-28.0 mm, cortex (left ilium) 28.0-29.5 mm, ..."``."""
        return ", ".join(seg.describe() for seg in self.path)


class Engine:
    """Casters and indices for one scene, backend, needle and margin."""

    def __init__(self, scene: Scene, *, backend: Backend | str = Backend.EMBREE,
                 needle_diameter_mm: float, margin_mm: float = DEFAULT_MARGIN_MM,
                 refine_contacts: bool = True) -> None:
        self.scene, self.backend = scene, Backend(backend)
        self.refine_contacts = bool(refine_contacts)
        self.radius, self.margin = needle_diameter_mm / 2.0, float(margin_mm)
        # past this an exact clearance decides nothing (see Tolerances.exact_clearance_horizon_mm);
        # the horizon is a clearance (from the needle's surface), the index measures from its axis
        self.clearance_horizon = clearance_horizon_mm(self.margin) + self.radius
        self.structures = list(scene.structures)
        self.soup = TriangleSoup.from_meshes([(s.vertices, s.faces) for s in self.structures])
        self.caster = make_caster(self.soup, self.backend)
        self.skin_ids = np.array([i for i, s in enumerate(self.structures) if s.role is Role.SKIN], dtype=int)
        skins = [self.structures[i] for i in self.skin_ids]
        self.skin_caster = make_caster(TriangleSoup.from_meshes([(s.vertices, s.faces) for s in skins]),
                                       self.backend) if skins else None
        self.critical_ids = np.array([i for i, s in enumerate(self.structures) if s.critical], dtype=int)
        crit = [self.structures[i] for i in self.critical_ids]
        self.critical_soup = TriangleSoup.from_meshes([(s.vertices, s.faces) for s in crit])
        self.clearance_index = ClearanceIndex([(s.vertices, s.faces) for s in crit])
        self.split_marrow = not scene.by_role(Role.MARROW)
        diagonal = np.ptp(self.soup.triangles.reshape(-1, 3), axis=0) if len(self.soup) else np.ones(3)
        self._probe_length = float(np.linalg.norm(diagonal)) * 2 + 1.0  # out of the whole scene
        # faces of the soup on a shell bone's inner (endosteal) surface: crossing one moves
        # between cortex and marrow, not in or out of the bone
        self.endosteal = np.zeros(len(self.soup), dtype=bool)
        for g, st in enumerate(self.structures):
            if st.marrow_faces is not None:
                self.endosteal[self.soup.geom_starts[g] + st.marrow_faces] = True
        self.offset_casters = {}
        if self.backend is Backend.EMBREE and crit:
            for d in (self.radius, self.radius + self.margin):
                soup = TriangleSoup.from_meshes([(offset_vertices(s.vertices, s.faces, d), s.faces) for s in crit])
                self.offset_casters[d] = make_caster(soup, self.backend)

    # -- the steps ---------------------------------------------------------------------
    def skin_puncture(self, entry: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, bool]:
        """Where the needle line through ``entry`` meets the skin behind it."""
        if self.skin_caster is None:
            return entry, False
        hits = self.skin_caster.all_hits(entry[None], -direction[None], SKIN_SEARCH_MM)
        if len(hits) == 0:
            return entry, False
        return entry - hits.t[0] * direction, True

    def contact_depths(self, origin: np.ndarray, direction: np.ndarray, distance: float,
                       t_max: float) -> np.ndarray:
        """(k,) first depth at which the axis comes within ``distance`` of each critical
        structure (``inf`` if not within ``t_max``)."""
        out = np.full(len(self.critical_ids), np.inf)
        if not len(out):
            return out
        soup = self.critical_soup
        if self.backend is Backend.EMBREE:
            # broad phase: the axis against the offset surfaces says which structures may
            # come within ``distance``; the offset surface errs early at sharp edges (its
            # mitres stick out of the exact rounded surface), so each flagged structure is
            # then solved exactly on its own triangles
            hits = self.offset_casters[distance].all_hits(origin[None], direction[None], t_max)
            flagged = np.unique(hits.geom)
            if not self.refine_contacts:
                geoms, first = np.unique(hits.geom, return_index=True)
                out[geoms] = np.where(hits.entering[first], hits.t[first], 0.0)
                return out
            starts = soup.geom_starts
            cand = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in flagged]) if len(flagged) else \
                np.zeros(0, np.int64)
            cand = cand[soup.near_line_subset(cand, origin, direction, distance, t_max)]
        else:
            cand = soup.near_line(origin, direction, distance, t_max)
        if not len(cand):
            return out
        out = first_contact_per_group(origin, direction, distance, soup.triangles[cand], soup.centers[cand],
                                      soup.radii[cand], soup.geom[cand], len(out))
        out[out > t_max] = np.inf
        return out

    def clearances(self, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per critical structure: distance from the axis segment ``p-q`` to its surface,
        and the closest points on each (exact, float64, on every backend)."""
        dist, on_seg, on_tri, _ = self.clearance_index.query(p, q, horizon_mm=self.clearance_horizon)
        return dist, on_seg, on_tri

    # -- the whole evaluation ------------------------------------------------------------
    def evaluate(self, trajectory: Trajectory, *, max_length_mm: float = DEFAULT_MAX_LENGTH_MM,
                 landmarks: Mapping[str, np.ndarray] | None = None) -> Evaluation:
        """Evaluate one trajectory. ``landmarks`` (default: the scene's) name the entry and
        the notch: engines are shared by scenes of equal geometry whose landmarks differ."""
        landmarks = self.scene.landmarks if landmarks is None else landmarks
        d = np.asarray(trajectory.direction)
        entry = trajectory.entry_point(landmarks)
        puncture, on_skin = self.skin_puncture(entry, d)
        depth = trajectory.depth_mm
        length = max(max_length_mm, depth)
        origin = puncture - CAST_LEAD_IN_MM * d
        hits = self.caster.all_hits(origin[None], d[None], length + CAST_LEAD_IN_MM)
        hit_depth = hits.t - CAST_LEAD_IN_MM
        intervals, crossings = self._intervals(hits, hit_depth, origin, d, length)
        path = tissue_path(intervals, 0.0, depth)
        tip = puncture + depth * d
        bone = [iv for iv in intervals if iv.structure.is_bone and iv.end > 0]
        first_bone = min((max(iv.start, 0.0) for iv in bone), default=None)
        in_bone = sum(seg.length_mm for seg in path if seg.tissue in (Tissue.CORTEX, Tissue.MARROW))
        return Evaluation(
            trajectory=trajectory, backend=self.backend, margin_mm=self.margin, max_length_mm=length,
            entry_point=_pt(entry), skin_puncture=_pt(puncture), puncture_on_skin=on_skin, tip=_pt(tip),
            bone_entry=None if first_bone is None else _pt(puncture + first_bone * d),
            soft_tissue_mm=first_bone, bone_mm=float(in_bone),
            hits=tuple(Hit(self.structures[hits.geom[i]].name, float(hit_depth[i]), bool(e),
                           _pt(puncture + hit_depth[i] * d)) for i, e in crossings),
            path=tuple(path), breaches=self._classified(breaches(intervals, depth), hits, hit_depth, crossings,
                                                        intervals, puncture, d, landmarks),
            contacts=self._contacts(puncture, d, depth, length, intervals),
        )

    def _intervals(self, hits: RayHits, depth: np.ndarray, origin: np.ndarray, d: np.ndarray, length: float):
        """Each structure's inside intervals, from its cleaned crossings; returns them and
        the indices of the hits that are real crossings."""
        cosine = self.soup.normals[hits.face] @ d
        out, kept = [], []
        for g in np.unique(hits.geom):  # per structure the needle meets
            idx = np.flatnonzero(hits.geom == g)
            probe = lambda t, g=g: self.inside(int(g), origin + (t + CAST_LEAD_IN_MM) * d)  # noqa: E731
            keep, entering, start_inside = clean_crossings(depth[idx], hits.entering[idx], probe)
            sel = idx[keep]
            kept.append(np.stack([sel, entering.astype(np.int64)], axis=1))
            st = self.structures[g]
            if st.marrow_faces is not None:
                out += self._shell_intervals(st, sel, entering, depth, cosine, hits, length, start_inside)
                continue
            iv = inside_intervals(depth[sel], entering, cosine[sel], -CAST_LEAD_IN_MM, length, start_inside)
            out += structure_intervals(st, iv, self.split_marrow)
        kept_all = np.concatenate(kept) if kept else np.zeros((0, 2), np.int64)
        return out, kept_all[np.argsort(kept_all[:, 0], kind="stable")]

    def _classified(self, found, hits: RayHits, depth: np.ndarray, crossings: np.ndarray, intervals,
                    puncture: np.ndarray, d: np.ndarray, landmarks) -> tuple[Breach, ...]:
        """Name how each breach leaves its bone (:mod:`needlesim.core.needle.breach`); a
        breach across a joint goes into the other bone."""
        del intervals  # the joint rule reads the crossings, as the batched sweep does
        bone = np.array([st.is_bone and not st.critical for st in self.structures])
        ent = [(float(depth[i]), int(hits.geom[i])) for i, entering in crossings
               if entering and bone[hits.geom[i]] and not self.endosteal[hits.face[i]]]
        out = []
        for b in found:
            g = self.structures.index(next(st for st in self.structures if st.name == b.structure))
            normal = -d
            for i, entering in crossings:  # the leaving crossing at the breach's depth
                if not entering and hits.geom[i] == g and abs(depth[i] - b.depth_mm) <= 1e-6:
                    normal = self.soup.normals[hits.face[i]]
            nxt = next((self.structures[h] for t, h in ent if h != g and abs(t - b.depth_mm) <= JOINT_GAP_MM), None)
            kind = classify(self.structures[g], puncture + b.depth_mm * d, normal, nxt, landmarks)
            out.append(replace(b, through=kind.value, into=b.into if nxt is None else f"the {nxt.name}"))
        return tuple(out)

    def _shell_intervals(self, st, sel, entering, depth, cosine, hits: RayHits, length: float, start_inside: bool):
        """A shell bone: its outer surface bounds the bone, its inner surface the marrow.
        Crossing the inner surface out of the shell's volume is entering the marrow."""
        endo = self.endosteal[hits.face[sel]]
        peri, inner = sel[~endo], sel[endo]
        env_start = bool(len(peri)) and not entering[~endo][0] if len(peri) else start_inside
        bone = inside_intervals(depth[peri], entering[~endo], cosine[peri], -CAST_LEAD_IN_MM, length, env_start)
        into_marrow = ~entering[endo]
        marrow_start = bool(len(inner)) and not into_marrow[0]
        marrow = inside_intervals(depth[inner], into_marrow, cosine[inner], -CAST_LEAD_IN_MM, length, marrow_start)
        return [Interval(a, b, Tissue.CORTEX, st) for a, b, _, _ in bone] + \
            [Interval(a, b, Tissue.MARROW, st) for a, b, _, _ in marrow]

    def inside(self, g: int, point: np.ndarray) -> bool:
        """Whether ``point`` is inside structure ``g``: the parity of its surface crossings
        along a fixed oblique ray (chosen so that it is not parallel to anything built
        on the anatomical axes)."""
        hits = self.caster.all_hits(point[None], PROBE_DIRECTION[None], self._probe_length)
        return bool(np.count_nonzero(hits.geom == g) % 2)

    def _contacts(self, puncture, d, depth, length, intervals) -> tuple[Contact, ...]:
        contact = self.contact_depths(puncture, d, self.radius, length)
        near = self.contact_depths(puncture, d, self.radius + self.margin, length)
        dist, on_seg, on_tri, exact = self.clearance_index.query(puncture, puncture + depth * d,
                                                                 horizon_mm=self.clearance_horizon)
        inside = {iv.structure.name for iv in intervals if iv.start < depth and iv.end > 0}
        out = []
        for k, i in enumerate(self.critical_ids):
            name = self.structures[i].name
            clearance = -self.radius if name in inside else dist[k] - self.radius
            out.append(Contact(name, float(contact[k]), float(near[k]), float(clearance),
                               _pt(on_seg[k]), _pt(on_tri[k]), bool(exact[k])))
        return tuple(out)


_CACHE: "OrderedDict[tuple, Engine]" = OrderedDict()
_CACHE_SIZE = 8


def get_engine(scene: Scene, *, backend: Backend | str = Backend.EMBREE, needle_diameter_mm: float,
               margin_mm: float = DEFAULT_MARGIN_MM) -> Engine:
    """The cached :class:`Engine` for these keys (the scene's geometry hash among them)."""
    key = (scene.geometry_key, Backend(backend), float(needle_diameter_mm), float(margin_mm))
    engine = _CACHE.get(key)
    if engine is None:
        engine = Engine(scene, backend=backend, needle_diameter_mm=needle_diameter_mm, margin_mm=margin_mm)
        _CACHE[key] = engine
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return engine


def evaluate(scene: Scene, trajectory: Trajectory, *, backend: Backend | str = Backend.EMBREE,
             margin_mm: float = DEFAULT_MARGIN_MM, max_length_mm: float = DEFAULT_MAX_LENGTH_MM) -> Evaluation:
    """Evaluate one trajectory in one scene (engines are cached per scene geometry)."""
    engine = get_engine(scene, backend=backend, needle_diameter_mm=trajectory.needle_diameter_mm,
                        margin_mm=margin_mm)
    return engine.evaluate(trajectory, max_length_mm=max_length_mm, landmarks=scene.landmarks)
