"""The built wheel carries the built-in scene and the documentation, so an install away
from the repository still opens the app on it and the Help and the CLI point to real files."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1:]}")
    return next(out.glob("needlesim-*.whl"))


@pytest.mark.slow
def test_wheel_contains_the_builtin_scene_and_its_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    committed = {p.name for p in (ROOT / "meshes").iterdir() if p.is_file()}
    assert {f"needlesim/_builtin_meshes/{n}" for n in committed} <= names
    assert "needlesim/_builtin_meshes/scene.toml" in names
    assert "needlesim/_builtin_meshes/LICENSE-meshes.md" in names
    assert any(n.endswith("envelopes/nam2019.toml") for n in names)


@pytest.mark.slow
def test_wheel_contains_the_documentation_and_its_figures(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    docs = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*") if p.is_file()}
    assert "conventions.md" in docs and "images/conventions.png" in docs
    assert {f"needlesim/_docs/{n}" for n in docs} <= names


@pytest.mark.slow
def test_installed_wheel_points_help_and_cli_to_its_own_docs(wheel, tmp_path):
    """Installed away from the repository, the paths named are inside the installation."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import needlesim.help as h, needlesim.cli as c; print(h.doc_reference('conventions.md')); "
            "print(h.docs_dir()); print(c.build_parser()._subparsers._group_actions[0].choices['check'].description)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    conventions, folder, description = p.stdout.splitlines()[:3]
    assert Path(conventions) == target / "needlesim" / "_docs" / "conventions.md" and Path(conventions).is_file()
    assert (Path(folder) / "images" / "conventions.png").is_file()
    assert f"(see {conventions})" in " ".join(p.stdout.splitlines()[2:])


def test_docs_paths_in_a_checkout_are_real_files(capsys):
    from needlesim.cli import main
    from needlesim.help import doc_path, doc_reference

    assert doc_path("conventions.md") == ROOT / "docs" / "conventions.md"
    assert doc_reference("conventions.md") == str(ROOT / "docs" / "conventions.md")
    assert doc_path("no-such.md") is None and "source repository" in doc_reference("no-such.md")
    assert main(["docs", "conventions"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()
    assert main(["docs", "nope"]) == 2
    assert "no document 'nope'; there are: " in capsys.readouterr().err
