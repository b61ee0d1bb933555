"""The emotion timeline (one line per emotion, speech strip beneath) over a waveform strip.

Points and audio are appended to arrays as they arrive; :meth:`TimelineView.redraw` pushes
them to the plots and is called by the window's frame timer (about 30 fps), never per block.
Live, the view follows the last ``follow_minutes``; dragging or zooming with the mouse lets
the user roam the whole session, and :meth:`set_follow` brings the live edge back. A click
asks for playback from that moment (:attr:`seekRequested`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from moodline.engine.timeline import TimelinePoint

from ..palette import Palette
from ..series import EnvelopeLevels, GrowingEnvelope, TimelineSeries

BACKGROUND = "#15181c"
SPEECH_STRIP = (-0.11, -0.04)  # y extent of the speech / silence strip under the lines
FOLLOW_LEAD_S = 2.0  # empty space kept right of the live edge
WAVE_COLOUR = "#6c7a89"
CURSOR_COLOUR = "#ffd166"
SPEECH_COLOUR = "#3f4a55"
AXIS_WIDTH_PX = 56


class LegendBar(QWidget):
    """A row of coloured chips naming each emotion's line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self._layout.setSpacing(14)

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
        speech = QLabel(f'<span style="color:{SPEECH_COLOUR}; font-size:14pt">▬</span> speech')
        self._layout.addWidget(speech)
        self._layout.addStretch(1)


