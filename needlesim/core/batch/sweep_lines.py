"""Batched needle lines: the casts behind a sweep, and how far they may differ from single
``check`` calls.

For ``n`` needle lines the casts are batched, never a Python loop over rays on the fast
path:

1. a first-hit cast backward from each entry against the skin gives the skin puncture;
2. one all-hits cast forward through every structure gives where each axis enters each
   structure and where it first leaves a bone (the *breach*);
3. one all-hits cast against the critical structures offset by the needle's radius and
   one offset by radius + margin give each structure's first *contact* and *margin*
   depth. The offset surfaces err early -- the safe side -- within :data:`SWEEP_TOL`;
   where a ray's binding contact was met on the mitre of a sharp edge it is solved
   exactly, as :meth:`Engine.contact_depths` does (:func:`refine_binding`), and every
   first hit on a fold of an offset surface (a tube bent more tightly than the offset) is
   solved exactly too (:func:`contact_table`). A margin depth is never later than the
   contact depth of the same structure.

Rays whose crossings are ambiguous (through an edge or vertex, a tangent touch) are
settled one by one by the engine's crossing cleanup; they are rare.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..needle.engine import PROBE_DIRECTION, Engine
from ..geometry.proximity import first_contact_depths
from ..geometry.raycast import Backend, RayHits
from ..needle.breach import JOINT_GAP_MM
from .sweep_breach import Exits, classify_exits, first_breaches
from ..needle.tissue import clean_crossings, inside_intervals
from ..tolerances import CAST_LEAD_IN_MM, SKIN_SEARCH_MM, TOL


@dataclass(frozen=True)
class SweepTolerances:
    """How far a sweep may differ from single :func:`needlesim.core.api.check` calls, mm."""

    #: Contact depths at the needle's radius come from offset surfaces (vertex normals):
    #: never inside the exact Minkowski sum, so they err early by at most this away from
    #: sharp edges (the engine's own embree/exact agreement bound; measured on the
    #: built-in phantom: at most 0.07 mm).
    contact_mm: float = TOL.backend_agreement_contact_mm
    #: ... at a larger offset the error at the corners of a coarse tube grows with it:
    #: see :meth:`early_mm` (measured on the built-in phantom at radius + 5 mm margin:
    #: 99th percentile 0.32 mm, at most 0.53 mm).
    #: How much later than exact an offset-surface depth may be (float32 offsets).
    late_mm: float = 0.01
    #: Where the needle only grazes a structure (exact clearance within this of zero, or
    #: of the margin), the offset surface, a little outside the exact one near its
    #: vertices, may report a contact the exact test does not: again the safe side.
    graze_mm: float = 0.05
    #: A corner of the offset surface moved further than this times the offset distance
    #: lies on the mitre of a sharp edge (1.2: a 34-degree bend between a face and its
    #: corner's offset direction; coarse tubes' facets stay below, an end cap's rim, at
    #: 1.41, above); a contact first met there is solved exactly instead.
    mitre_factor: float = 1.2
    #: Hit, breach and puncture depths are solved in float64 on the hit triangle's plane.
    hit_mm: float = TOL.backend_agreement_hits_mm

    def early_mm(self, distance_mm: float) -> float:
        """How much earlier than exact a *binding* contact depth at offset ``distance_mm``
        may be: ``max(contact_mm, (mitre_factor - 1) x distance)``, the furthest an
        offset corner below the mitre threshold stands outside the exact surface."""
        return max(self.contact_mm, (self.mitre_factor - 1.0) * distance_mm)


SWEEP_TOL = SweepTolerances()


@dataclass(frozen=True)
class RayDepths:
    """What the batched casts give for ``n`` needle lines (depths mm from the puncture)."""

    puncture: np.ndarray  #: (n, 3)
    on_skin: np.ndarray  #: (n,) bool
    enter_mm: np.ndarray  #: (n, g) first depth inside each structure
    breach_mm: np.ndarray  #: (n,) first bone exit of any kind
    breach_structure: np.ndarray  #: (n,) int (-1: none)
    breach_kind: np.ndarray  #: (n,) int code into :data:`~needlesim.core.batch.sweep_breach.KINDS`
    danger_breach_mm: np.ndarray  #: (n,) first exit other than through the outer table
    contact_mm: np.ndarray  #: (n, k) at the needle's radius
    margin_contact_mm: np.ndarray  #: (n, k) at radius + margin


def cast_lines(engine: Engine, entry_points: np.ndarray, d: np.ndarray, length_mm: float, *,
               full: bool = True) -> RayDepths:
    """Batched casts for needle lines through ``entry_points`` (n, 3) along ``d`` (n, 3);
    ``full=False`` casts only what Monte Carlo needs (contacts at the radius, breaches):
    margin depths and the structure-entry table are then read-only ``inf``."""
    punct, on_skin = punctures(engine, entry_points, d)
    origins = punct - CAST_LEAD_IN_MM * d
    hits = engine.caster.all_hits(origins, d, length_mm + CAST_LEAD_IN_MM)
    cr = crossing_tables(engine, hits, hits.t - CAST_LEAD_IN_MM, len(d), origins, d, length_mm, enter_table=full)
    # a contact matters up to the first dangerous exit; a margin one up to the first exit
    contact, mitre = contact_table(engine, punct, d, engine.radius, length_mm)
    refine_binding(engine, contact, mitre, punct, d, engine.radius, length_mm, cr.danger_breach_mm)
    if not full:
        near = np.broadcast_to(np.inf, contact.shape)  # read-only: nothing was cast
    else:
        near, mitre = contact_table(engine, punct, d, engine.radius + engine.margin, length_mm)
        refine_binding(engine, near, mitre, punct, d, engine.radius + engine.margin, length_mm, cr.breach_mm)
        # a needle touching a structure is within the margin of it: never later than the contact
        np.minimum(near, contact, out=near)
    return RayDepths(punct, on_skin, cr.enter_mm, cr.breach_mm, cr.breach_structure, cr.breach_kind,
                     cr.danger_breach_mm, contact, near)


def first_per_ray(hits: RayHits, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(has_hit (n,) bool, index (n,) int)`` of each ray's nearest hit."""
    rays, idx = np.unique(hits.ray, return_index=True)
    has, index = np.zeros(n, bool), np.zeros(n, np.int64)
    has[rays], index[rays] = True, idx
    return has, index


