import librosa
import numpy as np
import pytest

from moodline.engine.features import FeatureSpec, features, log_mel, mfcc


@pytest.fixture
def noise():
    return np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 0.1


def test_log_mel_matches_librosa(noise):
    spec = FeatureSpec()
    ours = log_mel(noise, spec)  # our own filterbank and window, librosa as the reference
    reference = librosa.power_to_db(librosa.feature.melspectrogram(
        y=noise, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64,
        fmin=50, fmax=8000, center=False), top_db=None).T
    assert ours.shape == reference.shape == (97, 64)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-3)


def test_mfcc_matches_librosa(noise):
    spec = FeatureSpec(kind="mfcc", n_mfcc=20)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(
        y=noise, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64,
        fmin=50, fmax=8000, center=False), top_db=None)
    np.testing.assert_allclose(mfcc(noise, spec), librosa.feature.mfcc(S=mel_db, n_mfcc=20).T, atol=1e-2)
    assert features(noise, spec).shape == (97, 20)


def test_frames_do_not_depend_on_how_the_audio_was_split(noise):
    spec = FeatureSpec()
    whole = features(noise, spec)
    cut = spec.frames_in(7000)
    parts = np.concatenate([features(noise[:7000], spec), features(noise[cut * spec.hop_length:], spec)])
    np.testing.assert_allclose(whole, parts, atol=1e-4)
    np.testing.assert_array_equal(whole, features(noise, spec))  # deterministic


def test_a_tone_lights_up_the_mel_band_of_its_frequency():
    t = np.arange(16000) / 16000
    spec = FeatureSpec()
    low = log_mel(np.sin(2 * np.pi * 300 * t).astype(np.float32), spec).mean(axis=0)
    high = log_mel(np.sin(2 * np.pi * 4000 * t).astype(np.float32), spec).mean(axis=0)
    assert np.argmax(low) < 20 < np.argmax(high)


def test_too_short_input_gives_no_frames():
    assert features(np.zeros(100, np.float32), FeatureSpec()).shape == (0, 64)


@pytest.mark.parametrize("bad", [
    {"kind": "chroma"}, {"win_length": 1024}, {"fmax_hz": 9000.0}, {"kind": "mfcc", "n_mfcc": 0},
])
def test_impossible_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        FeatureSpec(**bad)


@pytest.mark.parametrize("spec", [FeatureSpec(), FeatureSpec(sample_rate_hz=22050, n_fft=1024, n_mels=128,
                                                             fmin_hz=0.0, fmax_hz=11025.0)])
def test_filterbank_window_and_dct_are_librosas(spec):
    import scipy.fft

    from moodline.engine.features import dct_matrix, hann_window, mel_filterbank

    reference = librosa.filters.mel(sr=spec.sample_rate_hz, n_fft=spec.n_fft, n_mels=spec.n_mels,
                                    fmin=spec.fmin_hz, fmax=spec.fmax_hz)
    np.testing.assert_allclose(mel_filterbank(spec), reference, atol=1e-6)
    window = librosa.util.pad_center(librosa.filters.get_window("hann", spec.win_length), size=spec.n_fft)
    np.testing.assert_allclose(hann_window(spec), window, atol=1e-7)
    np.testing.assert_allclose(dct_matrix(13, 40), scipy.fft.dct(np.eye(40), norm="ortho", axis=0)[:13], atol=1e-12)


def test_the_runtime_does_not_import_librosa():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from moodline.engine.features import features, FeatureSpec;"
            "features(np.zeros(16000, np.float32), FeatureSpec(kind='mfcc', n_mfcc=13));"
            "sys.exit('librosa' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
