"""The conversation-aid view: full screen, one large word, its colour and icon, nothing else.

Readouts come through a :class:`LabelStabilizer` (minimum dwell, hysteresis), so the word
changes calmly; the new word fades in. Keys: Esc or F11 leave, G toggles grouping into
positive / neutral / negative (with a calm–intense bar).
"""
from __future__ import annotations

from dataclasses import replace

from PyQt5.QtCore import QPropertyAnimation, Qt, pyqtSignal
from PyQt5.QtWidgets import QGraphicsOpacityEffect, QLabel, QVBoxLayout, QWidget

from moodline.engine.timeline import TimelinePoint

from ..palette import Palette
from ..readout import EMOTION, LabelStabilizer, Readout, StabilizerSettings
from .bar import FractionBar
from .icons import svg_pixmap

WORD_PT = 96
ICON_PX = 260
FADE_MS = 400
BACKGROUND = "#0e1013"


class ConversationAidView(QWidget):
    left = pyqtSignal()

    def __init__(self, palette: Palette, settings: StabilizerSettings, parent=None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Moodline — conversation aid")
        self.palette_ = palette
        self.stabilizer = LabelStabilizer(settings)
        self.setStyleSheet(f"background:{BACKGROUND}; color:#e8eaed;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 30)
        layout.addStretch(2)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        self.icon = QLabel(alignment=Qt.AlignCenter)
        self.word = QLabel(alignment=Qt.AlignCenter)
        font = self.word.font()
        font.setPointSize(WORD_PT)
        font.setBold(True)
        self.word.setFont(font)
        self.detail = QLabel(alignment=Qt.AlignCenter)
        self.detail.setStyleSheet("color:#9aa5b1; font-size:26pt;")
        body.addWidget(self.icon)
        body.addWidget(self.word)
        body.addWidget(self.detail)
        self.intensity = FractionBar(18, "#9aa5b1")
        self.intensity.setFixedWidth(600)
        self.intensity_label = QLabel("calm ⟵  ⟶ intense", alignment=Qt.AlignCenter)
        self.intensity_label.setStyleSheet("color:#9aa5b1; font-size:18pt;")
        body.addWidget(self.intensity, 0, Qt.AlignHCenter)
        body.addWidget(self.intensity_label)
        layout.addWidget(self.body)
        layout.addStretch(3)
        self.hint = QLabel("Esc: leave   ·   G: group into positive / neutral / negative", alignment=Qt.AlignCenter)
        self.hint.setStyleSheet("color:#4b535c; font-size:13pt;")
        layout.addWidget(self.hint)
        self._effect = QGraphicsOpacityEffect(self.body)
        self.body.setGraphicsEffect(self._effect)
        self._fade = QPropertyAnimation(self._effect, b"opacity", self)
        self._fade.setDuration(FADE_MS)
        self._fade.setStartValue(0.25)
        self._fade.setEndValue(1.0)
        self._show(self.stabilizer.shown, fade=False)

    @property
    def shown(self) -> Readout:
        return self.stabilizer.shown

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self._show(self.shown, fade=False)

    def set_settings(self, settings: StabilizerSettings) -> None:
        self.stabilizer.settings = settings
        self._update_intensity_visibility()

    def reset(self) -> None:
        self.stabilizer.reset()
        self._show(self.shown, fade=False)

    def feed(self, point: TimelinePoint) -> None:
        before = self.shown
        now = self.stabilizer.update(point)
        changed = (now.state, now.label) != (before.state, before.label)
        self._show(now, fade=changed)

    def _show(self, readout: Readout, fade: bool) -> None:
        colour = self.palette_.colour(readout.icon)
        self.icon.setPixmap(svg_pixmap(readout.icon, colour, ICON_PX))
        self.word.setText(readout.word)
        self.word.setStyleSheet(f"color:{colour};")
        self.detail.setText(f"{readout.confidence:.0%} confident" if readout.state == EMOTION else "")
        if readout.intensity is not None:
            self.intensity.set_fraction(readout.intensity)
        self._update_intensity_visibility()
        if fade:
            self._fade.stop()
            self._fade.start()

    def _update_intensity_visibility(self) -> None:
        grouped = self.stabilizer.settings.grouping != "none"
        self.intensity.setVisible(grouped)
        self.intensity_label.setVisible(grouped)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Escape, Qt.Key_F11):
            self.close()
        elif event.key() == Qt.Key_G:
            s = self.stabilizer.settings
            grouping = "none" if s.grouping != "none" else "valence"
            self.stabilizer.settings = replace(s, grouping=grouping)
            self.stabilizer.reset()
            self._show(self.shown, fade=False)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.left.emit()
        super().closeEvent(event)
