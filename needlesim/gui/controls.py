"""A slider with a spin box, the envelope's range drawn on the slider's groove."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QStyle, QStyleOptionSlider,
                               QWidget)

from .qt_utils import signals_blocked


class RangeSlider(QSlider):
    """A horizontal slider that paints a band over ``[lo, hi]`` (in slider units)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.band: tuple[int, int] | None = None

    def set_band(self, band: tuple[int, int] | None) -> None:
        self.band = band
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.band is not None:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                 QStyle.SubControl.SC_SliderGroove, self)
            span = self.maximum() - self.minimum()
            if span > 0:
                x0 = groove.left() + (self.band[0] - self.minimum()) / span * groove.width()
                x1 = groove.left() + (self.band[1] - self.minimum()) / span * groove.width()
                painter = QPainter(self)
                painter.fillRect(QRect(int(x0), groove.center().y() - 4, max(int(x1 - x0), 2), 8),
                                 QColor(46, 160, 67, 150))
                painter.end()
        super().paintEvent(event)


class ValueControl(QWidget):
    """``label  [slider]  [spin box] unit``; ``valueChanged(float)`` on user edits only."""

    valueChanged = Signal(float)

    def __init__(self, label: str, unit: str, lo: float, hi: float, step: float, *, tooltip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = round(1 / step)
        self.slider = RangeSlider()
        self.slider.setRange(round(lo * self.scale), round(hi * self.scale))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(10 * self.scale // max(self.scale // 1, 1))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(step)
        self.spin.setDecimals(1)
        self.spin.setSuffix(f" {unit}")
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(86)
        self.label = QLabel(label)
        self.label.setMinimumWidth(64)
        for w in (self, self.slider, self.spin, self.label):
            w.setToolTip(tooltip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self._emit(v / self.scale))
        self.spin.valueChanged.connect(self._emit)

    def _emit(self, value: float) -> None:
        self.setValue(value)
        self.valueChanged.emit(float(value))

    def value(self) -> float:
        return float(self.spin.value())

    def setValue(self, value: float) -> None:  # noqa: N802 (Qt name)
        if value == self.spin.value() and round(value * self.scale) == self.slider.value():
            return  # unchanged: no repaint
        with signals_blocked(self.slider, self.spin):
            self.slider.setValue(round(value * self.scale))
            self.spin.setValue(value)

    def set_band(self, lo: float | None, hi: float | None) -> None:
        """Draw the envelope's range; ``None`` for an open side runs to the slider's end."""
        if lo is None and hi is None:
            self.slider.set_band(None)
            return
        a = self.slider.minimum() if lo is None else round(lo * self.scale)
        b = self.slider.maximum() if hi is None else round(hi * self.scale)
        self.slider.set_band((a, b))
