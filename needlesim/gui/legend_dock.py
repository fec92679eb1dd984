"""The colour legend as a dock beside the 3D view (movable, closable from View > Legend),
instead of an overlay drawn over the anatomy."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QDockWidget, QGridLayout, QLabel, QWidget

from ..core.model.scene import Scene
from ..viz.colors import COMPARE_COLOR, HIGHLIGHT_COLOR, LANDMARK_COLOR, MARKER_COLORS
from ..viz.scene_view import legend_entries

#: Entries after the scene's own: what the needle and the view add.
EXTRA_ENTRIES = (
    ("within the margin", HIGHLIGHT_COLOR),
    ("surface crossing", MARKER_COLORS["hits"]),
    ("bone entry", MARKER_COLORS["entry"]),
    ("needle tip", MARKER_COLORS["tip"]),
    ("saved aim compared", COMPARE_COLOR),
    ("landmark", LANDMARK_COLOR),
)
#: Columns of the legend: a strip under the 3D view.
COLUMNS = 6


def _swatch(color: str, size: int = 12) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return pix


class LegendDock(QDockWidget):
    """Swatch and name of every colour in the 3D view, in :data:`COLUMNS` columns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Legend", parent)
        self.setObjectName("legend-dock")
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(6, 2, 6, 2)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(1)
        self.setWidget(self.body)
        self.entries: list[tuple[str, str]] = []

    def set_scene(self, scene: Scene) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        # the dock's background is light: the scene's own colours, not the lightened ones
        self.entries = legend_entries(scene, lighten=False) + list(EXTRA_ENTRIES)
        for i, (label, color) in enumerate(self.entries):
            row, col = divmod(i, COLUMNS)
            swatch = QLabel()
            swatch.setPixmap(_swatch(color))
            text = QLabel(label)
            text.setStyleSheet("font-size: 11px;")
            self.grid.addWidget(swatch, row, 2 * col, Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(text, row, 2 * col + 1)
        self.grid.setColumnStretch(2 * COLUMNS - 1, 1)
