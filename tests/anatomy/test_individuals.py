"""Individuals: draws follow the published spreads, the warp hits its targets, and one
individual is built end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from needlesim.anatomy.individuals import (SACRUM_HEIGHT_MM, SACRUM_WIDTH_MM, draw_morphometry,
                                           sacrum_measures, thin_plate_warp, warp_targets)
from needlesim.anatomy.params import AnatomyError


def test_same_seed_same_individual_and_overrides():
    assert draw_morphometry(7) == draw_morphometry(7)
    assert draw_morphometry(7) != draw_morphometry(8)
    m = draw_morphometry(7, sex="male", soft_tissue_mm=42.0, dural_tip="S3", tilt_deg=-4.0)
    assert (m.sex, m.soft_tissue_mm, m.dural_tip, m.tilt_deg) == ("male", 42.0, "S3", -4.0)


@pytest.mark.parametrize("sex", ["female", "male"])
def test_draws_follow_the_published_spread(sex):
    draws = [draw_morphometry(s, sex=sex) for s in range(1500)]
    w = np.array([d.sacrum_width_mm for d in draws])
    h = np.array([d.sacrum_height_mm for d in draws])
    (wm, ws), (hm, hs) = SACRUM_WIDTH_MM[sex], SACRUM_HEIGHT_MM[sex]
    assert abs(w.mean() - wm) < 0.6 and 0.8 * ws < w.std() < 1.05 * ws  # truncated at 2.5 SD
    assert abs(h.mean() - hm) < 0.8 and 0.8 * hs < h.std() < 1.05 * hs
    tips = [d.dural_tip for d in draws]
    assert 0.6 < sum(t.startswith("S2-") and t != "S2-S3" for t in tips) / len(tips) < 0.8  # Al Jawad: 72 %


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"soft_tissue_mm": -1.0}, "soft tissue"), ({"soft_tissue_mm": math.nan}, "soft tissue"),
    ({"dural_tip": "L4"}, "dural level 'L4'"), ({"tilt_deg": 31.0}, "tilt 31"),
    ({"sex": "other"}, "sex must be"), ({"seed": -3}, "seed"),
])
def test_bad_parameters_are_refused(kwargs, match):
    kwargs = {"seed": 1, **kwargs}
    with pytest.raises(AnatomyError, match=match):
        draw_morphometry(**kwargs)


def test_warp_hits_the_targets_exactly():
    rng = np.random.default_rng(0)
    sacrum = rng.normal([0, -60, 40], [50, 15, 45], (500, 3))
    lm = {"sacral-canal-s1": np.array([0.0, -70, 80]), "sacral-hiatus": np.array([0.0, -80, -10]),
          "left-s2-dorsal-foramen": np.array([-15.0, -75, 40]), "left-psis": np.array([-40.0, -90, 60]),
          "left-asis": np.array([-120.0, 0, 0]), "right-asis": np.array([120.0, 0, 0])}
    m = draw_morphometry(3)
    src, dst = warp_targets(lm, sacrum, m)
    warp = thin_plate_warp(src, dst, np.array([[-400.0, -400, -400], [400, 400, 400], [-400, 400, 0],
                                               [400, -400, 0]]), dst[0, 0] / src[0, 0] if src[0, 0] else 1.0)
    np.testing.assert_allclose(warp(src), dst, atol=1e-6)
    width, _ = sacrum_measures(sacrum, lm)
    s = m.sacrum_width_mm / width
    np.testing.assert_allclose(dst[[k for k, n in enumerate(sorted(lm)) if n == "left-asis"][0]], lm["left-asis"] * s)


# --- landmarks carried through the warp ------------------------------------------------------

#: Seeds whose warped pelvis the landmark search could not read ("found no dorsal opening
#: joined to the left S3 ventral foramen by a free channel", before the landmarks were carried).
SEARCH_FAILED_SEEDS = (9, 14)


@pytest.fixture(scope="module")
def template():
    from needlesim.core.io.builtin import load_builtin_scene

    return load_builtin_scene()


@pytest.fixture(scope="module")
def carried(template):
    """The template's landmarks, and the warp, warped bones and carried landmarks of seed 9."""
    import trimesh

    from needlesim.anatomy.individuals import BONES, template_landmarks
    from needlesim.anatomy.warped_landmarks import warp_landmarks

    lm, sacrum = dict(template.landmarks), template["sacrum"].vertices
    m = draw_morphometry(SEARCH_FAILED_SEEDS[0])
    src, dst = warp_targets(lm, sacrum, m)
    lo, hi = template.bounds
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]) * 1.5
    warp = thin_plate_warp(src, dst, corners, m.sacrum_width_mm / sacrum_measures(sacrum, lm)[0])
    t_bones = {s.name: s.mesh for s in template if s.name in BONES}
    bones = {k: trimesh.Trimesh(warp(b.vertices), b.faces, process=False) for k, b in t_bones.items()}
    t_lm = template_landmarks(template)
    return t_lm, t_bones, warp, bones, warp_landmarks(t_lm, warp, bones)


def test_template_landmarks_are_the_scenes_own(template, carried):
    t_lm = carried[0]
    assert set(t_lm.points) == set(template.landmarks)
    for k, p in template.landmarks.items():
        np.testing.assert_array_equal(t_lm.points[k], p)  # the stored (maybe hand-corrected) points win


