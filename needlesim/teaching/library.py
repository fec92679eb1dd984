"""The built-in scenario library, scene look-up and running a scenario through the engine."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..core.api import check
from ..core.geometry.raycast import Backend
from ..core.model.scene import Scene
from ..core.verdict.risk import RiskReport
from .scenario import Scenario, ScenarioError, SceneRef, parse_scenario, read_scenario_file

#: The package folder holding the built-in scenarios.
SCENARIO_PACKAGE = "needlesim.teaching"
SCENARIO_FOLDER = "scenarios"


def _folder():
    return resources.files(SCENARIO_PACKAGE) / SCENARIO_FOLDER


def list_scenarios() -> list[str]:
    """Names of the built-in scenarios (their file stems), sorted."""
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=64)
def _builtin(name: str) -> Scenario:
    text = (_folder() / f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(text, where=f"scenario {name}")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (see :func:`list_scenarios`) or one from a TOML file."""
    text = str(name_or_path)
    if text in list_scenarios():
        return _builtin(text)
    p = Path(name_or_path)
    if p.suffix.lower() == ".toml" or p.exists():
        return read_scenario_file(p)
    raise ScenarioError(text, [f"no such scenario; built-in: {', '.join(list_scenarios())}"])


@lru_cache(maxsize=4)
def _scene_for(ref: SceneRef) -> Scene:
    from ..core.io.builtin import load_builtin_scene

    if ref.seed is not None:
        from ..anatomy.individuals import draw_morphometry, make_individual

        return make_individual(load_builtin_scene(), draw_morphometry(ref.seed))
    if ref.folder is not None:
        from ..core.io.manifest import load_scene

        return load_scene(Path(ref.folder))
    return load_builtin_scene()


def scenario_scene(scenario: Scenario) -> Scene:
    """The scene a scenario is set in (cached: the built-in scene loads once)."""
    return _scene_for(scenario.scene)


def run_scenario(scenario: Scenario, *, scene: Scene | None = None,
                 backend: Backend | str = Backend.EMBREE) -> RiskReport:
    """Check the scenario's aim against its envelope (the scene is looked up if not given)."""
    scene = scenario_scene(scenario) if scene is None else scene
    return check(scene, scenario.trajectory, envelope=scenario.envelope, backend=backend)
