"""The built wheel carries the built-in scene, so an install away from the repository
still opens the app on it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_the_builtin_scene_and_its_licence(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1:]}")
    wheel = next(tmp_path.glob("needlesim-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    committed = {p.name for p in (ROOT / "meshes").iterdir() if p.is_file()}
    assert {f"needlesim/_builtin_meshes/{n}" for n in committed} <= names
    assert "needlesim/_builtin_meshes/scene.toml" in names
    assert "needlesim/_builtin_meshes/LICENSE-meshes.md" in names
    assert any(n.endswith("envelopes/nam2019.toml") for n in names)
