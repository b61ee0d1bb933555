"""Growing arrays the plots draw from (no Qt here): timeline points and a waveform envelope.

Points and audio arrive a few at a time; appending to preallocated arrays that double when
full keeps each redraw a cheap slice instead of rebuilding arrays from lists.

Each point stands for a *cell* of time around its window centre, reaching halfway to its
neighbours. The dominant-emotion strip and the speech band are runs of cells; drawn with more
cells than pixels, they are aggregated per pixel over its whole time span (the label covering
most of it; speech if any of it is speech), never sampled, so no run vanishes between pixels.
The cells and the segments (the places ← / → jump to, the rows of the segments list) are the
engine's (:func:`~moodline.engine.timeline.cell_edges`, :func:`~moodline.engine.timeline.segments`),
the same as ``moodline analyze`` prints and the segments CSV holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from moodline.engine.timeline import Segment, TimelinePoint, cell_edges, segments

from .whose import VOICE_ORDER


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


NO_WINNER = -1  # the winner code of a point without speech
NO_VOICE = -1  # the voice code of a point whose voice was not told (silence, or no voice enrolled)


@dataclass(frozen=True)
class Bands:
    """Coloured runs of time: band ``k`` spans ``starts_s[k]`` … ``ends_s[k]``, shows label
    ``labels[codes[k]]``, fully coloured when ``sure[k]``, faint when the winner was unsure."""

    starts_s: np.ndarray
    ends_s: np.ndarray
    codes: np.ndarray
    sure: np.ndarray

    def __len__(self) -> int:
        return len(self.starts_s)


class TimelineSeries:
    """A timeline as arrays: window centre times, probabilities (NaN without speech), speech,
    and each point's winning label (its code, :data:`NO_WINNER` without speech) and probability,
    and whose voice it is (its index in :data:`~.whose.VOICE_ORDER`, :data:`NO_VOICE` if untold)."""

    def __init__(self, labels: Sequence[str] = ()) -> None:
        self.clear(labels)

    def clear(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._times = _Growing()
        self._probs = _Growing(max(1, len(self.labels)), np.float32)
        self._speech = _Growing(dtype=bool)
        self._clipped = _Growing(dtype=bool)
        self._winners = _Growing(dtype=np.int16)
        self._winner_probs = _Growing(dtype=np.float32)
        self._voices = _Growing(dtype=np.int8)
        self.has_voices = False  # some point says whose voice it is
        self._edges: np.ndarray | None = None
        self._segments: tuple | None = None
        self.points: list[TimelinePoint] = []
        # Where a recording ends (its timeline's duration); None live: the last window's end.
        self.duration_s: float | None = None

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
        self._clipped.append(np.array([p.clipped for p in points]))
        voices = np.array([VOICE_ORDER.index(p.voice) if p.voice in VOICE_ORDER else NO_VOICE for p in points],
                          dtype=np.int8)
        self._voices.append(voices)
        self.has_voices = self.has_voices or bool((voices != NO_VOICE).any())
        emotion = np.isfinite(rows[:, 0])
        winners = np.where(emotion, np.argmax(np.where(np.isfinite(rows), rows, -1.0), axis=1), NO_WINNER)
        self._winners.append(winners.astype(np.int16))
        self._winner_probs.append(np.where(emotion, np.nanmax(np.where(emotion[:, None], rows, 0.0), axis=1),
                                           np.nan).astype(np.float32))
        self._edges = None

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

    @property
    def winners(self) -> np.ndarray:
        """Each point's winning label as an index into :attr:`labels` (:data:`NO_WINNER`: silence)."""
        return self._winners.view

    @property
    def voices(self) -> np.ndarray:
        """Each point's voice as an index into :data:`~.whose.VOICE_ORDER` (:data:`NO_VOICE`: untold)."""
        return self._voices.view

    @property
    def winner_probabilities(self) -> np.ndarray:
        """Each point's winning probability (NaN without speech)."""
        return self._winner_probs.view

    def cell_edges(self) -> np.ndarray:
        """The ``len + 1`` edges of the points' cells: halfway between window centres, and half
        a hop beyond the first and the last (the engine's rule: :func:`cell_edges`)."""
        if self._edges is None or len(self._edges) != len(self) + 1:
            if len(self) == 0:
                return np.zeros(1)
            first = self.points[0]
            self._edges = cell_edges(self.times_s, first.end_s - first.start_s)
        return self._edges

    def index_at(self, t_s: float) -> int:
        """The point whose cell holds ``t_s`` (the first or the last beyond the ends; -1 if empty)."""
        if len(self) == 0:
            return -1
        i = int(np.searchsorted(self.cell_edges(), t_s, side="right")) - 1
        return min(max(i, 0), len(self) - 1)

    def point_at(self, t_s: float) -> TimelinePoint | None:
        """The point whose cell holds ``t_s`` (None while there are none)."""
        i = self.index_at(t_s)
        return self.points[i] if i >= 0 else None

    def speech_bands(self, x0: float, x1: float, max_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) in seconds of speech in ``[x0, x1]``, for a view ``max_bins`` pixels
        wide: exact runs of cells when they fit, else whole pixels, each one speech if any of
        its time is (a short utterance in an hour still shows, at least one pixel wide)."""
        i, j = self._visible_cells(x0, x1)
        keys = self.speech[i:j].astype(np.int16)
        starts, ends, run_keys = self._runs(i, keys)
        starts, ends = starts[run_keys == 1], ends[run_keys == 1]
        if j - i <= max_bins or len(starts) == 0:
            return starts, ends
        edges = np.linspace(x0, x1, max_bins + 1)
        width = (x1 - x0) / max_bins
        first = np.clip(np.floor((starts - x0) / width), 0, max_bins - 1).astype(int)
        last = np.clip(np.ceil((ends - x0) / width), 1, max_bins).astype(int)  # exclusive
        # Merge runs that now touch or share a pixel.
        new_run = np.r_[True, first[1:] > np.maximum.accumulate(last)[:-1]]
        begin = first[new_run]
        end = np.maximum.reduceat(last, np.flatnonzero(new_run))
        return edges[begin], edges[end]

    def dominant_bands(self, x0: float, x1: float, max_bins: int, unsure_threshold: float,
                       voice: str | None = None) -> Bands:
        """The dominant-emotion strip for ``[x0, x1]`` drawn ``max_bins`` pixels wide: one band
        per run of points with the same winning label and the same sureness (a winner below
        ``unsure_threshold``, or clipped, is unsure); silence is no band. With more cells than pixels,
        each pixel shows the label that covers most of its speech time, sure when most of
        that time was sure; a pixel is blank only when none of its time is speech. With
        ``voice`` ("me", "other", "unknown"), only that voice's points count: the rest is as
        silence (one row of the strip per voice)."""
        i, j = self._visible_cells(x0, x1)
        codes = self.winners[i:j].astype(np.int32)
        if voice is not None:
            codes = np.where(self.voices[i:j] == VOICE_ORDER.index(voice), codes, NO_WINNER)
        sure = (self.winner_probabilities[i:j] >= unsure_threshold) & (codes != NO_WINNER) \
            & ~self._clipped.view[i:j]  # speech recorded too loud is drawn as doubtful as it is
        keys = np.where(codes == NO_WINNER, -1, 2 * codes + sure)
        starts, ends, run_keys = self._runs(i, keys)
        speech = run_keys >= 0
        starts, ends, run_keys = starts[speech], ends[speech], run_keys[speech]
        if j - i <= max_bins or len(starts) == 0:
            return Bands(starts, ends, run_keys // 2, (run_keys % 2).astype(bool))
        # Spread each run's time over the pixels it covers, per label and per sureness.
        width = (x1 - x0) / max_bins
        edges = x0 + width * np.arange(max_bins + 1)
        first = np.clip(np.floor((starts - x0) / width), 0, max_bins - 1).astype(int)
        last = np.clip(np.ceil((ends - x0) / width) - 1, first, max_bins - 1).astype(int)
        count = last - first + 1
        run = np.repeat(np.arange(len(starts)), count)
        pixel = first[run] + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        overlap = np.minimum(ends[run], edges[pixel + 1]) - np.maximum(starts[run], edges[pixel])
        overlap = np.maximum(overlap, 1e-9)  # a run touching a pixel still counts there
        n_codes = max(1, len(self.labels))
        slot = pixel * n_codes + run_keys[run] // 2
        time = np.bincount(slot, overlap, max_bins * n_codes).reshape(max_bins, n_codes)
        sure_time = np.bincount(slot, overlap * (run_keys[run] % 2), max_bins * n_codes).reshape(max_bins, n_codes)
        best = np.argmax(time, axis=1)
        rows = np.arange(max_bins)
        has_speech = time[rows, best] > 0
        pixel_keys = np.where(has_speech, 2 * best + (sure_time[rows, best] >= time[rows, best] / 2), -1)
        run_starts = np.flatnonzero(np.r_[True, pixel_keys[1:] != pixel_keys[:-1]])
        run_ends = np.r_[run_starts[1:], max_bins]
        keep = pixel_keys[run_starts] >= 0
        keys = pixel_keys[run_starts][keep]
        return Bands(edges[run_starts][keep], edges[run_ends][keep], keys // 2, (keys % 2).astype(bool))

    def segments(self) -> list[Segment]:
        """The engine's segments of these points (:func:`~moodline.engine.timeline.segments`):
        runs of one label, silence included, the last ending at :attr:`duration_s`. Computed
        once per new point (about 2 ms for an hour)."""
        return self._segment_cache()[1]

    def speech_segment_starts(self) -> np.ndarray:
        """Where each segment of speech starts: the places to jump to."""
        return self._segment_cache()[2]

    def _segment_cache(self) -> tuple[tuple, list[Segment], np.ndarray]:
        """(key, segments, the starts of those with speech), recomputed when a point arrives."""
        key = (len(self.points), self.duration_s)
        if self._segments is None or self._segments[0] != key:
            found = segments(self.points, self.duration_s)
            starts = np.array([s.start_s for s in found if s.is_speech], dtype=np.float64)
            self._segments = (key, found, starts)
        return self._segments

    def next_segment_start(self, t_s: float) -> float | None:
        """The first segment of speech starting after ``t_s`` (None after the last)."""
        starts = self.speech_segment_starts()
        k = int(np.searchsorted(starts, t_s + 1e-6, side="right"))
        return float(starts[k]) if k < len(starts) else None

    def previous_segment_start(self, t_s: float, restart_s: float = 1.0) -> float | None:
        """The start of the segment ``t_s`` is in, when more than ``restart_s`` into it; else
        the previous segment's start (as a player's "previous" restarts, then goes back).
        None when there is none before."""
        starts = self.speech_segment_starts()
        k = int(np.searchsorted(starts, t_s - restart_s, side="right")) - 1
        return float(starts[k]) if k >= 0 else None

    def _visible_cells(self, x0: float, x1: float) -> tuple[int, int]:
        """The range ``i:j`` of the cells that overlap ``[x0, x1]``."""
        edges = self.cell_edges()
        i = max(0, int(np.searchsorted(edges, x0, side="right")) - 1)
        j = min(len(self), int(np.searchsorted(edges, x1, side="left")))
        return i, max(i, j)

    def _runs(self, first_cell: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, key) of the runs of equal ``keys`` over cells from ``first_cell`` on."""
        if len(keys) == 0:
            empty = np.zeros(0)
            return empty, empty, keys[:0]
        edges = self.cell_edges()[first_cell:first_cell + len(keys) + 1]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        return edges[starts], edges[ends], keys[starts]

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


