"""Landmarks of the hip bones: PSIS, harvest entry, greater sciatic notch, SI joint, symphysis.

All are found in the APP frame (:mod:`needlesim.anatomy.pelvic_frame`) and returned in the
input frame, as points on (or, for the two joints, midway across the gap of) the bone
surfaces, in mm. Definitions:

- **ASIS** (anterior superior iliac spine): where the anterior pelvic plane touches the
  ilium, the anterior counterpart of the PSIS, and defined the same way: the centroid of the
  ilium surface (dense samples) within :data:`ASIS_CAP_MM` of the plane, connected to the
  support vertex, snapped to the surface. The support vertex itself (which the APP frame
  passes through, :mod:`.pelvic_frame`) is ill-conditioned: the tip is rounded and its
  anterior border runs nearly parallel to the plane, so surface noise of a fraction of a mm
  moves the vertex along it (7.6-9.1 mm on the built-in pelvis voxelised at 1-1.5 mm); the
  cap's centroid, an average over the whole touching region, moved at most 1.2 mm.
- **PSIS** (posterior superior iliac spine): the apex of the posterior iliac prominence, i.e.
  the most posterior part of the ilium in the APP frame. With the patient prone the pelvis
  lies on its APP, so this is the most dorsal point of the posterior ilium: the bump the
  operator palpates and marks (Nam et al., BMC Cancer 2019;19:347, "palpate the PSIS").
  Computed as the centroid of the ilium surface (dense samples) within :data:`PSIS_CAP_MM` of
  the extreme, snapped to the surface (a single extreme vertex would hop between vertices).
- **entry** (bone-marrow harvest entry): "enter the most medial PSIS" (Hirahara et al., Am J
  Orthop 2018): the medial part of the PSIS prominence (the connected ilium surface within
  :data:`ENTRY_CAP_MM` of the apex along the posterior axis): the centroid of its
  :data:`ENTRY_MEDIAL_FRACTION` closest to the mid-sagittal plane, snapped to the surface.
- **sciatic notch top** (the apex of the greater sciatic notch): the hip bone (ilium,
  ischium, pubis) is seen from the side (rays along the APP ``x`` axis); its silhouette's
  concavities (convex hull minus silhouette) are bays, and the greater sciatic notch is the
  largest bay posterior of the silhouette's centroid. Its apex is the point of its bony edge
  deepest in the bay, i.e. farthest from the hull edge across the notch's mouth (PIIS to
  ischium), as in the classic notch-depth measurement: robustly, the rim pixel nearest the
  centroid of the rim within :data:`NOTCH_APEX_CAP_MM` of the greatest depth (the single
  deepest pixel hops along a flat-bottomed notch under surface noise: 3.7-4.6 mm on the
  built-in pelvis voxelised at 1.5 mm; the centroid moved at most 1.8 mm); in the APP frame it is the notch's
  cranial-anterior corner, where the upper border turns down. (The "most cranial point" of the
  upper border itself is ill-defined: on the Visible Human Female that border is level within
  3 mm over 30 mm, and a 10 % scaling moved its highest point by 20 mm.) In 3D: the bone
  surface point under that edge pixel, midway across the bone.
- **SI joint posterior**: surface samples of the ilium within :data:`JOINT_GAP_MM` of the
  sacrum form the sacroiliac joint; its most posterior sample (APP frame), moved to the middle
  of the gap to the sacrum.
- **pubic symphysis**: likewise, pubis samples within :data:`JOINT_GAP_MM` of the other pubis;
  the most anterior-superior one (largest ``y + z`` in the APP frame), moved to the middle of
  the gap.
"""

from __future__ import annotations

import numpy as np
import trimesh
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, cKDTree

from needlesim.anatomy.pelvic_frame import PelvicFrame, Plane
from needlesim.core.errors import LandmarkError