def test_carried_landmarks_are_the_warped_template_landmarks(carried):
    t_lm, _, warp, _, w_lm = carried
    for k, p in t_lm.points.items():
        if not k.endswith("-asis"):  # the ASISs are found again where the warped APP touches the ilia
            np.testing.assert_allclose(w_lm.points[k], warp(p[None])[0], atol=1e-9)
    np.testing.assert_allclose(w_lm.canal_polyline, warp(np.asarray(t_lm.canal_polyline)), atol=1e-9)
    dorsal, direction = w_lm.axes["left-s3-foramen"]
    to_ventral = w_lm.points["left-s3-ventral-foramen"] - dorsal
    np.testing.assert_allclose(direction, to_ventral / np.linalg.norm(to_ventral), atol=1e-12)
    # the neutral frame is the warped pelvis's own: origin midway between its APP support points
    from needlesim.anatomy.pelvic_frame import anterior_pelvic_plane

    frame = anterior_pelvic_plane(carried[3])
    n = w_lm.neutral_matrix
    np.testing.assert_allclose(n[:3, :3] @ ((frame.left_asis + frame.right_asis) / 2) + n[:3, 3], 0.0, atol=1e-9)
    for side in ("left", "right"):  # and the ASISs lie where that plane touches the bone
        y = (n[:3, :3] @ w_lm.points[f"{side}-asis"] + n[:3, 3])[1]
        assert -3.0 - 1e-9 <= y <= 1e-9, (side, y)
    # the mid-plane normal maps by the inverse transpose: still normal to warped in-plane steps
    p, nrm = t_lm.sacral_midline.point, t_lm.sacral_midline.normal
    t = np.cross(nrm, [0.0, 0.0, 1.0])
    step = warp((p + 0.01 * t)[None])[0] - warp(p[None])[0]
    assert abs(step @ w_lm.sacral_midline.normal) < 1e-3 * np.linalg.norm(step)


def test_carried_landmarks_pass_the_checks_on_a_seed_the_search_failed_on(carried):
    from needlesim.anatomy.warped_landmarks import check_warped_landmarks

    check_warped_landmarks(*carried[:2], carried[4], carried[3])  # raises if any landmark broke


def test_check_names_a_landmark_moved_off_the_bone(carried):
    from dataclasses import replace
    from types import MappingProxyType

    from needlesim.anatomy.warped_landmarks import LandmarkWarpError, check_warped_landmarks

    t_lm, t_bones, _, bones, w_lm = carried
    pts = dict(w_lm.points)
    pts["left-psis"] = pts["left-psis"] + np.array([0.0, -5.0, 0.0])  # 5 mm behind the PSIS apex
    with pytest.raises(LandmarkWarpError, match=r"left-psis is [45]\.\d mm off the warped bone surface"):
        check_warped_landmarks(t_lm, t_bones, replace(w_lm, points=MappingProxyType(pts)), bones)


def test_check_names_a_foramen_a_warp_has_closed(carried):
    """A smooth, invertible squeeze toward the middle of the left S3 tunnel (every point moves
    90 % of the way toward it near the centre, less farther out) closes the hole."""
    import trimesh

    from needlesim.anatomy.warped_landmarks import LandmarkWarpError, check_warped_landmarks, warp_landmarks

    t_lm, t_bones = carried[:2]
    c = (t_lm.points["left-s3-dorsal-foramen"] + t_lm.points["left-s3-ventral-foramen"]) / 2

    def squeeze(p):
        d = p - c
        return p - 0.9 * d * np.exp(-np.sum(d * d, axis=1) / 8.0**2)[:, None]

    bones = {k: trimesh.Trimesh(squeeze(b.vertices), b.faces, process=False) for k, b in t_bones.items()}
    with pytest.raises(LandmarkWarpError, match=r"left-s3-foramen has closed to \d\.\d mm of room") as err:
        check_warped_landmarks(t_lm, t_bones, warp_landmarks(t_lm, squeeze, bones), bones)
    assert "right-s3" not in str(err.value)


@pytest.mark.slow
def test_a_seed_the_search_failed_on_builds_and_validates(template):
    from needlesim.anatomy.individuals import make_individual
    from needlesim.anatomy.landmarks import LANDMARK_NAMES
    from needlesim.anatomy.validate import validate_scene

    stages = []
    scene = make_individual(template, draw_morphometry(SEARCH_FAILED_SEEDS[1]), on_stage=stages.append)
    assert set(LANDMARK_NAMES) <= set(scene.landmarks)
    assert {"left S3 root", "right S3 root", "dural sac", "left superior gluteal artery"} <= set(scene.names)
    assert validate_scene(scene, lumen=scene.metadata["anatomy"].canal.lumen) == []  # nothing cuts bone
    assert stages[:3] == ["template landmarks", "warp", "landmarks carried and checked"] and "vessels" in stages


def test_soft_tissue_over_psis_is_exact_on_a_slab():
    """Each ilium a box whose most posterior point is known, the skin a plane 31.25 mm behind:
    the depth in float64 (the exact ray path), not embree's float32 (errors ~1e-5 mm)."""
    import trimesh

    from needlesim.anatomy.individuals import set_soft_tissue, soft_tissue_over_psis

    bones = {f"{s} ilium": trimesh.creation.box(extents=(20.0, 10.0, 30.0)).apply_translation((x, -100.123456789, 3.3))
             for s, x in (("left", -60.0), ("right", 60.0))}
    skin = trimesh.creation.box(extents=(400.0, 1.0, 300.0)).apply_translation((0.0, -105.123456789 - 31.25 - 0.5, 0.0))
    assert soft_tissue_over_psis(skin, bones) == pytest.approx(31.25, abs=1e-9)
    moved = set_soft_tissue(trimesh.creation.icosphere(subdivisions=4, radius=200.0), bones, 30.0)
    assert soft_tissue_over_psis(moved, bones) == pytest.approx(30.0, abs=0.05)
