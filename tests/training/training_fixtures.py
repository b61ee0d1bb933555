"""Tiny generated corpora laid out like the real ones (never the real data): helpers for the tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE_HZ = 16000
# A distinct voice-like pitch per emotion, so a model has something learnable.
PITCH_HZ = {"neutral": 110, "calm": 130, "happy": 220, "sad": 100, "angry": 180, "fearful": 260,
            "disgust": 150, "surprised": 300}


def voice(path: Path, f0_hz: float, seconds: float = 1.6, seed: int = 0, rate_hz: int = RATE_HZ) -> Path:
    """Write a voice-like sound: a harmonic tone with vibrato and syllable-rate loudness, in silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    f0 = f0_hz * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate_hz
    tone = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    signal = 0.2 * tone * syllables / 3 + 0.003 * rng.standard_normal(len(t))
    silence = np.zeros(int(0.3 * rate_hz))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.concatenate([silence, signal, silence]).astype(np.float32), rate_hz)
    return path


def make_ravdess(root: Path, actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=2) -> Path:
    """``Actor_NN/03-01-EE-01-SS-01-NN.wav`` for the given actors and emotion codes."""
    names = dict(zip(("01", "02", "03", "04", "05", "06", "07", "08"), PITCH_HZ))
    for actor in actors:
        for code in emotions:
            for take in range(1, takes + 1):
                name = f"03-01-{code}-01-{take:02d}-01-{actor:02d}.wav"
                voice(root / f"Actor_{actor:02d}" / name, PITCH_HZ[names[code]] * (1 + 0.05 * actor),
                      seed=actor * 100 + take)
    return root


def make_tess(root: Path, emotions=("neutral", "happy", "angry"), words=("back", "bar")) -> Path:
    """``<SPK>_<emotion>/<SPK>_<word>_<emotion>.wav`` for both TESS speakers."""
    for s, speaker in enumerate(("OAF", "YAF")):
        for emotion in emotions:
            for w, word in enumerate(words):
                voice(root / f"{speaker}_{emotion}" / f"{speaker}_{word}_{emotion}.wav",
                      PITCH_HZ[emotion] * (1.1 + 0.1 * s), seed=1000 + 10 * s + w)
    return root
