"""A live session in the window: the engine's :class:`ListeningSession`, bridged to Qt, and
the :class:`LiveController` that starts, shows and stops it.

Points come from the engine thread; :attr:`LiveSession.point` re-emits them as a Qt signal,
so they reach the GUI thread queued. :meth:`LiveSession.start` and :meth:`LiveSession.stop`
block on audio devices and disk, so the controller runs them on a worker thread.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QObject, pyqtSignal

from moodline.engine.analysis import AnalysisSettings
from moodline.engine.errors import MoodlineError
from moodline.engine.model import EmotionModel
from moodline.engine.readout import LISTENING, Readout
from moodline.engine.ringbuffer import RingReader
from moodline.engine.session import ListeningSession, Recording, default_sessions_dir, open_session
from moodline.engine.streaming import StreamingAnalyzer
from moodline.engine.timeline import TimelinePoint
from moodline.engine.voices import enrolled_voice, find_voice

from .jobs import SESSION_JOBS, JobState
from .widgets.banner import Topic
from .workers import Task, run_task

RING_S = 30.0  # seconds of input audio the ring buffer holds
LIVE_SUMMARY_S = 1.0  # the summary and segments of a running session catch up at most this often


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
        enrolment = enrolled_voice(self.voice, self.model, self.settings)
        session = ListeningSession(self.model, self.settings,
                                   lambda: self.source_factory(self.device, self.model.info.sample_rate_hz),
                                   None, self.settings_record, enrolment,
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


class LiveController:
    """Start, listen, stop: the window's live session (a :class:`LiveSession` started and
    finished on workers) and what the window shows while it runs: the readout, the waveform and
    level, the summary so far, and why it stopped if the input went away. ``window`` gives the
    views, the settings and the job state."""

    def __init__(self, window) -> None:
        self.window = window
        self._waveform_reader: RingReader | None = None  # the live waveform's place in the ring
        self._summary_at = 0.0  # when the summary so far last caught up (monotonic s)
        self._summary_points = 0

    def start(self) -> None:
        w = self.window
        if w.jobs & (JobState.LISTENING | JobState.FINISHING):
            return
        if JobState.LOADING_MODEL in w.jobs or (JobState.SCANNING in w.jobs and w.devices.current_name() is None):
            w.request_start()  # pressed (or --start) before the window is ready: wait
            return
        device = w.devices.current_name()
        if w.busy or w.model is None or device is None:
            return  # a job is running, or the banner already says what is missing
        w.player.stop()
        w.store.setValue("device/name", device)
        if not self._voice_enrolled():
            return
        session = LiveSession(w.model, w.settings.analysis, device, w.sessions_root,
                              w.source_factory, w.settings.to_record(), w.settings.voice)
        session.point.connect(self._on_point)
        w.recording = None
        w.timeline_view.start_live(w.model.info.labels)
        w.summary_panel.clear("This session so far")
        w.segments_list.set_segments([])
        self._summary_points = 0
        w.panel.show_readout(Readout(LISTENING))
        if w.aid is not None:
            w.aid.reset()
        w.banner.clear()
        w.jobs |= JobState.STARTING
        w.status_session.setText(f"Opening '{device}'…")
        w.update_actions()
        run_task(Task(session.start), w.tasks, on_done=self._started, on_failed=self._failed)

    def _started(self, session: LiveSession) -> None:
        w = self.window
        w.jobs = (w.jobs & ~JobState.STARTING) | JobState.LISTENING
        w.live = session
        source = session.source
        self._waveform_reader = RingReader(session.source.ring, session.start_index)
        w.timeline_view.set_live_audio_rate(source.sample_rate_hz)
        w.status_device.setText(f"input: {source.device.name} · {source.sample_rate_hz} Hz")
        w.status_session.setText(f"Recording to {session.folder}")
        w.update_actions()
        if w.close_when_idle:
            w.close()

    def _failed(self, message: str) -> None:
        w = self.window
        w.jobs &= ~JobState.STARTING
        w.timeline_view.stop_live()
        w.panel.show_idle(f"Could not start: {message}")  # not "waiting for speech": nothing runs
        w.status_session.setText("Not listening")
        w.show_error(Topic.DEVICE, f"Could not start listening: {message}. Choose another input device.",
                    [("Look again", w.refresh_devices)])
        w.update_actions()
        if w.close_when_idle:
            w.close()

    def _on_point(self, point: TimelinePoint) -> None:
        w = self.window
        if not w.jobs & SESSION_JOBS:
            return  # a point that raced the end of its session
        w.timeline_view.add_points([point])
        w.panel.show_point(point, w.unsure_threshold(), w.settings.aid.shown_voices)
        if w.aid is not None:
            w.aid.feed(point)

    def stop(self) -> None:
        w = self.window
        if w.player.playing:
            w.player.stop()
        if JobState.LISTENING in w.jobs:
            self.finish()
        w.update_actions()

    def finish(self) -> None:
        """End the session: the input stops, the rest is classified and the files finished on a worker."""
        w = self.window
        session = w.live
        w.jobs = (w.jobs & ~JobState.LISTENING) | JobState.FINISHING
        w.timeline_view.stop_live()
        w.level.reset()
        w.status_session.setText("Finishing the session…")

        def stopped(recording: Recording) -> None:
            w.jobs &= ~JobState.FINISHING
            w.live = None
            w.recording = recording
            w.show_summary(recording.timeline, "This session")
            w.status_session.setText(f"Session saved in {recording.folder}")
            w.remember_recent(recording.folder)
            w.update_actions()
            if w.close_when_idle:
                w.close()

        def failed(message: str) -> None:
            w.jobs &= ~JobState.FINISHING
            w.live = None
            w.show_error(Topic.SESSION, f"The session could not be finished: {message}")
            w.update_actions()
            if w.close_when_idle:
                w.close()

        run_task(Task(session.stop), w.tasks, on_done=stopped, on_failed=failed)
        w.update_actions()

    def frame(self) -> None:
        """Every frame while listening: the new audio into the waveform and the level meter
        (silence for what the window fell behind on), dropped audio, and the summary so far."""
        w = self.window
        live = w.live
        for piece in self._waveform_reader.read():
            w.timeline_view.add_audio(piece)
            w.level.add_samples(piece, live.source.sample_rate_hz)
        w.status_dropped.setText(f"dropped audio: {live.dropped_s:.1f} s")
        problem = live.problem()
        if problem:
            self._broke(problem)
            return
        self._catch_up_summary()

    def _broke(self, problem: str) -> None:
        w = self.window
        folder = w.live.folder
        self.finish()
        w.show_error(Topic.DEVICE, f"{problem} What was recorded so far is kept (in {folder}). "
                    "Choose an input device and press Start to go on.",
                        [("Look for devices", w.refresh_devices)])
        w.panel.show_idle("Stopped — the input went away")

    def _catch_up_summary(self) -> None:
        """Live: bring the summary and the segments list up to the newest points, at most every
        :data:`LIVE_SUMMARY_S` (an hour's summary and segments take about 7 ms)."""
        w = self.window
        now = time.monotonic()
        if now - self._summary_at < LIVE_SUMMARY_S:
            return
        so_far = w.live.analyzer.snapshot()  # the engine's live timeline, not one of our own
        if len(so_far.points) == self._summary_points:
            return
        self._summary_at, self._summary_points = now, len(so_far.points)
        w.show_live_summary(so_far)

    def _voice_enrolled(self) -> bool:
        """Whether the voice chosen as the user's own (if any) is still enrolled; says so if not."""
        w = self.window
        voice = w.settings.voice
        if not voice or w.model is None:
            return True
        try:
            find_voice(voice)
        except MoodlineError:
            w.show_error(Topic.SETTINGS, f"The voice '{voice}' chosen as yours is no longer enrolled: "
                            "choose another in Settings (My voice), or enrol it again.",
                         [("Settings…", w.settings_dialog)])
            return False
        return True
