"""Individuals: the same real pelvis, varied as people vary.

This is a **morphometric warp of one real pelvis, not a statistical shape model**. For an
individual we draw a few published measures from their spread (sacrum width and height,
by sex where the literature splits them), the soft tissue over the PSIS, the level where
the dural sac ends and the pelvic tilt; warp the template's bones and skin with a smooth
thin-plate-spline deformation driven by its landmarks so that the measures match; move the
skin along its normals to the drawn soft-tissue depth; and rebuild the neural structures
and vessels on the warped bone (:func:`needlesim.anatomy.build.build_scene`). Same seed,
same individual.

The landmarks are not searched for again on the warped bone: the warp is a known smooth map,
so the template's landmarks are carried through it and then checked on the warped bone
(:mod:`needlesim.anatomy.warped_landmarks`); an individual whose warp broke a landmark is
refused with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import trimesh
from scipy.interpolate import RBFInterpolator

from needlesim.anatomy.landmarks import PelvisLandmarks
from needlesim.anatomy.params import DURAL_TIP_LEVELS, MAX_TILT_DEG, AnatomyError, AnatomyParams
from needlesim.core.errors import NeedlesimError
from needlesim.core.geometry.raycast import ray_triangle
from needlesim.core.model.scene import Role, Scene

BONES = ("sacrum", "coccyx", "left ilium", "right ilium", "left ischium", "right ischium", "left pubis", "right pubis")

#: Published spreads, (mean, SD) in mm, from shared/references/anatomy-numbers.md.
#: Sacrum width: dry-bone study, n=30, not split by sex (used for both). Sacrum height:
#: female 98.0 +/- 9.2 (Oman Med J, n=78); male from the mixed dry-bone series, 106.7 +/- 10.2
#: (n=30; an upper estimate for men, stated as such).
SACRUM_WIDTH_MM = {"female": (103.6, 6.8), "male": (103.6, 6.8)}
SACRUM_HEIGHT_MM = {"female": (98.0, 9.2), "male": (106.7, 10.2)}
#: Soft tissue over the PSIS: no published norm (the references list it as a gap). Estimate:
#: 30 +/- 10 mm, truncated to 10-80 mm; the Visible Human Female measures 33-36 mm.
SOFT_TISSUE_MM = (30.0, 10.0, 10.0, 80.0)
#: Where the dural sac ends: Al Jawad 2022 (n=200): upper S2 25.1 %, middle S2 26.5 %,
#: lower S2 20 %; the remaining 28.4 % spread over the rest of Binokay's L5/S1-S3 range
#: (split evenly: an estimate).
DURAL_TIP_P = {"S2-upper": 0.251, "S2-mid": 0.265, "S2-lower": 0.200,
               "L5-S1": 0.057, "S1": 0.057, "S1-S2": 0.057, "S2-S3": 0.057, "S3": 0.056}
#: Pelvic tilt on the table: estimate 0 +/- 5 deg (bolsters and habitus), truncated to +/-15.
TILT_DEG = (0.0, 5.0, 15.0)
#: Passes of the skin offset: each measures the soft tissue again and corrects (0.1 mm after 3).
SOFT_TISSUE_ITERATIONS = 3
#: Draws beyond this many SD are redrawn (keeps individuals anatomically plausible).
TRUNCATE_SD = 2.5
SEXES = ("female", "male")
#: The stages of :func:`make_individual`, in order, as passed to its ``on_stage`` (the last
#: four are :func:`~needlesim.anatomy.build.build_scene`'s).
STAGES = ("template landmarks", "warp", "landmarks carried and checked", "skin and soft tissue",
          "landmarks", "free space", "dural sac, roots and nerves", "vessels")


@dataclass(frozen=True)
class Morphometry:
    """The drawn measures of one individual (mm, degrees)."""

    seed: int
    sex: str
    sacrum_width_mm: float
    sacrum_height_mm: float
    soft_tissue_mm: float
    dural_tip: str
    tilt_deg: float


def _normal(rng: np.random.Generator, mean: float, sd: float, lo: float = -math.inf, hi: float = math.inf) -> float:
    while True:
        x = float(rng.normal(mean, sd))
        if abs(x - mean) <= TRUNCATE_SD * sd and lo <= x <= hi:
            return x


def draw_morphometry(seed: int, *, sex: str | None = None, soft_tissue_mm: float | None = None,
                     dural_tip: str | None = None, tilt_deg: float | None = None) -> Morphometry:
    """Draw one individual's measures; any given value is used as it is (after checks)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AnatomyError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    if sex is None:
        sex = SEXES[int(rng.integers(2))]
    if sex not in SEXES:
        raise AnatomyError(f"sex must be 'female' or 'male', got {sex!r}")
    width = _normal(rng, *SACRUM_WIDTH_MM[sex])
    height = _normal(rng, *SACRUM_HEIGHT_MM[sex])
    drawn_soft = _normal(rng, SOFT_TISSUE_MM[0], SOFT_TISSUE_MM[1], SOFT_TISSUE_MM[2], SOFT_TISSUE_MM[3])
    levels, p = zip(*DURAL_TIP_P.items())
    drawn_tip = str(rng.choice(levels, p=np.array(p) / sum(p)))
    drawn_tilt = _normal(rng, TILT_DEG[0], TILT_DEG[1], -TILT_DEG[2], TILT_DEG[2])
    soft = drawn_soft if soft_tissue_mm is None else _checked("soft tissue", soft_tissue_mm, 0.0, 150.0, "mm")
    tip = drawn_tip if dural_tip is None else dural_tip
    if tip not in DURAL_TIP_LEVELS:
        raise AnatomyError(f"dural level {tip!r} is not one of {', '.join(DURAL_TIP_LEVELS)} (L5/S1 to S3)")
    tilt = drawn_tilt if tilt_deg is None else _checked("tilt", tilt_deg, -MAX_TILT_DEG, MAX_TILT_DEG, "deg")
    return Morphometry(int(seed), sex, width, height, soft, tip, tilt)


