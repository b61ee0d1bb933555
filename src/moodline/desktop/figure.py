"""A figure of a timeline for papers and reports, as PNG or SVG, drawn apart from the screen.

The window's plots show whatever the user zoomed to, with a playhead and a dark theme; a
figure shows a chosen stretch (by default the whole recording) on white, whatever the view:
a title, the file's name, its length and speech time, the mix of emotions in words, the
dominant-emotion strip over the speech band, one probability line per emotion, a time axis in
m:ss / h:mm:ss and a legend. The strip, the band and the lines are aggregated at the figure's
own resolution by the same code as the screen (:mod:`.series`), so no utterance is lost in an
hour. The file is written atomically and privately (:func:`~moodline.engine.fileio.atomic_write`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QPolygonF
from PyQt5.QtSvg import QSvgGenerator

from moodline.engine.errors import MoodlineError
from moodline.engine.fileio import atomic_write
from moodline.engine.timeline import Summary, format_clock

from .palette import Palette
from .series import TimelineSeries
from .widgets.timeline_view import SPEECH_COLOUR, UNSURE_ALPHA, ClockAxis

FIGURE_SUFFIXES = (".png", ".svg")
TITLE = "Speech emotion over time"
WIDTH = 1000.0  # the figure's width in its own units (SVG user units, PNG pixels / PNG_SCALE)
PHYSICAL_WIDTH_MM = 180.0  # a full page width in most journals; fonts are sized for it
PNG_SCALE = 2.5  # PNG pixels per unit: 2500 px wide, about 350 dpi at PHYSICAL_WIDTH_MM
LEFT, RIGHT, TOP, BOTTOM = 96.0, 24.0, 18.0, 14.0
STRIP_H, SPEECH_H, LINES_H = 64.0, 10.0, 250.0
INK, MUTED, GRID, FRAME = "#202428", "#5a6068", "#e3e6ea", "#9aa1a9"
TITLE_PX, TEXT_PX, SMALL_PX = 22, 15, 13
MIN_TICK_LABEL_UNITS = 78.0  # room for "1:00:00" and a gap


@dataclass(frozen=True)
class FigureContent:
    """What a figure shows: the ``series`` from ``start_s`` to ``end_s``, described by the
    recording's ``file_name`` and its whole-recording ``summary``, in ``palette``'s colours."""

    series: TimelineSeries
    start_s: float
    end_s: float
    duration_s: float
    file_name: str
    summary: Summary
    palette: Palette
    unsure_threshold: float
    model_name: str = ""
    title: str = TITLE

    @property
    def whole(self) -> bool:
        return self.start_s <= 0.0 and self.end_s >= self.duration_s


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(px)
    font.setBold(bold)
    return font


class _Layout:
    """Where each part of the figure goes, in figure units (the height follows the legend)."""

    def __init__(self, content: FigureContent) -> None:
        self.plot_left, self.plot_right = LEFT, WIDTH - RIGHT
        y = TOP
        self.title_y = y + TITLE_PX
        y += TITLE_PX + 10
        self.file_y = y + TEXT_PX
        y += TEXT_PX + 8
        self.breakdown_y = y + TEXT_PX
        y += TEXT_PX + 18
        self.strip = QRectF(self.plot_left, y, self.plot_right - self.plot_left, STRIP_H)
        y += STRIP_H + 5
        self.speech = QRectF(self.plot_left, y, self.strip.width(), SPEECH_H)
        y += SPEECH_H + 16
        self.lines = QRectF(self.plot_left, y, self.strip.width(), LINES_H)
        y += LINES_H + 6
        self.tick_label_y = y + SMALL_PX + 2
        y += SMALL_PX + 8
        self.axis_title_y = y + SMALL_PX + 2
        y += SMALL_PX + 18
        self.legend_top = y
        self.legend_rows = _legend_rows(_legend_items(content), self.plot_right - LEFT)
        y += 24.0 * len(self.legend_rows)
        self.height = y + BOTTOM


def _legend_items(content: FigureContent) -> list[tuple[str, str]]:
    """(kind, text) of the legend's entries: one per emotion, then what faint and the speech band mean."""
    items = [("label", label) for label in content.series.labels]
    items.append(("unsure", f"faint: unsure (below {content.unsure_threshold:.0%})"))
    items.append(("speech", "speech"))
    return items


def _legend_rows(items: list[tuple[str, str]], width: float) -> list[list[tuple[str, str, float]]]:
    """The entries wrapped into rows that fit ``width``: (kind, text, entry width)."""
    metrics = QFontMetricsF(_font(TEXT_PX))
    rows: list[list[tuple[str, str, float]]] = [[]]
    used = 0.0
    for kind, text in items:
        entry = 22 + metrics.horizontalAdvance(text) + 22
        if rows[-1] and used + entry > width:
            rows.append([])
            used = 0.0
        rows[-1].append((kind, text, entry))
        used += entry
    return rows


def figure_size(content: FigureContent) -> tuple[float, float]:
    """The figure's (width, height) in figure units; independent of any view's zoom."""
    return WIDTH, _Layout(content).height


