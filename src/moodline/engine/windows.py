"""Cutting a sample stream into overlapping, fixed-length windows of features.

Window ``k`` starts at sample ``k * hop`` (``hop`` a whole number of feature frames) and spans
the model's window. Each feature frame is computed once, however many windows share it. The
same :class:`WindowSlicer` serves offline analysis (fed a file's blocks) and the live engine
(fed what the ring buffer has gathered since the last hop), so both cut identical windows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import FeatureSpec, features
from .vad import SpeechDetector

# A sample this close to full scale is at the converter's limit: speech recorded too loud has
# its peaks flattened there (−0.09 dBFS, so resampling's small ripple on a flat top still counts).
FULL_SCALE = 0.99


@dataclass(frozen=True)
class WindowGrid:
    """Where windows fall, in samples at the model's rate."""

    spec: FeatureSpec
    window_frames: int
    hop_frames: int

    @property
    def window_samples(self) -> int:
        return self.spec.samples_for(self.window_frames)

    @property
    def hop_samples(self) -> int:
        return self.hop_frames * self.spec.hop_length

    @property
    def window_s(self) -> float:
        return self.window_samples / self.spec.sample_rate_hz

    @property
    def hop_s(self) -> float:
        return self.hop_samples / self.spec.sample_rate_hz

    @classmethod
    def for_seconds(cls, spec: FeatureSpec, window_s: float, hop_s: float, multiple: int = 1) -> "WindowGrid":
        """The grid nearest to ``window_s`` / ``hop_s`` that whole feature frames allow, in
        whole ``multiple`` s of frames (a streaming encoder's step, see :mod:`.encoder`)."""
        if window_s <= 0 or hop_s <= 0:
            raise ValueError("window and hop must be positive")
        window_frames = spec.frames_in(round(window_s * spec.sample_rate_hz))
        if window_frames < 1:
            raise ValueError(f"a {window_s} s window is shorter than one feature frame")
        window_frames = max(multiple, multiple * round(window_frames / multiple))
        hop_frames = max(1, round(hop_s * spec.sample_rate_hz / spec.hop_length))
        hop_frames = max(multiple, multiple * round(hop_frames / multiple))
        return cls(spec, window_frames, hop_frames)

    def windows_for(self, n_samples: int) -> int:
        """Windows that cover ``n_samples``: at least one, the last possibly padded."""
        if n_samples <= self.window_samples:
            return 1
        return 1 + -(-(n_samples - self.window_samples) // self.hop_samples)


@dataclass
class Window:
    """One window of features, ready for the model."""

    index: int
    start_s: float
    end_s: float  # clipped to the end of the audio for the last, padded window
    features: np.ndarray  # (frames, n_features) float32
    speech_fraction: float  # share of the window the VAD heard speech in (1.0 without a VAD)
    clipped_fraction: float = 0.0  # share of the window's samples at full scale (see FULL_SCALE)
    samples: np.ndarray | None = None  # the window's audio, when the slicer keeps it (keep_audio)


class WindowSlicer:
    """Turns a stream of mono samples at ``grid.spec.sample_rate_hz`` into :class:`Window` s;
    with ``keep_audio`` each window carries its samples too (for the speaker encoder, whose
    frames are not the emotion model's)."""

    def __init__(self, grid: WindowGrid, speech: SpeechDetector | None = None, keep_audio: bool = False) -> None:
        self.grid = grid
        self.speech = speech
        self.keep_audio = keep_audio
        self._audio = np.zeros(0, dtype=np.float32)  # samples from _audio_from on (keep_audio)
        self._audio_from = 0
        self._rate = grid.spec.sample_rate_hz
        self._received = 0  # samples pushed since the stream began (the stream's length)
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the next frame's start
        self._frames = np.zeros((0, grid.spec.n_features), dtype=np.float32)
        self._clipped = np.zeros(0, dtype=np.int32)  # samples at full scale in each frame's hop
        self._first_frame = 0  # absolute index of _frames[0]
        self._next_window = 0

    @property
    def samples_received(self) -> int:
        return self._received

    def push(self, samples: np.ndarray) -> list[Window]:
        """Add samples to the stream; return the windows that are now complete."""
        samples = np.asarray(samples, dtype=np.float32)
        self._received += len(samples)
        self._add_frames(samples)
        self._keep(samples)
        if self.speech is not None:
            self.speech.push(samples)
        return self._complete_windows(final=False)

    def flush(self) -> list[Window]:
        """End of stream: return the remaining windows, the last one padded with silence."""
        end_sample = self._received
        wanted = self.grid.windows_for(end_sample)
        if self._next_window < wanted:
            last_end = (wanted - 1) * self.grid.hop_samples + self.grid.window_samples
            padding = np.zeros(max(0, last_end - end_sample), dtype=np.float32)
            self._add_frames(padding)
            self._keep(padding)
            if self.speech is not None:
                self.speech.push(padding, last=True)
        return self._complete_windows(final=True, end_sample=end_sample, wanted=wanted)

    def _keep(self, samples: np.ndarray) -> None:
        if self.keep_audio and len(samples):
            self._audio = np.concatenate((self._audio, samples))

    def _add_frames(self, samples: np.ndarray) -> None:
        spec = self.grid.spec
        buffer = np.concatenate((self._pending, samples)) if len(self._pending) else samples
        new = features(buffer, spec)
        if len(new):
            self._frames = np.concatenate((self._frames, new)) if len(self._frames) else new
            hops = buffer[: len(new) * spec.hop_length].reshape(len(new), spec.hop_length)
            self._clipped = np.concatenate((self._clipped, np.count_nonzero(np.abs(hops) >= FULL_SCALE, axis=1)))
        self._pending = buffer[len(new) * spec.hop_length:].copy()

    def _complete_windows(self, final: bool, end_sample: int = 0, wanted: int = 0) -> list[Window]:
        grid, done = self.grid, []
        frames_have = self._first_frame + len(self._frames)
        while not (final and self._next_window >= wanted):
            k = self._next_window
            first_frame = k * grid.hop_frames
            start = k * grid.hop_samples
            end = start + grid.window_samples
            if first_frame + grid.window_frames > frames_have:
                break
            if final:
                end = min(end, end_sample)
            elif self.speech is not None and not self.speech.has_heard(end / self._rate):
                break  # the VAD has not heard all of this window yet
            lo = first_frame - self._first_frame
            start_s, end_s = start / self._rate, end / self._rate
            clipped = int(self._clipped[lo: lo + grid.window_frames].sum())
            done.append(Window(
                index=k, start_s=start_s, end_s=end_s,
                features=self._frames[lo: lo + grid.window_frames].copy(),
                speech_fraction=1.0 if self.speech is None else self.speech.speech_fraction(start_s, end_s),
                clipped_fraction=clipped / (grid.window_frames * grid.spec.hop_length),
                samples=(self._audio[start - self._audio_from: start - self._audio_from + grid.window_samples].copy()
                         if self.keep_audio else None),
            ))
            self._next_window += 1
        self._forget_old()
        return done

    def _forget_old(self) -> None:
        keep_from = self._next_window * self.grid.hop_frames
        drop = keep_from - self._first_frame
        keep_samples_from = self._next_window * self.grid.hop_samples
        if self.keep_audio and keep_samples_from > self._audio_from:
            self._audio = self._audio[keep_samples_from - self._audio_from:]
            self._audio_from = keep_samples_from
        if drop > 0:
            self._frames = self._frames[drop:]
            self._clipped = self._clipped[drop:]
            self._first_frame = keep_from
            if self.speech is not None:
                self.speech.forget_before(keep_from * self.grid.spec.hop_length / self._rate)
