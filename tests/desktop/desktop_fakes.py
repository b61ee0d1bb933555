"""Fake audio inputs for the desktop tests (no sound card needed)."""
from __future__ import annotations

import numpy as np

from moodline.engine.sources import FileReplaySource, InputDevice

RATE = 16000
TEST_MIC = InputDevice(0, "Test microphone", "ALSA", 1, RATE, True)
OTHER_MIC = InputDevice(1, "USB headset", "ALSA", 1, RATE, False)


class FakeSource(FileReplaySource):
    """A microphone for the window's tests: plays an array into the ring ``speed`` times real
    time, then silence, like a microphone in a quiet room; :meth:`vanish` unplugs it."""

    def __init__(self, audio: np.ndarray, device: InputDevice = TEST_MIC, speed: float = 8.0) -> None:
        super().__init__(audio, RATE, device=device, speed=speed)


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
