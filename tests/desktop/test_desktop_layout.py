"""The layout holds still: the readout panel keeps its width whatever it says, so the timeline
(and every click target on it) never moves; the legend wraps in a small window instead of
being cut; the window has a sensible minimum size."""
from __future__ import annotations

import pytest
from PyQt5.QtCore import QSize
from PyQt5.QtGui import QFontMetrics
from PyQt5.QtWidgets import QLabel

from moodline.desktop.main_window import MIN_WINDOW_PX
from moodline.engine.readout import EMOTION, LISTENING, NO_SPEECH, UNSURE, Readout

from desktop_fakes import wait_idle

READOUTS = [
    (Readout(EMOTION, "sad", 0.91), "Now"),
    (Readout(EMOTION, "surprised", 0.55), "At 0:01"),
    (Readout(UNSURE, None, 0.31, best_guess="disgust"), "Whole recording"),
    (Readout(NO_SPEECH), "At 1:02:03"),
    (Readout(LISTENING), "Now"),
    (Readout(EMOTION, "disappointment", 0.7), "At 12:34:56"),  # a longer label of another model
]


def test_the_readout_panel_keeps_its_width_whatever_it_shows(qtbot, window, conversation_wav):
    window.open_path(conversation_wav)
    wait_idle(qtbot, window)
    window.resize(1000, 640)
    qtbot.wait(50)
    panel, timeline = window.panel, window.timeline_view
    widths, timeline_x = [], []
    for readout, caption in READOUTS:
        panel.show_readout(readout, caption)
        qtbot.wait(20)  # the layout settles
        widths.append(panel.width())
        timeline_x.append(timeline.mapTo(window, timeline.rect().topLeft()).x())
        # The word is shown whole (smaller if need be), not cut.
        assert QFontMetrics(panel.word.font()).horizontalAdvance(panel.word.text()) <= panel.word.width()
    panel.show_idle("Could not start: audio input 'Built-in Audio Analog Stereo': cannot record "
                    "(Device unavailable [PaErrorCode -9985])")
    qtbot.wait(20)
    widths.append(panel.width())
    timeline_x.append(timeline.mapTo(window, timeline.rect().topLeft()).x())
    assert len(set(widths)) == 1 and len(set(timeline_x)) == 1, (widths, timeline_x)
    assert panel.detail.height() > 2 * panel.detail.fontMetrics().height()  # the long line wrapped


@pytest.mark.parametrize("size", [(800, 560), MIN_WINDOW_PX])
def test_every_legend_label_is_whole_in_a_small_window(qtbot, window, conversation_wav, size):
    window.open_path(conversation_wav)
    wait_idle(qtbot, window)
    window.resize(*size)
    qtbot.wait(50)
    assert window.size() == QSize(*size)  # the window can be that small
    legend = window.timeline_view.legend
    chips = [chip for chip in legend.findChildren(QLabel) if chip.isVisible()]
    names = [chip.text().rsplit(" ", 1)[-1] for chip in chips]
    assert names == list(window.recording.timeline.labels) + ["unsure", "speech"]
    for chip in chips:
        assert chip.width() >= chip.sizeHint().width(), chip.text()
        assert legend.rect().contains(chip.geometry()), (chip.text(), chip.geometry(), legend.rect())
        assert chip.visibleRegion().boundingRect() == chip.rect(), chip.text()  # nothing covers it
    graphics = window.timeline_view.graphics
    assert graphics.width() > 300 and graphics.height() > 150  # and the plots still have room


def test_the_window_has_a_sensible_minimum_size(window):
    window.resize(300, 200)
    assert (window.width(), window.height()) == MIN_WINDOW_PX
