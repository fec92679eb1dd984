"""Shared fixtures: small analytic scenes whose every hit depth and clearance is known."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from needlesim.core.model.scene import Role, Scene, Structure

#: Needle radius of the default 8 G trocar, mm.
R8G = 3.26 / 2


def box(lo, hi) -> trimesh.Trimesh:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    m = trimesh.creation.box(extents=hi - lo)
    m.apply_translation((lo + hi) / 2)
    return m


def pole_sphere(center, radius) -> trimesh.Trimesh:
    """A UV sphere turned so that one pole (a vertex) points to -y, toward the needle."""
    m = trimesh.creation.uv_sphere(radius=radius, count=[32, 32])
    m.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))  # +z pole -> -y
    m.apply_translation(center)
    return m


def root_prism(center_xy, radius, sections=64) -> trimesh.Trimesh:
    """A 64-sided prism along z standing in for a nerve root; it has vertices at 0, 90,
    180 and 270 degrees, so its extreme points in x and y are known exactly."""
    m = trimesh.creation.cylinder(radius=radius, height=200, sections=sections)
    m.apply_translation([center_xy[0], center_xy[1], 0])
    return m


def write_manifest(scene, folder):
    """Write ``scene`` as a manifest folder (PLY meshes, inline landmarks)."""
    lines = ['[scene]\nname = "analytic"\n\n[scene.landmark_points]']
    lines += [f"{k} = {list(map(float, v))}" for k, v in scene.landmarks.items()]
    for s in scene:
        fname = s.name.replace(" ", "_") + ".ply"
        s.mesh.export(folder / fname)
        lines.append(f'\n[[structure]]\nname = "{s.name}"\nrole = "{s.role.value}"\nside = "{s.side.value}"\n'
                     f'mesh = "{fname}"\ncortical_thickness_mm = {s.cortical_thickness_mm}')
    (folder / "scene.toml").write_text("\n".join(lines))
    return folder


@pytest.fixture(scope="session")
def analytic_scene() -> Scene:
    """Skin y in [-30, 300]; a bone slab y in [20, 40] (cortex 2 mm); a root (radius 2.5)
    along z at x=-40, y=80; a vessel (sphere r=10) at (40, 120, 0) with a pole at y=110.
    Landmark ``left-psis`` on the slab's back at (0, 20, 0)."""
    s = [
        Structure.from_trimesh("skin", Role.SKIN, box([-150, -30, -150], [150, 300, 150])),
        Structure.from_trimesh("left ilium", Role.CORTICAL_BONE, box([-100, 20, -100], [100, 40, 100]),
                               side="left", cortical_thickness_mm=2.0),
        Structure.from_trimesh("left S2 root", Role.NERVE_ROOT, root_prism((-40, 80), 2.5), side="left", level="S2"),
        Structure.from_trimesh("left gluteal artery", Role.VESSEL, pole_sphere((40, 120, 0), 10.0), side="left"),
    ]
    return Scene(tuple(s), landmarks={"left-psis": [0, 20, 0], "right-psis": [0, 20, 0]}, name="analytic")
