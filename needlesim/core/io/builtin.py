"""Where the built-in scene lives: inside the installed package (a wheel carries it as
``needlesim/_builtin_meshes``), or ``meshes/`` beside the package in a source checkout."""

from __future__ import annotations

from pathlib import Path

from ..errors import ManifestError

_PACKAGE = Path(__file__).resolve().parents[2]


def builtin_scene_dir() -> Path:
    """The folder holding the built-in ``scene.toml``."""
    for candidate in (_PACKAGE / "_builtin_meshes", _PACKAGE.parent / "meshes"):
        if (candidate / "scene.toml").is_file():
            return candidate
    raise ManifestError("the built-in scene is missing from this installation (no meshes/scene.toml); "
                        "reinstall needlesim or pass --scene PATH")


def load_builtin_scene():
    """Load the built-in scene (the Visible Human Female pelvis and skin, with anatomy)."""
    from .manifest import load_scene

    return load_scene(builtin_scene_dir())
