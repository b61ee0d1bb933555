"""Things going wrong: a clear message in the window, nothing recorded lost, no restart needed."""
from __future__ import annotations

import soundfile as sf

from moodline.engine.errors import MoodlineError

from desktop_fakes import OTHER_MIC, wait_idle


def test_no_input_device_says_so_and_still_opens_recordings(qtbot, make_window, inputs, conversation_wav):
    inputs.devices = []
    window = make_window(wait_model=False)
    qtbot.waitUntil(lambda: window.model is not None and window.banner.kind == "error", timeout=10000)
    assert "No audio input device" in window.banner.text()
    assert not window.start_button.isEnabled()
    assert window.status_device.text() == "input: none"
    window.open_path(conversation_wav)
    wait_idle(qtbot, window)
    assert window.recording is not None

    inputs.devices = [OTHER_MIC]  # plugged in: "Look again" finds it
    window.refresh_devices()
    qtbot.waitUntil(lambda: window.start_button.isEnabled(), timeout=5000)
    assert window.banner.kind == ""


def test_a_vanishing_device_keeps_the_session_and_lets_the_user_go_on(qtbot, window, inputs):
    inputs.speed = 4.0
    window.start()
    qtbot.waitUntil(lambda: len(window.timeline_view.series) >= 6, timeout=10000)
    inputs.sources[-1].vanish()
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=5000)
    wait_idle(qtbot, window)
    text = window.banner.text()
    assert "stopped delivering audio" in text and "kept" in text
    assert window.live is None and window.start_button.isEnabled()
    kept = window.recording
    assert len(kept.timeline.points) >= 6 and len(window.timeline_view.series) >= 6
    audio, _ = sf.read(kept.folder / "audio.wav")
    assert len(audio) > 0 and (kept.folder / "timeline.json").is_file()

    window.devices.combo.setCurrentIndex(1)  # another device, no restart
    window.start()
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    assert inputs.sources[-1].device == OTHER_MIC
    window.stop()
    wait_idle(qtbot, window)
    assert kept.folder.is_dir() and window.recording.folder != kept.folder


def test_a_device_that_cannot_open_gives_a_message(qtbot, window, inputs):
    inputs.fail_with = MoodlineError("audio input 'Test microphone': cannot record (device busy)")
    window.start()
    wait_idle(qtbot, window)
    assert "Could not start listening" in window.banner.text() and "device busy" in window.banner.text()
    assert window.live is None and window.start_button.isEnabled()


def test_a_model_that_fails_to_load_can_be_replaced(qtbot, make_window, tmp_path, model_path, store):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    window = make_window(model=bad, wait_model=False)
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=10000)
    assert "could not be loaded" in window.banner.text() and "bad.onnx" in window.banner.text()
    assert not window.start_button.isEnabled() and not window.open_action.isEnabled()
    assert window.status_model.text() == "model: none"

    window.apply_settings(window.settings.__class__(model_path=str(model_path)))
    qtbot.waitUntil(lambda: window.model is not None, timeout=10000)
    assert window.banner.kind == "" and window.start_button.isEnabled()
    assert window.status_model.text() == f"model: {model_path.name}"
    assert window.status_provider.text() in ("CPU", "GPU (CUDA)")
