"""The single source of truth for recent audio: a fixed-size ring with absolute sample indices.

One producer (the audio callback) writes; one consumer (the engine thread) reads "from sample
N on". Writing never blocks and never waits for the reader: when the reader falls more than
``capacity`` samples behind, the oldest audio is overwritten and the reader is told how much it
lost. Every sample is stored twice (as Friture does), so any span of up to ``capacity`` samples
is one contiguous slice and reading needs no wrap-around logic. Each consumer reads through a
:class:`RingReader` of its own, which turns audio it lost into silence of the same length.
"""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity single-producer / single-consumer ring of mono float32 samples."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._data = np.zeros(2 * capacity, dtype=np.float32)
        # Total samples ever written. Only the producer assigns it, after the samples are in
        # place; a plain int assignment is atomic under the GIL, so readers never see a count
        # ahead of the data.
        self._written = 0

    @property
    def written(self) -> int:
        """Absolute index one past the newest sample."""
        return self._written

    @property
    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self._written - self.capacity)

    def write(self, samples: np.ndarray) -> None:
        """Append samples (producer only). Copies them; allocates nothing else; never blocks."""
        n = len(samples)
        cap = self.capacity
        if n > cap:  # more than fits: only the newest capacity samples survive anyway
            self._written += n - cap
            samples, n = samples[n - cap:], cap
        pos = self._written % cap
        first = min(n, cap - pos)
        data = self._data
        data[pos:pos + first] = samples[:first]
        data[cap + pos:cap + pos + first] = samples[:first]
        if first < n:
            rest = n - first
            data[:rest] = samples[first:]
            data[cap:cap + rest] = samples[first:]
        self._written += n

    def read(self, start: int, max_samples: int | None = None) -> tuple[int, np.ndarray]:
        """Samples from absolute index ``start`` on (a copy), up to ``max_samples``.

        Returns ``(first, samples)``. ``first > start`` means samples ``start .. first`` were
        overwritten before they were read (the reader was too slow) and are lost.
        """
        end = self._written
        first = max(start, end - self.capacity)
        if max_samples is not None:
            end = min(end, first + max_samples)
        if end <= first:
            return first, np.zeros(0, dtype=np.float32)
        pos = first % self.capacity
        out = self._data[pos:pos + (end - first)].copy()
        # The producer may have lapped us while we copied: drop what it overwrote.
        overwritten = self._written - self.capacity - first
        if overwritten > 0:
            return first + overwritten, out[overwritten:]
        return first, out


GAP_BLOCK = 160_000  # silence standing for lost audio comes in pieces of at most this many samples


class RingReader:
    """One consumer's place in a :class:`RingBuffer`: the engine thread, the session's audio
    file and the window's waveform each keep one.

    :meth:`read` gives what was written since the last read. Audio overwritten before this
    reader got to it (it fell more than the ring's capacity behind) comes back as silence of the
    same length, so everything after it keeps its true time; :attr:`lost` counts it.
    """

    def __init__(self, ring: RingBuffer, start: int = 0) -> None:
        self.ring = ring
        self.position = start  # absolute index of the next sample this reader takes
        self.lost = 0  # samples overwritten before they were read

    @property
    def available(self) -> int:
        """Samples written and not yet read (lost ones included)."""
        return self.ring.written - self.position

    def read(self, max_samples: int | None = None) -> list[np.ndarray]:
        """What was written since the last read, in order: silence for any lost stretch (in
        pieces of at most :data:`GAP_BLOCK` samples), then the samples. Empty when nothing is new."""
        first, samples = self.ring.read(self.position, max_samples)
        pieces = []
        lost = first - self.position
        if lost > 0:
            self.lost += lost
            pieces += [np.zeros(min(GAP_BLOCK, lost - at), dtype=np.float32) for at in range(0, lost, GAP_BLOCK)]
        self.position = first + len(samples)
        if len(samples):
            pieces.append(samples)
        return pieces
