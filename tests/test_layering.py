"""The layers of STYLE.md, enforced: the core never loads Qt, VTK or pyvista."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("PySide6", "pyvista", "vtk", "vtkmodules", "pyvistaqt", "matplotlib")


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_core_imports_no_gui_or_vtk():
    mods = loaded_after(
        "import needlesim, needlesim.core.api, needlesim.core.needle.engine, needlesim.core.io.manifest, "
        "needlesim.core.verdict.report, needlesim.cli"
    )
    assert not mods & set(HEAVY), mods & set(HEAVY)


def test_core_modules_do_not_import_upper_layers():
    import pathlib
    import re

    core = pathlib.Path(__file__).resolve().parents[1] / "needlesim" / "core"
    # Qt and the upper layers: nowhere in the core, not even lazily
    never = re.compile(r"^\s*(from|import)\s+(PySide6|pyvistaqt|needlesim\.(gui|viz)|\.\.+(gui|viz|sweeps|anatomy|teaching))", re.M)
    assert [p.name for p in core.rglob("*.py") if never.search(p.read_text())] == []
    # pyvista/vtk: never at module level; meshio reads .vtp/.vtk through pyvista lazily
    top = re.compile(r"^(from|import)\s+(pyvista|vtk)", re.M)
    assert [p.name for p in core.rglob("*.py") if top.search(p.read_text())] == []
    lazy = re.compile(r"^\s+(from|import)\s+(pyvista|vtk)", re.M)
    assert [p.name for p in core.rglob("*.py") if lazy.search(p.read_text())] == ["meshio.py"]