#: Depth of the PSIS cap, mm: about the resolution of a palpating fingertip, and more than the
#: vertex spacing of coarse bone meshes (4 mm edges) so the cap is never a single vertex.
PSIS_CAP_MM = 3.0
#: Depth of the ASIS cap, mm: the ASIS is palpated like the PSIS, so the same fingertip
#: resolution (:data:`PSIS_CAP_MM`); a cap deeper than surface noise (voxels of 1-1.5 mm leave
#: a few tenths of a mm after smoothing) averages the noise out.
ASIS_CAP_MM = PSIS_CAP_MM
#: Depth of the PSIS prominence searched for the most medial entry, mm: the same palpable cap
#: as the PSIS (:data:`PSIS_CAP_MM`); deeper caps run down the medial border of the ilium
#: to the SI joint.
ENTRY_CAP_MM = PSIS_CAP_MM
#: The entry is the centroid of this most medial fraction of the cap. The single most medial
#: point of the cap hops by up to 8 mm under a 10 % scaling of the pelvis; the medial-quarter
#: centroid moves about 1 mm and lies 5-7 mm medial of the PSIS apex on the Visible Human.
ENTRY_MEDIAL_FRACTION = 0.25
#: Pixel size of the side view of a hip bone, mm (the notch is 30-50 mm across).
NOTCH_PIXEL_MM = 0.5
#: The notch apex region: rim pixels within this depth of the deepest, mm. The largest
#: tolerable landmark placement error (2.7 mm, IR survey 2018, rounded up: the same 3 mm as
#: :data:`needlesim.anatomy.landmarks.MIRROR_FREE_MM`): depths that differ by less are not a
#: different apex, so the apex is their middle.
NOTCH_APEX_CAP_MM = 3.0
#: Rim pixels tried, nearest the apex first, for a ray that crosses the bone (a pixel on the very edge
#: of the silhouette can miss by float32 rounding).
NOTCH_RIM_TRIES = 10
#: Surfaces closer than this are taken as a joint, mm. The adult SI joint space and pubic
#: symphysis disc are a few mm (2-5 mm) wide; bone meshes often touch or overlap there.
JOINT_GAP_MM = 3.0
#: Spacing of the surface samples used for caps and joints, mm: finer than the published
#: landmark tolerances (a few mm) and than the 2-4 mm edges of typical bone meshes.
SAMPLE_SPACING_MM = 0.8
#: Cap on samples per bone, to bound time and memory on very large meshes.
MAX_SAMPLES = 200000


def surface_samples(mesh: trimesh.Trimesh, *, seed: int = 0) -> np.ndarray:
    """Random surface points, about one per :data:`SAMPLE_SPACING_MM` squared, (n, 3) mm.

    Seeded, so the same mesh always gives the same points.
    """
    count = int(np.clip(mesh.area / SAMPLE_SPACING_MM**2, 1000, MAX_SAMPLES))
    return trimesh.sample.sample_surface(mesh, count, seed=seed)[0]


def _cap(points: np.ndarray, direction: np.ndarray, depth_mm: float) -> np.ndarray:
    """The samples within ``depth_mm`` of the extreme along ``direction``, connected to it."""
    height = points @ direction
    near = points[height >= height.max() - depth_mm]
    pairs = cKDTree(near).query_pairs(3.0 * SAMPLE_SPACING_MM, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(near), len(near)))
    _, labels = connected_components(graph, directed=False)
    return near[labels == labels[np.argmax(near @ direction)]]


def _closest_on_surface(mesh: trimesh.Trimesh, point: np.ndarray) -> np.ndarray:
    return trimesh.proximity.closest_point(mesh, point[None, :])[0][0]


def asis(ilium: trimesh.Trimesh, samples: np.ndarray, frame: PelvicFrame) -> np.ndarray:
    """The ASIS of one ilium, (3,) mm (module docstring); ``samples`` on the ilium, (n, 3) mm."""
    cap = _cap(samples, frame.axes[1], ASIS_CAP_MM)
    return _closest_on_surface(ilium, cap.mean(0))


def psis(ilium: trimesh.Trimesh, samples: np.ndarray, frame: PelvicFrame) -> np.ndarray:
    """The PSIS of one ilium, (3,) mm (module docstring); ``samples`` on the ilium, (n, 3) mm."""
    posterior = -frame.axes[1]
    cap = _cap(samples, posterior, PSIS_CAP_MM)
    return _closest_on_surface(ilium, cap.mean(0))


def harvest_entry(ilium: trimesh.Trimesh, samples: np.ndarray, frame: PelvicFrame, midline: Plane) -> np.ndarray:
    """The harvest entry on one ilium, (3,) mm: the most medial PSIS (module docstring).

    ``samples`` are points on the ilium surface, (n, 3) mm.
    """
    cap = _cap(samples, -frame.axes[1], ENTRY_CAP_MM)
    distance = np.abs(midline.signed_distance(cap))
    medial = cap[distance <= np.quantile(distance, ENTRY_MEDIAL_FRACTION)]
    return _closest_on_surface(ilium, medial.mean(0))


