"""A Start that fails leaves nothing behind (no session folder) and says so where the emotion
would be, rather than "Waiting for speech" while nothing runs; the next Start works."""
from __future__ import annotations

import pytest

from moodline.desktop.live import microphone
from moodline.engine.errors import MoodlineError
from moodline.engine.sources import InputDevice

from desktop_fakes import FakeSource, wait_idle


class UnopenableSource(FakeSource):
    """A device that is listed but cannot be opened (busy, or gone since the list was made).
    Its stop() fails too, as a half-made stream's may: the user must still hear why."""

    def start(self) -> None:
        raise MoodlineError(f"audio input '{self.device.name}': cannot record (Device unavailable)")


def sessions_left(window) -> list:
    root = window.sessions_root
    return sorted(root.iterdir()) if root.exists() else []


def assert_failed_honestly(window, reason: str) -> None:
    assert sessions_left(window) == []
    assert window.live is None and window.start_button.isEnabled()
    shown = window.panel.detail.text()
    assert shown.startswith("Could not start: ") and reason in shown, shown
    assert "speech" not in shown.lower()
    assert window.panel.readout is None  # no emotion, no "no speech": nothing was heard
    assert window.banner.kind == "error" and reason in window.banner.text()


@pytest.mark.parametrize("how", ["device cannot open", "device name unknown"])
def test_a_failed_start_leaves_no_session_and_says_why(qtbot, make_window, inputs, how):
    if how == "device cannot open":  # fails after the session folder was made
        factory = lambda device, rate: UnopenableSource(inputs.audio)  # noqa: E731
        reason = "Device unavailable"
    else:  # the real microphone source, asked for a device PortAudio does not have
        factory = microphone
        inputs.devices = [InputDevice(97, "Bogus microphone 97", "ALSA", 1, 16000, True)]
        reason = "audio input: no input device"  # "named 'Bogus…'", or "found" on a machine without any
    window = make_window(source_factory=factory)
    window.start()
    wait_idle(qtbot, window)
    assert_failed_honestly(window, reason)

    window.source_factory = inputs.make  # a device that opens: the next Start records
    window.start()
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    window.stop()
    wait_idle(qtbot, window)
    assert len(sessions_left(window)) == 1 and window.recording.folder == sessions_left(window)[0]
