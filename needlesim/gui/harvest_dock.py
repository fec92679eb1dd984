"""Plan a whole harvest: a thin dock over :mod:`needlesim.teaching.harvest`. The plan lives
on the session (saved with it); each change is checked, listed pass by pass, and drawn in
the 3D view (:mod:`needlesim.viz.harvest_view`) and on the risk map.

A pass is edited pass by pass: select it in the table, and its angles and depth fill the
editor; Apply redirects it through the same skin puncture
(:meth:`~needlesim.teaching.harvest.HarvestPlan.with_pass`), Remove drops it
(:meth:`~needlesim.teaching.harvest.HarvestPlan.without_pass`). Both write a new plan to the
session, which the table, the 3D view and the map follow."""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QDoubleSpinBox, QHBoxLayout, QHeaderView, QPushButton,
                               QTableWidget, QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

from ..core.errors import NeedlesimError
from ..core.model.conventions import MAX_ANGLE_DEG
from ..core.model.trajectory import MAX_DEPTH_MM, Trajectory
from ..teaching.harvest import HarvestPlan, Pass, check_plan, site_from_aim
from ..viz.harvest_view import HarvestView
from .qt_utils import signals_blocked

#: The default fan through each puncture: the current aim, then redirected by these
#: (lateral, inferior) steps, deg: three passes a site, as a harvest redirects the needle.
FAN_DEG = ((0.0, 0.0), (5.0, 3.0), (-5.0, -3.0))
#: The pass table's columns.
COLUMNS = ("site", "pass", "lat°", "inf°", "mm", "marrow mm", "clearance mm", "score", "verdict")


def default_plan(scene, aim: Trajectory) -> HarvestPlan:
    """Two sites, the skin punctures of ``aim``'s angles from each side's harvest entry (or
    PSIS), three passes each fanned by :data:`FAN_DEG`."""
    sites = []
    for side in ("left", "right"):
        entry = next((e for e in (f"{side}-entry", f"{side}-psis") if e in scene.landmarks), None)
        if entry is None:
            continue
        t = Trajectory(entry, aim.lateral_deg, aim.inferior_deg, aim.depth_mm)
        passes = [Pass(aim.lateral_deg + dl, aim.inferior_deg + di, aim.depth_mm) for dl, di in FAN_DEG]
        sites.append(site_from_aim(scene, t, passes, name=f"{side} PSIS"))
    return HarvestPlan(tuple(sites))


