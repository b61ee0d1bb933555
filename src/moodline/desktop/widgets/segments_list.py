"""The list of segments of speech: start, end, emotion and confidence, one row per stretch of
one emotion (the engine's :func:`~moodline.engine.timeline.segments`, silence left out).

A click (or Enter) on a row asks to play from its start (:attr:`SegmentsList.segmentChosen`);
while a recording plays, the row under the playhead is highlighted and kept in sight. Live, the
list grows as points arrive: only the rows that changed (the last one, and new ones) are
touched, so an hour-long session costs no more per update than a minute.

When the session told the user's enrolled voice from others, each segment is one voice's
stretch (a change of voice starts a segment), and a last column says whose: "You", "Other" or
"Unsure whose". Without voices that column stays hidden and nothing else changes.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Sequence

from PyQt5.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from PyQt5.QtGui import QBrush, QColor, QFont
from PyQt5.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD
from moodline.engine.timeline import Segment, format_clock

from ..palette import Palette
from ..whose import VOICE_PHRASES, VOICE_TIPS, VOICE_WORDS, voice_word

COLUMNS = ("Start", "End", "Emotion", "Conf.", "Whose")
COLUMN_TIPS = ("Where the segment starts", "Where it ends", "The emotion of its windows",
               "Mean confidence: the winning probability averaged over its windows",
               "Whose voice: yours, the other person's, or unsure whose (when your voice is enrolled)")
WHOSE = 4  # the column saying whose voice a segment is, shown only when segments carry voices
CURRENT_BACKGROUND = "#3a4654"
UNSURE_FOREGROUND = "#8a94a0"


class SegmentsModel(QAbstractTableModel):
    """Segments of speech as table rows."""

    def __init__(self, palette: Palette, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                 parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.unsure_threshold = unsure_threshold
        self.rows: list[Segment] = []
        self.current = -1  # the row under the playhead (-1: none)
        self._bold = QFont()
        self._bold.setBold(True)

    # ---- Qt's model interface ----------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        segment, column = self.rows[index.row()], index.column()
        unsure = segment.clipped or segment.confidence < self.unsure_threshold
        if role == Qt.DisplayRole:
            return (format_clock(segment.start_s), format_clock(segment.end_s),
                    "too loud" if segment.clipped else segment.label,
                    "–" if segment.clipped else f"{segment.confidence:.0%}", voice_word(segment.voice))[column]
        if role == Qt.DecorationRole and column == 2:
            return QColor(self.palette_.colour("too_loud" if segment.clipped else segment.label))
        if role == Qt.ForegroundRole and unsure:
            return QBrush(QColor(UNSURE_FOREGROUND))
        if role == Qt.BackgroundRole and index.row() == self.current:
            return QBrush(QColor(CURRENT_BACKGROUND))
        if role == Qt.FontRole and index.row() == self.current:
            return self._bold
        if role == Qt.TextAlignmentRole and column not in (2, WHOSE):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        whose = f", {VOICE_PHRASES[segment.voice]}" if segment.voice in VOICE_PHRASES else ""
        if role == Qt.ToolTipRole and column == WHOSE and segment.voice in VOICE_TIPS:
            return VOICE_TIPS[segment.voice]
        if role == Qt.ToolTipRole and segment.clipped:
            return (f"{format_clock(segment.start_s)}–{format_clock(segment.end_s)}{whose}: recorded too loud (the "
                    "voice's peaks are clipped), so no emotion is shown. Click to play from here.")
        if role == Qt.ToolTipRole:
            doubt = f" (below the unsure threshold, {self.unsure_threshold:.0%})" if unsure else ""
            return (f"{format_clock(segment.start_s)}–{format_clock(segment.end_s)}{whose}: {segment.label}, "
                    f"{segment.duration_s:.1f} s, mean confidence {segment.confidence:.0%}{doubt}. "
                    "Click to play from here.")
        return None

    # ---- content -----------------------------------------------------------------------
    def set_segments(self, segments: Sequence[Segment]) -> None:
        """Show ``segments`` of speech, touching only the rows that changed."""
        new, old = list(segments), self.rows
        limit = min(len(old), len(new))
        same = next((k for k in range(limit) if old[k] != new[k]), limit)  # rows unchanged
        if same == 0 and old and new:  # another recording: start afresh
            self.beginResetModel()
            self.rows, self.current = new, -1
            self.endResetModel()
            return
        if len(new) < len(old):
            self.beginRemoveRows(QModelIndex(), len(new), len(old) - 1)
            self.rows = new
            self.endRemoveRows()
        elif len(new) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(new) - 1)
            self.rows = new
            self.endInsertRows()
        else:
            self.rows = new
        if same < limit:
            self.dataChanged.emit(self.index(same, 0), self.index(limit - 1, len(COLUMNS) - 1))
        if self.current >= len(new):
            self.current = -1

    def set_current(self, row: int) -> None:
        if row == self.current:
            return
        previous, self.current = self.current, row
        for r in (previous, row):
            if 0 <= r < len(self.rows):
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self._all_changed()

    def set_unsure_threshold(self, threshold: float) -> None:
        self.unsure_threshold = threshold
        self._all_changed()

    def _all_changed(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))


class SegmentsList(QWidget):
    """A table of the segments of speech; a click on a row asks to play from its start."""

    segmentChosen = pyqtSignal(float)

    def __init__(self, palette: Palette, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                 parent=None) -> None:
        super().__init__(parent)
        self.model = SegmentsModel(palette, unsure_threshold, self)
        self._starts: list[float] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.count_label = QLabel()
        self.count_label.setObjectName("segments-count")
        self.count_label.setToolTip("Stretches of one emotion; click one to play it")
        layout.addWidget(self.count_label)
        self.table = QTableView()
        self.table.setObjectName("segments-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.hide()
        # Fixed row heights and column modes that never measure every row: thousands of rows
        # cost nothing until they are scrolled into view.
        rows.setSectionResizeMode(QHeaderView.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        columns = self.table.horizontalHeader()
        columns.setMinimumSectionSize(24)
        columns.setSectionResizeMode(QHeaderView.Interactive)
        columns.setSectionResizeMode(2, QHeaderView.Stretch)  # the emotion takes what is left
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._fit_clock_columns("00:00")
        self.table.setColumnWidth(3, self.fontMetrics().horizontalAdvance("100%") + 16)
        self.table.setColumnWidth(WHOSE, max(self.fontMetrics().horizontalAdvance(w) for w in VOICE_WORDS.values()) + 12)
        self.table.setColumnHidden(WHOSE, True)
        self.table.clicked.connect(self._chosen)
        self.table.activated.connect(self._chosen)
        layout.addWidget(self.table, 1)
        self.set_segments([])

    def set_segments(self, segments: Sequence[Segment]) -> None:
        """Show the segments of speech among ``segments`` (silence is left out)."""
        speech = [s for s in segments if s.is_speech]
        self.model.set_segments(speech)
        self._starts = [s.start_s for s in speech]
        voices = any(s.voice is not None for s in speech)
        if self.table.isColumnHidden(WHOSE) == voices:
            self.table.setColumnHidden(WHOSE, not voices)
        if speech:
            self._fit_clock_columns(format_clock(speech[-1].end_s))
        n = len(speech)
        self.count_label.setText(f"{n} segment{'s' if n != 1 else ''} of speech" if n else
                                 "No segments of speech yet")

    def _fit_clock_columns(self, longest: str) -> None:
        """Start and End just wide enough for the longest time shown ("59:59" or "1:02:03")."""
        width = self.fontMetrics().horizontalAdvance(longest.replace("1", "0")) + 12
        for column in (0, 1):
            if self.table.columnWidth(column) != width:
                self.table.setColumnWidth(column, width)

    def set_current(self, t_s: float | None) -> None:
        """Highlight the segment holding ``t_s`` (none in silence or for ``None``), kept in sight."""
        row = -1
        if t_s is not None and self._starts:
            k = bisect_right(self._starts, t_s) - 1
            if k >= 0 and t_s <= self.model.rows[k].end_s:
                row = k
        if row != self.model.current:
            self.model.set_current(row)
            if row >= 0:
                self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.EnsureVisible)

    @property
    def current_segment(self) -> Segment | None:
        row = self.model.current
        return self.model.rows[row] if row >= 0 else None

    def set_palette(self, palette: Palette) -> None:
        self.model.set_palette(palette)

    def set_unsure_threshold(self, threshold: float) -> None:
        self.model.set_unsure_threshold(threshold)

    def _chosen(self, index: QModelIndex) -> None:
        if index.isValid():
            self.segmentChosen.emit(self.model.rows[index.row()].start_s)
