"""The Keras port of Whisper tiny.en's encoder is Whisper: same front end, same states as the
CTranslate2 runtime that the weights were made for, on real speech (the demo recording)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodline.engine.audio import load_audio
from moodline.engine.features import features
from moodline.training.models import WHISPER_LOG_MEL

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo.flac"


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return load_audio(DEMO, 16000)


def whisper_scaled(log10_mel: np.ndarray) -> np.ndarray:
    """Whisper's own clamp and scaling of an input's log10-mel frames (openai/whisper audio.py)."""
    return (np.maximum(log10_mel, log10_mel.max() - 8.0) + 4.0) / 4.0


def test_whisper_log_mel_is_whispers_front_end(demo):
    import librosa

    clip = demo[: 5 * 16000]
    # Whisper: centred STFT (reflect padding), periodic Hann, power, Slaney mel filters, log10.
    power = np.abs(librosa.stft(clip, n_fft=400, hop_length=160, window="hann", center=True)) ** 2
    mel = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) @ power
    reference = np.log10(np.maximum(mel, 1e-10)).T
    # The engine's frames are not centred: 40 samples of lead-in put frame i on Whisper's frame i + 1.
    ours = features(np.concatenate([np.zeros(40, np.float32), clip]), WHISPER_LOG_MEL)
    n = min(len(ours), len(reference) - 1) - 2  # the last frames see Whisper's reflect padding
    np.testing.assert_allclose(ours[:n], reference[1:n + 1], atol=2e-3)


def test_ctranslate2_weights_parse_into_the_encoder_shapes():
    from moodline.training.whisper import encoder_weights

    w = encoder_weights()
    assert w["conv1/weight"].shape == (384, 80, 3) and w["conv2/weight"].shape == (384, 384, 3)
    assert w["position_encodings/encodings"].shape == (1500, 384)
    assert sum(f"layer_{i}/self_attention/linear_0/weight" in w for i in range(8)) == 4
    assert w.pop("num_heads") == 6  # tiny.en's heads, read from the file, not assumed
    assert all(v.dtype == np.float32 and np.all(np.isfinite(v)) for v in w.values())


@pytest.mark.parametrize("frames", [3000, 198])  # Whisper's own 30 s input, and a 2 s window
def test_keras_encoder_matches_ctranslate2_on_speech(demo, frames):
    import ctranslate2

    from moodline.training.whisper import default_weights_path, whisper_encoder

    audio = np.concatenate([demo, np.zeros(30 * 16000, np.float32)])[: (frames - 1) * 160 + 400]
    log10_mel = features(audio, WHISPER_LOG_MEL)[:frames]
    assert log10_mel.shape == (frames, 80)
    whisper = ctranslate2.models.Whisper(str(default_weights_path().parent), device="cpu", compute_type="float32")
    scaled = np.ascontiguousarray(whisper_scaled(log10_mel).T[None], dtype=np.float32)
    expected = np.asarray(whisper.encode(ctranslate2.StorageView.from_array(scaled)))
    states = whisper_encoder()(log10_mel[None])
    ours = np.asarray(states[-1])
    assert ours.shape == expected.shape == (1, frames // 2, 384)
    assert np.max(np.abs(ours - expected)) < 1e-3 * np.max(np.abs(expected))
