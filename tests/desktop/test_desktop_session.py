"""Live sessions on disk: written as they go, readable after a crash (no Qt)."""
from __future__ import annotations

import json
import time

import numpy as np
import soundfile as sf

from moodline.desktop.recording import open_session
from moodline.desktop.session import AUDIO_FILE, FLUSH_S, POINTS_FILE, SessionInfo, SessionRecorder
from moodline.engine.ringbuffer import RingBuffer
from moodline.engine.timeline import TimelinePoint

RATE = 16000


def test_a_crash_loses_at_most_the_last_second(tmp_path):
    ring = RingBuffer(10 * RATE)
    info = SessionInfo("input: test", "model.onnx", ["a", "b"], RATE)
    recorder = SessionRecorder(tmp_path, info, ring, ring.written)
    recorder.start()
    tone = (0.3 * np.sin(np.arange(3 * RATE) / 10)).astype(np.float32)
    for i in range(0, len(tone), 320):
        ring.write(tone[i:i + 320])
    for k in range(4):
        recorder.add_point(TimelinePoint(k * 0.5, k * 0.5 + 2, {"a": 0.7, "b": 0.3}, "a", 0.7, True))
    time.sleep(FLUSH_S * 2.5)
    # "Crash": the recorder is never stopped; read what is on disk as it is.
    audio, rate = sf.read(tmp_path / AUDIO_FILE, dtype="float32")
    assert rate == RATE and len(audio) >= len(tone) - RATE
    assert np.allclose(audio[:RATE], tone[:RATE], atol=1e-3)
    lines = (tmp_path / POINTS_FILE).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["label"] == "a"

    reopened = open_session(tmp_path)  # no timeline.json: rebuilt from the autosave
    assert len(reopened.timeline.points) == 4 and reopened.timeline.labels == ("a", "b")
    assert len(reopened.audio) >= len(tone) - RATE
    recorder.stop()