def paint_figure(painter: QPainter, content: FigureContent, scale: float = 1.0) -> None:
    """Draw the figure in figure units onto ``painter`` (its device is ``scale`` times bigger)."""
    layout = _Layout(content)
    painter.save()
    painter.scale(scale, scale)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, WIDTH, layout.height), QColor("white"))
    _paint_header(painter, content, layout)
    bins = max(200, int(layout.strip.width() * scale))
    _paint_time_grid(painter, content, layout)
    _paint_strip(painter, content, layout, bins)
    _paint_lines(painter, content, layout, bins)
    _paint_time_axis(painter, content, layout)
    _paint_legend(painter, content, layout)
    painter.restore()


def _text(painter: QPainter, x: float, baseline_y: float, text: str, px: int = TEXT_PX, colour: str = INK,
          bold: bool = False, align_right: bool = False, centre: bool = False) -> None:
    painter.setFont(_font(px, bold))
    painter.setPen(QColor(colour))
    width = QFontMetricsF(painter.font()).horizontalAdvance(text)
    if align_right:
        x -= width
    elif centre:
        x -= width / 2
    painter.drawText(QPointF(x, baseline_y), text)


def _paint_header(painter: QPainter, content: FigureContent, layout: _Layout) -> None:
    _text(painter, LEFT, layout.title_y, content.title, TITLE_PX, bold=True)
    summary = content.summary
    facts = [content.file_name, f"length {format_clock(content.duration_s)}",
             f"speech {format_clock(summary.speech_s)}"]
    if content.model_name:
        facts.append(f"model {content.model_name}")
    if not content.whole:
        facts.append(f"shown {format_clock(content.start_s)}–{format_clock(content.end_s)}")
    _text(painter, LEFT, layout.file_y, "   ·   ".join(facts), colour=MUTED)
    _text(painter, LEFT, layout.breakdown_y, f"Whole recording: {summary.breakdown()}")


def _x(content: FigureContent, layout: _Layout, t_s: np.ndarray | float):
    span = max(content.end_s - content.start_s, 1e-9)
    return layout.plot_left + (np.asarray(t_s) - content.start_s) / span * (layout.plot_right - layout.plot_left)


def _paint_bands(painter: QPainter, content: FigureContent, layout: _Layout, rect: QRectF,
                 starts: np.ndarray, ends: np.ndarray, colours: list[QColor]) -> None:
    painter.setPen(Qt.NoPen)
    lo = _x(content, layout, np.clip(starts, content.start_s, content.end_s))
    hi = _x(content, layout, np.clip(ends, content.start_s, content.end_s))
    for x0, x1, colour in zip(lo.tolist(), hi.tolist(), colours):
        if x1 > x0:
            painter.fillRect(QRectF(x0, rect.top(), x1 - x0, rect.height()), colour)


def _paint_strip(painter: QPainter, content: FigureContent, layout: _Layout, bins: int) -> None:
    series = content.series
    bands = series.dominant_bands(content.start_s, content.end_s, bins, content.unsure_threshold)
    colours = []
    for code, sure in zip(bands.codes.tolist(), bands.sure.tolist()):
        colour = QColor(content.palette.colour(series.labels[code]))
        if not sure:
            colour.setAlphaF(UNSURE_ALPHA)
        colours.append(colour)
    _paint_bands(painter, content, layout, layout.strip, bands.starts_s, bands.ends_s, colours)
    starts, ends = series.speech_bands(content.start_s, content.end_s, bins)
    _paint_bands(painter, content, layout, layout.speech, starts, ends, [QColor(SPEECH_COLOUR)] * len(starts))
    painter.setPen(QPen(QColor(FRAME), 0.8))
    painter.setBrush(Qt.NoBrush)
    painter.drawRect(layout.strip)
    _text(painter, LEFT - 10, layout.strip.center().y() + SMALL_PX / 3, "emotion", SMALL_PX, MUTED, align_right=True)
    _text(painter, LEFT - 10, layout.speech.center().y() + SMALL_PX / 3, "speech", SMALL_PX, MUTED, align_right=True)


def _paint_lines(painter: QPainter, content: FigureContent, layout: _Layout, bins: int) -> None:
    rect = layout.lines
    for p in (0.0, 0.5, 1.0):
        _text(painter, LEFT - 8, rect.bottom() - p * rect.height() + SMALL_PX / 3, f"{p:g}", SMALL_PX, MUTED,
              align_right=True)
    painter.save()
    painter.translate(LEFT - 44, rect.center().y())
    painter.rotate(-90)
    _text(painter, 0, 0, "probability", SMALL_PX, MUTED, centre=True)
    painter.restore()
    times, probs = content.series.visible(content.start_s, content.end_s, bins)
    if len(times):
        xs = _x(content, layout, times)
        speech = np.isfinite(probs[:, 0])
        painter.save()
        painter.setClipRect(rect.adjusted(0, -2, 0, 2))
        for i, label in enumerate(content.series.labels):
            ys = rect.bottom() - np.nan_to_num(probs[:, i]) * rect.height()
            pen = QPen(QColor(content.palette.colour(label)), 1.4)
            pen.setJoinStyle(Qt.RoundJoin)
            pen.setCapStyle(Qt.RoundCap)
            painter.setPen(pen)
            # One polyline per run of speech (no speech: the line breaks). Polylines, not one
            # path: stroking a path of thousands of crossing segments takes seconds.
            breaks = np.flatnonzero(np.diff(np.r_[False, speech, False].astype(np.int8)))
            for first, last in zip(breaks[::2].tolist(), breaks[1::2].tolist()):
                painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in
                                                zip(xs[first:last].tolist(), ys[first:last].tolist())]))
        painter.restore()
    painter.setPen(QPen(QColor(FRAME), 0.8))
    painter.setBrush(Qt.NoBrush)
    painter.drawRect(rect)