def _side_view(hip: trimesh.Trimesh, frame: PelvicFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rays along APP ``x`` on a (y, z) grid: origins (ny, nz, 3) and the silhouette mask."""
    rel = frame.to_neutral(hip.vertices)
    gy = np.arange(rel[:, 1].min() - 2.0, rel[:, 1].max() + 2.0, NOTCH_PIXEL_MM)
    gz = np.arange(rel[:, 2].min() - 2.0, rel[:, 2].max() + 2.0, NOTCH_PIXEL_MM)
    yy, zz = np.meshgrid(gy, gz, indexing="ij")
    x0 = rel[:, 0].min() - 5.0
    neutral = np.stack([np.full_like(yy, x0), yy, zz], axis=-1)
    origins = neutral @ frame.axes + frame.origin
    flat = origins.reshape(-1, 3)
    hit = hip.ray.intersects_any(flat, np.tile(frame.axes[0], (len(flat), 1)))
    return origins, hit.reshape(yy.shape)


def _notch_bay(silhouette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The greater sciatic notch bay mask and the depth of every pixel into the hull."""
    pixels = np.argwhere(silhouette)
    hull = ConvexHull(pixels)
    grid = np.indices(silhouette.shape).reshape(2, -1).T
    inside = (grid @ hull.equations[:, :2].T + hull.equations[:, 2] <= 0.5).all(1).reshape(silhouette.shape)
    labels, count = ndimage.label(inside & ~silhouette)
    edge = ndimage.binary_dilation(~inside)
    centre_y = pixels[:, 0].mean()
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    row = np.bincount(labels.ravel(), weights=np.indices(labels.shape)[0].ravel(), minlength=count + 1)
    open_to_hull = np.bincount(labels[edge], minlength=count + 1) > 0
    bays = [i for i in range(1, count + 1) if open_to_hull[i] and row[i] / sizes[i] < centre_y]
    if not bays:
        raise LandmarkError("cannot find the greater sciatic notch: no concavity on the posterior border of the hip bone")
    return labels == bays[int(np.argmax(sizes[bays]))], ndimage.distance_transform_edt(inside)


def sciatic_notch_top(hip: trimesh.Trimesh, frame: PelvicFrame) -> np.ndarray:
    """Apex ("top") of the greater sciatic notch of one hip bone, (3,) mm (module docstring).

    ``hip`` is the ilium, ischium and pubis of one side as one mesh, mm.
    """
    origins, silhouette = _side_view(hip, frame)
    bay, depth = _notch_bay(silhouette)
    rim = np.argwhere(silhouette & ndimage.binary_dilation(bay))
    rim_depth_mm = depth[rim[:, 0], rim[:, 1]] * NOTCH_PIXEL_MM
    apex = rim[rim_depth_mm >= rim_depth_mm.max() - NOTCH_APEX_CAP_MM].mean(0)
    rim = rim[np.argsort(np.linalg.norm(rim - apex, axis=1), kind="stable")]
    for pixel in rim[:NOTCH_RIM_TRIES]:  # the rim pixel nearest the apex whose ray meets the bone
        origin = origins[pixel[0], pixel[1]]
        loc, _, _ = hip.ray.intersects_location(origin[None], frame.axes[0][None], multiple_hits=True)
        if len(loc) >= 2:
            first_two = loc[np.argsort((loc - origin) @ frame.axes[0])[:2]]
            return _closest_on_surface(hip, first_two.mean(0))
    raise LandmarkError("cannot find the greater sciatic notch apex: no ray meets the bone at the notch's rim")


def _joint_samples(points_a: np.ndarray, points_b: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Samples of ``a`` within :data:`JOINT_GAP_MM` of ``b`` and their midpoints across the gap."""
    distance, index = cKDTree(points_b).query(points_a, distance_upper_bound=JOINT_GAP_MM)
    close = np.isfinite(distance)
    if close.sum() < 10:
        raise LandmarkError(f"cannot find the {name}: the bones never come within {JOINT_GAP_MM} mm of each other")
    return points_a[close], (points_a[close] + points_b[index[close]]) / 2.0


def si_joint_posterior(ilium: np.ndarray, sacrum: np.ndarray, frame: PelvicFrame, side: str) -> np.ndarray:
    """Most posterior point of one sacroiliac joint, mid-gap, (3,) mm (module docstring).

    ``ilium`` and ``sacrum`` are surface samples, (n, 3) mm; ``side`` names it in errors.
    """
    surface, middle = _joint_samples(ilium, sacrum, f"{side} sacroiliac joint")
    return middle[np.argmin(surface @ frame.axes[1])]


def pubic_symphysis(left: np.ndarray, right: np.ndarray, frame: PelvicFrame) -> np.ndarray:
    """Most anterior-superior point of the pubic symphysis, mid-gap, (3,) mm (docstring).

    ``left`` and ``right`` are surface samples of the two pubes, (n, 3) mm.
    """
    surface, middle = _joint_samples(left, right, "pubic symphysis")
    return middle[np.argmax(surface @ (frame.axes[1] + frame.axes[2]))]
