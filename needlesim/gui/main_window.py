"""The main window: the 3D view in the middle, the trajectory and structure panels on the
left, the risk panel on the right. It wires widgets to the session; it computes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QMessageBox, QScrollArea, QSizePolicy
from pyvistaqt import QtInteractor

from .._version import __version__
from ..core.io import markups
from ..core.errors import NeedlesimError
from ..core.io.manifest import load_scene
from ..core.model.scene import Scene
from ..session import Controller, Session, scene_label
from ..session_io import save_session
from ..viz.scene_view import SceneView, add_orientation_marker
from .dialogs import ABOUT_HTML, MeshRolesDialog
from .import_dialog import open_import_dialog
from .landmark_dock import install_landmark_dock
from .legend_dock import LegendDock
from .picking import EntryPicker
from .qt_utils import close_interactor, show_whole_tab_titles, signals_blocked
from .risk_panel import RiskPanel
from .session_open import SessionOpener
from .structure_panel import StructurePanel
from .text_view import TextLabel
from .trajectory_panel import TrajectoryPanel
from .worker import submit

ORG, APP = "needlesim", "needlesim"
MAX_RECENT = 8
#: How long the aim must rest before the view is redrawn in full detail, ms.
IDLE_MS = 250
VIEW_KEYS = {"posterior": "1", "lateral-left": "2", "lateral-right": "3", "axial": "4", "needle": "5", "oblique": "6"}


class MainWindow(QMainWindow):
    #: Every message shown to the user (status bar, risk panel or box), for docks and tests.
    messageShown = Signal(str)

    def __init__(self, session: Session, *, settings: QSettings | None = None, scene_loader=load_scene,
                 notify=None) -> None:
        super().__init__()
        self.session = session
        self.notify = notify if notify is not None else self._message_box
        self.last_error: str | None = None
        self.settings = settings if settings is not None else QSettings(ORG, APP)
        self.scene_loader = scene_loader
        self.controller = Controller(session)
        self.setWindowTitle(f"needlesim {__version__}")
        # MSAA is costly under software OpenGL (Xvfb, remote desktops): FXAA smooths edges,
        # and only where the OpenGL is a GPU's
        self.plotter = QtInteractor(self, auto_update=False, multi_samples=1)
        if not software_opengl(self.plotter):
            self.plotter.enable_anti_aliasing("fxaa")
        self.plotter.set_background("#f7f7f5", top="#dfe6ee")
        self.setCentralWidget(self.plotter.interactor)
        self.view = SceneView(self.plotter)
        add_orientation_marker(self.plotter)
        self.trajectory_panel = TrajectoryPanel(session)
        self.risk_panel = RiskPanel(session)
        self.structure_panel = StructurePanel()
        self._docks()
        self._menus()
        self.status = TextLabel(wrap=False)
        # fixed both ways: its text changes on every move and must not relay out the window
        self.status.setFixedSize(600, self.status.fontMetrics().height() + 2)
        self.status.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.statusBar().addPermanentWidget(self.status)
        self.picker = EntryPicker(self.plotter, self.view.actors, session,
                                  lambda m: self.show_error(m, box=False), self)
        self.picker.armedChanged.connect(self._on_pick_armed)
        self._jobs: set = set()
        self.session_opener = SessionOpener(self)
        self.interactive_detail = True
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_MS)
        self._idle.timeout.connect(self._on_idle)
        self._connect()
        self._show_scene(session.scene)
        self.controller.refresh()
        self.view.view("posterior")
        self._restore_settings()
        self.request_render()

    # -- layout ------------------------------------------------------------------------------
    def _docks(self) -> None:
        left = QDockWidget("Trajectory", self)
        scroll = QScrollArea()
        scroll.setWidget(self.trajectory_panel)
        scroll.setWidgetResizable(True)
        left.setWidget(scroll)
        left.setObjectName("trajectory-dock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
        structures = QDockWidget("Structures", self)
        structures.setWidget(self.structure_panel)
        structures.setObjectName("structures-dock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, structures)
        right = QDockWidget("Risk", self)
        scroll = QScrollArea()
        scroll.setWidget(self.risk_panel)
        scroll.setWidgetResizable(True)
        right.setWidget(scroll)
        right.setObjectName("risk-dock")
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, right)
        self.legend = LegendDock(self)  # a strip under the 3D view, between the side docks
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.legend)

        from .teaching_docks import install_docks  # scenarios, playback, risk map, fluoroscopy

        self.teaching = install_docks(self)
        self.landmark_dock = install_landmark_dock(self)  # gui/landmark_dock.py
        QTimer.singleShot(0, lambda: show_whole_tab_titles(self))  # Qt makes the tab bars on first layout
        self.resizeDocks([left, right], [380, 360], Qt.Orientation.Horizontal)
        self.resizeDocks([left, structures], [560, 260], Qt.Orientation.Vertical)

    def _action(self, menu: QMenu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open &scene…", self.open_scene_dialog, QKeySequence.StandardKey.Open, "Open a scene manifest (scene.toml)")
        self._action(f, "Open &meshes…", self.open_meshes_dialog, "Ctrl+Shift+O", "Open mesh files and assign their roles")
        self._action(f, "&Import pelvis…", lambda: open_import_dialog(self), "Ctrl+I",
                     "Import a pelvis (HRA glTF, labelled meshes, CT label map) and build its anatomy")
        self._action(f, "Use the &built-in scene", self.open_builtin, None, "The Visible Human Female pelvis with its anatomy")
        f.addSeparator()
        self._action(f, "Open s&ession…", self.open_session_dialog, "Ctrl+Shift+E", "Reopen a saved session (JSON)")
        self._action(f, "&Save session…", self.save_session_dialog, QKeySequence.StandardKey.Save, "Save scene, trajectory and view")
        self.teaching.add_menus(bar, f)
        self.recent_menu = f.addMenu("Recent files")
        f.addSeparator()
        self._action(f, "Export s&creenshot…", self.export_screenshot_dialog, "Ctrl+Shift+S", "Save the 3D view as PNG")
        self._action(f, "Export trajectory for 3D &Slicer…", self.export_markups_dialog, "Ctrl+Shift+M",
                     "Save the needle as a Slicer line markup (.mrk.json)")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = bar.addMenu("&Edit")
        self.undo_action = self._action(e, "&Undo", self.session.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(e, "&Redo", self.session.redo, QKeySequence.StandardKey.Redo)
        self.lock_action = self._action(e, "&Lock trajectory", lambda on: self.session.set_locked(on), "Ctrl+L")
        self.lock_action.setCheckable(True)
        e.addSeparator()
        for text, key, field, step in (("Lateral +0.5°", "Alt+Right", "lateral_deg", 0.5),
                                       ("Lateral −0.5°", "Alt+Left", "lateral_deg", -0.5),
                                       ("Inferior +0.5°", "Alt+Down", "inferior_deg", 0.5),
                                       ("Inferior −0.5°", "Alt+Up", "inferior_deg", -0.5),
                                       ("Deeper 0.5 mm", "Alt+PgDown", "depth_mm", 0.5),
                                       ("Shallower 0.5 mm", "Alt+PgUp", "depth_mm", -0.5)):
            self._action(e, text, lambda _=False, f_=field, s_=step: self.nudge(f_, s_), key)
        v = bar.addMenu("&View")
        for name, key in VIEW_KEYS.items():
            self._action(v, f"{name.replace('-', ' ').capitalize()} view", lambda _=False, n=name: self.set_view(n), key)
        self._action(v, "&Reset view", lambda: self.set_view("posterior"), "R")
        v.addSeparator()
        self.landmarks_action = self._action(v, "Show &landmarks", lambda _=False: self._update_landmarks(), "L",
                                             "PSIS, harvest entries, foramina, canal, notch, SI joint, ASIS")
        self.landmarks_action.setCheckable(True)
        self.landmarks_action.setChecked(True)
        self.labels_action = self._action(v, "Landmark &names", lambda _=False: self._update_landmarks(), "Shift+L")
        self.labels_action.setCheckable(True)
        legend = self.legend.toggleViewAction()
        legend.setText("Le&gend")
        legend.setShortcut(QKeySequence("G"))
        v.addAction(legend)
        v.addAction(self.landmark_dock.toggleViewAction())
        h = bar.addMenu("&Help")
        self._action(h, "&Conventions", self.show_conventions, QKeySequence.StandardKey.HelpContents)
        self._action(h, "&About needlesim", self.show_about)

    def _connect(self) -> None:
        s = self.session
        s.trajectory_changed.connect(lambda *_: self._on_interaction())
        s.report_changed.connect(self._on_report_changed)
        s.scene_changed.connect(self._show_scene)
        s.error.connect(lambda message: self.show_error(message, box=False))  # refused edits: inline
        s.history_changed.connect(self._on_history_changed)
        s.locked_changed.connect(self._on_locked_changed)
        s.saved_changed.connect(lambda: self._on_report_changed(s.report))
        self.trajectory_panel.pickRequested.connect(self._arm_pick)
        self.structure_panel.visibilityChanged.connect(self._set_visible)
        self.structure_panel.opacityChanged.connect(self._set_opacity)
        self._on_history_changed()

    # -- model -> view ---------------------------------------------------------------------------
    def _update_landmarks(self) -> None:
        self.view.show_landmarks(self.landmarks_action.isChecked(), labels=self.labels_action.isChecked())
        self.request_render()

    def _show_scene(self, scene: Scene) -> None:
        self.view.set_scene(scene)
        QTimer.singleShot(IDLE_MS, self, self.view.prepare_light_copies)  # once the window has drawn
        if hasattr(self, "landmarks_action"):
            self.view.show_landmarks(self.landmarks_action.isChecked(), labels=self.labels_action.isChecked())
        self.structure_panel.set_scene(scene, self.view.opacity)
        self.legend.set_scene(scene)
        self.setWindowTitle(f"needlesim {__version__} — {scene_label(self.session.scene_source)}")

    def _on_report_changed(self, report) -> None:
        self.view.show_report(report, compare=self.controller.compare_report())
        if self.view.eye.active:  # the needle's-eye view follows the needle
            self.view.view("needle", report)
        self.request_render()
        if report is not None:
            ev = report.evaluation
            self.status.setText(f"{report.verdict.value.upper()} · puncture {ev.skin_puncture[0]:.0f}, "
                                f"{ev.skin_puncture[1]:.0f}, {ev.skin_puncture[2]:.0f} mm RAS · backend {ev.backend.value}")

    def _on_history_changed(self) -> None:
        self.undo_action.setEnabled(self.session.can_undo)
        self.redo_action.setEnabled(self.session.can_redo)

    def _on_locked_changed(self, locked: bool) -> None:
        self.lock_action.setChecked(locked)
        if locked:
            self._arm_pick(False)

    def _set_visible(self, name: str, visible: bool) -> None:
        self.view.set_visible(name, visible)
        self.request_render()

    def _set_opacity(self, name: str, opacity: float) -> None:
        self.view.set_opacity(name, opacity)
        self.request_render()

    def request_render(self) -> None:
        """Ask Qt to repaint the 3D view: several changes in one event-loop pass (a slider
        dragged fast, a panel update) cost one frame, not one each."""
        self.plotter.interactor.update()

    def _on_interaction(self) -> None:
        """A control is being moved: draw light copies until it rests for IDLE_MS."""
        if self.interactive_detail:
            self.view.set_interactive(True)
            self._idle.start()

    def _on_idle(self) -> None:
        self.view.set_interactive(False)
        self.request_render()

    def set_view(self, name: str) -> None:
        self.view.view(name, self.session.report)
        self.request_render()

    def show_error(self, message: str, *, box: bool = True) -> None:
        """A message in the status bar and, with ``box``, in a non-blocking box; the state
        is kept. Edits refused while a control moves use ``box=False``: nothing may
        interrupt a drag."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        self.messageShown.emit(message)
        if box:
            self.notify(message)

    def _message_box(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "needlesim", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- editing ---------------------------------------------------------------------------------
    def nudge(self, field: str, step: float) -> None:
        if not self.session.locked:
            self.session.update(**{field: getattr(self.session.trajectory, field) + step})

    # -- picking (gui/picking.py) -------------------------------------------------------------
    @property
    def pick_armed(self) -> bool:
        return self.picker.armed

    def _arm_pick(self, armed: bool) -> None:
        self.picker.set_armed(armed)
        self._on_pick_armed(self.picker.armed)  # a refused arming (locked) unchecks the button

    def _on_pick_armed(self, armed: bool) -> None:
        with signals_blocked(self.trajectory_panel.pick):
            self.trajectory_panel.pick.setChecked(armed)

    def pick_display(self, x: int, y: int) -> bool:
        """Pick under display position (x, y) (VTK pixels, origin bottom left)."""
        return self.picker.pick_display(x, y)

    def handle_pick(self, point: np.ndarray | None, structure: str | None) -> bool:
        return self.picker.handle_pick(point, structure)

    # -- files -------------------------------------------------------------------------------------
    def open_scene(self, path: str | Path) -> bool:
        try:
            scene = self.scene_loader(path)
        except NeedlesimError as exc:
            self.show_error(str(exc))
            return False
        self.session.set_scene(scene, str(path))
        self._add_recent(str(path))
        self.set_view("posterior")
        return True

    def open_builtin(self) -> None:
        from ..core.io.builtin import builtin_scene_dir

        try:
            folder = builtin_scene_dir()
        except NeedlesimError as exc:
            self.show_error(str(exc))
            return
        self.open_scene_async(folder, source="builtin")

    def open_scene_async(self, path: str | Path, source: str | None = None):
        """Read a scene and build its ray-casting structures off the GUI thread; the
        window stays responsive and shows the scene when it is ready."""
        from ..core.needle.engine import get_engine

        session = self.session

        def load():
            scene = self.scene_loader(path)
            get_engine(scene, backend=session.backend, needle_diameter_mm=session.trajectory.needle_diameter_mm,
                       margin_mm=session.margin_mm)  # warm the cache, off the GUI thread
            return scene

        def done(scene) -> None:
            self._jobs.discard(job)
            self.statusBar().clearMessage()
            self.session.set_scene(scene, source or str(path))
            if source is None:
                self._add_recent(str(path))
            self.set_view("posterior")

        def failed(message: str) -> None:
            self._jobs.discard(job)
            self.show_error(message)

        self.statusBar().showMessage(f"Loading {Path(path).name}…")
        job = submit(load, done, failed)
        self._jobs.add(job)
        return job

    def open_scene_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", "", "Scene manifest (*.toml)")
        if path:
            self.open_scene_async(path)

    def open_meshes_dialog(self) -> None:
        from ..core.io.meshio import SUPPORTED

        paths, _ = QFileDialog.getOpenFileNames(self, "Open meshes", "", "Meshes (" + " ".join(f"*{s}" for s in SUPPORTED) + ")")
        if not paths:
            return
        dialog = MeshRolesDialog(paths, self)
        if dialog.exec():
            try:
                scene = dialog.build_scene()
            except NeedlesimError as exc:
                self.show_error(str(exc))
                return
            self.session.set_scene(scene, "meshes:" + ";".join(paths))
            self.set_view("posterior")

    def open_session(self, path: str | Path) -> bool:
        """Load a session whole or not at all (gui/session_open.py): True when it is applied,
        or being applied on the worker (``session_opener.finished`` tells the end)."""
        return self.session_opener.open(path)

    def save_session(self, path: str | Path) -> bool:
        self.session.camera = self.view.camera_state()
        try:
            save_session(path, self.session)
        except NeedlesimError as exc:
            self.show_error(str(exc))
            return False
        self._add_recent(str(path))
        return True

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "needlesim session (*.json)")
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.json", "needlesim session (*.json)")
        if path:
            self.save_session(path)

    def export_screenshot(self, path: str | Path) -> bool:
        try:
            self.plotter.screenshot(str(path))
        except (OSError, ValueError, RuntimeError) as exc:
            self.show_error(f"{path}: cannot save the screenshot ({exc})")
            return False
        return True

    def export_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export screenshot", "needlesim.png", "PNG image (*.png)")
        if path:
            self.export_screenshot(path)

    def export_markups(self, path: str | Path) -> bool:
        report = self.session.report
        if report is None:
            return False
        ev = report.evaluation
        try:
            markups.write_line(path, np.array(ev.skin_puncture), np.array(ev.tip), name="needlesim needle")
        except OSError as exc:
            self.show_error(f"{path}: cannot be written ({exc.strerror or exc})")
            return False
        return True

    def export_markups_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export trajectory", "needle.mrk.json", "Slicer markups (*.mrk.json)")
        if path:
            self.export_markups(path)

    # -- settings --------------------------------------------------------------------------------
    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.settings.value("recent", [], type=list) if p != path]
        self.settings.setValue("recent", ([path] + recent)[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.value("recent", [], type=list):
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_session(p) if p.endswith(".json") else self.open_scene(p))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 920)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        self._fill_recent()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.session_opener.close()
        close_interactor(self.plotter)  # pyvistaqt crashes at exit otherwise
        super().closeEvent(event)

    def show_about(self) -> None:
        QMessageBox.about(self, "About needlesim", ABOUT_HTML.format(version=__version__))

    def show_conventions(self) -> None:
        from ..help import doc_reference
        from .trajectory_panel import CONVENTION

        QMessageBox.information(self, "Conventions", CONVENTION + "<br><br>Patient frame RAS (3D Slicer): +x patient's "
                                "right, +y anterior, +z superior. The patient lies prone; the needle advances "
                                f"anteriorly. The figure and the details: {doc_reference('conventions.md')}")




def software_opengl(plotter) -> bool:
    """Whether VTK draws with a software OpenGL (Mesa llvmpipe/softpipe/swrast)."""
    try:
        caps = plotter.ren_win.ReportCapabilities()
    except Exception:  # noqa: BLE001 - a window that cannot report is treated as hardware
        return False
    return any(word in caps for word in ("llvmpipe", "softpipe", "swrast", "SVGA3D"))
