"""The message banner is taken back by topic, not by its words; the level meter reads its own
samples."""
from __future__ import annotations

import numpy as np
import pytest

from moodline.desktop.widgets.banner import MessageBanner, Topic
from moodline.desktop.widgets.level_meter import FLOOR_DB, LEVEL_WINDOW_S, LevelMeter

RATE = 16000


def test_a_message_is_cleared_only_by_its_own_topic(qtbot):
    banner = MessageBanner()
    qtbot.addWidget(banner)
    # Words that name another topic ("model", "input device") no longer decide what clears it.
    banner.show_message(Topic.RECORDING, "Could not open the recording: the model's input device log is bad")
    banner.clear(Topic.MODEL)
    banner.clear(Topic.DEVICE)
    assert banner.kind == "error" and "Could not open" in banner.text() and not banner.isHidden()
    banner.clear(Topic.RECORDING)
    assert banner.kind == "" and banner.text() == "" and banner.isHidden()


def test_the_close_button_dismisses_any_message(qtbot):
    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.show_message(Topic.EXPORT, "Export failed: disk full", "error")
    banner._close.click()
    assert banner.kind == "" and banner.topic is None and banner.isHidden()


def test_the_level_meter_shows_the_newest_audio_not_the_whole_block(qtbot):
    meter = LevelMeter()
    qtbot.addWidget(meter)
    t = np.arange(round(LEVEL_WINDOW_S * RATE)) / RATE
    loud = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # RMS 0.354: -9 dBFS
    quiet = np.zeros(RATE, dtype=np.float32)
    meter.add_samples(np.concatenate([quiet, loud]), RATE)
    assert meter.level_db == pytest.approx(-9.03, abs=0.1)
    meter.add_samples(np.concatenate([loud, quiet]), RATE)  # the loud part is long past
    assert meter.level_db == FLOOR_DB
    assert meter.peak_db > -10  # the peak mark falls slowly
    meter.add_samples(np.zeros(0, dtype=np.float32), RATE)  # no new audio this frame: no change
    assert meter.level_db == FLOOR_DB
