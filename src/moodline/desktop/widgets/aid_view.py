"""The conversation-aid view: full screen, one large word, its colour and icon, little else.

For someone reading a partner's voice in a live conversation, so calm comes first. Readouts
come through a :class:`LabelStabilizer` (minimum dwell, hysteresis, a new emotion confirmed
before it shows), which also holds the last word through pauses: the word dims, a small
"paused" hint appears after a few seconds, and only a long silence returns to "Listening…". A new word fades in from :data:`MIN_OPACITY`,
where every palette colour is still legible, never from near-invisible. Words, not numbers:
percentages and a calm–intense bar are options (Settings), as are large text and high
contrast. Keys: Esc or F11 leave, G toggles grouping into positive / neutral / negative (with
the calm–intense bar).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from PyQt5.QtCore import QPropertyAnimation, Qt, pyqtSignal
from PyQt5.QtGui import QFont, QFontMetrics
from PyQt5.QtWidgets import QGraphicsOpacityEffect, QLabel, QVBoxLayout, QWidget

from moodline.engine.readout import (EMOTION, GROUP_ORDER, INTENSITY, LISTENING, TOO_LOUD, TOO_LOUD_ADVICE, UNSURE,
                                     Grouping, LabelStabilizer, Pause, Readout, StabilizerSettings)
from moodline.engine.timeline import TimelinePoint

from ..palette import Palette
from ..settings import AidDisplay
from .bar import FractionBar
from .icons import svg_pixmap

WORD_PT = 96
LARGE_TEXT_SCALE = 1.5  # "Large text" makes the word and the hints this much larger
MIN_WORD_PT = 36  # a word is shrunk to fit the screen, but never below this
ICON_PX = 260  # on a screen at least 1000 px high; smaller screens get a smaller icon
MIN_ICON_PX = 64
DETAIL_PT = 26
PAUSE_HINT_PT = 22
INTENSITY_LABEL_PT = 18
KEYS_HINT_PT = 13
MARGIN_PX = 40
# The word (and its icon) is never fainter than this, neither while a new word fades in nor
# while a pause dims it: at this opacity every palette colour keeps at least 3:1 contrast
# against the aid's background (WCAG's minimum for large text; tested for both palettes).
MIN_OPACITY = 0.7
DIMMED_OPACITY = MIN_OPACITY  # a word held through a pause
FADE_MS = 400  # a new word fades in (and a held word brightens when speech resumes)
DIM_MS = 1200  # dimming into a pause is slow, so it reads as "quiet", not as a change
# Words the aid may show, so one font size fits them all and the size does not jump per word.
_WORDS = [label.capitalize() for label in (*INTENSITY, *GROUP_ORDER)] + \
    [Readout(LISTENING).word, Readout(UNSURE).word, Readout(TOO_LOUD).word]


@dataclass(frozen=True)
class AidTheme:
    background: str
    text: str
    quiet_text: str  # detail and the "paused" hint: readable, not loud
    faint_text: str  # the key reminder at the bottom, for the helper rather than the reader


THEMES = {
    False: AidTheme(background="#0e1013", text="#e8eaed", quiet_text="#9aa5b1", faint_text="#4b535c"),
    True: AidTheme(background="#000000", text="#ffffff", quiet_text="#d5dae0", faint_text="#9aa5b1"),
}


class ConversationAidView(QWidget):
    left = pyqtSignal()

    def __init__(self, palette: Palette, settings: StabilizerSettings,
                 display: AidDisplay = AidDisplay(), parent=None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Moodline — conversation aid")
        self.palette_ = palette
        self.display = display
        self.stabilizer = LabelStabilizer(settings)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(MARGIN_PX, MARGIN_PX, MARGIN_PX, 30)
        layout.addStretch(2)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        self.icon = QLabel(alignment=Qt.AlignCenter)
        self.word = QLabel(alignment=Qt.AlignCenter)
        self.detail = QLabel(alignment=Qt.AlignCenter)
        self.pause_hint = QLabel(alignment=Qt.AlignCenter)
        for w in (self.icon, self.word, self.detail, self.pause_hint):
            body.addWidget(w)
        self.intensity = FractionBar(18, THEMES[False].quiet_text)
        self.intensity.setFixedWidth(600)
        self.intensity_label = QLabel("calm ⟵  ⟶ intense", alignment=Qt.AlignCenter)
        body.addWidget(self.intensity, 0, Qt.AlignHCenter)
        body.addWidget(self.intensity_label)
        layout.addWidget(self.body)
        layout.addStretch(3)
        self.keys_hint = QLabel("Esc: leave   ·   G: group into positive / neutral / negative",
                                alignment=Qt.AlignCenter)
        layout.addWidget(self.keys_hint)
        # However small the screen, the aid fills it: a minimum size larger than the screen would
        # keep the window manager from making it full screen.
        self.setMinimumSize(320, 240)
        self.opacity = QGraphicsOpacityEffect(self.body)
        self.body.setGraphicsEffect(self.opacity)
        self.fade = QPropertyAnimation(self.opacity, b"opacity", self)
        self._apply_theme()
        self._apply_text_size()
        self._show(self.shown, None)

    @property
    def shown(self) -> Readout:
        return self.stabilizer.shown

    def enter(self, screen=None) -> None:
        """Show full screen (on ``screen``, a ``QScreen``, when given) and take the keyboard."""
        if screen is not None:
            self.move(screen.geometry().topLeft())
        self.showFullScreen()
        self.raise_()
        self.activateWindow()

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self._apply_theme()
        self._show(self.shown, None)

    def set_settings(self, settings: StabilizerSettings) -> None:
        self.stabilizer.settings = settings
        self._show(self.shown, None)

    def set_display(self, display: AidDisplay) -> None:
        self.display = display
        self._apply_text_size()
        self._show(self.shown, None)

    def reset(self) -> None:
        self.stabilizer.reset()
        self._show(self.shown, None)

    def feed(self, point: TimelinePoint) -> None:
        before = self.shown
        self._show(self.stabilizer.update(point), before)

    # ---- drawing ---------------------------------------------------------------------
    def _show(self, readout: Readout, before: Readout | None) -> None:
        """Draw ``readout``; fade from ``before`` (``None``: no fade, e.g. after a setting)."""
        colour = self.palette_.colour(readout.icon)
        self.icon.setPixmap(svg_pixmap(readout.icon, colour, self._icon_px()))
        if readout.word != self.word.text():
            self.word.setText(readout.word)
            if readout.word not in _WORDS:
                self._fit_word()
        self.word.setStyleSheet(f"color:{colour};")
        self.detail.setText(self._detail(readout))
        self.pause_hint.setText("paused" if readout.pause == Pause.PAUSED else "")
        self.intensity.set_fraction(readout.intensity if readout.intensity is not None else 0.0)
        bar = self.display.intensity_bar or self.stabilizer.settings.grouping is not Grouping.NONE
        self.intensity.setVisible(bar)
        self.intensity_label.setVisible(bar)
        self._fade_to(DIMMED_OPACITY if readout.pause != Pause.NONE else 1.0, before, readout)

    def _detail(self, readout: Readout) -> str:
        """Words under the word; numbers only when the user asked for them."""
        if readout.state == EMOTION:
            return f"{readout.confidence:.0%} sure" if self.display.show_percentages else ""
        if readout.state == UNSURE:
            if self.display.show_percentages:
                return f"best guess {readout.best_guess}, {readout.confidence:.0%}"
            return "no emotion is clear"
        if readout.state == TOO_LOUD:
            return TOO_LOUD_ADVICE
        return ""

    def _fade_to(self, target: float, before: Readout | None, now: Readout) -> None:
        if before is None:
            self.fade.stop()
            self.opacity.setOpacity(target)
            return
        if (now.state, now.label) != (before.state, before.label):
            start, duration_ms = MIN_OPACITY, FADE_MS  # a new word: from legible, not from nothing
        else:
            running = self.fade.state() == QPropertyAnimation.Running
            heading_to = self.fade.endValue() if running else self.opacity.opacity()
            if abs(heading_to - target) < 1e-3:
                return  # already there, or on its way
            start, duration_ms = self.opacity.opacity(), DIM_MS if target < 1.0 else FADE_MS
        self.fade.stop()
        self.fade.setDuration(duration_ms)
        self.fade.setStartValue(max(MIN_OPACITY, start))
        self.fade.setEndValue(target)
        self.fade.start()

    def _apply_theme(self) -> None:
        theme = THEMES[self.palette_.high_contrast]
        self.setStyleSheet(f"background:{theme.background}; color:{theme.text};")
        for label in (self.detail, self.pause_hint, self.intensity_label):
            label.setStyleSheet(f"color:{theme.quiet_text};")
        self.keys_hint.setStyleSheet(f"color:{theme.faint_text};")
        self.intensity.set_fraction(self.intensity.fraction, theme.quiet_text)

    def _apply_text_size(self) -> None:
        scale = LARGE_TEXT_SCALE if self.display.large_text else 1.0
        for label, pt in ((self.detail, DETAIL_PT), (self.pause_hint, PAUSE_HINT_PT),
                          (self.intensity_label, INTENSITY_LABEL_PT), (self.keys_hint, KEYS_HINT_PT)):
            font = QFont(label.font())
            font.setPointSizeF(pt * scale)
            label.setFont(font)
            # The same height with or without text, so nothing moves when a hint comes and goes.
            label.setFixedHeight(QFontMetrics(font).height())
        self._fit_word()

    def _fit_word(self) -> None:
        """The word's size: large text or not, shrunk only so the widest word fits the width."""
        target = WORD_PT * (LARGE_TEXT_SCALE if self.display.large_text else 1.0)
        font = QFont(self.word.font())
        font.setBold(True)
        font.setPointSizeF(target)
        metrics = QFontMetrics(font)
        widest = max(metrics.horizontalAdvance(w) for w in (*_WORDS, self.word.text()))
        available = self.width() - 2 * MARGIN_PX - 24
        if widest > available > 0:
            font.setPointSizeF(max(MIN_WORD_PT, target * available / widest))
        self.word.setFont(font)

    def _icon_px(self) -> int:
        return int(max(MIN_ICON_PX, min(ICON_PX, 0.26 * self.height())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_word()
        readout = self.shown
        self.icon.setPixmap(svg_pixmap(readout.icon, self.palette_.colour(readout.icon), self._icon_px()))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Escape, Qt.Key_F11):
            self.close()
        elif event.key() == Qt.Key_G:
            s = self.stabilizer.settings
            grouping = Grouping.NONE if s.grouping is not Grouping.NONE else Grouping.VALENCE
            self.stabilizer.settings = replace(s, grouping=grouping)
            self.stabilizer.reset()
            self._show(self.shown, None)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.left.emit()
        super().closeEvent(event)