class TimelineView(QWidget):
    seekRequested = pyqtSignal(float)
    followChanged = pyqtSignal(bool)

    def __init__(self, palette: Palette, follow_minutes: float = 2.0, parent=None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.follow_minutes = follow_minutes
        self.follow = True
        self.live = False
        self.series = TimelineSeries()
        self.envelope: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.live_envelope: GrowingEnvelope | None = None
        self.end_s = 0.0  # the live edge / the recording's length
        self.redraws = 0  # how often the plots were actually updated (tests, benchmark)
        self._dirty = False
        self._wave_dirty = False
        self._levels: EnvelopeLevels | None = None
        self._curves: list[pg.PlotDataItem] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.legend = LegendBar()
        layout.addWidget(self.legend)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        layout.addWidget(self.graphics, 1)

        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setLabel("left", "probability")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(SPEECH_STRIP[0] - 0.02, 1.02, padding=0)
        self.plot.setLimits(xMin=-5, yMin=-0.2, yMax=1.1, minXRange=2.0)
        self.plot.hideButtons()
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.plot.getAxis("left").setWidth(AXIS_WIDTH_PX)
        self.plot.getAxis("bottom").setStyle(showValues=False)  # the waveform strip's axis has the times
        self.speech_curve = pg.PlotCurveItem(x=[0.0, 0.0], y=[SPEECH_STRIP[0]], stepMode="center",
                                             fillLevel=SPEECH_STRIP[0],
                                             brush=pg.mkBrush(SPEECH_COLOUR), pen=pg.mkPen(None))
        self.plot.addItem(self.speech_curve)

        self.graphics.nextRow()
        self.wave = self.graphics.addPlot(row=1, col=0)
        self.wave.setXLink(self.plot)
        self.wave.setMouseEnabled(x=True, y=False)
        self.wave.setYRange(-1, 1, padding=0.05)
        self.wave.setLabel("left", "audio")
        self.wave.getAxis("left").setStyle(showValues=False, tickLength=0)
        self.wave.getAxis("left").enableAutoSIPrefix(False)
        self.wave.getAxis("left").setWidth(AXIS_WIDTH_PX)  # same as above: times line up
        self.wave.setLabel("bottom", "time", units="s")
        self.wave.hideButtons()
        self.wave.setMaximumHeight(110)
        self.wave.getViewBox().setLimits(xMin=-5)
        # One vertical line per envelope bucket, from its minimum to its maximum.
        self.wave_curve = pg.PlotCurveItem(pen=pg.mkPen(WAVE_COLOUR, width=1), connect="pairs",
                                           skipFiniteCheck=True)
        self.wave.addItem(self.wave_curve)
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)

        self.cursors = []
        for p in (self.plot, self.wave):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=2))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.cursors.append(line)

        for vb in (self.plot.getViewBox(), self.wave.getViewBox()):
            vb.sigRangeChangedManually.connect(self._user_moved)
        self.plot.sigXRangeChanged.connect(self._range_changed)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.set_labels(())

    # ---- content ---------------------------------------------------------------------
    def set_labels(self, labels: Sequence[str]) -> None:
        for curve in self._curves:
            self.plot.removeItem(curve)
        self._curves = [
            pg.PlotCurveItem(pen=pg.mkPen(self.palette_.colour(label), width=1.5), skipFiniteCheck=True,
                             name=label)
            for label in labels
        ]
        for curve in self._curves:
            self.plot.addItem(curve)
        self.legend.set_labels(labels, self.palette_)
        self.series.clear(labels)
        self._dirty = True

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        for curve, label in zip(self._curves, self.series.labels):
            curve.setPen(pg.mkPen(palette.colour(label), width=2))
        self.legend.set_labels(self.series.labels, palette)

    def start_live(self, labels: Sequence[str], sample_rate_hz: int | None = None) -> None:
        """Clear the view for a live session fed by :meth:`add_points` and :meth:`add_audio`."""
        self.set_labels(labels)
        self.envelope, self._levels = None, None
        self.live_envelope = GrowingEnvelope(sample_rate_hz) if sample_rate_hz else None
        self.live, self.end_s = True, 0.0
        self.set_follow(True)
        self.set_cursor(None)

    def set_live_audio_rate(self, sample_rate_hz: int) -> None:
        self.live_envelope = GrowingEnvelope(sample_rate_hz)

    def stop_live(self) -> None:
        self.live = False

    def show_recording(self, series: TimelineSeries, envelope, duration_s: float) -> None:
        """Show a whole recording (series and envelope prepared off the GUI thread)."""
        self.set_labels(series.labels)
        self.series = series
        self.envelope, self.live_envelope = envelope, None
        self._levels = EnvelopeLevels(*envelope) if envelope is not None and len(envelope[0]) else None
        self.live, self.end_s = False, duration_s
        self.set_follow(False)
        self.plot.setXRange(0, max(duration_s, 2.0), padding=0.01)
        self._dirty = True
        self.redraw()

    def add_points(self, points: Sequence[TimelinePoint]) -> None:
        self.series.extend(points)
        if points:
            self.end_s = max(self.end_s, points[-1].end_s)
        self._dirty = True

    def add_audio(self, samples: np.ndarray) -> None:
        if self.live_envelope is not None and len(samples):
            self.live_envelope.append(samples)
            self.end_s = max(self.end_s, self.live_envelope.arrays()[0][-1:].max(initial=0.0))
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
            self._draw_lines()
            if self.live_envelope is not None:
                self._levels = EnvelopeLevels(*self.live_envelope.arrays())
        if self._wave_dirty and not self._dirty:
            self._draw_lines()  # the visible range changed: new level of detail
        if self._dirty or self._wave_dirty:
            self._draw_wave()
        self._dirty = self._wave_dirty = False

    def _draw_lines(self) -> None:
        x0, x1 = self.plot.viewRange()[0]
        # Never more points per line than pixels: a zoomed-out hour averages runs of points.
        t, probs = self.series.visible(x0, x1, max(200, int(self.plot.width())))
        # Lines break where there was no speech: those points have no probabilities (NaN).
        # An explicit connect array keeps pyqtgraph on its fast path (one path per curve).
        finite = np.isfinite(probs[:, 0]) if len(t) else np.zeros(0, bool)
        connect = np.r_[finite[:-1] & finite[1:], False] if len(t) else finite
        for i, curve in enumerate(self._curves):
            curve.setData(t, np.where(finite, probs[:, i], 0.0), connect=connect)
        edges, levels = self.series.speech_steps()
        lo, hi = SPEECH_STRIP
        if len(levels):
            self.speech_curve.setData(edges, lo + (hi - lo) * levels)
        else:
            self.speech_curve.setData([0.0, 0.0], [lo])

    def _draw_wave(self) -> None:
        if self._levels is None:
            self.wave_curve.setData([], [])
            return
        x0, x1 = self.plot.viewRange()[0]
        t, mins, maxs = self._levels.visible(x0, x1, max(200, int(2 * self.wave.width())))
        self.wave_curve.setData(np.repeat(t, 2), np.column_stack([mins, maxs]).ravel())
        # Scale to the loudest visible audio, so quiet speech is still visible.
        peak = max(float(np.max(maxs, initial=0.0)), -float(np.min(mins, initial=0.0)), 0.02)
        self.wave.setYRange(-peak * 1.05, peak * 1.05, padding=0)

    def _range_changed(self, *args) -> None:
        self._wave_dirty = True

    def set_cursor(self, t_s: float | None) -> None:
        for line in self.cursors:
            if t_s is None:
                line.hide()
            else:
                line.setValue(t_s)
                line.show()

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

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or event.double():
            return
        for p in (self.plot, self.wave):
            if p.sceneBoundingRect().contains(event.scenePos()):
                x = p.getViewBox().mapSceneToView(event.scenePos()).x()
                self.seekRequested.emit(max(0.0, float(x)))
                return
