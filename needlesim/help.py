"""Where the documentation is: inside the installed package (a wheel carries ``docs/`` as
``needlesim/_docs``), or ``docs/`` beside the package in a source checkout. The app's Help
and the command line point to these files, so they work from a wheel as from a clone."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def docs_dir() -> Path | None:
    """The folder holding ``conventions.md`` and the other documents (None if neither the
    package nor the checkout has them)."""
    for candidate in (_PACKAGE / "_docs", _PACKAGE.parent / "docs"):
        if (candidate / "conventions.md").is_file():
            return candidate
    return None


def doc_path(name: str) -> Path | None:
    """The installed path of document ``name`` (e.g. ``"conventions.md"``), or None."""
    folder = docs_dir()
    return None if folder is None or not (folder / name).is_file() else folder / name


def doc_reference(name: str) -> str:
    """How to name document ``name`` to a user: its path here, or ``docs/<name>`` (in the
    source repository) when this installation lacks it."""
    path = doc_path(name)
    return str(path) if path is not None else f"docs/{name} in the needlesim source repository"


def list_docs() -> list[Path]:
    """Every Markdown document shipped, sorted by name."""
    folder = docs_dir()
    return [] if folder is None else sorted(folder.glob("*.md"))
