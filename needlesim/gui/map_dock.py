"""The risk map of the current entry: every lateral x inferior aim at 1 deg, swept on a
worker thread (:func:`needlesim.teaching.riskmap.angle_map`), coloured by the verdict at the
current depth or by the maximum safe depth; the envelope drawn; the current aim marked and
following the sliders; a click on a cell sets the aim."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..session import Session
from ..teaching.riskmap import AngleMap, angle_map
from ..viz.colors import VERDICT_COLORS
from .worker import submit

#: infeasible, safe, caution, danger
VERDICT_CMAP = ListedColormap(["#ffffff", VERDICT_COLORS["safe"], VERDICT_COLORS["caution"], VERDICT_COLORS["danger"]])
MODES = ("verdict at this depth", "maximum safe depth")


def harvest_passes(plan, entry: str) -> list[tuple[float, float]]:
    """(lateral, inferior) of the plan's passes on the side of ``entry`` (a landmark)."""
    if plan is None:
        return []
    return [(p.lateral_deg, p.inferior_deg) for s in plan.sites if entry.startswith(s.side.value) for p in s.passes]


class RiskMapPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None, *, run=submit) -> None:
        super().__init__(parent)
        self.session = session
        self.map: AngleMap | None = None
        self._run, self._job, self._pending = run, None, None
        self.active, self._dirty = False, True
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.status = QLabel("")
        self.figure = Figure(figsize=(4, 3.4))
        self.figure.subplots_adjust(left=0.17, right=0.97, bottom=0.15, top=0.92)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self._colorbar = None
        self._marks: list = []  # the aim's two marks (a cross and a ring)
        self._drawn = None  # what the axes show: (map, mode, depth of a verdict map)
        top = QHBoxLayout()
        top.addWidget(self.mode)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)
        self.mode.currentIndexChanged.connect(lambda _: self._draw())
        self.canvas.mpl_connect("button_press_event", self._on_click)
        session.trajectory_changed.connect(lambda *_: self._on_aim_changed())
        session.scene_changed.connect(lambda *_: self.recompute())
        session.settings_changed.connect(self.recompute)
        session.harvest_changed.connect(lambda *_: self._draw())

    # -- computing -----------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """Only a shown map is swept and drawn; a hidden one catches up when it is shown."""
        self.active = bool(active)
        if self.active and self._dirty:
            self.recompute()
        elif self.active:
            self._on_aim_changed()

    def recompute(self) -> None:
        """Sweep the current entry on a worker thread (one at a time; the latest wins)."""
        if not self.active:
            self._dirty = True
            return
        self._dirty = False
        s = self.session
        t = s.trajectory
        if not isinstance(t.entry, str):
            self.map = None
            self.status.setText("the map needs an entry landmark")
            self._draw()
            return
        key = (s.scene.geometry_key, t.entry, s.envelope.name, s.margin_mm, s.backend, t.needle_diameter_mm)
        if self._job is not None:
            self._pending = key
            return
        scene, env, margin, backend, diam = s.scene, s.envelope, s.margin_mm, s.backend, t.needle_diameter_mm
        self.status.setText(f"sweeping {t.entry}…")
        self._job = self._run(lambda: (key, angle_map(scene, t.entry, env, margin_mm=margin, backend=backend,
                                                      needle_diameter_mm=diam)), self._on_done, self._on_failed)

    def _current_key(self):
        s, t = self.session, self.session.trajectory
        return (s.scene.geometry_key, t.entry, s.envelope.name, s.margin_mm, s.backend, t.needle_diameter_mm)

    def _on_done(self, result) -> None:
        key, m = result
        self._job = None
        if key == self._current_key():
            self.map = m
            self.status.setText(f"{m.entry}: {len(m.result)} aims, 1 deg")
            self._draw()
        if self._pending is not None or key != self._current_key():
            self._pending = None
            self.recompute()

    def _on_failed(self, message: str) -> None:
        self._job = None
        self.status.setText(message)

    def _on_aim_changed(self) -> None:
        """A new aim: a hidden map waits; a shown one moves its marks and redraws the
        image only when what it shows changed (the verdicts at a new depth)."""
        if self.map is None or self._current_key()[1] != self.map.entry:
            self.recompute()
        if not self.active:
            return
        if not self._shows_current():
            self._draw()
            return
        t = self.session.trajectory
        for mark in self._marks:
            mark.set_data([t.lateral_deg], [t.inferior_deg])
        self.canvas.draw_idle()

    def _showing(self) -> tuple:
        """What the axes should show, apart from the aim's marks: (map, mode, the depth
        of a verdict map)."""
        mode = self.mode.currentIndex()
        return self.map, mode, self.session.trajectory.depth_mm if mode == 0 else None

    def _shows_current(self) -> bool:
        if self._drawn is None:
            return False
        (drawn, *rest), (now, *want) = self._drawn, self._showing()
        return drawn is now and rest == want

    # -- drawing -------------------------------------------------------------------------
    def _draw(self) -> None:
        ax = self.ax
        ax.clear()
        if self._colorbar is not None:
            self._colorbar.remove()
            self._colorbar = None
        m, t = self.map, self.session.trajectory
        self._drawn, self._marks = self._showing(), []
        if m is None:
            self.canvas.draw_idle()
            return
        lat, inf = m.lateral_deg, m.inferior_deg
        ext = (lat[0] - 0.5, lat[-1] + 0.5, inf[-1] + 0.5, inf[0] - 0.5)
        if self.mode.currentIndex() == 0:
            grid = m.verdict_grid(t.depth_mm).astype(float) + 1.0
            ax.imshow(grid, cmap=VERDICT_CMAP, vmin=-0.5, vmax=3.5, extent=ext, aspect="auto", interpolation="nearest")
            ax.set_title(f"verdict at {t.depth_mm:g} mm from {m.entry}", fontsize=9)
        else:
            img = ax.imshow(np.clip(m.max_safe_grid(), 0, 100), cmap="viridis", extent=ext, aspect="auto",
                            interpolation="nearest", vmin=0, vmax=100)
            self._colorbar = self.figure.colorbar(img, ax=ax, label="max safe depth (mm)", fraction=0.05, pad=0.02)
            ax.set_title(f"deepest safe depth from {m.entry}", fontsize=9)
        env = m.envelope
        lb, ib = env.lateral_deg, env.inferior_deg
        x0, x1 = (lb.min if lb.min is not None else lat[0]), (lb.max if lb.max is not None else lat[-1])
        y0, y1 = (ib.min if ib.min is not None else inf[0]), (ib.max if ib.max is not None else inf[-1])
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", lw=1.5, ls="--"))
        self._marks = [ax.plot([t.lateral_deg], [t.inferior_deg], marker="+", color="black", ms=14, mew=2.5)[0],
                       ax.plot([t.lateral_deg], [t.inferior_deg], marker="o", mfc="none", mec="white", ms=9,
                               mew=1.5)[0]]
        passes = harvest_passes(self.session.harvest, m.entry)
        if passes:  # a planned harvest's passes on this side, at their angles (each from its own puncture)
            ax.plot(*zip(*passes), ls="none", marker="x", color="#00695c", ms=8, mew=2, label="harvest passes")
        ax.set_xlabel("lateral (deg, + away from the midline)", fontsize=8)
        ax.set_ylabel("inferior (deg, + toward the feet)", fontsize=8)
        ax.tick_params(labelsize=7)
        self.canvas.draw_idle()

    def _on_click(self, event) -> None:
        if event.inaxes is not self.ax or self.map is None or self.session.locked or event.xdata is None:
            return
        cell = self.map.cell(event.xdata, event.ydata)
        if cell is None:
            return
        i, j = cell
        self.session.update(lateral_deg=float(self.map.lateral_deg[j]), inferior_deg=float(self.map.inferior_deg[i]))