def clock_ticks(start_s: float, end_s: float, width: float) -> list[float]:
    """Round times (1 s, 5 s, 1 min, 15 min, 1 h …) for an axis ``width`` units wide, far
    enough apart for a label each; the same steps as the window's time axis."""
    span = max(end_s - start_s, 1e-9)
    step = next((major for major, _ in ClockAxis.STEPS if major * width / span >= MIN_TICK_LABEL_UNITS),
                ClockAxis.STEPS[-1][0])
    first = math.ceil(max(start_s, 0.0) / step - 1e-9) * step
    return [float(t) for t in np.arange(first, end_s + 1e-9, step)]


def _paint_time_grid(painter: QPainter, content: FigureContent, layout: _Layout) -> None:
    """Faint lines under the probability lines: a vertical one per tick, three across."""
    rect = layout.lines
    painter.setPen(QPen(QColor(GRID), 0.8))
    for t in clock_ticks(content.start_s, content.end_s, layout.plot_right - layout.plot_left):
        x = float(_x(content, layout, t))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
    for p in (0.25, 0.5, 0.75):
        y = rect.bottom() - p * rect.height()
        painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))


def _paint_time_axis(painter: QPainter, content: FigureContent, layout: _Layout) -> None:
    ticks = clock_ticks(content.start_s, content.end_s, layout.plot_right - layout.plot_left)
    bottom = layout.lines.bottom()
    for t in ticks:
        x = float(_x(content, layout, t))
        painter.setPen(QPen(QColor(FRAME), 0.8))
        painter.drawLine(QPointF(x, bottom), QPointF(x, bottom + 5))
        _text(painter, x, layout.tick_label_y, format_clock(t), SMALL_PX, MUTED, centre=True)
    unit = "h:mm:ss" if content.end_s >= 3599.5 else "m:ss"
    _text(painter, (layout.plot_left + layout.plot_right) / 2, layout.axis_title_y, f"time ({unit})", SMALL_PX,
          MUTED, centre=True)


def _paint_legend(painter: QPainter, content: FigureContent, layout: _Layout) -> None:
    faint = QColor("#888888")
    faint.setAlphaF(UNSURE_ALPHA)
    y = layout.legend_top
    for row in layout.legend_rows:
        x = LEFT
        for kind, text, width in row:
            painter.setPen(Qt.NoPen)
            if kind == "label":
                painter.fillRect(QRectF(x, y + 2, 14, 14), QColor(content.palette.colour(text)))
            elif kind == "unsure":
                painter.fillRect(QRectF(x, y + 2, 14, 14), faint)
            else:
                painter.fillRect(QRectF(x, y + 6, 14, 6), QColor(SPEECH_COLOUR))
            _text(painter, x + 20, y + 14, text)
            x += width
        y += 24


def render_png(content: FigureContent, scale: float = PNG_SCALE) -> QImage:
    """The figure as an image ``scale`` pixels per figure unit (white background)."""
    width, height = figure_size(content)
    image = QImage(round(width * scale), round(height * scale), QImage.Format_ARGB32)
    image.fill(QColor("white"))
    dots_per_metre = round(width * scale / (PHYSICAL_WIDTH_MM / 1000))
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    painter = QPainter(image)
    paint_figure(painter, content, scale)
    painter.end()
    return image


def svg_bytes(content: FigureContent) -> bytes:
    """The figure as SVG (text as text, so a journal's editor can still change it)."""
    width, height = figure_size(content)
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(round(width), round(height)))
    generator.setViewBox(QRect(0, 0, round(width), round(height)))
    generator.setResolution(round(width / (PHYSICAL_WIDTH_MM / 25.4)))
    generator.setTitle(content.title)
    generator.setDescription(f"{content.file_name}: {content.summary.breakdown()} (Moodline)")
    painter = QPainter(generator)
    paint_figure(painter, content)
    painter.end()
    return bytes(buffer.data())


def save_figure(path: str | os.PathLike, content: FigureContent) -> Path:
    """Write the figure as PNG or SVG, by the extension of ``path``, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return atomic_write(path, svg_bytes(content))
    if suffix == ".png":
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        if not render_png(content).save(buffer, "PNG"):
            raise MoodlineError(f"{path}: cannot make the picture")
        buffer.close()
        return atomic_write(path, bytes(data))
    raise MoodlineError(f"{path}: unknown figure format '{suffix}' (use .png or .svg)")
