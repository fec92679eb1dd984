"""The risk panel: verdict banner with reasons, envelope rules, clearances, tissue path."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ..core.verdict.risk import RiskReport
from ..session import Session
from ..viz.colors import HIGHLIGHT_COLOR, TISSUE_COLORS, VERDICT_COLORS
from .text_view import OpaqueOnParent, TextLabel

#: Shown under the clearance table: what ``~`` before a clearance means.
APPROX_NOTE = "~ = at most (far from the needle, not computed exactly)"


class PathStrip(OpaqueOnParent):
    """The needle's path as a coloured strip from skin (left) to tip (right)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # repainted alone on every move
        self.segments: list = []
        self.depth = 1.0
        self.setMinimumHeight(34)
        self.setToolTip("Tissue along the needle, from the skin puncture (left) to the tip (right)")

    def set_path(self, segments, depth_mm: float) -> None:
        self.segments, self.depth = list(segments), max(depth_mm, 1e-6)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        self.draw_backdrop(p)
        w, h = self.width() - 2, self.height() - 16
        for seg in self.segments:
            x0 = 1 + seg.start_mm / self.depth * w
            x1 = 1 + seg.end_mm / self.depth * w
            p.fillRect(QRectF(x0, 1, max(x1 - x0, 1), h), QColor(TISSUE_COLORS[seg.tissue]))
        p.setPen(QColor("#555"))
        p.drawRect(QRectF(1, 1, w, h))
        p.drawText(QRectF(1, h + 2, w, 14), Qt.AlignmentFlag.AlignLeft, "skin 0 mm")
        p.drawText(QRectF(1, h + 2, w, 14), Qt.AlignmentFlag.AlignRight, f"tip {self.depth:.1f} mm")
        p.end()


