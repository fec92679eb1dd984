"""The structure panel: visibility and opacity per structure or per group."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..core.model.scene import Scene
from ..viz.colors import GROUPS, group_of, structure_color
from .qt_utils import signals_blocked


class StructurePanel(QWidget):
    """Emits what the user asks for; the main window applies it to the scene view."""

    visibilityChanged = Signal(str, bool)
    opacityChanged = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["structure", "role"])
        self.tree.setColumnWidth(0, 190)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the selected structure or group")
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addLayout(row)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.groups: dict[str, QTreeWidgetItem] = {}
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(self._on_selection)
        self.opacity.valueChanged.connect(self._on_opacity)
        self._opacities: dict[str, float] = {}

    def set_scene(self, scene: Scene, opacities: dict[str, float]) -> None:
        self._opacities = dict(opacities)
        with signals_blocked(self.tree):
            self.tree.clear()
            self.items.clear()
            self.groups.clear()
            for group in GROUPS:
                members = [s for s in scene if group_of(s) == group]
                if not members:
                    continue
                g = QTreeWidgetItem([group, ""])
                g.setFlags(g.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
                self.tree.addTopLevelItem(g)
                self.groups[group] = g
                for s in members:
                    item = QTreeWidgetItem([s.name, s.role.value + (" (critical)" if s.critical else "")])
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(0, Qt.CheckState.Checked)
                    item.setForeground(0, _brush(structure_color(s)))
                    item.setData(0, Qt.ItemDataRole.UserRole, s.name)
                    g.addChild(item)
                    self.items[s.name] = item
                g.setExpanded(group != "bone")

    def _names(self, item: QTreeWidgetItem) -> list[str]:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if name is not None:
            return [name]
        return [item.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(item.childCount())]

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if name is not None and column == 0:
            self.visibilityChanged.emit(name, item.checkState(0) == Qt.CheckState.Checked)

    def _on_selection(self, item: QTreeWidgetItem | None, _prev) -> None:
        if item is None:
            return
        names = self._names(item)
        with signals_blocked(self.opacity):
            self.opacity.setValue(round(100 * max(self._opacities.get(n, 1.0) for n in names)))

    def _on_opacity(self, value: int) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        for name in self._names(item):
            self._opacities[name] = value / 100
            self.opacityChanged.emit(name, value / 100)


def _brush(color: str):
    from PySide6.QtGui import QBrush, QColor

    c = QColor(color).darker(130)
    return QBrush(c)
