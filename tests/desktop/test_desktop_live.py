"""Listening live: Start, points on the timeline, Stop, and the session on disk."""
from __future__ import annotations

import json
import threading
import time

import soundfile as sf

from moodline.desktop.main_window import FRAME_MS
from moodline.engine.readout import EMOTION, NO_SPEECH, UNSURE
from moodline.engine.model import EmotionModel

from desktop_fakes import RATE, wait_idle


def run_session(qtbot, window, inputs):
    """Press Start, let the fake microphone play the whole conversation, press Stop."""
    qtbot.mouseClick(window.start_button, 1)
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    qtbot.waitUntil(lambda: inputs.sources[-1].done, timeout=20000)
    qtbot.wait(300)
    qtbot.mouseClick(window.stop_button, 1)
    wait_idle(qtbot, window)


def test_start_listen_stop_keeps_a_session(qtbot, window, inputs, conversation, conversation_speech_s):
    assert window.start_button.isEnabled() and not window.stop_button.isEnabled()
    qtbot.mouseClick(window.start_button, 1)
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    assert window.stop_button.isEnabled() and not window.start_button.isEnabled()
    assert not window.devices.isEnabled()  # the device cannot change under a running session
    qtbot.waitUntil(lambda: len(window.timeline_view.series) >= 4, timeout=10000)
    assert window.panel.readout.state in (EMOTION, NO_SPEECH, UNSURE)
    assert "Recording to" in window.status_session.text()
    qtbot.waitUntil(lambda: window.level.peak_db > -40, timeout=10000)  # the meter moved with speech
    qtbot.waitUntil(lambda: inputs.sources[-1].done, timeout=20000)
    qtbot.wait(300)
    qtbot.mouseClick(window.stop_button, 1)
    wait_idle(qtbot, window)

    assert window.live is None and window.start_button.isEnabled()
    series = window.timeline_view.series
    speech_times = series.times_s[series.speech]
    # Speech points lie where the conversation has speech, and both utterances are there.
    for start, end in conversation_speech_s:
        assert any(start <= t <= end for t in speech_times), (start, end, speech_times)
    assert not any(0.0 <= t < conversation_speech_s[0][0] - 1.0 for t in speech_times)

    folder = window.recording.folder
    assert folder.parent == window.sessions_root
    audio, rate = sf.read(folder / "audio.wav")
    assert rate == RATE and len(audio) >= len(conversation) - RATE // 2
    saved = json.loads((folder / "timeline.json").read_text())
    assert len(saved["timeline"]) == len(series)
    assert "session" in window.status_session.text().lower()


def test_live_redraws_at_most_30_times_a_second(qtbot, window, inputs):
    inputs.speed = 16.0
    window.timeline_view.redraws = 0
    started = time.monotonic()
    run_session(qtbot, window, inputs)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert len(window.timeline_view.series) > 30
    # Audio arrives every 20 ms / 16 and points many times a second; the plot is redrawn by
    # the frame timer only.
    assert window.timeline_view.redraws <= 1.1 * elapsed_ms / FRAME_MS + 3  # timer jitter


def test_inference_never_runs_on_the_gui_thread(qtbot, window, inputs, conversation_wav, monkeypatch):
    threads = set()
    original = EmotionModel.predict

    def spy(self, windows):
        threads.add(threading.get_ident())
        return original(self, windows)

    monkeypatch.setattr(EmotionModel, "predict", spy)
    run_session(qtbot, window, inputs)
    window.open_path(conversation_wav)
    wait_idle(qtbot, window)
    assert window.recording.source == str(conversation_wav)
    assert threads and threading.main_thread().ident not in threads


def test_the_live_timeline_follows_until_the_user_scrolls(qtbot, window, inputs):
    window.timeline_view.follow_minutes = 0.25
    qtbot.mouseClick(window.start_button, 1)
    qtbot.waitUntil(lambda: window.timeline_view.end_s > 20, timeout=10000)
    qtbot.wait(100)
    x0, x1 = window.timeline_view.plot.viewRange()[0]
    end = window.timeline_view.end_s
    assert x0 < end < x1 and abs((x1 - x0) - 15) < 0.5  # the last 15 s, live edge in view
    window.timeline_view._user_moved()  # what a mouse drag or wheel zoom reports
    assert not window.timeline_view.follow
    window.timeline_view.set_follow(True)
    assert window.timeline_view.follow
    window.stop()
    wait_idle(qtbot, window)
