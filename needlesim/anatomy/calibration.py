"""Measure a built scene against the published numbers in
``shared/references/anatomy-numbers.md`` (the table of ``docs/anatomy.md``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from needlesim.anatomy.individuals import sacrum_measures, soft_tissue_over_psis
from needlesim.anatomy.tubes import DEFAULT_SECTIONS
from needlesim.core.api import check
from needlesim.core.verdict.envelope import Bounds, Envelope
from needlesim.core.model.scene import Scene
from needlesim.core.model.trajectory import Trajectory

_OPEN = Envelope("open", "no limits", "calibration", Bounds(), Bounds(), Bounds())


@dataclass(frozen=True)
class Target:
    """A published measure: mean and SD (or a range), its source and sample size."""

    key: str
    label: str
    mean: float
    sd: float | None
    source: str
    unit: str = "mm"

    def inside_2sd(self, value: float) -> bool:
        return self.sd is None or abs(value - self.mean) <= 2 * self.sd


TARGETS = (
    Target("psis_s2_dorsal", "PSIS to S2 dorsal foramen", 22.0, 6.2, "Surg Radiol Anat (27 skeletons + 5 cadavers)"),
    Target("s2_left_right", "left-right S2 dorsal foramina", 29.8, 2.7, "same"),
    Target("s1_s2_dorsal", "S1 to S2 dorsal foramen", 14.2, 2.7, "same"),
    Target("s2_s3_dorsal", "S2 to S3 dorsal foramen", 12.8, 1.5, "same"),
    Target("s1_root_diameter", "S1 root diameter", 5.38, 0.7, "Clin Anat 2018;31:782 (n=11)"),
    Target("s2_root_diameter", "S2 root diameter", 4.5, None, "estimate 4-5 mm (no published value)"),
    Target("psis_level_s2", "PSIS level along S2 (0 = S1 foramen, 1 = S2 foramen)", 0.5, 0.5,
           "McGaugh 2007: the inter-PSIS line crosses S2 in 81 % (n=100 CT)", unit=""),
    Target("dural_tip_s2", "dural sac tip along S2 (0 = S1 foramen, 1 = S2 foramen)", 0.33, 0.33,
           "Binokay 2006 (n=743): most often upper-to-middle third of S2", unit=""),
    Target("psis_notch", "PSIS to greater sciatic notch (top)", 53.0, 7.1, "Sittitavornwong 2013 (39 ilia)"),
    Target("psis_sg_vessels", "PSIS to superior gluteal vessels", 54.0, 9.5, "Sittitavornwong 2013 (39 ilia)"),
    Target("sacrum_width", "sacrum width", 103.6, 6.8, "dry-bone study (n=30)"),
    Target("sacrum_height", "sacrum height", 98.0, 9.2, "female, Oman Med J (n=78)"),
    Target("soft_tissue_psis", "soft tissue over the PSIS", 34.5, None, "measured on the Visible Human Female: 33-36 mm"),
    Target("hirahara_anterior_wall", "PSIS entry, 24 deg lateral, no tilt: to the anterior ilium wall", 67.4, None,
           "Hirahara 2018 (26 MRI): 6.74 cm women, 7.53 cm men"),
    Target("hirahara_si_joint", "PSIS entry, perpendicular: to the sacroiliac joint", 32.0, None, "Hirahara 2018: 3.20 cm"),
)


def _mean_sides(f) -> float:
    return float(np.mean([f(s) for s in ("left", "right")]))


def ring_diameter(vertices: np.ndarray, sections: int = DEFAULT_SECTIONS) -> float:
    """Median ring diameter of a tube written ring by ring (``sections`` vertices a ring),
    mm: the nominal diameter where the tube is neither thinned nor swollen."""
    n = (len(vertices) - 2) // sections
    rings = vertices[: n * sections].reshape(n, sections, 3)
    r = np.linalg.norm(rings - rings.mean(axis=1, keepdims=True), axis=2).mean(axis=1)
    return float(2 * np.median(r))


def _along_s2(scene: Scene, point: np.ndarray) -> float:
    lm = scene.landmarks
    axis = lm["sacral-hiatus"] - lm["sacral-canal-s1"]
    axis = axis / np.linalg.norm(axis)
    f = [np.mean([lm[f"{s}-s{k}-{w}-foramen"] for s in ("left", "right") for w in ("dorsal", "ventral")], axis=0) @ axis
         for k in (1, 2)]
    return float((point @ axis - f[0]) / (f[1] - f[0]))


def _needle_measure(scene: Scene, side: str, lateral: float, kind: str) -> float:
    ev = check(scene, Trajectory(f"{side}-entry", lateral, 0.0, 150.0), envelope=_OPEN).evaluation
    ilium = f"{side} ilium"
    entry = ev.soft_tissue_mm or 0.0
    if kind == "sacrum":
        t = [h.depth_mm for h in ev.hits if h.structure == "sacrum" and h.entering]
    else:
        t = [h.depth_mm for h in ev.hits if h.structure == ilium and not h.entering]
        t = t[-1:]  # the last exit: the anterior wall
    return float(t[0] - entry) if t else float("nan")


def measure(scene: Scene) -> dict[str, float]:
    """Every measure of :data:`TARGETS` on ``scene`` (mean of both sides where sided)."""
    lm = scene.landmarks
    d = lambda a, b: float(np.linalg.norm(lm[a] - lm[b]))  # noqa: E731
    bones = {s.name: s.mesh for s in scene if s.is_bone}
    width, height = sacrum_measures(scene["sacrum"].vertices, lm)
    sac = scene["dural sac"].vertices
    axis = lm["sacral-hiatus"] - lm["sacral-canal-s1"]
    tip = sac[np.argmax(sac @ axis)]
    out = {
        "psis_s2_dorsal": _mean_sides(lambda s: d(f"{s}-psis", f"{s}-s2-dorsal-foramen")),
        "s2_left_right": d("left-s2-dorsal-foramen", "right-s2-dorsal-foramen"),
        "s1_s2_dorsal": _mean_sides(lambda s: d(f"{s}-s1-dorsal-foramen", f"{s}-s2-dorsal-foramen")),
        "s2_s3_dorsal": _mean_sides(lambda s: d(f"{s}-s2-dorsal-foramen", f"{s}-s3-dorsal-foramen")),
        "s1_root_diameter": _mean_sides(lambda s: ring_diameter(scene[f"{s} S1 root"].vertices)),
        "s2_root_diameter": _mean_sides(lambda s: ring_diameter(scene[f"{s} S2 root"].vertices)),
        "psis_level_s2": _along_s2(scene, (lm["left-psis"] + lm["right-psis"]) / 2),
        "dural_tip_s2": _along_s2(scene, tip),
        "psis_notch": _mean_sides(lambda s: d(f"{s}-psis", f"{s}-sciatic-notch-top")),
        "psis_sg_vessels": _mean_sides(lambda s: min(
            float(np.linalg.norm(scene[f"{s} superior gluteal {v}"].vertices - lm[f"{s}-psis"], axis=1).min())
            for v in ("artery", "vein"))),
        "sacrum_width": width,
        "sacrum_height": height,
        "soft_tissue_psis": soft_tissue_over_psis(scene["skin"].mesh, bones),
        "hirahara_anterior_wall": _mean_sides(lambda s: _needle_measure(scene, s, 24.0, "wall")),
        "hirahara_si_joint": _mean_sides(lambda s: _needle_measure(scene, s, 0.0, "sacrum")),
    }
    return out
