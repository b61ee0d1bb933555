"""Input devices: listed by the names the system gives them (a PulseAudio/PipeWire server's
sources by description, recorded from the one chosen), and looked for again for ones plugged
in since start-up without disturbing an input that is recording (needs scripts/test's
PulseAudio, whose null sink's monitor is the default source)."""
from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from moodline.engine import sources
from moodline.engine.sources import InputDevice

NULL_MONITOR = "Monitor of Null Output"  # how PulseAudio describes scripts/test's moodline_null.monitor


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
    assert names

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


@pytest.fixture
def other_sink(pulse):
    """A second null sink, described "MoodlineTestDesk", with a 440 Hz tone playing into it."""
    loaded = [subprocess.run(["pactl", "load-module", *args], capture_output=True, text=True, check=True).stdout.strip()
              for args in (["module-null-sink", "sink_name=moodline_other",
                            "sink_properties=device.description=MoodlineTestDesk"],
                           ["module-sine", "sink=moodline_other", "frequency=440"])]
    yield "Monitor of MoodlineTestDesk"
    for module in reversed(loaded):
        subprocess.run(["pactl", "unload-module", module], capture_output=True)


def loudness(*devices: str, seconds: float = 0.6) -> list[float]:
    """RMS of what each input records, all at once, over the last half second of ``seconds``."""
    mics = [sources.MicrophoneSource(device=device, preferred_rate_hz=16000) for device in devices]
    try:
        for mic in mics:
            mic.start()
        for mic in mics:
            wait_for_audio(mic)
        time.sleep(seconds)
        heard = [mic.ring.read(max(0, mic.ring.written - 8000))[1] for mic in mics]
    finally:
        for mic in mics:
            mic.stop()
    return [float(np.sqrt(np.mean(samples * samples))) for samples in heard]


def test_sound_server_sources_are_listed_by_their_names_and_record_from_there(other_sink):
    devices = sources.input_devices(rescan=True)
    names = [d.name for d in devices]
    assert NULL_MONITOR in names and other_sink in names
    assert "pulse" not in names and "default" not in names  # the bridges are not shown
    [default] = [d for d in devices if d.is_default]
    assert default.name == NULL_MONITOR and default.host_api == "PulseAudio"  # the server's default
    assert default.pulse_source == "moodline_null.monitor"

    # The tone plays into the other sink only: its monitor hears it, the default source does not.
    tone, quiet = loudness(other_sink, NULL_MONITOR)
    assert tone > 0.1 and quiet < 0.01, (tone, quiet)
    assert "PULSE_SOURCE" not in __import__("os").environ  # put back after the stream opened
    assert sources.find_input_device("pulse").name == "pulse"  # the bridge by its own name still works
    assert sources.find_input_device("testdesk").name == other_sink  # and part of a name


def test_without_pactl_or_a_bridge_the_list_is_portaudio_s(pulse, monkeypatch):
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)
    assert "pulse" in [d.name for d in sources.input_devices()]

    # Windows, macOS: no "pulse" bridge, so pactl is never asked (even where it exists).
    core_audio = [InputDevice(0, "MacBook Pro Microphone", "Core Audio", 1, 48000, True)]
    monkeypatch.setattr(sources, "_portaudio_input_devices", lambda rescan=False: core_audio)
    monkeypatch.setattr(sources.subprocess, "run", lambda *a, **k: pytest.fail("pactl was run"))
    assert sources.input_devices() == core_audio


def test_older_pactl_text_is_read_too():
    text = """Source #0
\tState: SUSPENDED
\tName: alsa_input.pci-0000_00_1f.3.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tDriver: module-alsa-card.c
\tSample Specification: s16le 2ch 44100Hz
\tProperties:
\t\tdevice.description = "Built-in Audio Analog Stereo"
Source #1
\tName: alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
\tDescription: Monitor of Built-in Audio Analog Stereo
\tSample Specification: s16le 1ch 48000Hz
"""
    assert sources.parse_pactl_sources(text) == [
        ("alsa_input.pci-0000_00_1f.3.analog-stereo", "Built-in Audio Analog Stereo", 2),
        ("alsa_output.pci-0000_00_1f.3.analog-stereo.monitor", "Monitor of Built-in Audio Analog Stereo", 1)]
