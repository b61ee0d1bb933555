"""A live session in the window: the engine's :class:`ListeningSession`, bridged to Qt.

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
from moodline.engine.session import ListeningSession, Recording, default_sessions_dir, open_session
from moodline.engine.streaming import StreamingAnalyzer
from moodline.engine.voices import enrolled_baseline

RING_S = 30.0  # seconds of input audio the ring buffer holds


def microphone(device: str | None, preferred_rate_hz: int):
    """The default source factory: a sounddevice input stream into a ring buffer."""
    from moodline.engine.sources import MicrophoneSource

    return MicrophoneSource(ring_s=RING_S, device=device, preferred_rate_hz=preferred_rate_hz)


SourceFactory = Callable[[str | None, int], object]


class LiveSession(QObject):
    """One run from Start to Stop, recorded into a new folder under ``sessions_root``."""

    point = pyqtSignal(object)

    def __init__(self, model: EmotionModel, settings: AnalysisSettings, device: str | None,
                 sessions_root: Path | None = None, source_factory: SourceFactory = microphone,
                 settings_record: dict | None = None, voice: str = "") -> None:
        super().__init__()
        self.voice = voice  # an enrolled voice to start from ("" = none)
        self.model, self.settings, self.device = model, settings, device
        self.sessions_root = sessions_root
        self.source_factory = source_factory
        self.settings_record = settings_record or {}
        self.session: ListeningSession | None = None

    @property
    def source(self):
        return self.session.source if self.session else None

    @property
    def analyzer(self) -> StreamingAnalyzer | None:
        return self.session.analyzer if self.session else None

    @property
    def folder(self) -> Path | None:
        return self.session.folder if self.session else None

    @property
    def start_index(self) -> int:
        return self.session.start_index if self.session else 0

    # ---- worker thread ----------------------------------------------------------------
    def start(self) -> "LiveSession":
        """Open the device, start the engine thread and the recorder (blocking)."""
        baseline = enrolled_baseline(self.voice, self.model, self.settings)
        session = ListeningSession(self.model, self.settings,
                                   lambda: self.source_factory(self.device, self.model.info.sample_rate_hz),
                                   None, self.settings_record, baseline,
                                   new_folder_under=self.sessions_root or default_sessions_dir())
        session.subscribe(self.point.emit)
        session.start()  # a session that never started leaves no folder behind
        self.session = session
        return self

    def stop(self) -> Recording:
        """Stop everything, finish the session files, and return the session as a recording."""
        self.session.stop()
        return open_session(self.session.folder)

    # ---- GUI thread -------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the session cannot go on, as a sentence, or None while all is well."""
        problem = self.session.problem() if self.session else None
        return f"{problem[0].upper()}{problem[1:]}." if problem else None

    @property
    def dropped_s(self) -> float:
        """Audio lost so far: what the engine was too slow to read plus input overflows."""
        return self.session.dropped_s if self.session else 0.0
