"""Training-only augmentation: waveform effects that resemble real voices and microphones,
and SpecAugment masks on feature windows.

Each function takes mono float32 samples (or a feature window) and a ``numpy`` random
generator and returns a new array; nothing is changed in place. Validation and test data
never pass through this module: :func:`augmented_copy` is only called for training clips, and
the training dataset is the only caller of :func:`spec_augment`.
"""
from __future__ import annotations

import numpy as np


def active_power(samples: np.ndarray, frame: int = 320, range_db: float = 40.0) -> float:
    """Mean power of the 20 ms frames within ``range_db`` of the loudest: the speech level,
    ignoring the pauses (acted clips carry a second of silence each side, which would make any
    SNR measured against the whole clip too kind)."""
    n = len(samples) // frame
    if n < 2:
        return float(np.mean(samples**2)) + 1e-12
    powers = np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1)
    return float(np.mean(powers[powers >= powers.max() * 10 ** (-range_db / 10)])) + 1e-12


def coloured_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Gaussian noise whose power falls as ``1 / f ** exponent`` (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


class BabbleBank:
    """Speech of many people to mix into babble: ``max_clips`` files of a folder of unlabelled
    speech (for Moodline, ``speechocean762``), the first ``max_speakers`` speaker folders in
    sorted order, so the rest can stay unheard for checks; ``unheard`` takes those others instead
    (for scoring under babble of voices training never heard)."""

    def __init__(self, folder: str, sample_rate_hz: int = 16000, max_speakers: int = 100, max_clips: int = 300,
                 unheard: bool = False) -> None:
        # max_speakers: corpora.UNLABELLED_TRAINING_SPEAKERS (not imported: augment stays free of the loaders)
        from pathlib import Path

        from moodline.engine.audio import find_audio_files, load_audio

        speakers = sorted(p for p in Path(folder).rglob("*") if p.is_dir() and find_audio_files(p))
        speakers = [p for p in speakers if not any(c.is_dir() for c in p.iterdir())]
        speakers = speakers[max_speakers:] if unheard else speakers[:max_speakers]
        files = [f for s in speakers for f in find_audio_files(s)][:max_clips]
        if not files:
            raise ValueError(f"{folder}: no speech files for babble")
        self.speakers = [s.name for s in speakers]
        self.clips = [load_audio(f, sample_rate_hz) for f in files]

    def babble(self, n: int, rng: np.random.Generator, talkers: tuple[int, int] = (3, 8)) -> np.ndarray:
        """``n`` samples of several people talking at once, unit RMS."""
        out = np.zeros(n, dtype=np.float32)
        for _ in range(rng.integers(talkers[0], talkers[1] + 1)):
            clip = self.clips[rng.integers(len(self.clips))]
            clip = np.tile(clip, -(-n // len(clip)) + 1)
            start = rng.integers(0, len(clip) - n + 1)
            part = clip[start:start + n]
            out += part / (np.sqrt(np.mean(part**2)) + 1e-9)
        return out / (np.sqrt(np.mean(out**2)) + 1e-9)


def add_noise(samples: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (0.0, 30.0),
              babble: BabbleBank | None = None) -> np.ndarray:
    """Add noise at a random signal-to-noise ratio (dB, against the speech level): white, pink or
    brown, or — with a :class:`BabbleBank` — half the time babble of several talkers."""
    if babble is not None and rng.random() < 0.5:
        noise = babble.babble(len(samples), rng)
    else:
        noise = coloured_noise(len(samples), rng, float(rng.choice([0.0, 1.0, 2.0])))
    snr = rng.uniform(*snr_db)
    noise *= np.sqrt(active_power(samples) / 10 ** (snr / 10) / (np.mean(noise**2) + 1e-12))
    return (samples + noise).astype(np.float32)


def random_gain(samples: np.ndarray, rng: np.random.Generator, gain_db: tuple[float, float] = (-30.0, 24.0)) -> np.ndarray:
    """Scale by a random gain in dB, clipped to [-1, 1] like a real converter: from a distant,
    quiet microphone to one so hot that the loudest syllables clip."""
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
    return soxr.resample(samples, speed, 1.0, quality="HQ").astype(np.float32)


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


def room_reverb(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int,
                rt60_s: tuple[float, float] = (0.2, 1.2), drr_db: tuple[float, float] = (-3.0, 12.0)) -> np.ndarray:
    """Convolve with a synthetic room impulse response: the direct sound, a few early reflections
    (5–50 ms), and a diffuse tail whose highs die away faster than its lows (four octave-wide
    bands, each with its own decay), at a random reverberation time and direct-to-reverberant ratio."""
    from scipy.signal import butter, fftconvolve, sosfilt

    rt60 = rng.uniform(*rt60_s)
    n = int(rt60 * sample_rate_hz)
    t = np.arange(n) / sample_rate_hz
    tail = np.zeros(n)
    edges = (0.0, 500.0, 1500.0, 4000.0, sample_rate_hz / 2)
    for band, (low, high) in enumerate(zip(edges, edges[1:])):
        noise = rng.standard_normal(n)
        if low == 0:
            sos = butter(2, high, btype="lowpass", fs=sample_rate_hz, output="sos")
        elif high >= sample_rate_hz / 2:
            sos = butter(2, low, btype="highpass", fs=sample_rate_hz, output="sos")
        else:
            sos = butter(2, [low, high], btype="bandpass", fs=sample_rate_hz, output="sos")
        band_rt60 = rt60 * (1.0 - 0.15 * band)  # air and soft furnishings absorb the highs
        tail += sosfilt(sos, noise) * np.exp(-6.9 * t / band_rt60)
    onset = int(rng.uniform(0.005, 0.02) * sample_rate_hz)  # the tail starts after the direct sound
    tail[:onset] = 0.0
    for _ in range(rng.integers(3, 8)):
        tail[int(rng.uniform(0.005, 0.05) * sample_rate_hz)] += rng.uniform(-0.6, 0.6)
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    response = np.zeros(n)
    response[0] = 10 ** (rng.uniform(*drr_db) / 20)
    response += tail
    wet = fftconvolve(samples, response)[: len(samples)]
    wet *= np.sqrt(np.mean(samples**2) / (np.mean(wet**2) + 1e-12))  # same loudness; gain is its own effect
    return wet.astype(np.float32)


def _peaking(centre_hz: float, gain_db: float, q: float, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """A peaking-EQ biquad (Robert Bristow-Johnson's audio EQ cookbook)."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * centre_hz / sample_rate_hz
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return b / den[0], den / den[0]


def microphone_colouring(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """A microphone and preamp of random character: a high-pass (50–250 Hz), a gentle low-pass
    (3.5–8 kHz), and one to three resonances or dips of up to ±9 dB between 200 Hz and 6 kHz."""
    from scipy.signal import butter, lfilter, sosfilt

    nyquist = sample_rate_hz / 2
    out = sosfilt(butter(2, rng.uniform(50.0, 250.0), btype="highpass", fs=sample_rate_hz, output="sos"), samples)
    low_pass_hz = rng.uniform(3500.0, 8000.0)
    if low_pass_hz < 0.95 * nyquist:
        out = sosfilt(butter(2, low_pass_hz, btype="lowpass", fs=sample_rate_hz, output="sos"), out)
    for _ in range(rng.integers(1, 4)):
        centre = float(np.exp(rng.uniform(np.log(200.0), np.log(min(6000.0, 0.8 * nyquist)))))
        b, a = _peaking(centre, rng.uniform(-9.0, 9.0), rng.uniform(0.5, 2.0), sample_rate_hz)
        out = lfilter(b, a, out)
    return out.astype(np.float32)


def lossy_codec(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """Encode and decode through Opus (about 9–30 kbit/s) or MP3 (about 8–40 kbit/s), as a call or
    a compressed voice message would; the result keeps the input's length."""
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    scale = 1.0 if peak <= 0.99 else 0.99 / peak  # encoders refuse nothing, but clip silently
    if rng.random() < 0.5:
        sf.write(buffer, samples * scale, sample_rate_hz, format="OGG", subtype="OPUS",
                 compression_level=rng.uniform(0.9, 0.99))
    else:
        sf.write(buffer, samples * scale, sample_rate_hz, format="MP3", subtype="MPEG_LAYER_III",
                 compression_level=rng.uniform(0.8, 0.99), bitrate_mode="CONSTANT")
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32")
    decoded = decoded[: len(samples)] / scale
    return np.pad(decoded, (0, len(samples) - len(decoded))).astype(np.float32)


def augmented_copy(samples: np.ndarray, rng: np.random.Generator, sample_rate_hz: int,
                   babble: BabbleBank | None = None) -> np.ndarray:
    """A randomly altered copy of a training clip, in the order sound meets them: the voice
    (pitch, tempo or speed), the room, the noise around it, the microphone, the gain (clipping
    when too hot), the codec.

    Each stage is drawn independently, so copies cover combinations (a faster voice in a
    reverberant room with babble; a lower one through a hot, band-limited microphone; ...).
    """
    voice_effects = (
        lambda x: pitch_shift(x, rng, sample_rate_hz),
        lambda x: time_stretch(x, rng),
        lambda x: change_speed(x, rng),
        lambda x: x,
    )
    out = voice_effects[rng.integers(len(voice_effects))](samples)
    if rng.random() < 0.5:
        out = room_reverb(out, rng, sample_rate_hz)
    if rng.random() < 0.7:
        out = add_noise(out, rng, babble=babble)
    if rng.random() < 0.5:
        out = microphone_colouring(out, rng, sample_rate_hz)
    elif rng.random() < 0.3:
        out = band_limit(out, rng, sample_rate_hz)
    out = random_gain(out, rng)
    if rng.random() < 0.3:
        out = lossy_codec(out, rng, sample_rate_hz)
    return out


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
