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


def test_noise_lands_within_the_requested_snr_against_the_speech_not_the_pauses(speech):
    with_pauses = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(RATE, np.float32)])
    for seed in range(4):
        noisy = augment.add_noise(with_pauses, np.random.default_rng(seed), snr_db=(20.0, 20.0))
        noise = noisy - with_pauses
        snr = 10 * np.log10(np.mean(speech**2) / np.mean(noise**2))
        assert snr == pytest.approx(20.0, abs=1.5)


def test_babble_is_several_voices_from_the_bank(tmp_path):
    import soundfile as sf

    t = np.arange(RATE) / RATE
    for speaker in range(4):
        folder = tmp_path / f"SPEAKER{speaker:04d}"
        folder.mkdir()
        sf.write(folder / "1.wav", (0.2 * np.sin(2 * np.pi * (120 + 40 * speaker) * t)).astype(np.float32), RATE)
    bank = augment.BabbleBank(str(tmp_path), RATE, max_speakers=3)
    assert bank.speakers == ["SPEAKER0000", "SPEAKER0001", "SPEAKER0002"]  # the fourth stays unheard
    babble = bank.babble(RATE // 2, np.random.default_rng(0), talkers=(3, 3))
    assert babble.shape == (RATE // 2,) and np.sqrt(np.mean(babble**2)) == pytest.approx(1.0, rel=1e-3)
    spectrum = np.abs(np.fft.rfft(babble))
    assert (spectrum > 0.2 * spectrum.max()).sum() >= 2  # more than one voice's pitch is in it


def test_the_cafe_condition_mixes_only_voices_training_never_heard_at_10_db(tmp_path, speech):
    import soundfile as sf

    from moodline.training.conditions import apply_condition

    t = np.arange(RATE) / RATE
    for speaker in range(5):
        folder = tmp_path / f"SPEAKER{speaker:04d}"
        folder.mkdir()
        sf.write(folder / "1.wav", (0.2 * np.sin(2 * np.pi * (120 + 40 * speaker) * t)).astype(np.float32), RATE)
    unheard = augment.BabbleBank(str(tmp_path), RATE, max_speakers=3, unheard=True)
    assert unheard.speakers == ["SPEAKER0003", "SPEAKER0004"]  # none of the training bank's three
    noisy = apply_condition(speech, "babble_10db", np.random.default_rng(0), RATE, unheard_voices=unheard)
    noise = noisy - speech
    assert 10 * np.log10(np.mean(speech**2) / np.mean(noise**2)) == pytest.approx(10.0, abs=1.5)
    with pytest.raises(ValueError, match="unheard voices"):
        apply_condition(speech, "babble_10db", np.random.default_rng(0), RATE)


def test_effects_change_the_signal_keep_it_finite_and_do_not_touch_the_input(speech):
    original = speech.copy()
    effects = {
        "gain": lambda x, r: augment.random_gain(x, r),
        "pitch": lambda x, r: augment.pitch_shift(x, r, RATE, semitones=(2.0, 2.0)),
        "stretch": lambda x, r: augment.time_stretch(x, r, rate=(1.2, 1.2)),
        "speed": lambda x, r: augment.change_speed(x, r, factor=(1.1, 1.1)),
        "band": lambda x, r: augment.band_limit(x, r, RATE),
        "reverb": lambda x, r: augment.light_reverb(x, r, RATE),
        "room": lambda x, r: augment.room_reverb(x, r, RATE),
        "microphone": lambda x, r: augment.microphone_colouring(x, r, RATE),
        "codec": lambda x, r: augment.lossy_codec(x, r, RATE),
        "noise": lambda x, r: augment.add_noise(x, r),
    }
    for name, effect in effects.items():
        out = effect(speech, np.random.default_rng(1))
        assert out.dtype == np.float32 and np.all(np.isfinite(out)), name
        assert len(out) != len(speech) or not np.allclose(out, speech, atol=1e-3), name
    np.testing.assert_array_equal(speech, original)
    assert len(augment.time_stretch(speech, np.random.default_rng(0), rate=(1.25, 1.25))) == pytest.approx(RATE / 1.25, rel=0.02)


def test_gain_spans_quiet_to_clipping(speech):
    gains = [np.max(np.abs(augment.random_gain(speech, np.random.default_rng(s)))) / np.max(np.abs(speech))
             for s in range(200)]
    assert min(gains) < 10 ** (-25 / 20)  # a distant microphone
    assert max(np.max(np.abs(augment.random_gain(speech, np.random.default_rng(s)))) for s in range(200)) == 1.0


def test_codec_and_room_keep_length_and_level(speech):
    for seed in range(6):
        rng = np.random.default_rng(seed)
        for effect in (augment.lossy_codec, augment.room_reverb):
            out = effect(speech, rng, RATE)
            assert len(out) == len(speech)
            level = 20 * np.log10(np.sqrt(np.mean(out**2)) / np.sqrt(np.mean(speech**2)))
            assert abs(level) < 3.0, effect.__name__


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
