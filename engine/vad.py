"""Voice-activity detection: which parts of a stream hold speech (WebRTC's VAD).

The detector is fed the same sample stream as the features, in order, and keeps one speech /
no-speech flag per 30 ms frame at absolute positions, so a window's share of speech is the
same whether the stream arrived all at once or a hop at a time.
"""
from __future__ import annotations

import math

import numpy as np

from .audio import _Resampler, to_int16

VAD_FRAME_S = 0.03
_VAD_RATES_HZ = (8000, 16000, 32000, 48000)  # the rates WebRTC's VAD accepts


class SpeechDetector:
    """Streams mono float32 audio through WebRTC's VAD.

    ``aggressiveness`` 0–3: higher rejects more non-speech (noise, music) and more quiet
    speech with it. Rates the VAD does not take are resampled to 16 kHz for it.
    """

    def __init__(self, sample_rate_hz: int, aggressiveness: int = 3) -> None:
        import webrtcvad

        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError("VAD aggressiveness must be 0, 1, 2 or 3")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rate = sample_rate_hz if sample_rate_hz in _VAD_RATES_HZ else 16000
        self._resample = _Resampler(sample_rate_hz, self._rate)
        self._frame = round(VAD_FRAME_S * self._rate)
        self._pending = np.zeros(0, dtype=np.int16)
        self._flags = bytearray()  # one 0/1 per VAD frame since the stream began
        self._first = 0  # absolute index of _flags[0]

    @property
    def frames_done(self) -> int:
        """VAD frames classified so far (absolute count since the stream began)."""
        return self._first + len(self._flags)

    def push(self, samples: np.ndarray, last: bool = False) -> None:
        """Classify every whole 30 ms frame of the stream so far (``last`` drains the resampler)."""
        samples = self._resample(np.asarray(samples, dtype=np.float32), last=last)
        pcm = to_int16(samples)
        pcm = np.concatenate((self._pending, pcm)) if len(self._pending) else pcm
        n = len(pcm) // self._frame
        data, rate, step = pcm[: n * self._frame].tobytes(), self._rate, 2 * self._frame
        is_speech = self._vad.is_speech
        self._flags += bytes(is_speech(data[i:i + step], rate) for i in range(0, len(data), step))
        self._pending = pcm[n * self._frame:]

    def speech_fraction(self, start_s: float, end_s: float) -> float:
        """Share of the VAD frames inside ``[start_s, end_s)`` that hold speech."""
        first = max(math.ceil(start_s / VAD_FRAME_S - 1e-9), self._first)
        stop = min(math.floor(end_s / VAD_FRAME_S + 1e-9), self.frames_done)
        if stop <= first:
            return 0.0
        flags = self._flags[first - self._first: stop - self._first]
        return sum(flags) / len(flags)

    def forget_before(self, time_s: float) -> None:
        """Drop flags of frames that end before ``time_s`` (they will not be asked for again)."""
        drop = min(int(time_s / VAD_FRAME_S), self.frames_done) - self._first
        if drop > 0:
            del self._flags[:drop]
            self._first += drop
