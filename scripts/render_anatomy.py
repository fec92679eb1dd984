"""Render the built anatomy of a scene off-screen, to look at it: docs/images/anatomy_*.png.

    python3 scripts/render_anatomy.py [SCENE_FOLDER] [--out docs/images]

Views (patient frame, RAS): posterior with see-through bone; a close posterior view of the
sacrum (roots in their foramina, sac, sleeves); the left side (sciatic nerve and superior
gluteal vessels at the notch); an anterior view of the sacrum (roots leaving the ventral
foramina for the plexus).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pyvista as pv

from needlesim.core.io.manifest import load_scene
from needlesim.core.model.scene import Role

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {Role.NERVE_ROOT: "gold", Role.DURA: "deepskyblue", Role.NERVE: "orange", Role.JOINT: "green"}


def _colour(structure) -> str:
    if structure.role is Role.VESSEL:
        return "red" if "artery" in structure.name else "royalblue"
    return COLOURS.get(structure.role, "ivory")


def _plotter(scene, *, bone_opacity: float, sleeves: bool = True) -> pv.Plotter:
    p = pv.Plotter(off_screen=True, window_size=(1200, 1000))
    p.set_background("white")
    for s in scene.structures:
        if s.role is Role.SKIN or (not sleeves and s.role is Role.DURA and "sleeve" in s.name):
            continue
        mesh = pv.wrap(s.mesh)
        if s.is_bone:
            p.add_mesh(mesh, color="ivory", opacity=bone_opacity, smooth_shading=True)
        else:
            opacity = 0.45 if s.role is Role.DURA else 1.0
            p.add_mesh(mesh, color=_colour(s), opacity=opacity, smooth_shading=True)
    for name in ("left-psis", "right-psis", "left-sciatic-notch-top", "right-sciatic-notch-top"):
        if name in scene.landmarks:
            p.add_mesh(pv.Sphere(radius=2.0, center=scene.landmarks[name]), color="black")
    return p


def _shot(p: pv.Plotter, path: Path, position, focus, up=(0, 0, 1), zoom=1.0) -> None:
    p.camera_position = [tuple(position), tuple(focus), up]
    p.camera.zoom(zoom)
    p.screenshot(str(path))
    p.close()
    print("wrote", path)


def render(folder: Path, out: Path) -> None:
    scene = load_scene(folder)
    out.mkdir(parents=True, exist_ok=True)
    sacrum = scene["sacrum"].vertices
    c = sacrum.mean(0)
    _shot(_plotter(scene, bone_opacity=0.25), out / "anatomy_posterior.png", c + [0, -450, 0], c, zoom=1.0)
    _shot(_plotter(scene, bone_opacity=0.35), out / "anatomy_roots_posterior.png", c + [0, -250, -40], c, zoom=2.2)
    _shot(_plotter(scene, bone_opacity=0.3, sleeves=False), out / "anatomy_roots_anterior.png", c + [0, 250, -60], c, zoom=2.0)
    notch = scene.landmarks.get("left-sciatic-notch-top", c)
    _shot(_plotter(scene, bone_opacity=0.3), out / "anatomy_left_lateral.png", notch + [-400, -60, 0], notch, zoom=1.6)
    # axial: from the feet, anterior up, patient's right on the viewer's left (radiological)
    _shot(_plotter(scene, bone_opacity=0.3), out / "anatomy_axial.png", c + [0, 0, -450], c, up=(0, 1, 0), zoom=1.2)
    _shot(_plotter(scene, bone_opacity=0.3), out / "anatomy_oblique.png", c + [-300, -330, 200], c, zoom=1.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "meshes"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = ap.parse_args()
    pv.OFF_SCREEN = True
    render(Path(args.folder), Path(args.out))


if __name__ == "__main__":
    main()
