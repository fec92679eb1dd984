"""A label for text that changes on every slider move.

``QLabel.setText`` always calls ``updateGeometry()``: the dock's layout, then the main
window's, are recomputed and the whole window repainted on every move (most of the Qt
time measured by ``benchmarks/bench_gui.py``). :class:`TextLabel` draws (rich) text like a
word-wrapped ``QLabel`` but asks for a new layout only when the height it needs changes;
otherwise a new text repaints this widget alone.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QPainter, QPalette, QPixmap, QRegion, QTextDocument
from PySide6.QtWidgets import QSizePolicy, QWidget


class OpaqueOnParent(QWidget):
    """A widget that repaints on every move and paints its whole rectangle: first what its
    parent alone draws there (rendered once per size and place), then its content. With
    ``WA_OpaquePaintEvent`` Qt then repaints this widget alone, not the group box, panel,
    dock and window behind it (a transparent widget repaints every ancestor up to the
    first opaque one). Subclasses set the attribute and call :meth:`draw_backdrop` first."""

    _backdrop: QPixmap | None = None

    def draw_backdrop(self, painter: QPainter) -> None:
        if self._backdrop is None or self._backdrop.deviceIndependentSize().toSize() != self.size():
            self._backdrop = QPixmap.fromImage(self._render_backdrop())
        painter.drawPixmap(0, 0, self._backdrop)

    def _render_backdrop(self) -> QImage:
        """The parent alone (not its children) under this widget, on the window colour
        (the parent's own ancestors are plain panels), in 32-bit colour."""
        ratio = self.devicePixelRatioF()
        image = QImage(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(self.palette().color(QPalette.ColorRole.Window))
        parent = self.parentWidget()
        if parent is not None:
            parent.render(image, QPoint(0, 0), QRegion(self.geometry()), QWidget.RenderFlag.DrawWindowBackground)
        return image

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.type() in (event.Type.PaletteChange, event.Type.StyleChange, event.Type.ParentChange):
            self._backdrop = None
        super().changeEvent(event)

    def moveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._backdrop = None
        super().moveEvent(event)


class TextLabel(OpaqueOnParent):
    """Rich or plain text, word-wrapped to the widget's width (``wrap=False``: one line,
    clipped). ``text()``/``setText()`` as on ``QLabel``; right-click copies the text."""

    def __init__(self, text: str = "", *, wrap: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wrap = wrap
        self._text: str | None = None
        self._height = (-1, -1)  # (width, height needed) of the last layout
        self._doc = QTextDocument(self)
        self._doc.setDocumentMargin(0)
        self._doc.setUndoRedoEnabled(False)
        self._doc.setDefaultFont(self.font())
        policy = QSizePolicy(QSizePolicy.Policy.Preferred if wrap else QSizePolicy.Policy.Ignored,
                             QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(wrap)
        self.setSizePolicy(policy)
        copy = QAction("Copy", self)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self._doc.toPlainText()))
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # see OpaqueOnParent
        self.setText(text)

    def text(self) -> str:
        return self._text or ""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        if text == self._text:
            return
        before = self._needed_height(self.width())
        self._text = text
        if Qt.mightBeRichText(text):
            self._doc.setHtml(text)
        else:
            self._doc.setPlainText(text)
        self._height = (-1, -1)
        if self._needed_height(self.width()) != before:
            self.updateGeometry()  # the only case that needs a new layout
        self.update()

    def _needed_height(self, width: int) -> int:
        if self._text is None:
            return -1
        if self._height[0] != width:
            self._doc.setTextWidth(max(width, 1) if self._wrap else -1)
            self._height = (width, math.ceil(self._doc.size().height()))
        return self._height[1]

    # -- QWidget ---------------------------------------------------------------------------
    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.type() == event.Type.FontChange:
            self._doc.setDefaultFont(self.font())
            self._height = (-1, -1)
            self.updateGeometry()
        super().changeEvent(event)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt name)
        return self._wrap

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        return self._needed_height(width)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        width = 240 if self._wrap else math.ceil(self._doc.idealWidth())
        width = min(max(width, self.minimumWidth()), self.maximumWidth())  # a fixed width is the hint
        return QSize(width, self._needed_height(width if self._wrap else -1))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        if not self._wrap:
            return QSize(40, self.fontMetrics().height())
        return QSize(40, self._needed_height(self.width() if self.width() > 40 else 240))  # never clipped

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        self.draw_backdrop(painter)
        self._needed_height(self.width())  # lays the text out at this width
        painter.setClipRect(self.rect())
        self._doc.drawContents(painter)
        painter.end()
