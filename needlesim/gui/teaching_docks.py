"""The teaching docks of the main window, built in one place so the window itself only
calls :func:`install_docks` (in ``_docks``) and :meth:`TeachingDocks.add_menus` (in
``_menus``): the scenario, playback, risk map, fluoroscopy and practice docks, and the
comparison under the risk panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from .compare_box import CompareBox
from .fluoro_dock import FluoroPanel
from .harvest_dock import HarvestPanel
from .map_dock import RiskMapPanel
from .playback_dock import PlaybackPanel
from .practice_dock import PracticePanel
from .scenario_dock import ScenarioActions, ScenarioPanel


class TeachingDocks:
    def __init__(self, window) -> None:
        self.window = window
        s = window.session
        self.scenario_panel = ScenarioPanel()
        self.playback_panel = PlaybackPanel(s)
        self.map_panel = RiskMapPanel(s)
        self.fluoro_panel = FluoroPanel(s)
        self.compare_box = CompareBox(s, window.controller)
        window.risk_panel.layout().insertWidget(3, self.compare_box)
        self.actions = ScenarioActions(window, self.scenario_panel)
        self.docks = {}
        area = Qt.DockWidgetArea
        for key, title, panel, where in (("scenario", "Scenario", self.scenario_panel, area.LeftDockWidgetArea),
                                         ("playback", "Advance the needle", self.playback_panel, area.RightDockWidgetArea),
                                         ("map", "Risk map", self.map_panel, area.RightDockWidgetArea),
                                         ("fluoro", "Fluoroscopy", self.fluoro_panel, area.RightDockWidgetArea)):
            dock = QDockWidget(title, window)
            dock.setWidget(panel)
            dock.setObjectName(f"{key}-dock")
            window.addDockWidget(where, dock)
            self.docks[key] = dock
        window.tabifyDockWidget(self.docks["map"], self.docks["fluoro"])
        window.tabifyDockWidget(self.docks["fluoro"], self.docks["playback"])
        self.docks["map"].visibilityChanged.connect(self.map_panel.set_active)
        self.docks["fluoro"].visibilityChanged.connect(self.fluoro_panel.set_active)
        self.docks["playback"].visibilityChanged.connect(self.playback_panel.set_active)
        self.docks["playback"].raise_()  # the map, the fluoroscope and the playback work only when shown
        self.practice_panel = PracticePanel(window)
        dock = QDockWidget("Practice", window)
        dock.setWidget(self.practice_panel)
        dock.setObjectName("practice-dock")
        window.addDockWidget(area.LeftDockWidgetArea, dock)
        dock.hide()  # shown by Practice > New exercise
        self.docks["practice"] = dock
        self.harvest_panel = HarvestPanel(window)
        dock = QDockWidget("Harvest plan", window)
        dock.setWidget(self.harvest_panel)
        dock.setObjectName("harvest-dock")
        window.addDockWidget(area.RightDockWidgetArea, dock)
        dock.hide()  # shown by Practice > Plan a harvest
        self.docks["harvest"] = dock

    def add_menus(self, bar, file_menu) -> None:
        self.actions.add_file_actions(file_menu)
        m = self.actions.add_scenarios_menu(bar)
        m.addSeparator()
        w, p = self.window, self.playback_panel
        w._action(m, "Play / pause the insertion", lambda: (self.show("playback"), p.play_button.toggle()), "Space")
        w._action(m, "Needle 1 mm deeper", lambda: p.step(1.0), ".")
        w._action(m, "Needle 1 mm back", lambda: p.step(-1.0), ",")
        for key in ("map", "fluoro", "playback"):
            w._action(m, f"Show the {self.docks[key].windowTitle().lower()}", lambda _=False, k=key: self.show(k))
        self.add_practice_menu(bar)

    def add_practice_menu(self, bar) -> None:
        m = bar.addMenu("&Practice")
        w, p = self.window, self.practice_panel
        w._action(m, "&New exercise", lambda: (self.show("practice"), p.new_exercise()), "Ctrl+Alt+N",
                  "The app picks the pelvis and the side and hides the answer until you submit")
        w._action(m, "&Fluoroscopy shot", p.take_shot, "Ctrl+Alt+F", "One shot of the C-arm (each costs a point)")
        w._action(m, "&Submit attempt", p.submit, "Ctrl+Alt+Return", "Score the attempt and reveal everything")
        m.addSeparator()
        w._action(m, "&Progress…", p.show_progress, None, "Score over time by level, from the practice log")
        w._action(m, "&Export practice log…", p.export_dialog, None, "Every logged attempt as CSV")
        w._action(m, "Show the practice panel", lambda: self.show("practice"))
        m.addSeparator()
        w._action(m, "Plan a &harvest from the current aim", lambda: (self.show("harvest"),
                  self.harvest_panel.plan_from_aim()), None,
                  "Two skin sites, three passes through each (pivoting at the puncture), each checked")

    def show(self, key: str) -> None:
        self.docks[key].show()
        self.docks[key].raise_()


def install_docks(window) -> TeachingDocks:
    """Build the teaching docks on ``window`` (a :class:`MainWindow`)."""
    docks = TeachingDocks(window)
    window.fluoro_panel = docks.fluoro_panel
    return docks
