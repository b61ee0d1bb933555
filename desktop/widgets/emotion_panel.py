"""The current-emotion panel: a large word in its colour, its icon, and how sure the model is."""
from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QLabel, QVBoxLayout

from ..palette import Palette
from ..readout import EMOTION, UNSURE, Readout
from .bar import FractionBar
from .icons import svg_pixmap

ICON_PX = 96
WORD_PT = 30
BACKGROUND = "#1b1f24"  # the palette's colours keep 4.5:1 contrast against it (tested)


class EmotionPanel(QFrame):
    """Shows one :class:`Readout`; states other than an emotion are grey and say what they are."""

    def __init__(self, palette: Palette, parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.readout: Readout | None = None
        self.setObjectName("EmotionPanel")
        self.setStyleSheet(f"#EmotionPanel {{background:{BACKGROUND}; border-radius:8px;}}")
        self.setMinimumWidth(230)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        self.caption = QLabel("Now")
        self.caption.setStyleSheet("color:#8a94a0; font-size:11pt;")
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignCenter)
        self.word = QLabel()
        self.word.setAlignment(Qt.AlignCenter)
        font = self.word.font()
        font.setPointSize(WORD_PT)
        font.setBold(True)
        self.word.setFont(font)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color:#c4c9cf; font-size:11pt;")
        self.confidence = FractionBar(8)
        for w in (self.caption, self.icon, self.word, self.confidence, self.detail):
            layout.addWidget(w)
        layout.addStretch(1)
        self.show_idle()

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        if self.readout is not None:
            self.show_readout(self.readout, self.caption.text())

    def show_idle(self, text: str = "Press Start to listen, or open a recording") -> None:
        self.readout = None
        self.caption.setText("")
        self.icon.setPixmap(svg_pixmap("listening", "#5c6670", ICON_PX))
        self.word.setText("—")
        self.word.setStyleSheet("color:#5c6670;")
        self.confidence.hide()
        self.detail.setText(text)

    def show_readout(self, readout: Readout, caption: str = "Now") -> None:
        self.readout = readout
        self.caption.setText(caption)
        colour = self.palette_.colour(readout.icon)
        self.icon.setPixmap(svg_pixmap(readout.icon, colour, ICON_PX))
        self.word.setText(readout.word)
        self.word.setStyleSheet(f"color:{colour};")
        if readout.state == EMOTION:
            self.confidence.show()
            self.confidence.set_fraction(readout.confidence, colour)
            self.detail.setText(f"{readout.confidence:.0%} confident")
        elif readout.state == UNSURE:
            self.confidence.hide()
            self.detail.setText(f"No emotion is clear (best guess {readout.best_guess}, "
                                f"{readout.confidence:.0%})")
        else:
            self.confidence.hide()
            self.detail.setText("Waiting for speech" if readout.state != "listening"
                                else "Listening for speech…")
