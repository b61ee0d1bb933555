"""The engine thread: every hop, the newest audio in the ring buffer becomes timeline points.

The thread reads what the producer (a microphone callback, or a file being played in) has
written since its last read, runs it through the same slicer and classifier as offline
analysis, and hands each new :class:`TimelinePoint` to its subscribers (callbacks, queues, a Qt
signal). Audio that was overwritten before the thread could read it (it fell more than the
ring's capacity behind) is counted, and stands in the timeline as silence so times stay true.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import numpy as np

from .analysis import AnalysisSettings, WindowClassifier, new_slicer
from .audio import _Resampler
from .model import EmotionModel
from .ringbuffer import RingBuffer, RingReader
from .speakers import Enrolment
from .timeline import Timeline, TimelinePoint

POLL_S = 0.01  # how often the thread looks for new audio when it is waiting for a hop


class StreamingAnalyzer:
    """Runs the engine thread over a :class:`RingBuffer` fed at ``input_rate_hz``."""

    def __init__(
        self,
        model: EmotionModel,
        ring: RingBuffer,
        input_rate_hz: int,
        settings: AnalysisSettings = AnalysisSettings(),
        enrolment: Enrolment | None = None,
    ) -> None:
        self.model = model
        self.ring = ring
        self.input_rate_hz = input_rate_hz
        self.settings = settings.check()
        self.timeline = Timeline(model.info.labels)  # the live timeline: the engine thread's own
        self._timeline_lock = threading.Lock()
        self.hop_times_s: deque[float] = deque(maxlen=100_000)  # processing time per hop
        self.error: BaseException | None = None
        self._classify = WindowClassifier(model, self.settings, enrolment)
        self._slicer = new_slicer(model, self.settings, keep_audio=self._classify.separation is not None)
        self._resample = _Resampler(input_rate_hz, model.info.sample_rate_hz)
        self._subscribers: list[Callable[[TimelinePoint], None]] = []
        self._error_subscribers: list[Callable[[BaseException], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reader = RingReader(ring)  # where the engine thread is in the ring
        hop_s = self._slicer.grid.hop_s
        self._hop_input_samples = max(1, round(hop_s * input_rate_hz))

    @property
    def hop_s(self) -> float:
        return self._slicer.grid.hop_s

    @property
    def window_s(self) -> float:
        return self._slicer.grid.window_s

    @property
    def lost_samples(self) -> int:
        """Audio the thread was too slow to read (at the input rate), heard as silence."""
        return self.reader.lost

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, callback: Callable[[TimelinePoint], None]) -> None:
        """Call ``callback(point)`` on the engine thread for every new point (keep it quick)."""
        self._subscribers.append(callback)

    def subscribe_errors(self, callback: Callable[[BaseException], None]) -> None:
        """Call ``callback(error)`` if the engine thread stops on an error."""
        self._error_subscribers.append(callback)

    def start(self, from_sample: int | None = None) -> None:
        """Start the thread, reading from absolute sample ``from_sample`` (default: now)."""
        if self._thread is not None:
            raise RuntimeError("a StreamingAnalyzer runs once; make a new one")
        self.reader.position = self.ring.written if from_sample is None else from_sample
        self._thread = threading.Thread(target=self._run, name="moodline-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = 10.0) -> Timeline:
        """Stop after classifying all audio written so far (the last window padded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.timeline

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.reader.available < self._hop_input_samples:
                    time.sleep(POLL_S)
                    continue
                for piece in self.reader.read():
                    self._process(piece)
            for piece in self.reader.read():
                self._process(piece)
            self._process(np.zeros(0, dtype=np.float32), last=True)
        except Exception as exc:  # reported to subscribers; the timeline so far is kept
            self.error = exc
            for callback in list(self._error_subscribers):
                callback(exc)

    def _process(self, samples: np.ndarray, last: bool = False) -> None:
        started = time.perf_counter()
        windows = self._slicer.push(self._resample(samples, last=last))
        if last:
            windows += self._slicer.flush()
        if windows:
            self._emit(self._classify(windows))
            self.hop_times_s.append(time.perf_counter() - started)
        if last:
            self.timeline.duration_s = self._slicer.samples_received / self.model.info.sample_rate_hz

    def snapshot(self) -> Timeline:
        """The live timeline so far, as a copy any thread may read (what a view summarises)."""
        with self._timeline_lock:
            points = list(self.timeline.points)
        return Timeline(self.timeline.labels, points, points[-1].end_s if points else 0.0)

    def _emit(self, points: list[TimelinePoint]) -> None:
        with self._timeline_lock:
            self.timeline.extend(points)
        for point in points:
            for callback in list(self._subscribers):
                callback(point)
