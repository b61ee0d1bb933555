"""The emotion timeline: a dominant-emotion strip over a speech band, optional probability
lines, and a waveform strip, on one time axis that reads m:ss / h:mm:ss.

The strip is the primary view at every zoom: one colour band per run of windows with the same
winning emotion (faint where the winner was unsure, blank in silence). The per-emotion lines
are a detail layer (View ▸ Probability Lines), on by default only for recordings short enough
to read them. Strip, speech band and lines are computed for the visible range at the screen's
resolution (:mod:`..series`), so an hour drawn on a thousand pixels loses no utterance.

Points and audio are appended to arrays as they arrive; :meth:`TimelineView.redraw` pushes
them to the plots and is called by the window's frame timer (about 30 fps), never per block.
Live, the view follows the last ``follow_minutes``; dragging or zooming with the mouse lets
the user roam the whole session, and Fit (F) brings the live edge back. During playback a
zoomed view turns the page to keep the playhead in sight. A click asks for playback from that
moment (:attr:`seekRequested`); the segment keys ask to move there (:attr:`jumpRequested`).

When the session told the user's enrolled voice from others (its points carry a voice), the
strip can be drawn as one row per voice (View ▸ One Row per Voice): "You", "Other" and "Unsure
whose", each the same dominant-emotion bands over that voice's windows only, so a
conversation reads as two people's turns. The rows are computed as the strip is, at the
screen's resolution, so an hour costs three strips, not more.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFontMetrics, QKeySequence, QPainter
from PyQt5.QtWidgets import QAction, QLabel, QMenu, QSizePolicy, QVBoxLayout, QWidget

from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD
from moodline.engine.timeline import TimelinePoint, format_clock

from ..palette import Palette
from ..series import Bands, GrowingEnvelope, TimelineSeries
from ..whose import VOICE_ORDER, voice_word
from .flow_layout import FlowLayout

BACKGROUND = "#15181c"
FOLLOW_LEAD_S = 2.0  # empty space kept right of the live edge
WAVE_COLOUR = "#6c7a89"
CURSOR_COLOUR = "#ffd166"
SPEECH_COLOUR = "#5b6b7b"
AXIS_WIDTH_PX = 56
STRIP_BANDS = (0.0, 1.0)  # y extent of the emotion bands in the strip plot
SPEECH_BAND = (-0.16, -0.05)  # y extent of the speech band beneath them
VOICE_ROW_GAP = 0.06  # between the rows of the strip when it has one row per voice


def voice_row_extent(row: int) -> tuple[float, float]:
    """The y extent of the ``row``-th voice's row (top first) within :data:`STRIP_BANDS`."""
    n = len(VOICE_ORDER)
    height = (STRIP_BANDS[1] - STRIP_BANDS[0] - (n - 1) * VOICE_ROW_GAP) / n
    top = STRIP_BANDS[1] - row * (height + VOICE_ROW_GAP)
    return top - height, top
UNSURE_ALPHA = 0.35  # an unsure winner's band: its colour, faint
STRIP_HEIGHT_WITH_LINES_PX = 80  # the strip's height when the probability lines are shown
ROWS_HEIGHT_WITH_LINES_PX = 140  # ... and when it has one row per voice
DETAIL_LINES_MAX_S = 600.0  # recordings up to this long open with the probability lines shown
ZOOM_FACTOR = 2.0
MIN_SPAN_S = 2.0  # the narrowest view
PAGE_AT = 0.95  # during playback, the page turns when the playhead passes this part of the view
PAGE_LEAD = 0.1  # ... and the playhead lands this far into the new page
HOVER_TOP = 3  # the hover line names this many emotions


