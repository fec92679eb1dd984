"""Plan a whole harvest: a thin dock over :mod:`needlesim.teaching.harvest`. The plan lives
on the session (saved with it); each change is checked, listed pass by pass, and drawn in
the 3D view (:mod:`needlesim.viz.harvest_view`) and on the risk map."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from ..core.errors import NeedlesimError
from ..core.model.trajectory import Trajectory
from ..teaching.harvest import HarvestPlan, Pass, check_plan, site_from_aim
from ..viz.harvest_view import HarvestView

#: The default fan through each puncture: the current aim, then redirected by these
#: (lateral, inferior) steps, deg: three passes a site, as a harvest redirects the needle.
FAN_DEG = ((0.0, 0.0), (5.0, 3.0), (-5.0, -3.0))


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
        self.view = HarvestView(window.plotter)
        self.plan_button = QPushButton("Plan from the current aim")
        self.plan_button.setToolTip("Two skin sites (left and right), three passes through each")
        self.clear_button = QPushButton("Clear")
        self.text = QTextBrowser()
        row = QHBoxLayout()
        row.addWidget(self.plan_button)
        row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.text, 1)
        self.plan_button.clicked.connect(self.plan_from_aim)
        self.clear_button.clicked.connect(lambda: self.session.set_harvest(None))
        self.session.harvest_changed.connect(self._on_harvest_changed)
        self.session.scene_changed.connect(lambda *_: self._on_harvest_changed(self.session.harvest))
        self.text.setHtml("<i>No harvest planned.</i>")

    def plan_from_aim(self) -> None:
        try:
            plan = default_plan(self.session.scene, self.session.trajectory)
        except NeedlesimError as exc:
            self.window.show_error(str(exc))
            return
        self.session.set_harvest(plan)

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
        if r is None:
            self.text.setHtml("<i>No harvest planned.</i>")
            return
        plan = self.session.harvest
        rows = []
        for p in r.passes:
            site = plan.sites[p.site]
            ps = site.passes[p.index]
            rows.append(f"<tr><td>{site.name or p.site + 1}</td><td>{p.index + 1}</td><td>{ps.lateral_deg:.1f}</td>"
                        f"<td>{ps.inferior_deg:.1f}</td><td>{ps.depth_mm:.0f}</td><td>{p.marrow_mm:.1f}</td>"
                        f"<td>{p.clearance_mm:.1f} ({p.nearest})</td><td>{p.score.total:.1f}</td>"
                        f"<td>{p.score.report.verdict.value}</td></tr>")
        self.text.setHtml(f"<p>{r.words()}</p><table border=0 cellspacing=4><tr><th>site</th><th>pass</th>"
                          "<th>lat°</th><th>inf°</th><th>mm</th><th>marrow mm</th><th>clearance mm</th>"
                          "<th>score</th><th>verdict</th></tr>" + "".join(rows) + "</table>")
