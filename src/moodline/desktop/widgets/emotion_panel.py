"""The current-emotion panel: a large word in its colour, its icon, and how sure the model is.

The panel has one width whatever it says: a long word is drawn smaller and a long sentence
wraps, so the timeline beside it (and everything the user clicks there) never moves.

When the session tells the user's voice from others, the caption says whose voice the reading
is ("Now · Other"); while only the other person's emotion is shown (Settings ▸ Show the
emotion of), the user's own windows, and those unsure whose, say so instead of an emotion.
"""
from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QFont, QFontMetrics
from PyQt5.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout

from moodline.engine.readout import (EMOTION, LISTENING, NO_SPEECH, TOO_LOUD, TOO_LOUD_ADVICE, UNSURE, Readout,
                                     ShownVoices, readout_for)
from moodline.engine.speakers import ME
from moodline.engine.timeline import Summary, TimelinePoint, format_clock

from ..palette import Palette
from ..whose import voice_word
from .bar import FractionBar
from .icons import svg_pixmap

ICON_PX = 96
WORD_PT = 30
MARGIN_PX = 16
WIDEST_WORD = "Surprised"  # the longest of the eight emotions: every one fits at WORD_PT
MIN_WORD_PT = 12
BACKGROUND = "#1b1f24"  # the palette's colours keep 4.5:1 contrast against it (tested)


class EmotionPanel(QFrame):
    """Shows one :class:`Readout`; states other than an emotion are grey and say what they are."""

    def __init__(self, palette: Palette, parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.readout: Readout | None = None
        self.summary: Summary | None = None  # shown instead of a readout: a whole recording
        self.setObjectName("EmotionPanel")
        self.setStyleSheet(f"#EmotionPanel {{background:{BACKGROUND}; border-radius:8px;}}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(MARGIN_PX, MARGIN_PX, MARGIN_PX, MARGIN_PX)
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
        self.word_font = QFont(font)
        # Fixed from the font, so it follows the user's font size but never the text shown.
        self.text_width_px = max(ICON_PX, QFontMetrics(font).horizontalAdvance(WIDEST_WORD) + 8)
        self.setFixedWidth(self.text_width_px + 2 * MARGIN_PX)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color:#c4c9cf; font-size:11pt;")
        self.confidence = FractionBar(8)
        for w in (self.caption, self.icon, self.word, self.confidence, self.detail):
            policy = w.sizePolicy()  # keeps the wrapping label's height-for-width
            policy.setHorizontalPolicy(QSizePolicy.Ignored)  # text never widens the panel
            w.setSizePolicy(policy)
            layout.addWidget(w)
        layout.addStretch(1)
        self.show_idle()

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        if self.summary is not None:
            self.show_summary(self.summary, self.caption.text())
        elif self.readout is not None:
            self.show_readout(self.readout, self.caption.text())

    def show_idle(self, text: str = "Press Start to listen, or open a recording") -> None:
        self.readout, self.summary = None, None
        self.caption.setText("")
        self.icon.setPixmap(svg_pixmap("listening", "#5c6670", ICON_PX))
        self._set_word("—")
        self.word.setStyleSheet("color:#5c6670;")
        self.confidence.hide()
        self.detail.setText(text)

    def show_readout(self, readout: Readout, caption: str = "Now") -> None:
        self.readout, self.summary = readout, None
        self.caption.setText(caption)
        colour = self.palette_.colour(readout.icon)
        self.icon.setPixmap(svg_pixmap(readout.icon, colour, ICON_PX))
        self._set_word(readout.word)
        self.word.setStyleSheet(f"color:{colour};")
        if readout.state == EMOTION:
            self.confidence.show()
            self.confidence.set_fraction(readout.confidence, colour)
            self.detail.setText(f"{readout.confidence:.0%} confident")
        elif readout.state == UNSURE:
            self.confidence.hide()
            self.detail.setText(f"No emotion is clear (best guess {readout.best_guess}, "
                                f"{readout.confidence:.0%})")
        elif readout.state == TOO_LOUD:
            self.confidence.hide()
            self.detail.setText(TOO_LOUD_ADVICE.capitalize())
        else:
            self.confidence.hide()
            self.detail.setText("Waiting for speech" if readout.state is not LISTENING
                                else "Listening for speech…")

    def show_point(self, point: TimelinePoint | None, unsure_threshold: float,
                   shown: ShownVoices = ShownVoices.ALL, caption: str = "Now") -> None:
        """The reading of one point, with whose voice it is in the caption when it was told;
        a voice whose emotion is not ``shown`` says whose it is instead of its emotion."""
        if point is None or not point.is_speech or not point.voice:
            self.show_readout(readout_for(point, unsure_threshold) if point else Readout(NO_SPEECH), caption)
            return
        caption = f"{caption} · {voice_word(point.voice)}"
        if shown.shows(point.voice):
            self.show_readout(readout_for(point, unsure_threshold), caption)
            return
        self.show_idle("Your own voice: only the other person's emotion is shown" if point.voice == ME else
                       "Not clear whose voice this is: only the other person's emotion is shown")
        self.caption.setText(caption)
        self._set_word(voice_word(point.voice))

    def show_summary(self, summary: Summary, caption: str = "Whole recording") -> None:
        """A whole recording or session: the emotion with the largest share of its speech time
        (that share as the bar) and the mix in words. Never "unsure": a recording is a mix,
        and being unsure describes a moment, not an hour."""
        ranked = summary.ranked_shares()
        if not ranked:
            self.show_readout(Readout(NO_SPEECH), caption)
            return
        label, share = ranked[0]
        self.show_readout(Readout(EMOTION, label, share), caption)
        self.summary = summary
        self.detail.setText(f"{summary.breakdown()} · {format_clock(summary.speech_s)} of speech")

    def _set_word(self, text: str) -> None:
        """Show ``text`` as the large word, in a smaller font where it would not fit (and cut
        short, with the whole word as a tooltip, only where even that is too wide)."""
        font = QFont(self.word_font)
        width = QFontMetrics(font).horizontalAdvance(text)
        if width > self.text_width_px:
            size = WORD_PT * self.text_width_px / width
            font.setPointSizeF(max(MIN_WORD_PT, size))
            while size > MIN_WORD_PT and QFontMetrics(font).horizontalAdvance(text) > self.text_width_px:
                size -= 0.5  # widths do not scale exactly with the size
                font.setPointSizeF(max(MIN_WORD_PT, size))
        shown = QFontMetrics(font).elidedText(text, Qt.ElideRight, self.text_width_px)
        self.word.setFont(font)
        self.word.setText(shown)
        self.word.setToolTip(text if shown != text else "")
