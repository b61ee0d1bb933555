"""The device list shows the names the system gives its inputs (a PulseAudio/PipeWire server's
sources by description, not "pulse (ALSA)"), and Start records from the one shown (needs
scripts/test's PulseAudio, whose null sink's monitor is the default source)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from moodline.desktop.live import microphone
from moodline.desktop.main_window import scan_input_devices

from desktop_fakes import wait_idle

NULL_MONITOR = "Monitor of Null Output"  # how PulseAudio describes moodline_null.monitor


@pytest.fixture
def tone():
    """A 440 Hz tone playing into scripts/test's null sink (so its monitor hears it)."""
    assert shutil.which("pactl"), "PulseAudio tools are needed (scripts/system-packages --test)"
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True).stdout
    assert "moodline_null" in sinks, "run the tests through scripts/test, which starts PulseAudio"
    module = subprocess.run(["pactl", "load-module", "module-sine", "sink=moodline_null", "frequency=440"],
                            capture_output=True, text=True, check=True).stdout.strip()
    yield
    subprocess.run(["pactl", "unload-module", module], capture_output=True)


def test_the_device_list_names_sound_server_sources_and_start_records_from_one(qtbot, make_window, tone):
    window = make_window(source_factory=microphone, device_scanner=scan_input_devices)
    shown = [window.devices.combo.itemText(i) for i in range(window.devices.combo.count())]
    assert f"{NULL_MONITOR}  (PulseAudio)  · default" in shown
    assert not any(text.startswith(("pulse ", "default ")) for text in shown), shown
    assert window.devices.current_name() == NULL_MONITOR
    assert window.status_device.text() == f"input: {NULL_MONITOR}"

    window.start()
    qtbot.waitUntil(lambda: window.live is not None, timeout=10000)
    qtbot.waitUntil(lambda: window.level.peak_db > -30, timeout=10000)  # the tone is heard
    window.stop()
    wait_idle(qtbot, window)
    assert window.recording.source == f"input: {NULL_MONITOR}"
    assert window.store.value("device/name") == NULL_MONITOR  # remembered by the name shown
