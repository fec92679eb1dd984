"""The teaching layer is Qt-free and VTK-free (STYLE.md), and imports nothing above it."""

from __future__ import annotations

import pathlib
import re

from tests.test_layering import HEAVY, loaded_after


def test_teaching_imports_no_gui_vtk_or_matplotlib():
    mods = loaded_after("import needlesim.teaching, needlesim.teaching.playback, needlesim.cli_teaching, "
                        "needlesim.teaching.score, needlesim.teaching.tremor, needlesim.teaching.harvest, "
                        "needlesim.teaching.practice_log, needlesim.teaching.exercise, needlesim.teaching.practice, "
                        "needlesim.teaching.progress, needlesim.teaching.grading, needlesim.cli_grade")
    assert not mods & set(HEAVY), mods & set(HEAVY)


def test_teaching_never_imports_the_viewer_or_the_gui():
    folder = pathlib.Path(__file__).resolve().parents[2] / "needlesim" / "teaching"
    # the one exception: viz/colors.py, the palette, which imports nothing but the core
    never = re.compile(r"^\s*(from|import)\s+(PySide6|pyvistaqt|pyvista|vtk|needlesim\.gui|\.\.gui|"
                       r"needlesim\.viz(?!\.colors\b)|\.\.viz(?!\.colors\b))", re.M)
    assert [p.name for p in folder.rglob("*.py") if never.search(p.read_text())] == []
