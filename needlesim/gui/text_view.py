"""A label for text that changes on every slider move.

``QLabel.setText`` always calls ``updateGeometry()``: the dock's layout, then the main
window's, are recomputed and the whole window repainted on every move (most of the Qt
time measured by ``benchmarks/bench_gui.py``). :class:`TextLabel` draws (rich) text like a
word-wrapped ``QLabel`` but asks for a new layout only when the height it needs changes;
otherwise a new text repaints this widget alone.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QPainter, QTextDocument
from PySide6.QtWidgets import QSizePolicy, QWidget


class TextLabel(QWidget):
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
        self._needed_height(self.width())  # lays the text out at this width
        painter.setClipRect(self.rect())
        self._doc.drawContents(painter)
        painter.end()