class ClockAxis(pg.AxisItem):
    """A time axis labelled m:ss / h:mm:ss at round steps (1 s … 1 h …), never 'ks'."""

    # (labelled step, unlabelled minor step) in seconds, finest first.
    STEPS = ((1, None), (2, 1), (5, 1), (10, 5), (15, 5), (30, 10), (60, 15), (120, 30), (300, 60),
             (600, 120), (900, 300), (1800, 600), (3600, 900), (7200, 1800), (10800, 3600),
             (21600, 3600), (43200, 10800), (86400, 21600))
    MIN_LABEL_PX = 80  # room for "1:00:00" and a gap

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self._major_s = 1.0

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return []
        px_per_s = size / span
        major, minor = next(((a, b) for a, b in self.STEPS if a * px_per_s >= self.MIN_LABEL_PX), self.STEPS[-1])
        self._major_s = float(major)
        return [(float(major), 0.0)] + ([(float(minor), 0.0)] if minor else [])

    def tickValues(self, minVal: float, maxVal: float, size: float):
        # The view may show a little before 0:00; time does not start there.
        return [(spacing, [v for v in values if v >= 0]) for spacing, values in
                super().tickValues(minVal, maxVal, size)]

    def tickStrings(self, values, scale, spacing):
        if spacing < self._major_s - 1e-9:
            return [""] * len(values)  # minor ticks: grid lines only
        return [format_clock(v) for v in values]


class BandsItem(pg.GraphicsObject):
    """Filled rectangles from ``starts`` to ``ends`` between two heights, one colour each."""

    def __init__(self, y0: float, y1: float) -> None:
        super().__init__()
        self.y0, self.y1 = y0, y1
        self.starts = self.ends = np.zeros(0)
        self.colours: list[QColor] = []
        self._bounds = QRectF()

    def set_bands(self, starts: np.ndarray, ends: np.ndarray, colours: Sequence[QColor]) -> None:
        self.prepareGeometryChange()
        self.starts, self.ends, self.colours = starts, ends, list(colours)
        if len(starts):
            self._bounds = QRectF(float(starts[0]), self.y0, float(ends[-1] - starts[0]), self.y1 - self.y0)
        else:
            self._bounds = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, *args) -> None:
        painter.setPen(Qt.NoPen)
        height = self.y1 - self.y0
        for start, end, colour in zip(self.starts, self.ends, self.colours):
            painter.fillRect(QRectF(start, self.y0, end - start, height), colour)


