"""Voice-activity detection: which parts of a stream hold speech.

Two detectors, one interface (``push``, ``has_heard``, ``speech_fraction``, ``forget_before``),
chosen by :class:`Gate`: Silero VAD (the default), WebRTC's VAD with a steadiness check, or
both. WebRTC's VAD knows voiced frames, not voices: music, sweeps and drum beats pass it in
nearly every window, and the model then gives music an emotion. Silero's network, trained on
speech against noise and music, passed none of them (benchmarks/bench_vad.py, 2026-12-05, one
core of a 2-core Xeon: 0.0% of windows for every generated noise, tone, sweep, melody, chord,
beat and traffic at −30 and −20 dBFS, and of 17.6 minutes of real music from Debian's
``asc-music``; WebRTC with the steadiness check: up to 100%), while keeping 99.1% of clean
speech windows (WebRTC 99.7%), 99.0% at 10 dB SNR of unseen noise and 98.2% in a café at 10 dB.

The WebRTC detector, kept as a choice:

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
from collections import deque
from concurrent.futures import Executor, Future
from enum import Enum

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

    def has_heard(self, end_s: float) -> bool:
        """Whether every frame that ends by ``end_s`` has been classified (a window ending there can be judged)."""
        return self.frames_done >= math.floor(end_s / VAD_FRAME_S + 1e-9)

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


SILERO_RATE_HZ = 16000
SILERO_FRAME = 512  # samples the network classifies at once, at 16 kHz (32 ms)
SILERO_CONTEXT = 64  # samples of the frame before that it sees with each frame
SILERO_FRAME_S = SILERO_FRAME / SILERO_RATE_HZ
RUNNER_AHEAD = 2  # pushes a runner may be behind before push waits for it
SILERO_THRESHOLD = 0.5  # Silero's own default: a frame whose speech probability reaches it is speech
_SILERO_SESSIONS: dict[str, object] = {}


def silero_model_path():
    """The shipped Silero VAD network (``models/silero_vad.onnx``; see its card)."""
    from importlib.resources import files
    from pathlib import Path

    return Path(str(files("moodline.models") / "silero_vad.onnx"))


def _silero_session():
    path = str(silero_model_path())
    if path not in _SILERO_SESSIONS:  # one per process: detectors are made per stream and per file
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a few hundred microseconds a call: threads only cost
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        _SILERO_SESSIONS[path] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return _SILERO_SESSIONS[path]


class SileroDetector:
    """Streams mono float32 audio through Silero VAD, a small recurrent network trained on
    speech against noise and music (where WebRTC's VAD only knows frames that look voiced).

    One speech probability per 32 ms frame at absolute positions; every frame a push completes
    is run in one call with the network's state carried over, so a stream pushed a hop at a
    time gets exactly the flags of one push. Other rates are resampled to 16 kHz for it.

    With a ``runner`` (an executor of one thread) the network runs there, beside the caller:
    ``push`` returns at once, ``has_heard`` says no until the frames are done (a window then
    waits for the next push) and ``speech_fraction`` waits for them. Offline analysis uses it
    to gate one block while the next is decoded and its features computed; the flags are the
    same either way.
    """

    def __init__(self, sample_rate_hz: int, threshold: float = SILERO_THRESHOLD,
                 runner: Executor | None = None) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError("the Silero VAD threshold must lie between 0 and 1")
        self.threshold = threshold
        self._session = _silero_session()
        self._runner = runner
        self._running: deque[Future] = deque()  # the runner's calls, oldest first
        self._resample = _Resampler(sample_rate_hz, SILERO_RATE_HZ)
        self._pending = np.zeros(SILERO_CONTEXT, dtype=np.float32)  # context + samples not yet in a frame
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._probs = np.zeros(0, dtype=np.float32)  # one per frame since _first
        self._first = 0

    @property
    def frames_done(self) -> int:
        return self._first + len(self._probs)

    def has_heard(self, end_s: float) -> bool:
        self._collect()
        return self.frames_done >= math.floor(end_s / SILERO_FRAME_S + 1e-9)

    def push(self, samples: np.ndarray, last: bool = False) -> None:
        """Classify every whole 32 ms frame of the stream so far (``last`` drains the resampler)."""
        samples = self._resample(np.asarray(samples, dtype=np.float32), last=last)
        buffer = np.concatenate((self._pending, samples))
        n = (len(buffer) - SILERO_CONTEXT) // SILERO_FRAME
        if n <= 0:
            self._pending = buffer
            return
        rows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(
            buffer[: SILERO_CONTEXT + n * SILERO_FRAME], SILERO_CONTEXT + SILERO_FRAME)[::SILERO_FRAME])
        self._pending = buffer[n * SILERO_FRAME:].copy()
        if self._runner is None:
            self._probs = np.concatenate((self._probs, self._classify(rows)))
        else:
            self._running.append(self._runner.submit(self._classify, rows))
            # At most a block or two ahead of the caller: memory stays bounded however fast it decodes.
            self._collect(until_frame=self.frames_done + 1 if len(self._running) > RUNNER_AHEAD else 0)

    def _classify(self, rows: np.ndarray) -> np.ndarray:
        # One call at a time, in order (the caller's thread or the runner's one thread): the
        # recurrent state goes from each call to the next.
        probs, self._h, self._c = self._session.run(None, {"input": rows, "h": self._h, "c": self._c})
        return probs.astype(np.float32).reshape(-1)

    def _collect(self, until_frame: int = 0) -> None:
        """Take the runner's finished results, waiting for more while fewer than ``until_frame`` are done."""
        while self._running and (self._running[0].done() or self.frames_done < until_frame):
            self._probs = np.concatenate((self._probs, self._running.popleft().result()))

    def speech_fraction(self, start_s: float, end_s: float) -> float:
        """Share of the frames inside ``[start_s, end_s)`` whose speech probability reaches the threshold."""
        self._collect(until_frame=math.floor(end_s / SILERO_FRAME_S + 1e-9))
        first = max(math.ceil(start_s / SILERO_FRAME_S - 1e-9), self._first)
        stop = min(math.floor(end_s / SILERO_FRAME_S + 1e-9), self.frames_done)
        if stop <= first:
            return 0.0
        return float(np.mean(self._probs[first - self._first: stop - self._first] >= self.threshold))

    def forget_before(self, time_s: float) -> None:
        drop = min(int(time_s / SILERO_FRAME_S), self.frames_done) - self._first
        if drop > 0:
            self._probs = self._probs[drop:]
            self._first += drop


class BothDetectors:
    """Speech only where WebRTC's VAD with the steadiness check and Silero VAD both hear it:
    a window's share is the smaller of their two shares."""

    def __init__(self, sample_rate_hz: int, aggressiveness: int = DEFAULT_AGGRESSIVENESS,
                 threshold: float = SILERO_THRESHOLD, runner: Executor | None = None) -> None:
        self.webrtc = SpeechDetector(sample_rate_hz, aggressiveness)
        self.silero = SileroDetector(sample_rate_hz, threshold, runner)

    def has_heard(self, end_s: float) -> bool:
        return self.webrtc.has_heard(end_s) and self.silero.has_heard(end_s)

    def push(self, samples: np.ndarray, last: bool = False) -> None:
        self.webrtc.push(samples, last)
        self.silero.push(samples, last)

    def speech_fraction(self, start_s: float, end_s: float) -> float:
        return min(self.webrtc.speech_fraction(start_s, end_s), self.silero.speech_fraction(start_s, end_s))

    def forget_before(self, time_s: float) -> None:
        self.webrtc.forget_before(time_s)
        self.silero.forget_before(time_s)


class Gate(str, Enum):
    """Which detector decides what is speech (``--gate``, Settings ▸ Analysis)."""

    WEBRTC = "webrtc"  # WebRTC's VAD and the steadiness check
    SILERO = "silero"  # Silero VAD
    BOTH = "both"  # speech only where both hear it


DEFAULT_GATE = Gate.SILERO  # see the module notes and benchmarks/bench_vad.py


def speech_detector(gate: Gate | str, sample_rate_hz: int, aggressiveness: int = DEFAULT_AGGRESSIVENESS,
                    runner: Executor | None = None):
    """A fresh detector for one stream, of the kind ``gate`` names; Silero's network runs on
    ``runner`` when one is given (see :class:`SileroDetector`)."""
    gate = Gate(gate)
    if gate is Gate.SILERO:
        return SileroDetector(sample_rate_hz, runner=runner)
    if gate is Gate.BOTH:
        return BothDetectors(sample_rate_hz, aggressiveness, runner=runner)
    return SpeechDetector(sample_rate_hz, aggressiveness)
