"""Listening conditions a model is scored under besides the clean recording: noise of kinds
training never used, a microphone 20 dB hotter, and a telephone line.

Each condition turns a test clip into the version a user might record; it is applied to test
clips only and seeded by the clip, so every model is scored on the very same audio. Training
augmentation (:mod:`.augment`) uses white, pink and brown noise and babble; the noises here are
other kinds on purpose (machine hum, music, passing traffic), so the score measures robustness
to noise the model has not learnt to ignore. Babble is the exception a café forces on us: the
``babble_10db`` condition mixes voices of speakers no part of training heard (the unlabelled
set's held-out speakers) over pink noise, so it measures other people talking, not memorised
voices.
"""
from __future__ import annotations

import numpy as np

from .augment import BabbleBank, active_power, coloured_noise

# Variant numbers in the window cache: 0 is the clip as recorded, 1..n augmented training
# copies, and these the test conditions.
CONDITIONS = {"noise_10db": 101, "gain_20db": 102, "telephone": 103, "babble_10db": 104}
NOISE_SNR_DB = 10.0
GAIN_DB = 20.0
NOISE_KINDS = ("hum", "music", "traffic")


def _hum(n: int, rng: np.random.Generator, rate_hz: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz and its harmonics) with a machine's whine, wavering slightly."""
    t = np.arange(n) / rate_hz
    mains = rng.choice([50.0, 60.0])
    wobble = 1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    out = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains * k * t * wobble + rng.uniform(0, 6.3))
              for k in range(1, 12))
    whine = rng.uniform(800.0, 3000.0)
    return out + 0.3 * np.sin(2 * np.pi * whine * t * wobble)


def _music(n: int, rng: np.random.Generator, rate_hz: int) -> np.ndarray:
    """Plucked notes and chords on a random scale, a new one every 0.15–0.6 s."""
    out = np.zeros(n)
    position = 0
    while position < n:
        length = int(rng.uniform(0.15, 0.6) * rate_hz)
        t = np.arange(min(length * 3, n - position)) / rate_hz
        for semitone in rng.choice(24, size=rng.integers(1, 4), replace=False):
            f0 = 110.0 * 2 ** (semitone / 12)
            note = sum(np.sin(2 * np.pi * f0 * k * t) / k**1.5 for k in range(1, 8))
            out[position:position + len(t)] += note * np.exp(-t * rng.uniform(2.0, 6.0))
        position += length
    return out


def _traffic(n: int, rng: np.random.Generator, rate_hz: int) -> np.ndarray:
    """Low rumble that swells and fades as vehicles pass."""
    from scipy.signal import butter, sosfilt

    rumble = sosfilt(butter(2, rng.uniform(200.0, 600.0), btype="lowpass", fs=rate_hz, output="sos"),
                     rng.standard_normal(n))
    t = np.arange(n) / rate_hz
    swell = np.zeros(n)
    for _ in range(max(1, int(n / rate_hz / 2))):
        centre, width = rng.uniform(0, n / rate_hz), rng.uniform(0.5, 2.0)
        swell += np.exp(-0.5 * ((t - centre) / width) ** 2)
    return rumble * (0.3 + swell)


def unseen_noise(samples: np.ndarray, rng: np.random.Generator, rate_hz: int,
                 snr_db: float = NOISE_SNR_DB) -> np.ndarray:
    """``samples`` with one of :data:`NOISE_KINDS` added at ``snr_db`` against the speech level."""
    kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
    noise = {"hum": _hum, "music": _music, "traffic": _traffic}[kind](len(samples), rng, rate_hz)
    noise *= np.sqrt(active_power(samples) / 10 ** (snr_db / 10) / (np.mean(noise**2) + 1e-12))
    return (samples + noise).astype(np.float32)


def cafe(samples: np.ndarray, rng: np.random.Generator, voices: BabbleBank, snr_db: float = NOISE_SNR_DB) -> np.ndarray:
    """``samples`` in a café: 3–8 unheard voices talking at once over pink noise 6 dB below them,
    together at ``snr_db`` against the speech level."""
    n = len(samples)
    noise = voices.babble(n, rng) + 10 ** (-6 / 20) * coloured_noise(n, rng, 1.0)
    noise *= np.sqrt(active_power(samples) / 10 ** (snr_db / 10) / (np.mean(noise**2) + 1e-12))
    return (samples + noise).astype(np.float32)


def hot_gain(samples: np.ndarray, gain_db: float = GAIN_DB) -> np.ndarray:
    """``gain_db`` louder, clipped at full scale as a converter would."""
    return np.clip(samples * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def telephone(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """A landline: 300–3400 Hz, 8 kHz sampling with G.711 µ-law companding, back at ``rate_hz``."""
    import soxr
    from scipy.signal import butter, sosfilt

    band = sosfilt(butter(4, [300.0, 3400.0], btype="bandpass", fs=rate_hz, output="sos"), samples)
    narrow = np.clip(soxr.resample(band.astype(np.float32), rate_hz, 8000), -1.0, 1.0)
    mu = 255.0
    coded = np.sign(narrow) * np.log1p(mu * np.abs(narrow)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127  # 8 bits
    decoded = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu
    out = soxr.resample(decoded.astype(np.float32), 8000, rate_hz)[: len(samples)]
    return np.pad(out, (0, len(samples) - len(out))).astype(np.float32)


def apply_condition(samples: np.ndarray, condition: str, rng: np.random.Generator, rate_hz: int,
                    unheard_voices: BabbleBank | None = None) -> np.ndarray:
    """The clip as heard under ``condition`` (a key of :data:`CONDITIONS`); ``babble_10db`` needs
    ``unheard_voices``, a bank of speakers training never heard."""
    if condition == "babble_10db":
        if unheard_voices is None:
            raise ValueError("the babble_10db condition needs unheard voices (moodline train --babble FOLDER)")
        return cafe(samples, rng, unheard_voices)
    if condition == "noise_10db":
        return unseen_noise(samples, rng, rate_hz)
    if condition == "gain_20db":
        return hot_gain(samples)
    if condition == "telephone":
        return telephone(samples, rate_hz)
    raise ValueError(f"unknown condition {condition!r}")
