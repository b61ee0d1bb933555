"""A live session: an input source, the engine thread and the session recorder, bridged to Qt.

Points come from the engine thread; :attr:`LiveSession.point` re-emits them as a Qt signal,
so they reach the GUI thread queued. :meth:`start` and :meth:`stop` block on audio devices
and disk, so the window runs them on a worker thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QObject, pyqtSignal

from moodline.engine.analysis import AnalysisSettings
from moodline.engine.model import EmotionModel
from moodline.engine.streaming import StreamingAnalyzer
from moodline.engine.timeline import TimelinePoint

from .recording import Recording, open_session
from .session import SessionInfo, SessionRecorder, new_session_dir

RING_S = 30.0  # seconds of input audio the ring buffer holds


def microphone(device: str | None, preferred_rate_hz: int):
    """The default source factory: a sounddevice input stream into a ring buffer."""
    from moodline.engine.sources import MicrophoneSource

    return MicrophoneSource(ring_s=RING_S, device=device, preferred_rate_hz=preferred_rate_hz)


SourceFactory = Callable[[str | None, int], object]


class LiveSession(QObject):
    """One run from Start to Stop. Emits every new point, and a message when it breaks."""

    point = pyqtSignal(object)

    def __init__(self, model: EmotionModel, settings: AnalysisSettings, device: str | None,
                 sessions_root: Path | None = None, source_factory: SourceFactory = microphone,
                 settings_record: dict | None = None) -> None:
        super().__init__()
        self.model, self.settings, self.device = model, settings, device
        self.sessions_root = sessions_root
        self.source_factory = source_factory
        self.settings_record = settings_record or {}
        self.source = None
        self.analyzer: StreamingAnalyzer | None = None
        self.recorder: SessionRecorder | None = None
        self.folder: Path | None = None
        self.start_index = 0  # the ring's absolute sample index at time 0 of the session

    # ---- worker thread ----------------------------------------------------------------
    def start(self) -> "LiveSession":
        """Open the device, start the engine thread and the recorder (blocking)."""
        source = self.source_factory(self.device, self.model.info.sample_rate_hz)
        analyzer = StreamingAnalyzer(self.model, source.ring, source.sample_rate_hz, self.settings)
        folder = new_session_dir(self.sessions_root)
        info = SessionInfo(f"input: {source.device.name}", str(self.model.path),
                           list(self.model.info.labels), source.sample_rate_hz, self.settings_record)
        start_index = self.start_index = source.ring.written
        recorder = SessionRecorder(folder, info, source.ring, start_index)
        analyzer.subscribe(self._on_point)
        self.source, self.analyzer, self.recorder, self.folder = source, analyzer, recorder, folder
        analyzer.start(from_sample=start_index)
        recorder.start()
        try:
            source.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> Recording:
        """Stop everything, finish the session files, and return the session as a recording."""
        if self.source is not None:
            self.source.stop()
        timeline = self.analyzer.stop() if self.analyzer else None
        if self.recorder is not None:
            self.recorder.stop(timeline)
        return open_session(self.folder)

    # ---- engine thread ----------------------------------------------------------------
    def _on_point(self, point: TimelinePoint) -> None:
        self.recorder.add_point(point)
        self.point.emit(point)

    # ---- GUI thread -------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the session cannot go on (device gone, engine error), or None while all is well."""
        if self.analyzer is not None and self.analyzer.error is not None:
            return f"The analysis stopped: {self.analyzer.error}"
        if self.source is not None and not self.source.active:
            return f"The input device '{self.source.device.name}' stopped delivering audio (was it unplugged?)."
        if self.recorder is not None and self.recorder.error is not None:
            return f"Recording to {self.folder} failed: {self.recorder.error}"
        return None

    @property
    def dropped_s(self) -> float:
        """Audio lost so far: what the engine was too slow to read plus input overflows."""
        if self.source is None or self.analyzer is None:
            return 0.0
        rate = self.source.sample_rate_hz
        from moodline.engine.sources import BLOCK_S

        return self.analyzer.lost_samples / rate + getattr(self.source, "overflows", 0) * BLOCK_S
