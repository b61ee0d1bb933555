"""Fixtures every test folder shares: tiny models and generated audio (never corpus data)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence
from model_factory import make_model


@pytest.fixture(autouse=True)
def private_voices(tmp_path_factory, monkeypatch) -> Path:
    """Enrolled voices go to a folder of the test's own, never the user's."""
    folder = tmp_path_factory.mktemp("voices")
    monkeypatch.setenv("MOODLINE_VOICES_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """An 8-label model with 2 s windows that accepts any window length."""
    return make_model(tmp_path_factory.mktemp("models") / "tiny.onnx", window_s=2.0)


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> np.ndarray:
    """About 4 s of synthetic speech (espeak-ng), mono float32 at 16 kHz."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed for speech fixtures (scripts/system-packages --test)"
    wav = tmp_path_factory.mktemp("speech") / "espeak.wav"
    subprocess.run([espeak, "-w", str(wav), "-s", "150",
                    "Hello there, I am talking about the weather today, it is lovely and warm."],
                   check=True, capture_output=True)
    samples, rate = sf.read(wav, dtype="float32")
    import soxr

    return soxr.resample(samples, rate, RATE).astype(np.float32) * 0.8


@pytest.fixture(scope="session")
def conversation(speech) -> np.ndarray:
    """3 s silence, speech, 4 s silence, speech, 3 s silence (times in conversation_speech_s)."""
    return np.concatenate([silence(3), speech, silence(4), speech, silence(3)])


@pytest.fixture(scope="session")
def conversation_speech_s(speech) -> list[tuple[float, float]]:
    n = len(speech) / RATE
    return [(3.0, 3.0 + n), (7.0 + n, 7.0 + 2 * n)]


@pytest.fixture(scope="session")
def conversation_wav(tmp_path_factory, conversation) -> Path:
    path = tmp_path_factory.mktemp("audio") / "conversation.wav"
    sf.write(path, conversation, RATE)
    return path
