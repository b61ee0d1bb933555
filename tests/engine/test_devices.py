"""Input devices through PortAudio: listing, and looking again for ones plugged in since
start-up without disturbing an input that is recording (needs scripts/test's PulseAudio)."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from moodline.engine import sources


@pytest.fixture(scope="module")
def pulse():
    assert shutil.which("pactl"), "PulseAudio tools are needed (scripts/system-packages --test)"
    info = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    assert "moodline_null" in info.stdout, "run the tests through scripts/test, which starts PulseAudio"


def wait_for_audio(mic, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while mic.ring.written == 0:
        assert time.monotonic() < deadline, "the input delivered no audio"
        time.sleep(0.01)


def test_a_rescan_restarts_portaudio_only_while_no_input_is_open(pulse, monkeypatch):
    import sounddevice

    restarts = []
    original = sounddevice._terminate
    monkeypatch.setattr(sounddevice, "_terminate", lambda: (restarts.append(1), original())[1])
    names = [d.name for d in sources.input_devices()]
    assert "pulse" in names

    mic = sources.MicrophoneSource(device="pulse")
    mic.start()
    try:
        wait_for_audio(mic)
        assert [d.name for d in sources.input_devices(rescan=True)] == names
        assert restarts == []  # a restart would have closed the open input
        written = mic.ring.written
        time.sleep(0.3)
        assert mic.active and mic.ring.written > written  # still recording
    finally:
        mic.stop()

    assert [d.name for d in sources.input_devices(rescan=True)] == names
    assert restarts == [1]
    again = sources.MicrophoneSource(device="pulse")  # PortAudio works after its restart
    again.start()
    try:
        wait_for_audio(again)
    finally:
        again.stop()
