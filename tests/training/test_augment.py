"""Augmentation changes training audio plausibly and reproducibly, and leaves its input alone."""
from __future__ import annotations

import numpy as np
import pytest

from moodline.training import augment

RATE = 16000


@pytest.fixture
def speech() -> np.ndarray:
    t = np.arange(RATE) / RATE
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_noise_lands_within_the_requested_snr(speech):
    rng = np.random.default_rng(0)
    noisy = augment.add_noise(speech, rng, snr_db=(20.0, 20.0))
    snr = 10 * np.log10(np.mean(speech**2) / np.mean((noisy - speech) ** 2))
    assert snr == pytest.approx(20.0, abs=0.5)


def test_effects_change_the_signal_keep_it_finite_and_do_not_touch_the_input(speech):
    original = speech.copy()
    effects = {
        "gain": lambda x, r: augment.random_gain(x, r),
        "pitch": lambda x, r: augment.pitch_shift(x, r, RATE, semitones=(2.0, 2.0)),
        "stretch": lambda x, r: augment.time_stretch(x, r, rate=(1.2, 1.2)),
        "speed": lambda x, r: augment.change_speed(x, r, factor=(1.1, 1.1)),
        "band": lambda x, r: augment.band_limit(x, r, RATE),
        "reverb": lambda x, r: augment.light_reverb(x, r, RATE),
    }
    for name, effect in effects.items():
        out = effect(speech, np.random.default_rng(1))
        assert out.dtype == np.float32 and np.all(np.isfinite(out)), name
        assert len(out) != len(speech) or not np.allclose(out, speech, atol=1e-3), name
    np.testing.assert_array_equal(speech, original)
    assert len(augment.time_stretch(speech, np.random.default_rng(0), rate=(1.25, 1.25))) == pytest.approx(RATE / 1.25, rel=0.02)


def test_pitch_shift_moves_the_pitch(speech):
    shifted = augment.pitch_shift(speech, np.random.default_rng(0), RATE, semitones=(12.0, 12.0))
    peak = lambda x: np.argmax(np.abs(np.fft.rfft(x)))  # noqa: E731
    assert peak(shifted) == pytest.approx(2 * peak(speech), rel=0.05)


def test_augmented_copies_are_reproducible_per_seed(speech):
    a = augment.augmented_copy(speech, np.random.default_rng(7), RATE)
    b = augment.augmented_copy(speech, np.random.default_rng(7), RATE)
    c = augment.augmented_copy(speech, np.random.default_rng(8), RATE)
    np.testing.assert_array_equal(a, b)
    assert len(a) != len(c) or not np.allclose(a, c)


def test_spec_augment_masks_stripes_with_the_fill_value():
    window = np.random.default_rng(0).normal(size=(100, 64)).astype(np.float32) + 5
    masked = augment.spec_augment(window, np.random.default_rng(3), max_time_frac=0.2, max_freq_bands=10, fill=0.0)
    assert masked.shape == window.shape
    zero_rows = np.all(masked == 0, axis=1).sum()
    zero_cols = np.all(masked == 0, axis=0).sum()
    assert zero_rows + zero_cols > 0
    assert zero_rows <= 2 * 20 and zero_cols <= 2 * 10
    assert np.all(window != 0)  # the input is unchanged
