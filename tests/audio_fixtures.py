"""Generated test audio (never corpus data)."""
from __future__ import annotations

import numpy as np

RATE = 16000


def tone(freq_hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def syllables(freq_hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    """A tone that rises and falls four times a second, as speech does with its syllables: the
    voice-activity gate hears it as speech (a steady tone it does not), so the model judges it."""
    t = np.arange(int(seconds * rate)) / rate
    return (tone(freq_hz, seconds, rate, amplitude) * (0.55 - 0.45 * np.cos(2 * np.pi * 4 * t))).astype(np.float32)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)