class LegendBar(QWidget):
    """Coloured chips naming each emotion, and what faint and the speech band mean; the chips
    wrap onto a second row in a narrow window rather than being cut."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing_px=14)
        self._layout.setContentsMargins(4, 0, 4, 0)
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_labels(self, labels: Sequence[str], palette: Palette) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget():
                item.widget().hide()  # deleteLater waits for the event loop; hide it now
                item.widget().deleteLater()
        for label in labels:
            chip = QLabel(f'<span style="color:{palette.colour(label)}; font-size:14pt">■</span> {label}')
            chip.setObjectName(f"legend-{label}")
            self._layout.addWidget(chip)
        if labels:
            # As an unsure band looks: a colour faded into the plot's dark background.
            faint = QColor.fromRgbF(*(UNSURE_ALPHA * a + (1 - UNSURE_ALPHA) * b for a, b in
                                      zip(QColor("#c8c8c8").getRgbF()[:3], QColor(BACKGROUND).getRgbF()[:3])))
            unsure = QLabel(f'<span style="color:{faint.name()}; font-size:14pt">■</span> unsure')
            unsure.setToolTip("A faint band: the most likely emotion was below the unsure threshold")
            self._layout.addWidget(unsure)
        speech = QLabel(f'<span style="color:{SPEECH_COLOUR}; font-size:14pt">▬</span> speech')
        self._layout.addWidget(speech)


class TimelineView(QWidget):
    seekRequested = pyqtSignal(float)  # a click: play from there
    jumpRequested = pyqtSignal(float)  # previous / next segment: move there, playing or not
    exportRequested = pyqtSignal()  # Export View… from the context menu
    followChanged = pyqtSignal(bool)
    detailChanged = pyqtSignal(bool)
    voiceRowsChanged = pyqtSignal(bool)  # the user turned one row per voice on or off

    def __init__(self, palette: Palette, follow_minutes: float = 2.0,
                 unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD, parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.follow_minutes = follow_minutes
        self.unsure_threshold = unsure_threshold
        self.follow = True
        self.live = False
        self.series = TimelineSeries()
        # The waveform, live (growing) or of a whole recording; drawn at the screen's resolution.
        self.envelope: GrowingEnvelope | None = None
        self.end_s = 0.0  # the live edge / the recording's length
        self.redraws = 0  # how often the plots were actually updated (tests, benchmark)
        self.detail = True  # the probability lines are shown
        self._detail_chosen: bool | None = None  # the user's choice, once made, wins over length
        self._follow_playhead = True  # cleared when the user drags or wheels the view away
        self._dirty = False
        self._wave_dirty = False
        self._curves: list[pg.PlotCurveItem] = []
        self.strip_bands = Bands(np.zeros(0), np.zeros(0), np.zeros(0, int), np.zeros(0, bool))
        self.voice_rows = False  # one row per voice is chosen (drawn only when the points carry voices)
        self.voice_bands: dict[str, Bands] = {}  # each voice's row as last drawn (empty: one mixed row)
        self._axis_width_px = AXIS_WIDTH_PX
        self._axis_rows: bool | None = None  # what the strip's left axis was last set up for

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.legend = LegendBar()
        layout.addWidget(self.legend)
        self.hover_label = QLabel(" ")
        self.hover_label.setObjectName("timeline-hover")
        self.hover_label.setTextFormat(Qt.PlainText)
        self.hover_label.setFixedHeight(self.hover_label.sizeHint().height())
        self.hover_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # long text never widens the view
        self.hover_label.setContentsMargins(AXIS_WIDTH_PX + 4, 0, 0, 0)
        layout.addWidget(self.hover_label)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        layout.addWidget(self.graphics, 1)

        # The strip: emotion bands over the speech band. Every other plot follows its x range.
        self.plot = self.graphics.addPlot(row=0, col=0, axisItems={"bottom": ClockAxis()})
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(SPEECH_BAND[0] - 0.05, STRIP_BANDS[1] + 0.05, padding=0)
        self.plot.setLimits(xMin=-5, minXRange=MIN_SPAN_S)
        self.plot.getAxis("left").setTicks([[]])
        self.plot.getAxis("left").setLabel("emotion")
        self.strip_item = BandsItem(*STRIP_BANDS)
        self.speech_item = BandsItem(*SPEECH_BAND)
        self.plot.addItem(self.strip_item)
        self.plot.addItem(self.speech_item)
        self.voice_items = {voice: BandsItem(*voice_row_extent(row)) for row, voice in enumerate(VOICE_ORDER)}
        for item in self.voice_items.values():
            self.plot.addItem(item)

        # The detail layer: one probability line per emotion.
        self.lines_plot = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": ClockAxis()})
        self.lines_plot.setXLink(self.plot)
        self.lines_plot.setMouseEnabled(x=True, y=False)
        self.lines_plot.setYRange(-0.02, 1.02, padding=0)
        self.lines_plot.setLimits(xMin=-5, yMin=-0.1, yMax=1.1)
        self.lines_plot.showGrid(x=True, y=True, alpha=0.15)
        self.lines_plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.lines_plot.getAxis("left").setLabel("probability")

        self.wave = self.graphics.addPlot(row=2, col=0, axisItems={"bottom": ClockAxis()})
        self.wave.setXLink(self.plot)
        self.wave.setMouseEnabled(x=True, y=False)
        self.wave.setYRange(-1, 1, padding=0.05)
        self.wave.setLabel("left", "audio")
        self.wave.getAxis("left").setStyle(showValues=False, tickLength=0)
        self.wave.getAxis("left").enableAutoSIPrefix(False)
        self.wave.setMaximumHeight(110)
        self.wave.getViewBox().setLimits(xMin=-5)
        self.wave.showGrid(x=True, alpha=0.15)
        # One vertical line per envelope bucket, from its minimum to its maximum.
        self.wave_curve = pg.PlotCurveItem(pen=pg.mkPen(WAVE_COLOUR, width=1), connect="pairs",
                                           skipFiniteCheck=True)
        self.wave.addItem(self.wave_curve)

        self.cursors = []
        for p in (self.plot, self.lines_plot, self.wave):
            p.hideButtons()
            p.setMenuEnabled(False)  # pyqtgraph's developer menu; ours is below
            p.getAxis("left").setWidth(AXIS_WIDTH_PX)  # the same for all: times line up
            if p is not self.wave:
                p.getAxis("bottom").setStyle(showValues=False)  # the waveform's axis has the times
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=2))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
            p.getViewBox().sigRangeChangedManually.connect(self._user_moved)
        self.plot.sigXRangeChanged.connect(self._range_changed)
        self.plot.getViewBox().sigResized.connect(self._range_changed)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.scene().sigMouseMoved.connect(self._hovered)

        self._build_actions()
        self.set_labels(())
        self._apply_detail()

    # ---- actions: context menu and keys ---------------------------------------------------
    def _build_actions(self) -> None:
        def action(text: str, slot, keys=(), tip: str = "") -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setToolTip(tip or text)
            self.addAction(a)  # the keys work wherever the window has focus
            return a

        self.fit_action = action("&Fit to Window", self.fit, ["F"],
                                 "Show the whole recording (live: follow the live edge)")
        self.zoom_in_action = action("Zoom &In", self.zoom_in, ["+", "=", QKeySequence.ZoomIn])
        self.zoom_out_action = action("Zoom &Out", self.zoom_out, ["-", QKeySequence.ZoomOut])
        self.previous_action = action("&Previous Segment", self.previous_segment, ["Left"],
                                      "Go to the start of this or the previous run of one emotion")
        self.next_action = action("&Next Segment", self.next_segment, ["Right"],
                                  "Go to the start of the next run of one emotion")
        self.detail_action = action("Probability &Lines", lambda on: self.set_detail(on, chosen=True),
                                    tip="Show one line per emotion under the strip")
        self.detail_action.setCheckable(True)
        self.voice_rows_action = action("One Row per &Voice", lambda on: self.set_voice_rows(on, chosen=True),
                                        tip="When your voice is enrolled: draw your emotion, the other "
                                            "person's and the unsure ones on rows of their own")
        self.voice_rows_action.setCheckable(True)
        self.export_action = action("&Export View…", self.exportRequested.emit)
        for a in self.actions():
            a.setShortcutContext(Qt.WindowShortcut)
        self.context_menu = QMenu(self)
        self.context_menu.setObjectName("timeline-menu")
        for a in (self.fit_action, self.zoom_in_action, self.zoom_out_action, None, self.detail_action,
                  self.voice_rows_action, None, self.export_action):
            self.context_menu.addSeparator() if a is None else self.context_menu.addAction(a)
        self.graphics.setContextMenuPolicy(Qt.CustomContextMenu)
        self.graphics.customContextMenuRequested.connect(
            lambda pos: self.context_menu.popup(self.graphics.mapToGlobal(pos)))

    def fit(self) -> None:
        """The whole recording in view; live, back to following the live edge."""
        self._follow_playhead = True
        if self.live:
            self.set_follow(True)
            return
        self.plot.setXRange(0, max(self.end_s, MIN_SPAN_S), padding=0.01)

    def zoom_in(self) -> None:
        self._zoom(1 / ZOOM_FACTOR)

    def zoom_out(self) -> None:
        self._zoom(ZOOM_FACTOR)

    def _zoom(self, factor: float) -> None:
        """Narrow or widen the view around the cursor when it is in view, else its middle."""
        x0, x1 = self.plot.viewRange()[0]
        cursor = self.cursor_s
        centre = cursor if cursor is not None and x0 <= cursor <= x1 else (x0 + x1) / 2
        whole = max(self.end_s, MIN_SPAN_S) * 1.02
        span = min(max((x1 - x0) * factor, MIN_SPAN_S), whole)
        left = min(max(centre - (centre - x0) * span / (x1 - x0), -0.01 * whole), whole - span)
        if self.live:
            self.set_follow(False)
        self._follow_playhead = True
        self.plot.setXRange(left, left + span, padding=0)

    def previous_segment(self) -> None:
        target = self.series.previous_segment_start(self._here())
        if target is not None:
            self._jump(target)

    def next_segment(self) -> None:
        target = self.series.next_segment_start(self._here())
        if target is not None:
            self._jump(target)

    def _here(self) -> float:
        """Where a segment key starts from: the cursor, else the left of the view."""
        cursor = self.cursor_s
        return cursor if cursor is not None else self.plot.viewRange()[0][0] - 1e-3

    def _jump(self, t_s: float) -> None:
        self._follow_playhead = True
        self.set_playhead(t_s)
        self.jumpRequested.emit(t_s)

    # ---- content ---------------------------------------------------------------------
    def set_labels(self, labels: Sequence[str]) -> None:
        for curve in self._curves:
            self.lines_plot.removeItem(curve)
        self._curves = [
            pg.PlotCurveItem(pen=pg.mkPen(self.palette_.colour(label), width=1.5), skipFiniteCheck=True,
                             name=label)
            for label in labels
        ]
        for curve in self._curves:
            self.lines_plot.addItem(curve)
        self.legend.set_labels(labels, self.palette_)
        self.series.clear(labels)
        self._dirty = True

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        for curve, label in zip(self._curves, self.series.labels):
            curve.setPen(pg.mkPen(palette.colour(label), width=1.5))
        self.legend.set_labels(self.series.labels, palette)
        self._dirty = True

    def set_unsure_threshold(self, threshold: float) -> None:
        self.unsure_threshold = threshold
        self._dirty = True

    def set_detail(self, on: bool, chosen: bool = False) -> None:
        """Show or hide the probability lines (``chosen``: the user asked, remember it)."""
        if chosen:
            self._detail_chosen = on
        if on != self.detail:
            self.detail = on
            self._apply_detail()
            self.detailChanged.emit(on)
        self.detail_action.setChecked(on)

    def set_voice_rows(self, on: bool, chosen: bool = False) -> None:
        """Draw the strip as one row per voice, or as one row (``chosen``: the user asked, and
        :attr:`voiceRowsChanged` tells the window to keep the choice)."""
        changed = on != self.voice_rows
        self.voice_rows = on
        self.voice_rows_action.setChecked(on)
        self._dirty = True
        if changed and chosen:
            self.voiceRowsChanged.emit(on)

    @property
    def rows_per_voice(self) -> bool:
        """Whether the strip is drawn as one row per voice now (chosen, and the points carry voices)."""
        return self.voice_rows and self.series.has_voices

    def _apply_axis(self) -> None:
        """The strip's left axis: "emotion", or each voice's row named; every plot's axis as
        wide as the widest (so that their times line up)."""
        rows = self.rows_per_voice
        if rows == self._axis_rows:
            return
        self._axis_rows = rows
        axis = self.plot.getAxis("left")
        if rows:
            axis.setTicks([[((y0 + y1) / 2, voice_word(voice)) for voice, (y0, y1) in
                            ((v, voice_row_extent(r)) for r, v in enumerate(VOICE_ORDER))]])
            axis.showLabel(False)
            width = max(AXIS_WIDTH_PX, max(QFontMetrics(axis.font()).horizontalAdvance(voice_word(v))
                                           for v in VOICE_ORDER) + 12)
        else:
            axis.setTicks([[]])
            axis.showLabel(True)
            width = AXIS_WIDTH_PX
        if width != self._axis_width_px:
            self._axis_width_px = width
            for p in (self.plot, self.lines_plot, self.wave):
                p.getAxis("left").setWidth(width)
            self.hover_label.setContentsMargins(width + 4, 0, 0, 0)
        if self.detail:
            self.plot.setMaximumHeight(self._strip_height_with_lines())

    def _strip_height_with_lines(self) -> int:
        return ROWS_HEIGHT_WITH_LINES_PX if self.rows_per_voice else STRIP_HEIGHT_WITH_LINES_PX

    def _apply_detail(self) -> None:
        self.lines_plot.setVisible(self.detail)
        layout = self.graphics.ci.layout
        if self.detail:
            self.plot.setMaximumHeight(self._strip_height_with_lines())
            self.lines_plot.setMaximumHeight(1e6)
            layout.setRowStretchFactor(0, 0)
            layout.setRowStretchFactor(1, 4)
        else:
            self.plot.setMaximumHeight(1e6)
            self.lines_plot.setMaximumHeight(0)
            layout.setRowStretchFactor(0, 4)
            layout.setRowStretchFactor(1, 0)
        layout.setRowStretchFactor(2, 1)
        self.detail_action.setChecked(self.detail)
        self._dirty = True

    def start_live(self, labels: Sequence[str], sample_rate_hz: int | None = None) -> None:
        """Clear the view for a live session fed by :meth:`add_points` and :meth:`add_audio`."""
        self.set_labels(labels)
        self.envelope = GrowingEnvelope(sample_rate_hz) if sample_rate_hz else None
        self.live, self.end_s = True, 0.0
        self.set_detail(self._detail_chosen if self._detail_chosen is not None else True)
        self.set_follow(True)
        self.set_cursor(None)

    def set_live_audio_rate(self, sample_rate_hz: int) -> None:
        self.envelope = GrowingEnvelope(sample_rate_hz)

    def stop_live(self) -> None:
        self.live = False

    def show_recording(self, series: TimelineSeries, envelope: GrowingEnvelope | None,
                       duration_s: float) -> None:
        """Show a whole recording (series and envelope prepared off the GUI thread)."""
        self.set_labels(series.labels)
        self.series = series
        self.envelope = envelope
        self.live, self.end_s = False, duration_s
        self.set_detail(self._detail_chosen if self._detail_chosen is not None
                        else duration_s <= DETAIL_LINES_MAX_S)
        self.set_follow(False)
        self.fit()
        self._dirty = True
        self.redraw()

    def add_points(self, points: Sequence[TimelinePoint]) -> None:
        self.series.extend(points)
        if points:
            self.end_s = max(self.end_s, points[-1].end_s)
        self._dirty = True

    def add_audio(self, samples: np.ndarray) -> None:
        if self.live and self.envelope is not None and len(samples):
            self.envelope.append(samples)
            self.end_s = max(self.end_s, self.envelope.duration_s)
            self._dirty = True

    # ---- drawing ---------------------------------------------------------------------
    def redraw(self) -> None:
        """Push new data to the plots (cheap when nothing changed)."""
        if self._dirty:
            self.redraws += 1
            if self.live and self.follow:
                span = self.follow_minutes * 60
                right = max(self.end_s + FOLLOW_LEAD_S, min(span, 30.0))
                self.plot.setXRange(max(0.0, right - span), right, padding=0)
        if self._dirty or self._wave_dirty:
            self._draw_data()  # new data, or a new range: a new level of detail
            self._draw_wave()
        self._dirty = self._wave_dirty = False

    def _pixels(self) -> int:
        return max(200, int(self.plot.getViewBox().width()))

    def _draw_data(self) -> None:
        x0, x1 = self.plot.viewRange()[0]
        pixels = self._pixels()
        self._apply_axis()
        if self.rows_per_voice:
            self.voice_bands = {voice: self.series.dominant_bands(x0, x1, pixels, self.unsure_threshold, voice)
                                for voice in VOICE_ORDER}
            for voice, bands in self.voice_bands.items():
                self.voice_items[voice].set_bands(bands.starts_s, bands.ends_s, self._band_colours(bands))
            self.strip_bands = Bands(np.zeros(0), np.zeros(0), np.zeros(0, int), np.zeros(0, bool))
        else:
            if self.voice_bands:
                self.voice_bands = {}
                for item in self.voice_items.values():
                    item.set_bands(np.zeros(0), np.zeros(0), [])
            self.strip_bands = self.series.dominant_bands(x0, x1, pixels, self.unsure_threshold)
        bands = self.strip_bands
        self.strip_item.set_bands(bands.starts_s, bands.ends_s, self._band_colours(bands))
        starts, ends = self.series.speech_bands(x0, x1, pixels)
        self.speech_item.set_bands(starts, ends, [QColor(SPEECH_COLOUR)] * len(starts))
        if not self.detail:
            return
        # Never more points per line than pixels: a zoomed-out hour averages runs of points.
        t, probs = self.series.visible(x0, x1, pixels)
        # Lines break where there was no speech: those points have no probabilities (NaN).
        # An explicit connect array keeps pyqtgraph on its fast path (one path per curve).
        finite = np.isfinite(probs[:, 0]) if len(t) else np.zeros(0, bool)
        connect = np.r_[finite[:-1] & finite[1:], False] if len(t) else finite
        for i, curve in enumerate(self._curves):
            curve.setData(t, np.where(finite, probs[:, i], 0.0), connect=connect)

    def _band_colours(self, bands: Bands) -> list[QColor]:
        """Each band's colour: its emotion's, faint when the winner was unsure."""
        cache: dict[tuple[int, bool], QColor] = {}
        colours = []
        for code, sure in zip(bands.codes.tolist(), bands.sure.tolist()):
            if (code, sure) not in cache:
                colour = QColor(self.palette_.colour(self.series.labels[code]))
                if not sure:
                    colour.setAlphaF(UNSURE_ALPHA)
                cache[code, sure] = colour
            colours.append(cache[code, sure])
        return colours

    def _draw_wave(self) -> None:
        if self.envelope is None:
            self.wave_curve.setData([], [])
            return
        x0, x1 = self.plot.viewRange()[0]
        # One column per pixel at most, each the min and max of all its audio: the cost does
        # not grow with the session, and no peak falls between two pixels.
        pixels = max(200, int(self.wave.getViewBox().width()))
        starts, ends, mins, maxs = self.envelope.columns(x0, x1, pixels)
        self.wave_curve.setData(np.repeat((starts + ends) / 2, 2), np.column_stack([mins, maxs]).ravel())
        # Scale to the loudest visible audio, so quiet speech is still visible.
        peak = max(float(np.max(maxs, initial=0.0)), -float(np.min(mins, initial=0.0)), 0.02)
        self.wave.setYRange(-peak * 1.05, peak * 1.05, padding=0)

    def _range_changed(self, *args) -> None:
        self._wave_dirty = True

    # ---- cursor, playhead, following ------------------------------------------------------
    def set_cursor(self, t_s: float | None) -> None:
        for line in self.cursors:
            if t_s is None:
                line.hide()
            else:
                line.setValue(t_s)
                line.show()

    def set_playhead(self, t_s: float) -> None:
        """Put the cursor at ``t_s`` and, in a zoomed view, turn the page to keep it in sight
        (unless the user has moved the view away since the last jump or click)."""
        self.set_cursor(t_s)
        if self.live or not self._follow_playhead:
            return
        x0, x1 = self.plot.viewRange()[0]
        span = x1 - x0
        if span >= self.end_s or x0 <= t_s <= x0 + PAGE_AT * span:
            return
        left = min(max(t_s - PAGE_LEAD * span, -0.01 * span), self.end_s + 0.01 * span - span)
        self.plot.setXRange(left, left + span, padding=0)

    def reveal(self, t_s: float) -> None:
        """Put the cursor at ``t_s`` and bring it into view at the present zoom (live, the view
        stops following the live edge; Fit brings it back)."""
        if self.live:
            self.set_follow(False)
        self.set_cursor(t_s)
        x0, x1 = self.plot.viewRange()[0]
        if not x0 <= t_s <= x1:
            span = x1 - x0
            self.plot.setXRange(t_s - PAGE_LEAD * span, t_s + (1 - PAGE_LEAD) * span, padding=0)

    @property
    def cursor_s(self) -> float | None:
        line = self.cursors[0]
        return line.value() if line.isVisible() else None

    def set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.followChanged.emit(follow)
        self._dirty = True

    def _user_moved(self, *args) -> None:
        if self.live:
            self.set_follow(False)
        else:
            self._follow_playhead = False  # let the user look elsewhere while it plays

    # ---- mouse -------------------------------------------------------------------------
    def _time_at(self, scene_pos) -> float | None:
        for p in (self.plot, self.lines_plot, self.wave):
            if p.isVisible() and p.sceneBoundingRect().contains(scene_pos):
                return float(p.getViewBox().mapSceneToView(scene_pos).x())
        return None

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or event.double():
            return
        t_s = self._time_at(event.scenePos())
        if t_s is not None:
            t_s = max(0.0, t_s)
            self._follow_playhead = True
            self.set_cursor(t_s)  # the cursor moves now, whatever playback then takes
            self.seekRequested.emit(t_s)

    def _hovered(self, scene_pos) -> None:
        t_s = self._time_at(scene_pos)
        self.hover_label.setText(self.describe(t_s) if t_s is not None else " ")

    def describe(self, t_s: float) -> str:
        """What the hover line says about the moment ``t_s``: its time, the winning emotion
        (or that it was unsure, or silent) and the top probabilities."""
        if t_s < 0 or t_s > max(self.end_s, 0.0) or len(self.series) == 0:
            return format_clock(max(t_s, 0.0))
        edges = self.series.cell_edges()
        if not edges[0] <= t_s <= edges[-1]:
            return format_clock(t_s)
        point = self.series.points[self.series.index_at(t_s)]
        if not point.is_speech or not point.probabilities:
            return f"{format_clock(t_s)}  ·  no speech"
        top = sorted(point.probabilities.items(), key=lambda kv: -kv[1])[:HOVER_TOP]
        best, p_best = top[0]
        verdict = best if p_best >= self.unsure_threshold else f"unsure (best guess {best})"
        shares = "  ".join(f"{label} {p:.0%}" for label, p in top)
        whose = f"{voice_word(point.voice)}  ·  " if point.voice else ""
        return f"{format_clock(t_s)}  ·  {whose}{verdict}  ·  {shares}"
