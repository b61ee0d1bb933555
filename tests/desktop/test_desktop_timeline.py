"""Reading a long recording on the timeline: a clock on the axis, the dominant-emotion strip,
a speech band that keeps every utterance, the app's own menu, and the keys a reader uses."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PyQt5.QtCore import QPointF, Qt
from PyQt5.QtGui import QColor, QContextMenuEvent, QImage, QPainter
from PyQt5.QtWidgets import QApplication, QMenu

from moodline.desktop.palette import Palette
from moodline.desktop.series import TimelineSeries
from moodline.desktop.widgets.timeline_view import (BACKGROUND, SPEECH_BAND, SPEECH_COLOUR, STRIP_BANDS,
                                                   TimelineView)
from moodline.engine.timeline import TimelinePoint, format_clock

from desktop_fakes import wait_idle
from long_recording import LABELS, synthetic_points

HOP_S, WINDOW_S = 0.5, 2.0
CLOCK = re.compile(r"^(\d+:)?\d{1,2}:\d\d$")


def point(k: int, label: str | None = None, p: float = 0.8) -> TimelinePoint:
    """The ``k``-th window; ``label`` wins with probability ``p`` (None: silence)."""
    start = k * HOP_S
    if label is None:
        return TimelinePoint(start, start + WINDOW_S, None, None, None, False)
    rest = (1 - p) / (len(LABELS) - 1)
    probs = {name: (p if name == label else rest) for name in LABELS}
    return TimelinePoint(start, start + WINDOW_S, probs, label, p, True)


def runs(*spec: tuple[str | None, int, float]) -> list[TimelinePoint]:
    """Points from runs of (label or None, number of windows, winning probability)."""
    labels = [(label, p) for label, n, p in spec for _ in range(n)]
    return [point(k, label, p) for k, (label, p) in enumerate(labels)]


def series_of(points) -> TimelineSeries:
    series = TimelineSeries(LABELS)
    series.extend(points)
    return series


@pytest.fixture
def view(qtbot):
    view = TimelineView(Palette())
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


def show(qtbot, view, points, duration_s=None):
    duration_s = duration_s if duration_s is not None else points[-1].end_s
    view.show_recording(series_of(points), None, duration_s)
    qtbot.wait(20)  # the layout settles: the plot has its real width
    view.redraw()
    return view


def render(view) -> QImage:
    view.redraw()
    return view.graphics.grab().toImage()


def pixel_at(view, image: QImage, t_s: float, y: float) -> QColor:
    """The colour drawn at time ``t_s``, height ``y`` of the strip plot."""
    scene = view.plot.getViewBox().mapViewToScene(QPointF(t_s, y))
    pos = view.graphics.mapFromScene(scene)
    return QColor(image.pixel(pos.x(), pos.y()))


def colours_near(view, image: QImage, t_s: float, y: float) -> set[str]:
    """The colours drawn within a pixel either side of time ``t_s`` (mapping a time to a
    pixel may round either way), at height ``y`` of the strip plot."""
    scene = view.plot.getViewBox().mapViewToScene(QPointF(t_s, y))
    pos = view.graphics.mapFromScene(scene)
    return {QColor(image.pixel(x, pos.y())).name() for x in (pos.x() - 1, pos.x(), pos.x() + 1)}


def drawn_tick_labels(axis) -> list[str]:
    """The tick labels pyqtgraph actually draws on ``axis``."""
    image = QImage(10, 10, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


# ---- time as a clock ------------------------------------------------------------------------
def test_the_time_axis_of_a_62_minute_recording_reads_as_a_clock(qtbot, view):
    show(qtbot, view, synthetic_points(62))
    axis = view.wave.getAxis("bottom")
    labels = drawn_tick_labels(axis)
    assert len(labels) >= 4 and all(CLOCK.match(text) for text in labels), labels
    assert "1:00:00" in labels and "30:00" in labels  # round steps, hours shown as h:mm:ss
    assert "ks" not in axis.labelString() and "(s)" not in axis.labelString()

    view.plot.setXRange(3000, 3120, padding=0)  # two minutes, from 50:00
    labels = drawn_tick_labels(axis)
    assert len(labels) >= 4 and all(CLOCK.match(text) for text in labels), labels
    assert {"50:30", "51:00", "51:30"} <= set(labels)


def test_hovering_tells_the_time_the_emotion_and_its_top_probabilities(qtbot, view):
    show(qtbot, view, runs((None, 4, 0), ("happy", 40, 0.7), ("sad", 40, 0.3)))
    for t_s, expected in ((10.0, r"^0:10  ·  happy  ·  happy 70%  \w+ 4%  \w+ 4%$"),
                          (30.0, r"^0:30  ·  unsure \(best guess sad\)  ·  sad 30%"),
                          (0.8, r"^0:01  ·  no speech$")):
        scene = view.plot.getViewBox().mapViewToScene(QPointF(t_s, 0.5))
        view.graphics.scene().sigMouseMoved.emit(scene)  # what moving the mouse there emits
        assert re.match(expected, view.hover_label.text()), view.hover_label.text()


# ---- the dominant-emotion strip -------------------------------------------------------------
def test_the_strip_has_one_band_per_run_in_the_emotions_colour(qtbot, view):
    palette = Palette()
    points = runs((None, 4, 0), ("happy", 12, 0.8), (None, 6, 0), ("sad", 10, 0.7), ("sad", 8, 0.3),
                  ("angry", 10, 0.9), ("happy", 6, 0.25))
    show(qtbot, view, points)
    bands = view.strip_bands
    assert [(LABELS[c], bool(s)) for c, s in zip(bands.codes, bands.sure)] == \
        [("happy", True), ("sad", True), ("sad", False), ("angry", True), ("happy", False)]
    # A band spans its windows' cells: from halfway between window centres to halfway.
    assert bands.starts_s[0] == pytest.approx(4 * HOP_S + WINDOW_S / 2 - HOP_S / 2)
    assert bands.ends_s[0] == pytest.approx(16 * HOP_S + WINDOW_S / 2 - HOP_S / 2)

    image = render(view)
    middle = (STRIP_BANDS[0] + STRIP_BANDS[1]) / 2
    drawn = [pixel_at(view, image, (a + b) / 2, middle) for a, b in zip(bands.starts_s, bands.ends_s)]
    assert drawn[0].name() == palette.colour("happy")
    assert drawn[1].name() == palette.colour("sad")
    assert drawn[3].name() == palette.colour("angry")
    # Unsure: the same emotion's colour, faded towards the background, not another colour.
    background, sad = QColor(BACKGROUND), QColor(palette.colour("sad"))
    faded = drawn[2]
    assert faded.name() not in (sad.name(), BACKGROUND)
    for channel in ("red", "green", "blue"):
        lo, hi = sorted((getattr(background, channel)(), getattr(sad, channel)()))
        assert lo - 2 <= getattr(faded, channel)() <= hi + 2
    # Silence is blank.
    silence_t = (bands.ends_s[0] + bands.starts_s[1]) / 2
    assert pixel_at(view, image, silence_t, middle).name() == BACKGROUND


def test_the_strip_and_speech_band_keep_every_short_utterance_when_zoomed_out(qtbot, view):
    """An hour with one half-second utterance every 30-60 s, drawn about 4 s to a pixel."""
    rng = np.random.default_rng(3)
    spoken = np.cumsum(rng.integers(60, 120, size=70))  # window indices, 30-60 s apart
    spoken = spoken[spoken < 7100]
    labels = {int(k): LABELS[i % len(LABELS)] for i, k in enumerate(spoken)}
    points = [point(k, labels.get(k)) for k in range(7200)]
    show(qtbot, view, points)
    x0, x1 = view.plot.viewRange()[0]
    assert (x1 - x0) / view.plot.getViewBox().width() > 3.0  # six windows or more to a pixel

    image = render(view)
    speech_y = (SPEECH_BAND[0] + SPEECH_BAND[1]) / 2
    strip_y = (STRIP_BANDS[0] + STRIP_BANDS[1]) / 2
    series = view.series
    for k in spoken:
        t_s = series.times_s[k]
        assert QColor(SPEECH_COLOUR).name() in colours_near(view, image, t_s, speech_y), t_s
        assert Palette().colour(labels[int(k)]) in colours_near(view, image, t_s, strip_y), t_s
    assert len(series.speech_bands(x0, x1, int(view.plot.getViewBox().width()))[0]) == len(spoken)
    # ... and what is silent stays blank.
    assert pixel_at(view, image, (series.times_s[spoken[0]] + series.times_s[spoken[1]]) / 2,
                    speech_y).name() == BACKGROUND


def test_zoomed_out_bands_never_lose_a_run_of_speech():
    """Whatever the zoom, every run of speech in view lies inside a drawn speech band and
    under a coloured strip band."""
    series = series_of(synthetic_points(30, seed=5))
    speech_runs = series.speech_bands(0, 1800, 10 ** 6)  # exact runs
    for x0, x1, pixels in ((0, 1800, 300), (0, 1800, 977), (250, 1400, 640), (700, 760, 200)):
        starts, ends = series.speech_bands(x0, x1, pixels)
        strip = series.dominant_bands(x0, x1, pixels, 0.4)
        for a, b in zip(*speech_runs):
            a, b = max(a, x0), min(b, x1)
            if b > a:
                assert np.any((starts <= a + 1e-9) & (ends >= b - 1e-9)), (x0, x1, a, b)
                covered = np.sum(np.clip(np.minimum(strip.ends_s, b) - np.maximum(strip.starts_s, a), 0, None))
                assert covered == pytest.approx(b - a), (x0, x1, a, b)
        assert np.all(np.diff(starts) > 0) and np.all(ends > starts)


def test_probability_lines_are_a_detail_layer_off_for_long_recordings(qtbot, view):
    show(qtbot, view, synthetic_points(62))
    assert not view.detail and not view.lines_plot.isVisible() and not view.detail_action.isChecked()
    view.detail_action.trigger()  # View ▸ Probability Lines
    view.redraw()
    assert view.detail and view.lines_plot.isVisible()
    assert all(len(curve.getData()[0]) > 100 for curve in view._curves)
    show(qtbot, view, synthetic_points(5))
    assert view.detail  # the user's choice stays for the next recording


def test_short_recordings_open_with_the_probability_lines(qtbot, view):
    show(qtbot, view, synthetic_points(5))
    assert view.detail and view.lines_plot.isVisible()


# ---- the app's own menu -----------------------------------------------------------------------
def test_right_click_shows_the_apps_menu_not_pyqtgraphs(qtbot, view):
    show(qtbot, view, synthetic_points(5))
    viewport = view.graphics.viewport()
    where = viewport.rect().center()
    qtbot.mouseClick(viewport, Qt.RightButton, pos=where)  # pyqtgraph raises its menu on this
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Mouse, where,
                                                       viewport.mapToGlobal(where)))
    qtbot.waitUntil(view.context_menu.isVisible, timeout=2000)
    texts = [a.text().replace("&", "") for a in view.context_menu.actions() if not a.isSeparator()]
    assert texts == ["Fit to Window", "Zoom In", "Zoom Out", "Probability Lines", "One Row per Voice", "Export View…"]
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert menus == [view.context_menu]  # and no pyqtgraph menu beside it
    view.context_menu.hide()
    with qtbot.waitSignal(view.exportRequested, timeout=1000):
        view.export_action.trigger()


# ---- keys -------------------------------------------------------------------------------------
def test_f_fits_and_plus_minus_zoom_around_the_cursor(qtbot, view):
    show(qtbot, view, synthetic_points(62))
    whole = view.plot.viewRange()[0]
    view.set_cursor(1800.0)
    qtbot.keyClick(view, Qt.Key_Plus)
    x0, x1 = view.plot.viewRange()[0]
    assert (x1 - x0) == pytest.approx((whole[1] - whole[0]) / 2, rel=0.02) and x0 < 1800 < x1
    for _ in range(8):
        qtbot.keyClick(view, Qt.Key_Plus)
    x0, x1 = view.plot.viewRange()[0]
    assert x1 - x0 < 30 and x0 < 1800 < x1
    qtbot.keyClick(view, Qt.Key_Minus)
    assert view.plot.viewRange()[0][1] - view.plot.viewRange()[0][0] == pytest.approx(2 * (x1 - x0), rel=0.02)
    qtbot.keyClick(view, Qt.Key_F)
    x0, x1 = view.plot.viewRange()[0]
    assert x0 <= 0 and x1 >= 62 * 60


def test_arrow_keys_go_from_segment_to_segment(qtbot, view):
    points = runs((None, 4, 0), ("happy", 12, 0.8), (None, 6, 0), ("sad", 10, 0.7), ("angry", 10, 0.9))
    show(qtbot, view, points)
    edges = view.series.cell_edges()
    happy, sad, angry = edges[4], edges[22], edges[32]
    jumps = []
    view.jumpRequested.connect(jumps.append)
    for _ in range(4):  # the last press has nowhere to go
        qtbot.keyClick(view, Qt.Key_Right)
    assert jumps == pytest.approx([happy, sad, angry]) and view.cursor_s == pytest.approx(angry)
    qtbot.keyClick(view, Qt.Key_Left)  # at a segment's start: the previous one
    assert view.cursor_s == pytest.approx(sad)
    view.set_cursor(sad + 3.0)
    qtbot.keyClick(view, Qt.Key_Left)  # inside a segment: back to its start
    assert view.cursor_s == pytest.approx(sad)


# ---- in the window, with playback ------------------------------------------------------------
def open_and_wait(qtbot, window, path):
    window.open_path(path)
    wait_idle(qtbot, window)
    assert window.recording is not None, window.banner.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def test_space_pauses_and_goes_on_from_the_same_place(qtbot, window, conversation_wav):
    open_and_wait(qtbot, window, conversation_wav)
    view = window.timeline_view
    window.playback.play_from(3.0)
    qtbot.waitUntil(lambda: window.player.position_s > 3.5, timeout=5000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.player.paused and not window.player.playing
    paused_at = window.player.position_s
    assert 3.3 < paused_at < 6.0  # what was heard: the device's buffered audio is not skipped
    qtbot.wait(300)
    assert window.player.position_s == paused_at and view.cursor_s == pytest.approx(paused_at)
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.player.playing
    assert paused_at <= window.player.position_s < paused_at + 0.3  # from there, not from the start
    qtbot.waitUntil(lambda: view.cursor_s > paused_at + 0.3, timeout=5000)
    window.stop()


def test_arrows_in_the_window_move_the_playhead_and_the_readout(qtbot, window, conversation_wav,
                                                               conversation_speech_s):
    open_and_wait(qtbot, window, conversation_wav)
    view, series = window.timeline_view, window.timeline_view.series
    view.set_cursor(0.0)
    qtbot.keyClick(window, Qt.Key_Right)
    first = view.cursor_s
    # The first segment starts with the first speech, about where the first utterance does.
    assert abs(first - conversation_speech_s[0][0]) < 2.0
    assert series.point_at(first).is_speech and not series.point_at(first - HOP_S).is_speech
    assert window.panel.caption.text() == f"At {format_clock(first)}"  # the readout is there too
    window.playback.play_from(first)
    qtbot.keyClick(window, Qt.Key_Right)
    second = view.cursor_s
    assert second > first and series.point_at(second).is_speech
    before = series.point_at(second - HOP_S)
    assert not before.is_speech or before.label != series.point_at(second).label
    assert window.player.playing and abs(window.player.position_s - second) < 0.3  # playing goes on there
    window.stop()


def test_a_zoomed_view_follows_the_playhead(qtbot, window, conversation_wav):
    open_and_wait(qtbot, window, conversation_wav)
    view = window.timeline_view
    view.plot.setXRange(0.0, 2.0, padding=0)  # the narrowest view
    window.playback.play_from(0.5)
    qtbot.waitUntil(lambda: view.cursor_s > 2.5, timeout=8000)  # past the view's right edge
    x0, x1 = view.plot.viewRange()[0]
    assert x0 <= view.cursor_s <= x1 and x1 - x0 == pytest.approx(2.0, rel=0.01)
    window.stop()