class GrowingEnvelope:
    """A waveform envelope built up from audio as it arrives, kept at every resolution a view
    may need, so that drawing it costs the same after a minute and after an hour.

    Level 0 holds the minimum and maximum of each bucket of :attr:`bucket` samples; each level
    above merges pairs of buckets of the one below. Appending audio adds its new level-0
    buckets and, above them, one bucket per pair they complete: under two buckets in all per
    new level-0 bucket on average, whatever the length so far (nothing is ever rebuilt).
    A view (:meth:`columns`) takes the level with about one bucket per pixel and folds those
    into its pixels by min and max, so no peak vanishes between pixels.
    """

    def __init__(self, sample_rate_hz: int, buckets_per_s: int = 50) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.bucket = max(1, sample_rate_hz // buckets_per_s)  # samples per level-0 bucket
        self._rest = np.zeros(0, dtype=np.float32)  # samples short of a whole bucket
        self._levels: list[tuple[_Growing, _Growing]] = []

    def append(self, samples: np.ndarray) -> None:
        """Add audio (float, -1…1) that follows what came before."""
        data = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        n = len(data) // self.bucket
        if n:
            frames = data[:n * self.bucket].reshape(n, self.bucket)
            self._add(0, frames.min(axis=1), frames.max(axis=1))
        self._rest = np.array(data[n * self.bucket:], dtype=np.float32)

    def _add(self, level: int, mins: np.ndarray, maxs: np.ndarray) -> None:
        """Append buckets to ``level`` and merge the pairs they complete into the levels above."""
        while len(mins):
            if level == len(self._levels):
                self._levels.append((_Growing(dtype=np.float32), _Growing(dtype=np.float32)))
            lows, highs = self._levels[level]
            merged_before = lows.n // 2
            lows.append(mins)
            highs.append(maxs)
            merged_after = lows.n // 2
            pairs = slice(2 * merged_before, 2 * merged_after)
            mins = lows.view[pairs].reshape(-1, 2).min(axis=1)
            maxs = highs.view[pairs].reshape(-1, 2).max(axis=1)
            level += 1

    @property
    def levels(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(minima, maxima) per level, finest first; level ``k``'s buckets are ``2**k`` level-0 buckets."""
        return [(lows.view, highs.view) for lows, highs in self._levels]

    @property
    def bucket_s(self) -> float:
        return self.bucket / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        """Where the envelope ends: the end of its last whole bucket."""
        return (self._levels[0][0].n if self._levels else 0) * self.bucket_s

    def columns(self, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(starts_s, ends_s, minima, maxima) of the audio in ``[x0, x1]`` drawn ``pixels`` wide:
        at most one column per pixel, each the minimum and maximum of all the audio in its
        span. The columns follow one another without gaps, so every sample is in one."""
        empty = np.zeros(0)
        if not self._levels or x1 <= x0 or pixels < 1:
            return empty, empty, empty.astype(np.float32), empty.astype(np.float32)
        pixel_s = (x1 - x0) / pixels
        # The coarsest level whose buckets are no wider than a pixel (cost: about 2 buckets a pixel).
        level = int(np.clip(np.floor(np.log2(max(pixel_s / self.bucket_s, 1.0))), 0, len(self._levels) - 1))
        size = 1 << level  # level-0 buckets per bucket of this level
        lows, highs = self.levels[level]
        first = max(0, int(np.floor(x0 / (self.bucket_s * size))))
        last = min(len(lows), int(np.ceil(x1 / (self.bucket_s * size))))  # exclusive
        starts = [np.arange(first, max(first, last)) * size]
        sizes = [np.full(max(0, last - first), size)]
        mins, maxs = [lows[first:last]], [highs[first:last]]
        # The newest audio is not merged up to this level yet: at most one bucket of each finer level.
        covered = len(lows) * size
        if x1 > covered * self.bucket_s:
            for finer in range(level - 1, -1, -1):
                lows_f, highs_f = self.levels[finer]
                k = covered >> finer
                if k == len(lows_f):
                    continue
                if x0 < (covered + (1 << finer)) * self.bucket_s and covered * self.bucket_s < x1:
                    starts.append(np.array([covered]))
                    sizes.append(np.array([1 << finer]))
                    mins.append(lows_f[k:k + 1])
                    maxs.append(highs_f[k:k + 1])
                covered += 1 << finer
        start, width = np.concatenate(starts), np.concatenate(sizes)
        lo, hi = np.concatenate(mins), np.concatenate(maxs)
        if len(start) == 0:
            return empty, empty, lo, hi
        # Fold the buckets into pixels by their centres (they are no wider than a pixel).
        pixel = np.clip(((start + width / 2) * self.bucket_s - x0) // pixel_s, 0, pixels - 1)
        begin = np.flatnonzero(np.r_[True, pixel[1:] != pixel[:-1]])
        end = np.r_[begin[1:], len(start)] - 1
        return (start[begin] * self.bucket_s, (start[end] + width[end]) * self.bucket_s,
                np.minimum.reduceat(lo, begin), np.maximum.reduceat(hi, begin))
