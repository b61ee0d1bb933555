"""Fake audio inputs for the desktop tests (no sound card needed)."""
from __future__ import annotations

import threading
import time

import numpy as np

from moodline.engine.ringbuffer import RingBuffer
from moodline.engine.sources import InputDevice

RATE = 16000
TEST_MIC = InputDevice(0, "Test microphone", "ALSA", 1, RATE, True)
OTHER_MIC = InputDevice(1, "USB headset", "ALSA", 1, RATE, False)


class FakeSource:
    """A stand-in for MicrophoneSource: plays an array into the ring ``speed`` times real time,
    then silence, like a microphone in a quiet room; :meth:`vanish` unplugs it."""

    BLOCK = 320  # 20 ms, as PortAudio blocks

    def __init__(self, audio: np.ndarray, device: InputDevice = TEST_MIC, speed: float = 8.0) -> None:
        self.audio, self.device, self.speed = audio, device, speed
        self.sample_rate_hz = RATE
        self.ring = RingBuffer(30 * RATE)
        self.overflows = 0
        self.fed = 0  # samples written
        self._running = False
        self._gone = False
        self._thread = threading.Thread(target=self._feed, daemon=True)

    @property
    def active(self) -> bool:
        return self._running and not self._gone

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._thread.join(5)

    def vanish(self) -> None:
        self._gone = True

    @property
    def done(self) -> bool:
        return self.fed >= len(self.audio)

    def _feed(self) -> None:
        pos = 0
        while self._running and not self._gone:
            block = self.audio[pos:pos + self.BLOCK]
            if len(block) < self.BLOCK:
                block = np.concatenate([block, np.zeros(self.BLOCK - len(block), np.float32)])
            self.ring.write(block)
            pos += self.BLOCK
            self.fed = pos
            time.sleep(self.BLOCK / RATE / self.speed)


class FakeInputs:
    """The source factory and device scanner a test window uses; records what it made."""

    def __init__(self, audio: np.ndarray, devices=(TEST_MIC, OTHER_MIC), speed: float = 8.0) -> None:
        self.audio, self.devices, self.speed = audio, list(devices), speed
        self.sources: list[FakeSource] = []
        self.fail_with: Exception | None = None

    def scan(self):
        return list(self.devices)

    def make(self, device: str | None, preferred_rate_hz: int) -> FakeSource:
        if self.fail_with is not None:
            raise self.fail_with
        chosen = next(d for d in self.devices if d.name == device)
        source = FakeSource(self.audio, chosen, self.speed)
        self.sources.append(source)
        return source


def wait_idle(qtbot, window, timeout=20000):
    """Wait until the window has no job running (starting, stopping, analysing, ...)."""
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)
