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


def espeak(text: str, folder, voice: str = "en") -> np.ndarray:
    """``text`` said by espeak-ng's ``voice``, mono float32 at 16 kHz (``folder`` for its file)."""
    import shutil
    import subprocess
    from pathlib import Path

    import soundfile as sf
    import soxr

    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is needed for speech fixtures (scripts/system-packages --test)"
    wav = Path(folder) / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run([exe, "-v", voice, "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
    samples, rate = sf.read(wav, dtype="float32")
    return soxr.resample(samples, rate, RATE).astype(np.float32) * 0.8


def another_voice(text: str, folder) -> np.ndarray:
    """``text`` in a voice the speaker encoder holds for another person than espeak-ng's default
    (cosine ~0.5 to it, against ~0.85 for the default itself): espeak-ng's en-us+f4 played 1.4
    times faster, so higher and quicker. espeak-ng's variants alone all sound alike to it (~0.6)."""
    import soxr

    return soxr.resample(espeak(text, folder, "en-us+f4"), RATE, round(RATE * 0.7)).astype(np.float32)
