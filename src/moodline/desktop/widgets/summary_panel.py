"""The summary of a whole recording (or of a live session so far): the mix of emotions.

The numbers are the engine's :meth:`~moodline.engine.timeline.Timeline.summary` — those of
``moodline analyze`` — shown for a reader: the mix in words, the speech time, each emotion's
share of it as one stacked bar and as rows (the time each share is, in their tooltip), and the
longest or most confident stretches of one emotion, each a click away from playing.
"""
from __future__ import annotations

from html import escape
from typing import Sequence

from PyQt5.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                             QSizePolicy, QVBoxLayout, QWidget)

from moodline.engine.timeline import Segment, SegmentOrder, Summary, format_clock, top_segments

from ..palette import Palette

TOP_COUNT = 5  # stretches listed under "Longest" / "Most confident"
BAR_HEIGHT_PX = 18
SHARE_COLUMNS = 2  # eight emotions in four rows: the list below keeps its room


class SharesBar(QWidget):
    """One horizontal bar split into each emotion's share of the speech time, largest first."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.shares: list[tuple[str, float]] = []
        self.colours: list[QColor] = []
        self.setFixedHeight(BAR_HEIGHT_PX)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(200, BAR_HEIGHT_PX)

    def set_shares(self, shares: Sequence[tuple[str, float]], palette: Palette, speech_s: float = 0.0) -> None:
        self.shares = list(shares)
        self.colours = [QColor(palette.colour(label)) for label, _ in self.shares]
        self.setToolTip("\n".join(f"{label}: {share:.0%} of the speech, {format_clock(share * speech_s)}"
                                   for label, share in self.shares))
        self.update()

    def spans(self) -> list[tuple[str, float, float]]:
        """(label, left, right) of each part, in pixels."""
        out, x = [], 0.0
        for label, share in self.shares:
            out.append((label, x, x + share * self.width()))
            x += share * self.width()
        return out

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(Qt.NoPen)
        painter.fillRect(self.rect(), QColor("#2b3036"))
        for (label, left, right), colour in zip(self.spans(), self.colours):
            painter.fillRect(QRectF(left, 0, right - left, self.height()), colour)


class SummaryPanel(QFrame):
    """What a whole recording (or a session so far) holds; :attr:`segmentChosen` on a click."""

    segmentChosen = pyqtSignal(float)  # the start of a listed stretch: play from there

    def __init__(self, palette: Palette, parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.summary: Summary | None = None
        self.segments: list[Segment] = []
        self._duration_s = 0.0
        self.setObjectName("SummaryPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.caption = QLabel()
        self.headline = QLabel()
        self.headline.setObjectName("summary-headline")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-weight:bold;")
        self.headline.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # wraps, never widens
        self.speech = QLabel()
        self.speech.setObjectName("summary-speech")
        self.bar = SharesBar()
        self.shares = QLabel()
        self.shares.setObjectName("summary-shares")
        self.shares.setTextFormat(Qt.RichText)
        top_row = QHBoxLayout()
        top_row.addWidget(QLabel("Top stretches:"))
        self.order = QComboBox()
        for order in SegmentOrder:
            self.order.addItem(order.value.capitalize(), order)
        self.order.setToolTip("Stretches of one emotion: the longest, or the most confident among those of at least 2 s")
        self.order.currentIndexChanged.connect(lambda _: self._show_top())
        top_row.addWidget(self.order, 1)
        self.top = QListWidget()
        self.top.setObjectName("summary-top")
        self.top.setFixedHeight(TOP_COUNT * (self.fontMetrics().height() + 4) + 6)
        self.top.setToolTip("Click to play from there")
        self.top.itemClicked.connect(lambda item: self.segmentChosen.emit(item.data(Qt.UserRole)))
        self.top.itemActivated.connect(lambda item: self.segmentChosen.emit(item.data(Qt.UserRole)))
        for w in (self.caption, self.headline, self.speech, self.bar, self.shares):
            layout.addWidget(w)
        layout.addLayout(top_row)
        layout.addWidget(self.top)
        layout.addStretch(1)
        self.clear()

    def clear(self, caption: str = "Open a recording or press Start") -> None:
        self.summary, self.segments = None, []
        self.caption.setText(caption)
        self.headline.setText("")
        self.speech.setText("")
        self.bar.set_shares([], self.palette_)
        self.shares.setText("")
        self.top.clear()

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        if self.summary is not None:
            self.show_summary(self.summary, self._duration_s, self.segments, self.caption.text())

    def show_summary(self, summary: Summary, duration_s: float, segments: Sequence[Segment],
                     caption: str = "Whole recording") -> None:
        """Show ``summary`` of a recording ``duration_s`` long and the best of its ``segments``."""
        self.summary, self._duration_s, self.segments = summary, duration_s, list(segments)
        self.caption.setText(caption)
        self.headline.setText(summary.breakdown())
        too_loud = f", {format_clock(summary.clipped_s)} too loud to judge" if summary.clipped_s else ""
        self.speech.setText(f"Speech {format_clock(summary.speech_s)} of {format_clock(duration_s)}{too_loud}")
        ranked = summary.ranked_shares()
        self.bar.set_shares(ranked, self.palette_, summary.speech_s - summary.clipped_s)
        cells = [f'<td><span style="color:{self.palette_.colour(label)}">■</span>&nbsp;{escape(label)}</td>'
                 f'<td align="right">&nbsp;{share:.0%}&nbsp;&nbsp;&nbsp;&nbsp;</td>'
                 for label, share in ranked]
        # Down the first column, then the second: the largest shares read first.
        height = -(-len(cells) // SHARE_COLUMNS)
        rows = "".join("<tr>" + "".join(cells[r + c * height] for c in range(SHARE_COLUMNS)
                                        if r + c * height < len(cells)) + "</tr>" for r in range(height))
        self.shares.setText(f"<table cellspacing='1'>{rows}</table>" if rows else "")
        self.shares.setToolTip(self.bar.toolTip())
        self._show_top()

    def _show_top(self) -> None:
        self.top.clear()
        order = self.order.currentData()
        for segment in top_segments(self.segments, TOP_COUNT, order):
            item = QListWidgetItem(f"{format_clock(segment.start_s)}–{format_clock(segment.end_s)}  "
                                   f"{segment.label}  {segment.confidence:.0%}")
            item.setForeground(QColor(self.palette_.colour(segment.label)))
            item.setData(Qt.UserRole, segment.start_s)
            item.setToolTip(f"{segment.label}, {segment.duration_s:.1f} s, mean confidence "
                            f"{segment.confidence:.0%}: click to play from {format_clock(segment.start_s)}")
            self.top.addItem(item)
