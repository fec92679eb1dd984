"""Teaching fixtures: the built-in scene once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def builtin_scene():
    from needlesim.core.io.builtin import load_builtin_scene

    return load_builtin_scene()
