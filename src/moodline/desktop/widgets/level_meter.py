"""The input level meter: a horizontal bar in dBFS with a slowly falling peak mark."""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0  # the bar is empty at and below this level
PEAK_FALL_DB_PER_UPDATE = 0.6  # about 18 dB/s at 30 updates per second
LOUD_DB = -6.0  # above this the bar turns amber: close to clipping
LEVEL_WINDOW_S = 0.05  # the level is the RMS of the newest 50 ms: quick, but not every sample's peak


class LevelMeter(QWidget):
    """Shows the RMS level of the newest audio; fed the newest samples by the window's frame timer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.level_db = FLOOR_DB
        self.peak_db = FLOOR_DB
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("Input level")

    def sizeHint(self) -> QSize:
        return QSize(160, 14)

    def add_samples(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """Show the level of the newest :data:`LEVEL_WINDOW_S` of ``samples`` (none: no change)."""
        if not len(samples):
            return
        newest = samples[-max(1, round(LEVEL_WINDOW_S * sample_rate_hz)):]
        rms = float(np.sqrt(np.mean(np.square(newest, dtype=np.float64))))
        self.level_db = max(FLOOR_DB, 20 * math.log10(rms)) if rms > 0 else FLOOR_DB
        self.peak_db = max(self.level_db, self.peak_db - PEAK_FALL_DB_PER_UPDATE)
        self.update()

    def reset(self) -> None:
        self.level_db = self.peak_db = FLOOR_DB
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QColor("#3a4149"))
        painter.setBrush(QColor("#1b1f24"))
        painter.drawRoundedRect(r, 3, 3)
        fraction = (self.level_db - FLOOR_DB) / -FLOOR_DB
        if fraction > 0:
            colour = QColor("#e6a23c") if self.level_db > LOUD_DB else QColor("#4fb3bf")
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(r.x() + 1, r.y() + 1, (r.width() - 2) * fraction, r.height() - 2), 2, 2)
        peak = (self.peak_db - FLOOR_DB) / -FLOOR_DB
        if peak > 0:
            painter.setPen(QColor("#e8eaed"))
            x = r.x() + 1 + (r.width() - 2) * peak
            painter.drawLine(int(x), int(r.y() + 2), int(x), int(r.bottom() - 2))
