"""A recording on screen: its timeline, its audio, and where it came from (no Qt here).

Opening a file decodes and analyses it in one pass (the audio is kept for the waveform strip
and playback) on a worker thread, reporting progress and checking for cancellation through
plain callables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine.errors import MoodlineError
from moodline.engine.model import EmotionModel
from moodline.engine.timeline import Timeline

from .session import (AUDIO_FILE, POINTS_FILE, TIMELINE_FILE, IncrementalWav, SessionInfo,
                      read_points)

WAVEFORM_BUCKETS_PER_S = 50  # resolution of the waveform strip


class Cancelled(Exception):
    """The user cancelled a long job."""


@dataclass
class Recording:
    """A timeline with its audio (16-bit mono), as analysed, recorded or reopened."""

    timeline: Timeline
    audio: np.ndarray | None  # int16
    sample_rate_hz: int
    source: str  # file path, or "input: <device>"
    folder: Path | None = None  # the session folder, when it has one
    model: str = ""

    @property
    def duration_s(self) -> float:
        audio_s = 0.0 if self.audio is None else len(self.audio) / self.sample_rate_hz
        return max(audio_s, self.timeline.duration_s)


def to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def waveform_envelope(audio: np.ndarray, sample_rate_hz: int,
                      buckets_per_s: int = WAVEFORM_BUCKETS_PER_S) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket centre times s, minima, maxima) of ``audio`` scaled to -1…1, for drawing."""
    size = max(1, sample_rate_hz // buckets_per_s)
    n = len(audio) // size
    scale = 32768.0 if audio.dtype == np.int16 else 1.0
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty, empty
    frames = audio[:n * size].reshape(n, size)
    times = (np.arange(n, dtype=np.float64) + 0.5) * size / sample_rate_hz
    return times, frames.min(axis=1) / scale, frames.max(axis=1) / scale


def _duration_s(path: Path) -> float | None:
    try:
        import soundfile

        return soundfile.info(str(path)).duration or None
    except Exception:  # not a libsndfile format: FFmpeg decodes it; the length is unknown
        return None


def analyze_recording(
    path: str | os.PathLike,
    model: EmotionModel,
    settings: AnalysisSettings,
    progress: Callable[[float], None] = lambda fraction: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Recording:
    """Decode and analyse ``path``. ``progress`` gets 0…1 (or -1 while the length is unknown)."""
    path = Path(path)
    rate = model.info.sample_rate_hz
    expected_s = _duration_s(path)
    blocks: list[np.ndarray] = []  # int16: half the memory of float32, all playback needs

    def on_progress(seconds_done: float) -> None:
        if cancelled():
            raise Cancelled()  # leaves analyze_file between blocks; nothing is kept
        progress(min(1.0, seconds_done / expected_s) if expected_s else -1.0)

    # One pass: the engine decodes and analyses, and hands each block over for the waveform.
    timeline = analyze_file(path, model, settings, progress=on_progress,
                            on_block=lambda block: blocks.append(to_int16(block)))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
    return Recording(timeline, audio, rate, str(path), model=str(model.path))


def open_session(folder: str | os.PathLike) -> Recording:
    """Reopen a session folder (also one cut short by a crash)."""
    import soundfile

    folder = Path(folder)
    info = SessionInfo.load(folder)
    if (folder / TIMELINE_FILE).is_file():
        timeline = Timeline.load(folder / TIMELINE_FILE)
    elif (folder / POINTS_FILE).is_file():
        timeline = read_points(folder / POINTS_FILE, info.labels)
    else:
        timeline = Timeline(tuple(info.labels))
    audio, rate = None, info.sample_rate_hz
    if (folder / AUDIO_FILE).is_file():
        try:
            audio, rate = soundfile.read(str(folder / AUDIO_FILE), dtype="int16")
        except Exception as exc:
            raise MoodlineError(f"{folder / AUDIO_FILE}: cannot read the session's audio ({exc})") from None
    return Recording(timeline, audio, rate, info.source, folder, info.model)


def save_as_session(recording: Recording, folder: str | os.PathLike, settings: dict | None = None) -> Path:
    """Write ``recording`` as a session folder (created; must not already hold a session)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "session.json").exists():
        raise MoodlineError(f"{folder}: already holds a session")
    SessionInfo(recording.source, recording.model, list(recording.timeline.labels),
                recording.sample_rate_hz, settings or {}).save(folder)
    if recording.audio is not None:
        export_wav(recording, folder / AUDIO_FILE)
    recording.timeline.save(folder / TIMELINE_FILE, file=recording.source)
    return folder


def export_wav(recording: Recording, path: str | os.PathLike) -> Path:
    """The recording's audio as a 16-bit WAV file."""
    path = Path(path)
    if recording.audio is None:
        raise MoodlineError("this recording has no audio to export")
    wav = IncrementalWav(path, recording.sample_rate_hz)
    try:
        wav.write(recording.audio)
    finally:
        wav.close()
    return path