class RiskPanel(QWidget):
    """Follows ``session.report_changed``; never computes anything itself."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.banner = QLabel("—")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setMinimumHeight(44)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background: #fff4d6; color: #5d4200; border: 1px solid #e0b84a; padding: 3px;")
        self.notice.setVisible(False)
        self.reasons = TextLabel()
        self.tip = TextLabel()
        self.envelope = TextLabel()
        self._banner_style: str | None = None
        self._rows: list[tuple[QTableWidgetItem, QTableWidgetItem]] = []
        self._written: list[_RowState | None] = []  # what each row's items show
        self.clearances = QTableWidget(0, 2)
        self.clearances.setHorizontalHeaderLabels(["critical structure", "clearance (mm)"])
        self.clearances.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.clearances.verticalHeader().setVisible(False)
        self.clearances.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.clearances.setToolTip("Gap between the needle's outer surface (skin to tip) and each critical structure")
        self.strip = PathStrip()
        self.path = TextLabel()
        self.approx_note = QLabel(APPROX_NOTE)
        self.approx_note.setWordWrap(True)
        self.approx_note.setStyleSheet("color: #444; font-size: 11px;")
        self.approx_note.setToolTip("Within the exact horizon of the needle every clearance is exact; beyond it "
                                    "the figure is an upper bound within a few mm (no verdict depends on it)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)
        layout.addWidget(self.reasons)
        layout.addWidget(self.tip)
        env = QGroupBox("Envelope")
        QVBoxLayout(env).addWidget(self.envelope)
        layout.addWidget(env)
        path = QGroupBox("Tissue path")
        pl = QVBoxLayout(path)
        pl.addWidget(self.strip)
        pl.addWidget(self.path)
        layout.addWidget(path)
        clear = QGroupBox("Clearances")
        cl = QVBoxLayout(clear)
        cl.addWidget(self.clearances)
        cl.addWidget(self.approx_note)
        layout.addWidget(clear, 1)
        session.report_changed.connect(self._on_report_changed)
        session.error.connect(self.show_notice)
        self._on_report_changed(session.report)

    def show_notice(self, message: str) -> None:
        """A refused edit, in the panel (no box: it must not interrupt a drag); the next
        report clears it."""
        self.notice.setText(f"Not applied: {message}")
        self.notice.setVisible(True)

    def _on_report_changed(self, report: RiskReport | None) -> None:
        self.notice.setVisible(False)
        if report is None:
            self.banner.setText("no evaluation yet")
            self._set_banner_style("background: #eee; font-size: 18px; font-weight: bold;")
            return
        v = report.verdict.value
        self.banner.setText(v.upper())
        self._set_banner_style(f"background: {VERDICT_COLORS[v]}; color: white; font-size: 20px; "
                               "font-weight: bold; border-radius: 4px;")
        ev = report.evaluation
        tip = ev.tip_tissue
        where = "<b>tip in " + (tip.tissue.value + (f" ({tip.structure})" if tip.structure else "") if tip else "—") \
            + "</b>"
        self.reasons.setText("<br>".join(f"• {r.text}" for r in report.reasons) or
                             f"No critical structure within {report.margin_mm:g} mm, inside the envelope, no breach.")
        self.tip.setText(where)
        env = report.envelope
        rules = "<br>".join(("✔ " if c.inside else "✘ ") + c.describe() for c in report.envelope_checks)
        self.envelope.setText(f"<b>{env.title}</b><br>{rules}")
        self.envelope.setToolTip(env.citation + ("\n" + env.tolerance_note if env.tolerance_note else ""))
        self._fill_clearances(report)
        self.strip.set_path(ev.path, ev.depth_mm)
        lines = [s.describe() for s in ev.path] + [f"<b>breach</b>: {b.describe()}" for b in ev.breaches]
        self.path.setText("<br>".join(lines))

    def _set_banner_style(self, style: str) -> None:
        if style != self._banner_style:  # a style sheet re-polishes the widget: only on change
            self._banner_style = style
            self.banner.setStyleSheet(style)

    def _row(self, row: int) -> tuple[QTableWidgetItem, QTableWidgetItem]:
        """The items of ``row``, made once and then updated in place."""
        while len(self._rows) <= row:
            name, value = QTableWidgetItem(), QTableWidgetItem()
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._rows.append((name, value))
            self._written.append(None)
        return self._rows[row]

    def _fill_clearances(self, report: RiskReport) -> None:
        contacts = sorted(report.evaluation.contacts, key=lambda c: c.clearance_mm)
        if self.clearances.rowCount() != len(contacts):
            for row in range(self.clearances.rowCount()):  # keep the items: they are reused
                self.clearances.takeItem(row, 0), self.clearances.takeItem(row, 1)
            self.clearances.setRowCount(len(contacts))
            for row in range(len(contacts)):
                name, value = self._row(row)
                self.clearances.setItem(row, 0, name)
                self.clearances.setItem(row, 1, value)
        for row, c in enumerate(contacts):
            text = "contact" if c.touches else f"{'' if c.clearance_exact else '~'}{c.clearance_mm:.1f}"
            level = "danger" if c.touches else "caution" if c.clearance_mm < report.margin_mm else "none"
            near = c.clearance_mm < report.margin_mm  # drawn in the highlight colour in 3D: the same swatch
            state = _RowState(c.structure, text, level, c.clearance_exact, near)
            old = self._written[row]
            if state != old:  # a row is written only where it changed: every change repaints it
                _write(*self._row(row), state, old)
                self._written[row] = state


class _RowState(NamedTuple):
    """What one row of the clearance table shows."""

    structure: str
    text: str
    level: str  #: "danger", "caution" or "none": the text colour
    exact: bool
    near: bool


_COLORS = {"danger": QColor(VERDICT_COLORS["danger"]), "caution": QColor(VERDICT_COLORS["caution"]),
           "none": QColor(Qt.GlobalColor.black)}
_APPROX_TIP = "at most this far: far from the needle, not computed exactly"


def _write(name: QTableWidgetItem, value: QTableWidgetItem, new: _RowState, old: _RowState | None) -> None:
    """Set on the items what differs between ``old`` (``None``: nothing written yet) and ``new``."""
    if old is None or old.structure != new.structure:
        name.setText(new.structure)
    if old is None or old.text != new.text:
        value.setText(new.text)
    if old is None or old.level != new.level:
        name.setForeground(_COLORS[new.level])
        value.setForeground(_COLORS[new.level])
    if old is None or old.exact != new.exact:
        value.setToolTip("" if new.exact else _APPROX_TIP)
    if old is None or old.near != new.near:
        name.setData(Qt.ItemDataRole.DecorationRole, QColor(HIGHLIGHT_COLOR) if new.near else None)
