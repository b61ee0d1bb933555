"""A thin horizontal bar showing a fraction (confidence, intensity) in a given colour.

QProgressBar repaints synchronously on every value change, which also repaints whatever lies
under it; this bar only schedules an update.
"""
from __future__ import annotations

from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import QSizePolicy, QWidget


class FractionBar(QWidget):
    def __init__(self, height_px: int = 8, colour: str = "#4fb3bf", parent=None) -> None:
        super().__init__(parent)
        self.fraction = 0.0
        self.colour = QColor(colour)
        self.setFixedHeight(height_px)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())

    def value(self) -> int:
        """The fraction in percent (what a reader sees)."""
        return round(100 * self.fraction)

    def set_fraction(self, fraction: float, colour: str | None = None) -> None:
        self.fraction = min(1.0, max(0.0, fraction))
        if colour is not None:
            self.colour = QColor(colour)
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(Qt.NoPen)
        r = QRectF(self.rect())
        radius = r.height() / 2
        painter.setBrush(QColor("#2b3036"))
        painter.drawRoundedRect(r, radius, radius)
        if self.fraction > 0:
            painter.setBrush(self.colour)
            painter.drawRoundedRect(QRectF(r.x(), r.y(), max(r.height(), r.width() * self.fraction), r.height()),
                                    radius, radius)
