"""Growing arrays the plots draw from (no Qt here): timeline points and a waveform envelope.

Points and audio arrive a few at a time; appending to preallocated arrays that double when
full keeps each redraw a cheap slice instead of rebuilding arrays from lists.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from moodline.engine.timeline import TimelinePoint


class _Growing:
    """A 1-D or 2-D array that grows along its first axis."""

    def __init__(self, width: int | None = None, dtype=np.float64, capacity: int = 1024) -> None:
        shape = (capacity,) if width is None else (capacity, width)
        self._data = np.empty(shape, dtype=dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._data):
            bigger = np.empty((max(need, 2 * len(self._data)),) + self._data.shape[1:], self._data.dtype)
            bigger[:self.n] = self._data[:self.n]
            self._data = bigger
        self._data[self.n:need] = rows
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self._data[:self.n]


class TimelineSeries:
    """A timeline as arrays: window centre times, probabilities (NaN without speech), speech."""

    def __init__(self, labels: Sequence[str] = ()) -> None:
        self.clear(labels)

    def clear(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._times = _Growing()
        self._probs = _Growing(max(1, len(self.labels)), np.float32)
        self._speech = _Growing(dtype=bool)
        self.points: list[TimelinePoint] = []

    def extend(self, points: Iterable[TimelinePoint]) -> None:
        points = list(points)
        if not points:
            return
        self.points += points
        self._times.append(np.array([(p.start_s + p.end_s) / 2 for p in points]))
        rows = np.full((len(points), max(1, len(self.labels))), np.nan, dtype=np.float32)
        for i, p in enumerate(points):
            if p.probabilities:
                rows[i, :len(self.labels)] = [p.probabilities.get(label, np.nan) for label in self.labels]
        self._probs.append(rows)
        self._speech.append(np.array([p.is_speech for p in points]))

    def __len__(self) -> int:
        return self._times.n

    @property
    def times_s(self) -> np.ndarray:
        return self._times.view

    @property
    def probabilities(self) -> np.ndarray:
        return self._probs.view

    @property
    def speech(self) -> np.ndarray:
        return self._speech.view

    def speech_steps(self) -> tuple[np.ndarray, np.ndarray]:
        """(edges, 0/1 levels) of the speech strip for a step plot: one cell per run of
        speech or silence (each point's cell reaches halfway to its neighbours)."""
        t = self.times_s
        if len(t) == 0:
            return np.zeros(1), np.zeros(0)
        half = (t[1] - t[0] if len(t) > 1 else 0.5) / 2
        speech = self.speech
        starts = np.flatnonzero(np.r_[True, speech[1:] != speech[:-1]])
        edges = np.empty(len(starts) + 1)
        edges[0], edges[-1] = t[0] - half, t[-1] + half
        edges[1:-1] = (t[starts[1:] - 1] + t[starts[1:]]) / 2
        return edges, speech[starts].astype(np.float32)

    def visible(self, x0: float, x1: float, max_points: int) -> tuple[np.ndarray, np.ndarray]:
        """Times and probabilities in ``[x0, x1]``, averaged over runs of points when there are
        more than ``max_points`` (a bin of only no-speech points stays NaN, a gap)."""
        t, probs = self.times_s, self.probabilities
        i, j = np.searchsorted(t, [x0, x1])
        i, j = max(0, i - 1), min(len(t), j + 1)
        t, probs = t[i:j], probs[i:j]
        k = -(-len(t) // max(1, int(max_points)))
        if k <= 1:
            return t, probs
        n = len(t) // k * k
        binned = probs[:n].reshape(-1, k, probs.shape[1])
        counts = np.isfinite(binned[:, :, 0]).sum(axis=1)
        sums = np.nansum(binned, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts[:, None] > 0, sums / counts[:, None], np.nan)
        return t[:n].reshape(-1, k).mean(axis=1), means.astype(np.float32)

    def point_at(self, t_s: float) -> TimelinePoint | None:
        """The point whose window centre is nearest before or at ``t_s`` (None before the first)."""
        i = int(np.searchsorted(self.times_s, t_s, side="right")) - 1
        return self.points[i] if i >= 0 else None


class GrowingEnvelope:
    """A waveform envelope (min/max per bucket) built up from audio as it arrives."""

    def __init__(self, sample_rate_hz: int, buckets_per_s: int = 50) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.bucket = max(1, sample_rate_hz // buckets_per_s)
        self._rest = np.zeros(0, dtype=np.float32)
        self._mins, self._maxs = _Growing(dtype=np.float32), _Growing(dtype=np.float32)

    def append(self, samples: np.ndarray) -> None:
        data = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        n = len(data) // self.bucket
        if n:
            frames = data[:n * self.bucket].reshape(n, self.bucket)
            self._mins.append(frames.min(axis=1))
            self._maxs.append(frames.max(axis=1))
        self._rest = data[n * self.bucket:].copy()

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self._mins.n
        times = (np.arange(n) + 0.5) * self.bucket / self.sample_rate_hz
        return times, self._mins.view, self._maxs.view


class EnvelopeLevels:
    """A waveform envelope at several resolutions, so a view never draws more buckets than
    it has pixels for (each level merges ``FACTOR`` buckets of the one below)."""

    FACTOR = 8

    def __init__(self, times: np.ndarray, mins: np.ndarray, maxs: np.ndarray) -> None:
        self.levels = [(times, mins, maxs)]
        while len(self.levels[-1][0]) > 2000:
            t, lo, hi = self.levels[-1]
            n = len(t) // self.FACTOR
            k = self.FACTOR
            self.levels.append((t[:n * k].reshape(n, k).mean(axis=1),
                                lo[:n * k].reshape(n, k).min(axis=1), hi[:n * k].reshape(n, k).max(axis=1)))

    def visible(self, x0: float, x1: float, max_buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The finest level with at most ``max_buckets`` buckets in ``[x0, x1]``, cut to it."""
        for t, lo, hi in self.levels:
            i, j = np.searchsorted(t, [x0, x1])
            if j - i <= max_buckets or (t is self.levels[-1][0]):
                i, j = max(0, i - 1), min(len(t), j + 1)
                return t[i:j], lo[i:j], hi[i:j]
        raise AssertionError("unreachable")