def punctures(engine: Engine, entries: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) skin punctures behind ``entries`` (n, 3) along ``-d`` and (n,) whether skin
    was found (the entry itself otherwise, as in :meth:`Engine.skin_puncture`)."""
    n = len(d)
    entries = np.ascontiguousarray(np.broadcast_to(entries, d.shape), dtype=np.float64)
    if engine.skin_caster is None:
        return entries.copy(), np.zeros(n, bool)
    first_only = {"max_rounds": 1} if engine.backend is Backend.EMBREE else {}  # the nearest skin is enough
    hits = engine.skin_caster.all_hits(entries, -d, SKIN_SEARCH_MM, **first_only)
    has, idx = first_per_ray(hits, n)
    back = np.where(has, hits.t[idx] if len(hits) else 0.0, 0.0)
    return entries - back[:, None] * d, has


def first_hits_by_geom(hits: RayHits, n: int, n_geoms: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, g) depth of each ray's first hit on each geometry, 0 where that hit is an exit
    (the ray began inside), ``inf`` where none -- the engine's unrefined contact rule --
    and the indices of those first hits."""
    out = np.full((n, n_geoms), np.inf)
    _, first = np.unique(hits.ray * n_geoms + hits.geom, return_index=True)
    out[hits.ray[first], hits.geom[first]] = np.where(hits.entering[first], hits.t[first], 0.0)
    return out, first


