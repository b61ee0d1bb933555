"""Voice-activity detection: which parts of a stream hold speech (WebRTC's VAD).

The detector is fed the same sample stream as the features, in order, and keeps one speech /
no-speech flag and one energy per 30 ms frame at absolute positions, so a window's share of
speech is the same whether the stream arrived all at once or a hop at a time.

WebRTC's VAD takes steady noise for speech once it is loud enough (white noise at −20 dBFS,
pink noise or mains hum at −30 dBFS: every window), and the model then names an emotion for
it ("calm, 0.83" for pink noise). Speech rises and falls with its syllables; steady noise does
not. So a window counts as speech only if its frames' energies also vary by at least
:data:`MIN_MODULATION_DB` (the spread between its loudest and quietest tenth).
"""
from __future__ import annotations

import math

import numpy as np

from .audio import _Resampler, to_int16

VAD_FRAME_S = 0.03
_VAD_RATES_HZ = (8000, 16000, 32000, 48000)  # the rates WebRTC's VAD accepts
# Measured on 2 s windows the VAD passed (benchmarks/bench_vad.py, pre-emphasised energies): the
# 10th-to-90th percentile spread of 30 ms frame energies is at least 12.8 dB for 99.5% of clean
# speech windows (RAVDESS, nEMO, speechocean762) and 8.3 dB for speech in unseen noise at 10 dB
# SNR (at 0 dB SNR 92.9% of windows keep 4 dB), against at most 2.7 dB for a minute of white,
# pink or brown noise or mains hum at −30 and −20 dBFS.
MIN_MODULATION_DB = 4.0
PRE_EMPHASIS = 0.97
# WebRTC's aggressiveness 3 missed very quiet speech: 6.3% of 300 RAVDESS clips (calm, sad,
# neutral, peaks −32 to −39 dBFS) gave no speech window at all, where 2 heard every one of them
# (and every clip of 300 from TESS and nEMO) and, with the check above, no more steady noise.
DEFAULT_AGGRESSIVENESS = 2


class SpeechDetector:
    """Streams mono float32 audio through WebRTC's VAD.

    ``aggressiveness`` 0–3: higher rejects more non-speech (noise, music) and more quiet
    speech with it. Rates the VAD does not take are resampled to 16 kHz for it.
    """

    def __init__(self, sample_rate_hz: int, aggressiveness: int = DEFAULT_AGGRESSIVENESS) -> None:
        import webrtcvad

        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError("VAD aggressiveness must be 0, 1, 2 or 3")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rate = sample_rate_hz if sample_rate_hz in _VAD_RATES_HZ else 16000
        self._resample = _Resampler(sample_rate_hz, self._rate)
        self._frame = round(VAD_FRAME_S * self._rate)
        self._pending = np.zeros(0, dtype=np.int16)
        self._flags = bytearray()  # one 0/1 per VAD frame since the stream began
        self._energy_db = np.zeros(0, dtype=np.float32)  # each frame's energy, for the modulation check
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
        frames = pcm[: n * self._frame].reshape(n, self._frame).astype(np.float32)
        # Pre-emphasised, as in speech coding: rumble below the voice (brown noise, wind, a
        # passing lorry) swells and fades by itself and must not pass for syllables.
        tilted = frames[:, 1:] - PRE_EMPHASIS * frames[:, :-1]
        energy_db = 10.0 * np.log10(np.mean(tilted * tilted, axis=1) + 1.0)  # int16 units; +1: silence is 0 dB
        self._energy_db = np.concatenate((self._energy_db, energy_db.astype(np.float32)))
        self._pending = pcm[n * self._frame:]

    def speech_fraction(self, start_s: float, end_s: float) -> float:
        """Share of the VAD frames inside ``[start_s, end_s)`` that hold speech; 0 when their
        energy is too steady to be speech (see :data:`MIN_MODULATION_DB`)."""
        first = max(math.ceil(start_s / VAD_FRAME_S - 1e-9), self._first)
        stop = min(math.floor(end_s / VAD_FRAME_S + 1e-9), self.frames_done)
        if stop <= first:
            return 0.0
        flags = self._flags[first - self._first: stop - self._first]
        share = sum(flags) / len(flags)
        if share > 0:
            quiet, loud = np.percentile(self._energy_db[first - self._first: stop - self._first], (10, 90))
            if loud - quiet < MIN_MODULATION_DB:
                return 0.0
        return share

    def forget_before(self, time_s: float) -> None:
        """Drop flags of frames that end before ``time_s`` (they will not be asked for again)."""
        drop = min(int(time_s / VAD_FRAME_S), self.frames_done) - self._first
        if drop > 0:
            del self._flags[:drop]
            self._energy_db = self._energy_db[drop:]
            self._first += drop
