"""Training-only augmentation: waveform effects that resemble real voices and microphones,
and SpecAugment masks on feature windows.

Each function takes mono float32 samples (or a feature window) and a ``numpy`` random
generator and returns a new array; nothing is changed in place. Validation and test data
never pass through this module: :func:`augmented_copy` is only called for training clips, and
the training dataset is the only caller of :func:`spec_augment`.
"""
from __future__ import annotations

import numpy as np


def add_noise(samples: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (10.0, 40.0)) -> np.ndarray:
    """Add white or pink-ish noise at a random signal-to-noise ratio (dB, against the clip's RMS)."""
    power = float(np.mean(samples**2)) + 1e-12
    snr = rng.uniform(*snr_db)
    noise = rng.standard_normal(len(samples)).astype(np.float32)
    if rng.random() < 0.5:  # pink-ish: a one-pole low-pass tilts the spectrum like room noise
        from scipy.signal import lfilter

        noise = lfilter([1.0], [1.0, -0.95], noise).astype(np.float32)
    noise *= np.sqrt(power / 10 ** (snr / 10) / (np.mean(noise**2) + 1e-12))
    return (samples + noise).astype(np.float32)


def random_gain(samples: np.ndarray, rng: np.random.Generator, gain_db: tuple[float, float] = (-12.0, 6.0)) -> np.ndarray:
    """Scale by a random gain in dB, clipped to [-1, 1] like a real converter."""
    return np.clip(samples * 10 ** (rng.uniform(*gain_db) / 20), -1.0, 1.0).astype(np.float32)


def pitch_shift(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int,
                semitones: tuple[float, float] = (-2.0, 2.0)) -> np.ndarray:
    """Shift pitch by a random number of semitones, keeping the duration."""
    import librosa

    steps = rng.uniform(*semitones)
    return librosa.effects.pitch_shift(samples, sr=sample_rate_hz, n_steps=steps, res_type="soxr_hq").astype(np.float32)


def time_stretch(samples: np.ndarray, rng: np.random.Generator, rate: tuple[float, float] = (0.85, 1.15)) -> np.ndarray:
    """Speak faster or slower by a random rate, keeping the pitch."""
    import librosa

    return librosa.effects.time_stretch(samples, rate=rng.uniform(*rate)).astype(np.float32)


def change_speed(samples: np.ndarray, rng: np.random.Generator, factor: tuple[float, float] = (0.9, 1.1)) -> np.ndarray:
    """Play faster or slower (pitch moves with it), as tape or Kaldi-style speed perturbation."""
    import soxr

    speed = rng.uniform(*factor)
    return soxr.resample(samples, 16000 * speed, 16000, quality="HQ").astype(np.float32)


def band_limit(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """Band-pass like a telephone, headset or laptop microphone (random edges)."""
    from scipy.signal import butter, sosfilt

    low = rng.uniform(80.0, 400.0)
    high = min(rng.uniform(3400.0, 7500.0), 0.45 * sample_rate_hz)
    sos = butter(4, [low, high], btype="bandpass", fs=sample_rate_hz, output="sos")
    return sosfilt(sos, samples).astype(np.float32)


def light_reverb(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int,
                 rt60_s: tuple[float, float] = (0.15, 0.5), wet: tuple[float, float] = (0.1, 0.4)) -> np.ndarray:
    """Convolve with a synthetic room response: exponentially decaying noise of a random RT60."""
    from scipy.signal import fftconvolve

    rt60 = rng.uniform(*rt60_s)
    t = np.arange(int(rt60 * sample_rate_hz)) / sample_rate_hz
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    mix = rng.uniform(*wet)
    out = (1 - mix) * samples + mix * fftconvolve(samples, tail)[: len(samples)]
    return out.astype(np.float32)


def augmented_copy(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """A randomly altered copy of a training clip: one tempo/pitch change, then channel effects.

    Each effect is drawn independently, so copies cover combinations (a faster, band-limited,
    noisy take; a lower, reverberant one; ...).
    """
    tempo_effects = (
        lambda x: pitch_shift(x, rng, sample_rate_hz),
        lambda x: time_stretch(x, rng),
        lambda x: change_speed(x, rng),
    )
    out = tempo_effects[rng.integers(len(tempo_effects))](samples)
    if rng.random() < 0.3:
        out = light_reverb(out, rng, sample_rate_hz)
    if rng.random() < 0.3:
        out = band_limit(out, rng, sample_rate_hz)
    if rng.random() < 0.6:
        out = add_noise(out, rng)
    return random_gain(out, rng)


def spec_augment(window: np.ndarray, rng: np.random.Generator, max_time_frac: float = 0.15,
                 max_freq_bands: int = 8, n_masks: int = 2, fill: float | None = None) -> np.ndarray:
    """SpecAugment-style masks on one ``(frames, features)`` window: ``n_masks`` time and
    ``n_masks`` frequency stripes set to ``fill`` (the window's mean unless given)."""
    out = window.copy()
    frames, bands = out.shape
    value = float(out.mean()) if fill is None else fill
    for _ in range(n_masks):
        width = rng.integers(0, max(1, int(max_time_frac * frames)) + 1)
        start = rng.integers(0, frames - width + 1)
        out[start:start + width] = value
        width = rng.integers(0, min(max_freq_bands, bands - 1) + 1)
        start = rng.integers(0, bands - width + 1)
        out[:, start:start + width] = value
    return out