class HarvestPanel(QWidget):
    def __init__(self, window, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window, self.session = window, window.session
        self.result = None
        self._rows: list[tuple[int, int]] = []  #: (site, pass) of each table row
        self.view = HarvestView(window.plotter)
        self.plan_button = QPushButton("Plan from the current aim")
        self.plan_button.setToolTip("Two skin sites (left and right), three passes through each")
        self.clear_button = QPushButton("Clear")
        self.text = QTextBrowser()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.lateral, self.inferior, self.depth = (self._spin("lat ", -MAX_ANGLE_DEG, MAX_ANGLE_DEG, "°"),
                                                   self._spin("inf ", -MAX_ANGLE_DEG, MAX_ANGLE_DEG, "°"),
                                                   self._spin("depth ", 0.0, MAX_DEPTH_MM, " mm"))
        self.apply_button = QPushButton("Apply to the pass")
        self.apply_button.setToolTip("Redirect the selected pass through its skin puncture")
        self.remove_button = QPushButton("Remove the pass")
        row = QHBoxLayout()
        row.addWidget(self.plan_button)
        row.addWidget(self.clear_button)
        values = QHBoxLayout()  # the selected pass's aim, on one line to keep the dock short
        for wdg in (self.lateral, self.inferior, self.depth):
            values.addWidget(wdg)
        edit = QHBoxLayout()
        edit.addWidget(self.apply_button)
        edit.addWidget(self.remove_button)
        self.text.setMinimumHeight(40)
        self.table.setMinimumHeight(60)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.table, 2)
        layout.addLayout(values)
        layout.addLayout(edit)
        self.plan_button.clicked.connect(self.plan_from_aim)
        self.clear_button.clicked.connect(lambda: self.session.set_harvest(None))
        self.apply_button.clicked.connect(self.apply_edit)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.session.harvest_changed.connect(self._on_harvest_changed)
        self.session.scene_changed.connect(lambda *_: self._on_harvest_changed(self.session.harvest))
        self.text.setHtml("<i>No harvest planned.</i>")
        self._on_selection_changed()

    @staticmethod
    def _spin(prefix: str, lo: float, hi: float, suffix: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setPrefix(prefix)
        box.setRange(lo, hi)
        box.setDecimals(1)
        box.setSuffix(suffix)
        return box

    def plan_from_aim(self) -> None:
        try:
            plan = default_plan(self.session.scene, self.session.trajectory)
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            return
        self.session.set_harvest(plan)

    # -- editing, pass by pass --------------------------------------------------------------
    def selected(self) -> tuple[int, int] | None:
        """``(site, pass)`` of the selected row (from 0), or ``None``."""
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows and rows[0].row() < len(self._rows) else None

    def apply_edit(self) -> None:
        """Redirect the selected pass to the editor's angles and depth."""
        at, plan = self.selected(), self.session.harvest
        if at is None or plan is None:
            return
        try:
            new = plan.with_pass(*at, Pass(self.lateral.value(), self.inferior.value(), self.depth.value()))
        except NeedlesimError as exc:
            self.window.show_error(f"pass {at[1] + 1} of site {at[0] + 1} not changed: {exc}")
            return
        self._set_plan(new, self.table.currentRow())

    def remove_selected(self) -> None:
        """Drop the selected pass (and its site, if it was the site's last)."""
        at, plan = self.selected(), self.session.harvest
        if at is None or plan is None:
            return
        self._set_plan(plan.without_pass(*at), self.table.currentRow())

    def _set_plan(self, plan, row: int) -> None:
        self.session.set_harvest(plan)  # the table is rewritten by _on_harvest_changed
        if self.table.rowCount():
            self.table.selectRow(min(row, self.table.rowCount() - 1))

    def _on_selection_changed(self) -> None:
        at, plan = self.selected(), self.session.harvest
        on = at is not None and plan is not None
        for wdg in (self.lateral, self.inferior, self.depth, self.apply_button, self.remove_button):
            wdg.setEnabled(on)
        if on:
            p = plan.sites[at[0]].passes[at[1]]
            with signals_blocked(self.lateral, self.inferior, self.depth):
                self.lateral.setValue(p.lateral_deg)
                self.inferior.setValue(p.inferior_deg)
                self.depth.setValue(p.depth_mm)

    def _on_harvest_changed(self, plan) -> None:
        self.result = None
        if plan is not None:
            s = self.session
            try:
                self.result = check_plan(s.scene, plan, envelope=s.envelope, margin_mm=s.margin_mm, backend=s.backend)
            except NeedlesimError as exc:
                self.window.show_error(f"the harvest plan cannot be checked in this scene: {exc}")
        self.view.show(self.result)
        self._write()
        self.window.request_render()

    def _write(self) -> None:
        r = self.result
        with signals_blocked(self.table):
            self.table.clearSelection()
            self.table.setRowCount(0)
            self._rows = []
        if r is None:
            self.text.setHtml("<i>No harvest planned.</i>")
            self._on_selection_changed()
            return
        plan = self.session.harvest
        with signals_blocked(self.table):
            self.table.setRowCount(len(r.passes))
            for i, p in enumerate(r.passes):
                site = plan.sites[p.site]
                ps = site.passes[p.index]
                cells = (site.name or str(p.site + 1), str(p.index + 1), f"{ps.lateral_deg:.1f}",
                         f"{ps.inferior_deg:.1f}", f"{ps.depth_mm:.0f}", f"{p.marrow_mm:.1f}",
                         f"{p.clearance_mm:.1f} ({p.nearest})", f"{p.score.total:.1f}", p.score.report.verdict.value)
                for j, text in enumerate(cells):
                    self.table.setItem(i, j, QTableWidgetItem(text))
                self._rows.append((p.site, p.index))
        self.text.setHtml(f"<p>{r.words()}</p>")
        self._on_selection_changed()
