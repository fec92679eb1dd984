"""Teaching: scenarios, playback, comparisons, plan cards and simulated fluoroscopy.

Qt-free data and functions over the core, anatomy and sweeps layers (STYLE.md); the GUI
docks and the CLI are thin shells over them. ``import needlesim.teaching`` loads neither
Qt nor VTK.
"""

from .compare import Comparison, compare
from .library import list_scenarios, load_scenario, run_scenario, scenario_scene
from .playback import Event, EventKind, Frame, Playback
from .scenario import Scenario, ScenarioError, parse_scenario, read_scenario_file

__all__ = ["Comparison", "compare", "Event", "EventKind", "Frame", "Playback", "Scenario", "ScenarioError", "list_scenarios",
           "load_scenario", "parse_scenario", "read_scenario_file", "run_scenario", "scenario_scene"]
