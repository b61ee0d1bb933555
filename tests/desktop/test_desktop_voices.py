"""Enrolling a voice in the window and starting sessions from it (Settings → Enrol a voice…)."""
from __future__ import annotations

import stat

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import silence
from desktop_fakes import FakeSource
from model_factory import make_model
from moodline.desktop.widgets.enrol_dialog import EnrolVoiceDialog
from moodline.desktop.widgets.settings_dialog import SettingsDialog
from moodline.desktop.settings import DesktopSettings
from moodline.engine.analysis import analyze_file
from moodline.engine.features import FeatureSpec
from moodline.engine.model import EmotionModel
from moodline.engine.voices import enrolled_voice
from test_desktop_live import run_session


@pytest.fixture(scope="module")
def adapting(tmp_path_factory):
    spec = FeatureSpec(n_fft=400)
    return make_model(tmp_path_factory.mktemp("voices") / "adapting.onnx", window_s=2.0, spec=spec,
                      prior_windows=4.0, weights=np.random.default_rng(0).normal(0, 0.3, (spec.n_features, 8)))


def enrol(qtbot, model_path, audio, name="Sam"):
    made = []

    def source(device, rate):
        made.append(FakeSource(audio, speed=8.0))
        return made[-1]

    dialog = EnrolVoiceDialog(EmotionModel(model_path), source, "Test mic")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.record.isEnabled()  # a voice needs a name first
    qtbot.keyClicks(dialog.name, name)
    qtbot.mouseClick(dialog.record, 1)
    return dialog


def test_a_voice_is_enrolled_in_the_window_and_offered_in_settings(qtbot, adapting, conversation, private_voices):
    dialog = enrol(qtbot, adapting, np.concatenate([conversation, conversation]))
    assert "Recording Sam" in dialog.status.text()
    qtbot.waitUntil(lambda: dialog.enrolled == "Sam", timeout=20000)
    stored = private_voices / "Sam.wav"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert sf.info(stored).duration == pytest.approx(20.0, abs=0.05)

    settings = SettingsDialog(DesktopSettings(), enrol=lambda: None)
    qtbot.addWidget(settings)
    names = [settings.voice.itemText(i) for i in range(settings.voice.count())]
    assert names == ["None", "Sam"]  # "My voice": the user's own, or none
    assert not settings.shown_voices.isEnabled()  # whose emotion to show means nothing without it
    settings.voice.setCurrentIndex(1)
    assert settings.settings().voice == "Sam" and settings.shown_voices.isEnabled()
    settings.adapt.setChecked(False)  # the voice still tells the user from others without adapting
    assert settings.voice.isEnabledTo(settings)


def test_too_little_speech_is_said_in_the_dialog_and_nothing_is_kept(qtbot, adapting, speech, private_voices):
    dialog = enrol(qtbot, adapting, np.concatenate([speech, silence(30)]))
    qtbot.waitUntil(lambda: "nothing saved" in dialog.status.text(), timeout=20000)
    assert dialog.enrolled is None and dialog.isVisible()
    assert dialog.record.isEnabled()  # try again
    assert not list(private_voices.iterdir())


def test_a_session_starts_from_the_chosen_voice(qtbot, make_window, inputs, adapting, conversation, store):
    window = make_window(model=adapting)
    assert window.model.adapts
    dialog = enrol(qtbot, adapting, np.concatenate([conversation, conversation]))
    qtbot.waitUntil(lambda: dialog.enrolled == "Sam", timeout=20000)
    window.apply_settings(DesktopSettings(voice="Sam", model_path=str(adapting)))
    qtbot.waitUntil(lambda: window.model is not None, timeout=10000)  # the model is loaded again
    run_session(qtbot, window, inputs)
    folder = window.recording.folder
    live = [p for p in window.recording.timeline.points if p.is_speech]
    offline = analyze_file(folder / "audio.wav", window.model, window.settings.analysis,
                           enrolment=enrolled_voice("Sam", window.model))
    fresh = analyze_file(folder / "audio.wav", window.model, window.settings.analysis)
    first = lambda t: next(p for p in t.points if p.is_speech)  # noqa: E731
    labels = window.model.info.labels
    # Live, the session read the first words against Sam's voice, as offline with the voice does.
    assert max(abs(live[0].probabilities[k] - first(offline).probabilities[k]) for k in labels) < 1e-4
    assert max(abs(live[0].probabilities[k] - first(fresh).probabilities[k]) for k in labels) > 1e-3


def test_a_voice_no_longer_enrolled_stops_start_with_a_word_why(qtbot, make_window, inputs, adapting):
    window = make_window(model=adapting)
    window.apply_settings(DesktopSettings(voice="Gone", model_path=str(adapting)))
    qtbot.waitUntil(lambda: window.model is not None, timeout=10000)
    qtbot.mouseClick(window.start_button, 1)
    qtbot.wait(200)
    assert window.live is None and not inputs.sources
    assert "The voice 'Gone'" in window.banner.text() and "no longer enrolled" in window.banner.text()