def contact_table(engine: Engine, origins: np.ndarray, d: np.ndarray, distance: float, t_max: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) first depth at which each axis comes within ``distance`` of each critical
    structure, and (n, k) whether that depth was first met on the mitre of a sharp edge
    (where the offset surface may err early by more than :data:`SWEEP_TOL`; see
    :func:`refine_binding`). Batched offset casts on embree; the exact per-ray reference
    on the exact backend.

    Where an offset surface folds over itself (a tube bent more tightly than the offset
    distance), a ray can meet the fold before the true surface: from behind (its first hit
    on that structure leaves rather than enters, which parity would read as "inside from
    the start") or on an inverted face. Such a first hit says nothing valid; every one is
    solved exactly (:func:`exact_contacts`)."""
    n, k = len(d), len(engine.critical_ids)
    mitre = np.zeros((n, k), bool)
    if k == 0:
        return np.full((n, 0), np.inf), mitre
    if engine.backend is not Backend.EMBREE:
        return np.stack([engine.contact_depths(o, di, distance, t_max) for o, di in zip(origins, d)]), mitre
    hits = engine.offset_casters[distance].all_hits(origins, d, t_max)
    out, first = first_hits_by_geom(hits, n, k)
    ray, geom, face = hits.ray[first], hits.geom[first], hits.face[first]
    folded = ~hits.entering[first] | _folded_faces(engine, distance)[face]
    out[ray[folded], geom[folded]] = exact_contacts(engine, ray[folded], geom[folded], origins, d, distance, t_max)
    on_mitre = _mitre_faces(engine, distance)[face] & ~folded
    mitre[ray[on_mitre], geom[on_mitre]] = True
    out[out > t_max] = np.inf
    return out, mitre


def refine_binding(engine: Engine, depth: np.ndarray, mitre: np.ndarray, origins: np.ndarray, d: np.ndarray,
                   distance: float, t_max: float, breach_mm: np.ndarray) -> None:
    """Solve exactly, in place, each ray's *binding* contact -- its smallest over the
    structures, if not beyond ``breach_mm`` (past which it cannot change a verdict) --
    wherever it was met on a mitre; repeat while the new smallest is also one. The
    verdicts, the maximum safe depth and the first critical structure depend on nothing
    else; other structures' columns may stay early at sharp edges (the safe side). A
    few rays per sweep, solved together."""
    if not depth.shape[1]:
        return
    rows = np.arange(len(depth))
    for _ in range(depth.shape[1]):
        k = np.argmin(depth, axis=1)
        todo = np.flatnonzero(mitre[rows, k] & (depth[rows, k] <= breach_mm))
        if not len(todo):
            return
        depth[todo, k[todo]] = exact_contacts(engine, todo, k[todo], origins, d, distance, t_max)
        mitre[todo, k[todo]] = False


#: Per-engine tables, living and dying with their engine (never keyed by ``id(engine)``:
#: a later engine built in the same worker can reuse a freed one's address).
_TABLES: "weakref.WeakKeyDictionary[Engine, dict]" = weakref.WeakKeyDictionary()


def _table(engine: Engine, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
    tables = _TABLES.setdefault(engine, {})
    if key not in tables:
        tables[key] = make()
    return tables[key]


def _mitre_faces(engine: Engine, distance: float) -> np.ndarray:
    """(m,) bool per offset-surface triangle: a corner moved more than
    :attr:`SweepTolerances.mitre_factor` x ``distance`` (the mitre of a sharp edge, where
    the offset surface can err early by up to its cap, 3 x ``distance``)."""
    def make() -> np.ndarray:
        moved = engine.offset_casters[distance].soup.triangles - engine.critical_soup.triangles
        return np.linalg.norm(moved, axis=2).max(axis=1) > SWEEP_TOL.mitre_factor * distance

    return _table(engine, ("mitre", float(distance)), make)


def _folded_faces(engine: Engine, distance: float) -> np.ndarray:
    """(m,) bool per offset-surface triangle: turned over by the offset (its normal faces
    away from the original triangle's: part of a fold)."""
    return _table(engine, ("fold", float(distance)), lambda: np.einsum(
        "ij,ij->i", engine.offset_casters[distance].soup.normals, engine.critical_soup.normals) <= 0.0)


#: Largest (ray, triangle) candidate table :func:`exact_contacts` builds at once.
_EXACT_BATCH = 1 << 20


def exact_contacts(engine: Engine, rays: np.ndarray, geoms: np.ndarray, origins: np.ndarray, d: np.ndarray,
                   distance: float, t_max: float) -> np.ndarray:
    """(p,) first depth at which the axis of ray ``rays[i]`` comes within ``distance`` of
    critical structure ``geoms[i]`` (float64, exact; ``inf`` beyond ``t_max``), as
    :meth:`Engine.contact_depths` solves it for one ray: every (ray, triangle) pair a
    bounding-sphere test cannot rule out, solved in one vectorised call per structure."""
    soup = engine.critical_soup
    out = np.full(len(rays), np.inf)
    for g in np.unique(geoms):  # per structure, a handful
        sel = np.flatnonzero(geoms == g)
        tri = np.arange(soup.geom_starts[g], soup.geom_starts[g + 1])
        c, reach2 = soup.centers[tri], (soup.radii[tri] + distance) ** 2
        for part in np.array_split(sel, -(-len(sel) * len(tri) // _EXACT_BATCH)):
            o, dd = origins[rays[part]], d[rays[part]]
            w = c[None, :, :] - o[:, None, :]
            t = np.clip(np.einsum("ptj,pj->pt", w, dd), 0.0, t_max)
            w -= t[:, :, None] * dd[:, None, :]
            pi, ti = np.nonzero(np.einsum("ptj,ptj->pt", w, w) <= reach2[None, :])
            depth = first_contact_depths(o[pi], dd[pi], distance, soup.triangles[tri[ti]])
            best = np.full(len(part), np.inf)
            np.minimum.at(best, pi, depth)
            out[part] = best
    out[out > t_max] = np.inf
    return out


def _sorted_groups(hits: RayHits, n_geoms: int) -> tuple[np.ndarray, np.ndarray]:
    """The order of hits by (ray, geom, depth) -- one stable sort, as hits already come
    by ray then depth -- and whether each hit opens a (ray, geom) group."""
    key = hits.ray * n_geoms + hits.geom
    order = np.argsort(key, kind="stable")
    k = key[order]
    start = np.ones(len(order), bool)
    start[1:] = k[1:] != k[:-1]
    return order, start


@dataclass(frozen=True)
class Crossings:
    """What the forward cast says about structures entered and bones left (n rays)."""

    enter_mm: np.ndarray  #: (n, g) first depth >= 0 inside each structure (0: starts inside)
    breach_mm: np.ndarray  #: (n,) first depth >= 0 leaving a non-critical bone
    breach_structure: np.ndarray  #: (n,) int, that bone (-1: none)
    breach_kind: np.ndarray  #: (n,) int code into :data:`~needlesim.core.batch.sweep_breach.KINDS`
    danger_breach_mm: np.ndarray  #: (n,) first depth leaving a bone other than by the outer table


def crossing_tables(engine: Engine, hits: RayHits, depth: np.ndarray, n: int, origins: np.ndarray,
                    d: np.ndarray, length: float, *, enter_table: bool = True) -> Crossings:
    """Read the forward all-hits cast of ``n`` rays (``origins`` are the punctures moved
    back by the lead-in; ``depth`` is each hit's depth from the puncture).

    Clean alternating crossings are read vectorised; rays with an ambiguous crossing are
    settled one by one (:func:`_slow_ray`). ``enter_table=False`` leaves ``enter_mm`` all
    ``inf`` (breaches only, for Monte Carlo)."""
    g_n = len(engine.structures)
    enter = np.full((n, g_n), np.inf) if enter_table else np.broadcast_to(np.inf, (n, g_n))
    order, start = _sorted_groups(hits, g_n)
    ent, t, ray = hits.entering[order], depth[order], hits.ray[order]
    bad = ~start[1:] & ((ent[1:] == ent[:-1]) | (t[1:] - t[:-1] <= TOL.merge_mm))
    slow = np.zeros(n, bool)
    slow[ray[1:][bad]] = True
    # a group that starts with an exit began inside (before the lead-in): inside at 0 if
    # that exit is at or past depth 0
    opens_inside = np.zeros(len(order), bool)
    opens_inside[order] = start & ~ent
    clean = ~slow[hits.ray]
    ok = clean & (depth >= 0)
    if enter_table:
        at0 = ok & opens_inside
        np.minimum.at(enter, (hits.ray[at0], hits.geom[at0]), 0.0)
        e = ok & hits.entering
        np.minimum.at(enter, (hits.ray[e], hits.geom[e]), depth[e])
    # a shell bone's inner (endosteal) surface leads into its marrow, not out of the bone
    bone = np.array([s.is_bone and not s.critical for s in engine.structures])[hits.geom] & \
        ~engine.endosteal[hits.face]
    x = np.flatnonzero(ok & ~hits.entering & bone)
    y = np.flatnonzero(clean & hits.entering & bone)
    parts = [(hits.ray[x], depth[x], hits.geom[x], engine.soup.normals[hits.face[x]],
              hits.ray[y], depth[y], hits.geom[y])]
    for i in np.flatnonzero(slow):  # rare: edge, vertex or tangent crossings
        parts.append(_slow_ray(engine, hits, depth, i, origins[i], d[i], length, enter))
    return _breaches(engine, parts, n, origins, d, length, enter)


def _breaches(engine: Engine, parts: list, n: int, origins: np.ndarray, d: np.ndarray, length: float,
              enter: np.ndarray) -> Crossings:
    """Classify every bone exit of ``parts`` (the clean rays' arrays, then one tuple per
    slow ray) and keep each ray's first."""
    span = length + 2 * CAST_LEAD_IN_MM + JOINT_GAP_MM + 1.0
    cols = [np.concatenate([p[k] for p in parts]) for k in range(4)]
    e_ray, e_depth, e_geom = parts[0][4:7]
    if len(parts) > 1:  # slot the few slow rays' entries into the clean ones' (ray, depth) order
        key = e_ray * span + e_depth
        s_ray, s_depth, s_geom = (np.concatenate([p[k] for p in parts[1:]]) for k in (4, 5, 6))
        o = np.argsort(s_ray * span + s_depth)
        at = np.searchsorted(key, (s_ray * span + s_depth)[o])
        e_ray, e_depth, e_geom = np.insert(e_ray, at, s_ray[o]), np.insert(e_depth, at, s_depth[o]), \
            np.insert(e_geom, at, s_geom[o])
    ex = Exits(cols[0], cols[1], cols[2], cols[3].reshape(-1, 3), e_ray, e_depth, e_geom)
    points = origins[ex.ray] + (ex.depth + CAST_LEAD_IN_MM)[:, None] * d[ex.ray]
    kind = classify_exits(engine, ex, points, span=span)
    return Crossings(enter, *first_breaches(n, ex, kind))


def _slow_ray(engine: Engine, hits: RayHits, depth: np.ndarray, i: int, origin: np.ndarray, d: np.ndarray,
              length: float, enter: np.ndarray) -> tuple[np.ndarray, ...]:
    """One ambiguous ray, through the engine's own crossing cleanup (as in
    :meth:`Engine._intervals`, with the inside probe's reach computed once): fills its row
    of ``enter`` and returns its bone exits and entries as :func:`crossing_tables` reads them."""
    lo, hi = np.searchsorted(hits.ray, [i, i + 1])
    t, geom, ent, face = depth[lo:hi], hits.geom[lo:hi], hits.entering[lo:hi], hits.face[lo:hi]
    reach = _probe_reach(engine)
    exits, entries = [], []
    for g in np.unique(geom):
        idx = np.flatnonzero(geom == g)

        def inside(x: float, g: int = int(g)) -> bool:
            p = origin + (x + CAST_LEAD_IN_MM) * d
            h = engine.caster.all_hits(p[None], PROBE_DIRECTION[None], reach)
            return bool(np.count_nonzero(h.geom == g) % 2)

        keep, entering, start_inside = clean_crossings(t[idx], ent[idx], inside)
        kt, kf = t[idx][keep], face[idx][keep]
        endo = engine.endosteal[kf]
        if endo.any():  # a shell bone: only its outer surface bounds the bone (as the engine reads it)
            start_inside = not entering[~endo][0] if (~endo).any() else start_inside
            kt, kf, entering = kt[~endo], kf[~endo], entering[~endo]
        ivs = inside_intervals(kt, entering, np.zeros(len(kt)), -CAST_LEAD_IN_MM, length, start_inside)
        s = engine.structures[g]
        for a, b, _, _ in ivs:
            if b > 0 and enter.flags.writeable:
                enter[i, g] = min(enter[i, g], max(a, 0.0))
            if s.is_bone and not s.critical:
                entries.append((a, g))
                if 0.0 <= b < length:
                    at = kf[np.argmin(np.abs(kt - b))]
                    exits.append((b, g, engine.soup.normals[at]))
    return (np.full(len(exits), i), np.array([e[0] for e in exits]), np.array([e[1] for e in exits], np.int64),
            np.array([e[2] for e in exits]).reshape(-1, 3), np.full(len(entries), i),
            np.array([e[0] for e in entries]), np.array([e[1] for e in entries], np.int64))


def _probe_reach(engine: Engine) -> float:
    """Length of the inside/outside probe ray: past the whole scene (the engine's own)."""
    return engine._probe_length
