"""Sessions on disk: the folder layout, incremental recording, and reopening (no Qt here).

A session is one folder::

    2024-05-01_14-03-22/
      session.json    what was recorded: source, model, labels, settings, start time
      audio.wav       16-bit mono at the input's rate, appended and synced every FLUSH_S
      timeline.jsonl  one timeline point per line, appended as points arrive (the autosave)
      timeline.json   the whole timeline, written when the session ends or is saved

``audio.wav``'s header is rewritten on every append and the file synced to disk, so a crash
or power cut loses at most the last ``FLUSH_S`` of audio; the timeline is rebuilt from
``timeline.jsonl`` when ``timeline.json`` is missing.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from moodline.engine.errors import MoodlineError
from moodline.engine.ringbuffer import RingBuffer
from moodline.engine.timeline import Timeline, TimelinePoint

SESSION_FILE, AUDIO_FILE = "session.json", "audio.wav"
POINTS_FILE, TIMELINE_FILE = "timeline.jsonl", "timeline.json"
SESSION_FORMAT = "moodline-session"
FLUSH_S = 0.5  # audio and points reach the disk at least this often


def default_sessions_dir() -> Path:
    """Where live sessions go: ``$MOODLINE_SESSIONS_DIR`` or ``~/Moodline/sessions``."""
    return Path(os.environ.get("MOODLINE_SESSIONS_DIR") or Path.home() / "Moodline" / "sessions")


def new_session_dir(root: str | os.PathLike | None = None) -> Path:
    """A new, empty folder named after the current time under ``root``."""
    root = Path(root) if root else default_sessions_dir()
    stem = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for n in range(1000):
        folder = root / (stem if n == 0 else f"{stem}_{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise MoodlineError(f"{root}: cannot create a session folder")


@dataclass
class SessionInfo:
    """The contents of ``session.json``."""

    source: str  # "input: <device name>" or the analysed file's path
    model: str
    labels: list[str]
    sample_rate_hz: int  # of audio.wav
    settings: dict[str, Any] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    started_unix_s: float = field(default_factory=time.time)
    format: str = SESSION_FORMAT
    version: int = 1

    def save(self, folder: Path) -> None:
        tmp = folder / (SESSION_FILE + ".part")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder / SESSION_FILE)

    @classmethod
    def load(cls, folder: Path) -> "SessionInfo":
        try:
            data = json.loads((folder / SESSION_FILE).read_text(encoding="utf-8"))
            if data.get("format") != SESSION_FORMAT:
                raise ValueError("not a session file")
            known = cls.__dataclass_fields__
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError) as exc:
            raise MoodlineError(f"{folder}: not a Moodline session ({exc})") from None


class IncrementalWav:
    """A 16-bit mono WAV file that is valid on disk after every :meth:`sync`."""

    def __init__(self, path: Path, sample_rate_hz: int) -> None:
        self.path = path
        self.frames = 0
        self._file = open(path, "wb")
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate_hz)

    def write(self, samples: np.ndarray) -> None:
        """Append float samples (-1…1) or 16-bit PCM."""
        if len(samples):
            pcm = samples.astype("<i2") if samples.dtype == np.int16 \
                else (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
            self._wav.writeframes(pcm.tobytes())  # also rewrites the header's sizes
            self.frames += len(samples)

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._wav.close()  # patches the header; does not close a file it did not open
        self.sync()
        self._file.close()


class SessionRecorder:
    """Writes a live session to its folder on its own thread.

    Audio is read from the ring buffer (never in the audio callback); points arrive from the
    engine thread through :meth:`add_point`, which only puts them on a queue.
    """

    def __init__(self, folder: Path, info: SessionInfo, ring: RingBuffer, start_index: int) -> None:
        self.folder = folder
        self.info = info
        self.ring = ring
        self.error: BaseException | None = None
        info.save(folder)
        self._wav = IncrementalWav(folder / AUDIO_FILE, info.sample_rate_hz)
        self._points_file = open(folder / POINTS_FILE, "w", encoding="utf-8")
        self._points: queue.SimpleQueue[TimelinePoint] = queue.SimpleQueue()
        self._pos = start_index
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="moodline-recorder", daemon=True)

    @property
    def seconds_written(self) -> float:
        return self._wav.frames / self.info.sample_rate_hz

    def add_point(self, point: TimelinePoint) -> None:
        """Queue a point for the autosave (safe to call from any thread, returns at once)."""
        self._points.put(point)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeline: Timeline | None = None) -> Path:
        """Write what is left, close the files, and save the whole timeline; returns the folder."""
        self._stop.set()
        self._thread.join(10.0)
        self._wav.close()
        self._points_file.close()
        if timeline is not None:
            timeline.save(self.folder / TIMELINE_FILE, file=self.info.source)
        return self.folder

    def _run(self) -> None:
        try:
            while not self._stop.wait(FLUSH_S):
                self._write_pending()
            self._write_pending()
        except Exception as exc:  # disk full, folder removed: report, keep the session going
            self.error = exc

    def _write_pending(self) -> None:
        first, samples = self.ring.read(self._pos)
        if first > self._pos:  # fell behind the ring: silence keeps later audio at its true time
            self._wav.write(np.zeros(first - self._pos, dtype=np.float32))
        self._wav.write(samples)
        self._pos = first + len(samples)
        lines = []
        while True:
            try:
                lines.append(json.dumps(self._points.get_nowait().to_dict()))
            except queue.Empty:
                break
        if lines:
            self._points_file.write("\n".join(lines) + "\n")
            self._points_file.flush()
            os.fsync(self._points_file.fileno())
        self._wav.sync()


def read_points(path: Path, labels: list[str]) -> Timeline:
    """A timeline from ``timeline.jsonl``, ignoring a last line cut short by a crash."""
    timeline = Timeline(tuple(labels))
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            timeline.extend([TimelinePoint.from_dict(json.loads(line))])
        except (ValueError, KeyError, TypeError):
            continue
    return timeline


def session_folder_of(path: str | os.PathLike) -> Path | None:
    """The session folder ``path`` names (the folder or any file in it), or None."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return folder if (folder / SESSION_FILE).is_file() else None


def save_session_copy(folder: Path, target: Path) -> Path:
    """Copy a session folder to ``target`` (which must not exist)."""
    if target.exists():
        raise MoodlineError(f"{target}: already exists")
    shutil.copytree(folder, target)
    return target
