"""Scenarios in the app: the Scenarios menu, File > Open scenario, File > Export plan card,
and a dock with the scenario's story and source. Opening a scenario validates the whole
file first; a bad one gets one message and changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QLabel, QMenu, QVBoxLayout, QWidget

from ..core.errors import NeedlesimError
from ..teaching import Scenario, list_scenarios, load_scenario, scenario_scene
from ..teaching import fluoro
from ..teaching.card import make_card, write_html, write_pdf
from ..teaching.fluoro_view import picture
from ..viz.colors import VERDICT_COLORS
from ..viz.scene_view import ORTHOGRAPHIC_VIEWS, view_caption
from .worker import submit


class ScenarioPanel(QWidget):
    """The open scenario: title, narrative, source, the verdict it claims."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Choose a case from the Scenarios menu.")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addStretch(1)

    def show_scenario(self, s: Scenario | None) -> None:
        if s is None:
            self.label.setText("Choose a case from the Scenarios menu.")
            return
        self.label.setText(f"<b>{s.title}</b><p>{s.narrative}</p><p><i>{s.citation}</i></p>"
                           f"<p>scene: {s.scene.describe()}; envelope {s.envelope}; "
                           f"claims <b>{s.expected_verdict.value}</b></p>")


class ScenarioActions:
    """Menus and actions of the teaching layer for one main window (``window`` gives the
    session, the 3D view, the fluoroscope and the message box)."""

    def __init__(self, window, panel: ScenarioPanel) -> None:
        self.window, self.panel = window, panel
        self.current: Scenario | None = None
        self._jobs: set = set()

    def add_file_actions(self, menu: QMenu) -> None:
        w = self.window
        w._action(menu, "Open sce&nario…", self.open_scenario_dialog, "Ctrl+Shift+N",
                  "Open a teaching scenario (.toml)")
        w._action(menu, "Export &plan card…", self.export_card_dialog, "Ctrl+Shift+P",
                  "One page, PDF or HTML: views, verdict, reasons, clearances, envelope, path, source")

    def add_scenarios_menu(self, bar) -> QMenu:
        m = bar.addMenu("Sce&narios")
        for name in list_scenarios():
            s = load_scenario(name)
            self.window._action(m, s.title, lambda _=False, n=name: self.open_scenario(n), None, s.citation)
        return m

    def open_scenario_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open scenario", "", "Scenarios (*.toml);;All files (*)")
        if path:
            self.open_scenario(path)

    def open_scenario(self, name_or_path: str | Path) -> bool:
        """Load (validated whole), then apply: scene, envelope, aim, camera."""
        try:
            s = load_scenario(name_or_path)
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            return False
        if s.scene.builtin and self.window.session.scene_source == "builtin":
            self._apply(s, None)
            return True
        job = submit(lambda: scenario_scene(s), lambda scene: self._apply(s, scene), self.window.show_error)
        self._jobs.add(job)
        return True

    def _apply(self, s: Scenario, scene) -> None:
        session = self.window.session
        if isinstance(s.trajectory.entry, str) and (scene or session.scene).landmarks.get(s.trajectory.entry) is None:
            self.window.show_error(f"{s.source}: the scene has no landmark {s.trajectory.entry!r}")
            return
        if scene is not None:
            session.set_scene(scene, "builtin" if s.scene.builtin else (s.scene.folder or f"seed {s.scene.seed}"))
        if not session.set_settings(envelope=s.envelope):
            return
        session.set_locked(False)
        session.set_trajectory(s.trajectory)
        self.current = s
        self.panel.show_scenario(s)
        self.window.set_view(s.camera.view)

    # -- the plan card ---------------------------------------------------------------------
    def export_card_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export plan card", "plan-card.pdf",
                                              "PDF (*.pdf);;HTML (*.html)")
        if path:
            self.export_card(path)

    def export_card(self, path: str | Path) -> bool:
        w, report = self.window, self.window.session.report
        path = Path(path)
        if report is None or path.suffix.lower() not in (".pdf", ".html"):
            w.show_error(f"cannot write {path}: a plan card is .pdf or .html, and needs an evaluated aim")
            return False
        s = self.current if self.current is not None and self.current.trajectory == report.evaluation.trajectory \
            else None
        images = self._views(report) + self._fluoro()
        reference = w.controller.compare_report()
        card = make_card(report, scene=w.session.scene_source, scenario=s, compare_with=reference, images=images)
        try:
            (write_pdf if path.suffix.lower() == ".pdf" else write_html)(card, path)
        except OSError as exc:
            w.show_error(f"cannot write {path}: {exc.strerror or exc}")
            return False
        w.statusBar().showMessage(f"wrote {path}", 5000)
        return True

    def _views(self, report) -> list[tuple[str, np.ndarray]]:
        """Two views from the window's own plotter; its camera is put back afterwards."""
        w = self.window
        state = w.view.camera_state()
        out = []
        for name in ("posterior", self.current.camera.view if self.current else "axial"):
            w.view.view(name, report)
            w.view.set_orthographic(name in ORTHOGRAPHIC_VIEWS)
            w.plotter.render()
            out.append((view_caption(name), np.asarray(w.plotter.screenshot(return_img=True))))
        w.view.set_orthographic(False)
        w.view.set_camera_state(state)
        w.request_render()
        return out

    def _fluoro(self) -> list[tuple[str, np.ndarray]]:
        """The app's radiograph as the card shows it from the CLI: the needle as metal, its
        tip circled (no recast: the panel's bone image)."""
        panel, report = getattr(self.window, "fluoro_panel", None), self.window.session.report
        if panel is None or panel.image is None or report is None:
            return []
        mark = (fluoro.report_needle(report), VERDICT_COLORS[report.verdict.value])
        return [(f"fluoroscopy, {panel.view_box.currentText()} (tip circled)", picture(panel.image, [mark]))]