def _checked(name: str, value: object, lo: float, hi: float, unit: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnatomyError(f"{name} must be a number of {unit}, got {value!r}") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise AnatomyError(f"{name} {value!r} {unit} is out of range: it must be {lo:g} to {hi:g} {unit}")
    return v


def sacrum_measures(sacrum: np.ndarray, landmarks: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """``(width, height)`` of a sacrum, mm: its extent across (x of the neutral frame) and
    along the line from the canal's S1 entrance to the hiatus."""
    axis = np.asarray(landmarks["sacral-hiatus"]) - np.asarray(landmarks["sacral-canal-s1"])
    axis /= np.linalg.norm(axis)
    along = sacrum @ axis
    return float(np.ptp(sacrum[:, 0])), float(np.ptp(along))


def warp_targets(landmarks: Mapping[str, np.ndarray], sacrum: np.ndarray, m: Morphometry
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Control points ``(source, target)`` of the warp: every landmark scaled about the
    mid-ASIS origin so the sacrum width matches; the sacral landmarks further stretched along
    the sacral axis so its height matches."""
    names = sorted(landmarks)
    src = np.array([landmarks[n] for n in names], dtype=float)
    width, height = sacrum_measures(sacrum, landmarks)
    s = m.sacrum_width_mm / width
    dst = src * s
    axis = np.asarray(landmarks["sacral-hiatus"]) - np.asarray(landmarks["sacral-canal-s1"])
    axis /= np.linalg.norm(axis)
    sacral = np.array([("foramen" in n) or n.startswith("sacral-") for n in names])
    centre = sacrum.mean(axis=0) * s
    k = m.sacrum_height_mm / (height * s)
    along = (dst[sacral] - centre) @ axis
    dst[sacral] += ((k - 1.0) * along)[:, None] * axis
    return src, dst


def thin_plate_warp(src: np.ndarray, dst: np.ndarray, anchors: np.ndarray, anchor_scale: float):
    """A smooth map taking ``src`` to ``dst`` exactly, and far ``anchors`` to themselves
    times ``anchor_scale`` (so the far field just scales)."""
    control = np.vstack([src, anchors])
    target = np.vstack([dst, anchors * anchor_scale])
    rbf = RBFInterpolator(control, target - control, kernel="thin_plate_spline", degree=1)
    return lambda pts: pts + rbf(pts)


def template_landmarks(template: Scene) -> PelvisLandmarks:
    """The template's full landmarks (points, axes, canal centreline, mid-planes), found on
    its bones once per process and geometry; the scene's own landmark points (which may have
    been corrected by hand) replace the found ones of the same name."""
    from needlesim.anatomy.landmarks import find_pelvis_landmarks
    from needlesim.anatomy.warped_landmarks import with_points

    key = template.landmarks_key  # the same bones with corrected landmarks are another template
    if key not in _TEMPLATE_LANDMARKS:
        try:
            found = find_pelvis_landmarks({s.name: s.mesh for s in template if s.is_bone})
        except NeedlesimError as exc:
            raise AnatomyError(f"cannot warp {template.name!r}: its own landmarks cannot be found ({exc})") from None
        _TEMPLATE_LANDMARKS.clear()  # one template at a time is what a run uses
        _TEMPLATE_LANDMARKS[key] = with_points(found, template.landmarks)
    return _TEMPLATE_LANDMARKS[key]


_TEMPLATE_LANDMARKS: dict[str, PelvisLandmarks] = {}


def make_individual(template: Scene, m: Morphometry, *, params: AnatomyParams | None = None,
                    on_stage: Callable[[str], None] | None = None) -> Scene:
    """Warp ``template`` (a built scene with bones, skin and landmarks, in its neutral frame)
    to the measures ``m`` and rebuild its anatomy; ``on_stage`` is called with the name of
    each stage as it starts.

    Raises
    ------
    AnatomyError
        The template lacks a bone, or the warp broke a landmark
        (:class:`~needlesim.anatomy.warped_landmarks.LandmarkWarpError`, naming it).
    """
    from needlesim.anatomy.build import build_scene
    from needlesim.anatomy.warped_landmarks import check_warped_landmarks, warp_landmarks

    stage = on_stage or (lambda name: None)
    missing = [b for b in BONES[:1] + BONES[2:] if b not in template.names]
    if missing:
        raise AnatomyError(f"the template scene lacks {', '.join(missing)}")
    stage("template landmarks")
    t_lm = template_landmarks(template)
    lm = dict(template.landmarks)
    sacrum = template["sacrum"].vertices
    stage("warp")
    src, dst = warp_targets(lm, sacrum, m)
    lo, hi = template.bounds
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]) * 1.5
    warp = thin_plate_warp(src, dst, corners, m.sacrum_width_mm / sacrum_measures(sacrum, lm)[0])
    t_bones = {s.name: s.mesh for s in template if s.name in BONES}
    bones = {k: trimesh.Trimesh(warp(b.vertices), b.faces, process=False) for k, b in t_bones.items()}
    stage("landmarks carried and checked")
    w_lm = warp_landmarks(t_lm, warp, bones)
    check_warped_landmarks(t_lm, t_bones, w_lm, bones)
    skin_s = template.by_role(Role.SKIN)
    skin = None
    if skin_s:
        stage("skin and soft tissue")
        skin = trimesh.Trimesh(warp(skin_s[0].vertices), skin_s[0].faces, process=False)
        skin = set_soft_tissue(skin, bones, m.soft_tissue_mm)
    p = replace(params or AnatomyParams(), dural_tip=m.dural_tip, tilt_deg=m.tilt_deg)
    marrow = {s.name: s.marrow_faces for s in template if s.name in bones and s.marrow_faces is not None}
    scene = build_scene(bones, skin, params=p, name=f"individual seed {m.seed} ({m.sex})", marrow_faces=marrow,
                        description="a morphometric warp of the Visible Human Female pelvis, not a statistical shape model",
                        source={"template": template.name, "morphometry": str(asdict(m))},
                        landmarks=w_lm, on_stage=stage)
    return replace(scene, metadata={**scene.metadata, "morphometry": asdict(m)})


def soft_tissue_over_psis(skin: trimesh.Trimesh, bones: Mapping[str, trimesh.Trimesh]) -> float:
    """Mean over both sides of the distance straight back (-y) from each ilium's most
    posterior point to the skin, mm."""
    out = []
    triangles = skin.triangles
    for side in ("left", "right"):
        v = np.asarray(bones[f"{side} ilium"].vertices)
        p = v[np.argmin(v[:, 1])]
        # two rays: the exact float64 test against every triangle (tens of ms) rather than a
        # BVH built for them, which set_soft_tissue would rebuild on every move of the skin
        t, hit = ray_triangle(p, np.array([0.0, -1.0, 0.0]), triangles)
        hit &= t >= 0.0
        if hit.any():
            out.append(float(t[hit].min()))
    if not out:
        raise AnatomyError("the skin does not cover the back of the pelvis: cannot set the soft tissue")
    return float(np.mean(out))


def set_soft_tissue(skin: trimesh.Trimesh, bones: Mapping[str, trimesh.Trimesh], target_mm: float) -> trimesh.Trimesh:
    """The skin moved along its vertex normals so the soft tissue over the PSIS is ``target_mm``."""
    out = skin.copy()
    for _ in range(SOFT_TISSUE_ITERATIONS):  # moving along normals is not straight back: iterate
        delta = target_mm - soft_tissue_over_psis(out, bones)
        out.vertices = out.vertices + out.vertex_normals * delta
    return out
