"""Sessions: a live run recorded to one folder as it goes, readable after any end (no Qt here).

A session is one folder, readable by its owner only (folder 0700, files 0600, whatever the
umask: a voice recording is personal data)::

    2024-05-01_14-03-22/
      session.json    what was recorded: source, model, labels, settings, start time
      audio.wav       16-bit mono at the input's rate, appended and synced every FLUSH_S
      timeline.jsonl  one timeline point per line, appended as points arrive (the journal)
      timeline.json   the whole timeline, written when the session ends or is saved

``audio.wav``'s header is rewritten on every append and the file synced to disk, so a crash,
``kill -9`` or a power cut loses at most the last ``FLUSH_S`` of audio and the file stays a
valid WAV that any player (and ``moodline analyze``) reads; the timeline is rebuilt from
``timeline.jsonl`` when ``timeline.json`` is missing.

The window's Start and ``moodline listen --out DIR`` both record through
:class:`ListeningSession`; :func:`open_session` reopens a folder either left.
"""
from __future__ import annotations

import io
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
from typing import Any, BinaryIO, Callable

import numpy as np

from .analysis import AnalysisSettings, analyze_file
from .audio import audio_duration_s, to_int16
from .errors import MoodlineError
from .fileio import (PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, atomic_write, check_writable_dir, create_private_file,
                     make_private_dir, os_error_text)
from .model import EmotionModel
from .ringbuffer import RingBuffer, RingReader
from .speakers import Enrolment
from .streaming import StreamingAnalyzer
from .timeline import Timeline, TimelinePoint

SESSION_FILE, AUDIO_FILE = "session.json", "audio.wav"
POINTS_FILE, TIMELINE_FILE = "timeline.jsonl", "timeline.json"
# Made with O_EXCL when a session claims its folder, removed when it ends: of two sessions
# started into one folder at once, exactly one gets it, and the other touches nothing.
CLAIM_FILE = ".recording"
SESSION_FILES = (SESSION_FILE, AUDIO_FILE, POINTS_FILE, TIMELINE_FILE, CLAIM_FILE)
SESSION_FORMAT = "moodline-session"
WAV_HEADER_BYTES = 44  # what ``wave`` writes before the samples of a 16-bit PCM file
FLUSH_S = 0.5  # audio and points reach the disk at least this often


# ---- where sessions live ----------------------------------------------------------------
def default_sessions_dir() -> Path:
    """Where the window's sessions go: ``$MOODLINE_SESSIONS_DIR`` or ``~/Moodline/sessions``."""
    return Path(os.environ.get("MOODLINE_SESSIONS_DIR") or Path.home() / "Moodline" / "sessions")


def new_session_dir(root: str | os.PathLike | None = None) -> Path:
    """A new, empty, private folder named after the current time under ``root`` (created)."""
    root = make_private_dir(Path(root) if root else default_sessions_dir())
    stem = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for n in range(1000):
        try:
            return make_private_dir(root / (stem if n == 0 else f"{stem}_{n}"), exist_ok=False)
        except FileExistsError:
            continue
    raise MoodlineError(f"{root}: cannot create a session folder (too many sessions this second)")


def prepare_session_dir(folder: str | os.PathLike) -> bool:
    """Make ``folder`` ready to receive a session, before any audio is recorded.

    The folder is created (with its missing parents) or must be empty; it is made private and
    checked writable. A problem is one :class:`MoodlineError` line. Returns whether the folder
    was created here, so a caller whose session never started can remove it again.
    """
    folder = Path(folder)
    existed = folder.is_dir()
    if existed:
        if (folder / SESSION_FILE).exists():
            raise MoodlineError(f"{folder}: already holds a session; choose a new folder")
        try:
            if any(folder.iterdir()):
                raise MoodlineError(f"{folder}: the folder is not empty; choose a new or empty folder")
            os.chmod(folder, PRIVATE_DIR_MODE)
        except OSError as exc:
            raise MoodlineError(f"{folder}: cannot use the folder ({os_error_text(exc)})") from None
    else:
        make_private_dir(folder)
    check_writable_dir(folder)
    try:
        os.close(os.open(folder / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
    except FileExistsError:
        raise MoodlineError(f"{folder}: another session is being recorded into this folder; "
                            "choose a new folder") from None
    except OSError as exc:
        raise MoodlineError(f"{folder}: cannot use the folder ({os_error_text(exc)})") from None
    return not existed


def remove_session_files(folder: Path) -> None:
    """Remove a session's own files from ``folder`` (a session that never started); anything
    else in the folder is left alone."""
    for name in SESSION_FILES:
        try:
            os.remove(folder / name)
        except OSError:
            pass


def session_folder_of(path: str | os.PathLike) -> Path | None:
    """The session folder ``path`` names (the folder or any file in it), or None."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return folder if (folder / SESSION_FILE).is_file() else None


# ---- what is in a session ----------------------------------------------------------------
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
        atomic_write(folder / SESSION_FILE, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "SessionInfo":
        try:
            data = json.loads((folder / SESSION_FILE).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
                raise ValueError("not a session file")
            known = cls.__dataclass_fields__
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError) as exc:
            raise MoodlineError(f"{folder}: not a Moodline session ({exc})") from None


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


# ---- writing -----------------------------------------------------------------------------
class IncrementalWav:
    """A 16-bit mono WAV file that is valid on disk after every :meth:`write`.

    ``wave`` rewrites the header's sizes after each append, and its seeks push both the samples
    and the header to the operating system at once: a process killed at any moment leaves a
    file whose header counts only samples that are there. :meth:`sync` also gets them past a
    power cut. ``handle`` is an open binary file to write into (it is closed with the WAV).
    """

    def __init__(self, handle: BinaryIO, sample_rate_hz: int) -> None:
        self.frames = 0
        self._file = handle
        self._path: Path | None = None  # the file's name, when it is one (see close_after_failure)
        self._wav = wave.open(handle, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate_hz)
        self._wav.writeframes(b"")  # the header is on disk before the first sample

    @classmethod
    def create(cls, path: Path, sample_rate_hz: int) -> "IncrementalWav":
        """A new private (0600) WAV file at ``path``, which must not exist yet."""
        wav = cls(os.fdopen(create_private_file(path), "wb"), sample_rate_hz)
        wav._path = path
        return wav

    def write(self, samples: np.ndarray) -> None:
        """Append float samples (-1…1) or 16-bit PCM."""
        if len(samples):
            # Native byte order: ``wave`` swaps to little-endian itself where needed.
            pcm = np.ascontiguousarray(to_int16(samples))
            self._wav.writeframes(memoryview(pcm).cast("B"))  # no copy of a long recording
            self.frames += len(samples)

    def sync(self) -> None:
        self._file.flush()
        try:
            os.fsync(self._file.fileno())
        except io.UnsupportedOperation:  # an in-memory file: nothing to sync
            pass

    def finish(self) -> None:
        """Patch the header for the last time and sync; the file stays open."""
        self._wav.close()  # does not close a file object it did not open itself
        self.sync()

    def close(self) -> None:
        try:
            self.finish()
        finally:
            self._file.close()

    def close_after_failure(self) -> None:
        """Close a file a write failed on (disk full) and make it a valid WAV of the samples that
        did reach the disk: its header counts every whole sample there, and a half sample at
        the end goes. Errors closing it are ignored (the failure is already known)."""
        try:
            self._wav.close()  # does not close self._file; wave writes nothing more afterwards
        except (OSError, ValueError):
            pass
        try:
            self._file.close()
        except (OSError, ValueError):
            pass  # what its buffer still held never reached the disk
        if self._path is None:
            return
        try:
            fd = os.open(self._path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except OSError:
            return
        try:
            header = os.read(fd, WAV_HEADER_BYTES)
            if len(header) < WAV_HEADER_BYTES or header[:4] != b"RIFF" or header[36:40] != b"data":
                return  # not even the header reached the disk: nothing to keep
            data = (os.fstat(fd).st_size - WAV_HEADER_BYTES) // 2 * 2  # 16-bit mono: 2 bytes a sample
            # Sizes are patched in place, and truncating frees space: neither needs more of it.
            os.lseek(fd, 4, os.SEEK_SET)
            os.write(fd, (WAV_HEADER_BYTES - 8 + data).to_bytes(4, "little"))
            os.lseek(fd, 40, os.SEEK_SET)
            os.write(fd, data.to_bytes(4, "little"))
            os.ftruncate(fd, WAV_HEADER_BYTES + data)
            os.fsync(fd)
            self.frames = data // 2
        except OSError:
            pass
        finally:
            os.close(fd)


def wav_bytes(audio: np.ndarray, sample_rate_hz: int) -> bytes:
    """``audio`` (16-bit or float mono) as the bytes of a WAV file, for :func:`atomic_write`."""
    buffer = io.BytesIO()
    wav = IncrementalWav(buffer, sample_rate_hz)
    wav.write(audio)
    wav.finish()
    return buffer.getvalue()


class SessionRecorder:
    """Writes a live session to its folder on its own thread.

    Audio is read from the ring buffer (never in the audio callback); points arrive from the
    engine thread through :meth:`add_point`, which only puts them on a queue. Every
    ``FLUSH_S`` both reach the disk.
    """

    def __init__(self, folder: Path, info: SessionInfo, ring: RingBuffer, start_index: int) -> None:
        self.folder = folder
        self.info = info
        self.ring = ring
        # The first write that failed (disk full, folder removed), as one line naming the file;
        # the recorder then writes no more of that file, and the session ends (problem()).
        self.error: MoodlineError | None = None
        self.error_reported = False  # whether the session has said it (stop() then does not raise it)
        self._failed: set[str] = set()
        info.save(folder)
        try:
            self._wav = IncrementalWav.create(folder / AUDIO_FILE, info.sample_rate_hz)
            self._points_file = os.fdopen(create_private_file(folder / POINTS_FILE), "w", encoding="utf-8")
        except OSError as exc:
            raise MoodlineError(f"{folder}: cannot record the session there ({os_error_text(exc)})") from None
        self._points: queue.SimpleQueue[TimelinePoint] = queue.SimpleQueue()
        self._audio = RingReader(ring, start_index)  # where the audio file is in the ring
        self._stop = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="moodline-recorder", daemon=True)

    @property
    def seconds_written(self) -> float:
        return self._wav.frames / self.info.sample_rate_hz

    def add_point(self, point: TimelinePoint) -> None:
        """Queue a point for the journal (safe to call from any thread, returns at once)."""
        self._points.put(point)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeline: Timeline | None = None) -> Path:
        """Write what is left, close the files, and save the whole timeline; returns the folder.

        Calling it again does nothing. A write that fails (disk full) keeps what reached the
        disk before: the journal's whole lines, and the audio as a valid WAV of the samples
        there. A failure is raised as one :class:`MoodlineError` naming the file, unless the
        session has already reported it (:attr:`error_reported`); the files are finished as far
        as the disk allows either way.
        """
        if self._stopped:
            return self.folder
        self._stopped = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)  # it writes what is pending on its way out
        self._attempt(AUDIO_FILE, self._wav.close)
        if AUDIO_FILE in self._failed:
            self._wav.close_after_failure()
        self._attempt(POINTS_FILE, self._points_file.close)
        if POINTS_FILE in self._failed:
            try:
                self._points_file.close()  # closed all the same; lines it still held are lost
            except (OSError, ValueError):
                pass
        if timeline is not None:
            try:
                timeline.save(self.folder / TIMELINE_FILE, file=self.info.source)
            except MoodlineError as exc:
                self.error = self.error or exc
        if self.error is not None and not self.error_reported:
            raise self.error
        return self.folder

    def discard(self) -> None:
        """Stop and remove the files this recorder made (a session that never started)."""
        try:
            self.stop()
        except MoodlineError:
            pass
        remove_session_files(self.folder)

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self._write_pending()
        self._write_pending()

    def _attempt(self, name: str, write: Callable[[], None]) -> None:
        """``write()`` to the file ``name`` unless an earlier write to it failed; a failure
        (disk full, folder removed) is kept as :attr:`error` if it is the first, and ends the
        writing of that file only."""
        if name in self._failed:
            return
        try:
            write()
        except Exception as exc:
            self._failed.add(name)
            cause = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
            self.error = self.error or MoodlineError(f"{self.folder / name}: cannot write ({cause})")

    def _write_pending(self) -> None:
        # The journal first: a few lines may still fit where a second of audio no longer does.
        self._attempt(POINTS_FILE, self._write_points)
        self._attempt(AUDIO_FILE, self._write_audio)

    def _write_points(self) -> None:
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

    def _write_audio(self) -> None:
        for piece in self._audio.read():  # silence where the ring was overwritten: times stay true
            self._wav.write(piece)
        self._wav.sync()


class ListeningSession:
    """One run from start to stop: an input source feeding the engine thread and, given a
    folder, the :class:`SessionRecorder`.

    ``open_source()`` gives the :class:`~moodline.engine.sources.AudioSource` (a microphone
    found by name, say), called by :meth:`start` once the folder is ready. The session is
    recorded into ``folder`` (created, or an empty folder) or into a new folder named after the
    time under ``new_folder_under``; with neither, nothing is kept. :meth:`start` and
    :meth:`stop` block on the device and the disk. ``enrolment`` tells an enrolled voice from
    others and starts its adaptation.
    """

    def __init__(self, model: EmotionModel, settings: AnalysisSettings, open_source: Callable[[], Any],
                 folder: Path | None = None, settings_record: dict | None = None,
                 enrolment: Enrolment | None = None, *, new_folder_under: Path | None = None) -> None:
        self.model, self.folder = model, folder
        self.settings, self.enrolment = settings.check(), enrolment
        self._open_source = open_source
        self._new_folder_under = new_folder_under
        self._made_folder = False  # whether start() created the folder (to remove if it fails)
        self._prepared = False  # whether the folder was found ready (empty, or made here)
        self.settings_record = settings_record or {}
        self.source = None  # the input, once start() has it
        self.analyzer: StreamingAnalyzer | None = None  # the engine thread, once start() has made it
        self.recorder: SessionRecorder | None = None
        self.start_index = 0  # the ring's absolute sample index at time 0 of the session
        self.timeline: Timeline | None = None  # once stopped
        self._subscribers: list[Callable[[TimelinePoint], None]] = [self._record_point]  # the journal first

    @property
    def source_name(self) -> str:
        return f"input: {self.source.device.name}"

    def subscribe(self, callback: Callable[[TimelinePoint], None]) -> None:
        """Call ``callback(point)`` on the engine thread for every new point (keep it quick);
        before :meth:`start`."""
        self._subscribers.append(callback)

    def _record_point(self, point: TimelinePoint) -> None:
        if self.recorder is not None:
            self.recorder.add_point(point)

    def start(self) -> None:
        """Make the folder ready, find the input, write ``session.json``, start the recorder
        and the engine thread, and open the input last: a folder that cannot be used is found
        out before any device is touched, and costs nothing spoken.

        If any of it fails, what was started is stopped, the session's files (and a folder made
        here) are removed, nothing else is touched, and the first error is raised.
        """
        try:
            if self._new_folder_under is not None:
                self.folder = new_session_dir(self._new_folder_under)
                self._made_folder = True
            elif self.folder is not None:
                self._made_folder = prepare_session_dir(self.folder)
            self._prepared = self.folder is not None
            source = self.source = self._open_source()
            self.analyzer = StreamingAnalyzer(self.model, source.ring, source.sample_rate_hz, self.settings,
                                              self.enrolment)
            for callback in self._subscribers:
                self.analyzer.subscribe(callback)
            start_index = self.start_index = source.ring.written
            if self.folder is not None:
                info = SessionInfo(self.source_name, str(self.model.path), list(self.model.info.labels),
                                   source.sample_rate_hz, self.settings_record)
                self.recorder = SessionRecorder(self.folder, info, source.ring, start_index)
            self.analyzer.start(from_sample=start_index)
            if self.recorder is not None:
                self.recorder.start()
            source.start()
        except Exception:
            self._undo_start()
            raise

    def _undo_start(self) -> None:
        # Each step on its own: a source that never opened may also fail to stop, and the
        # reason the start failed is the one the user needs to hear.
        for undo in (getattr(self.source, "stop", None), getattr(self.analyzer, "stop", None)):
            try:
                if undo is not None:
                    undo()
            except Exception:
                pass
        if self.recorder is not None:
            self.recorder.discard()
        elif self.folder is not None and self._prepared:
            remove_session_files(self.folder)  # a recorder that failed halfway through its files
        if self._made_folder:
            try:
                self.folder.rmdir()  # only if empty: nothing but the session's own files is removed
            except OSError:
                pass

    def stop(self) -> Timeline:
        """Stop the input, classify all it delivered, finish the session files (once)."""
        if self.timeline is None:
            self.source.stop()
            self.timeline = self.analyzer.stop()
        try:
            if self.recorder is not None:
                self.recorder.stop(self.timeline)
        finally:
            if self._prepared:
                try:
                    os.remove(self.folder / CLAIM_FILE)  # the session is complete: the folder is free
                except OSError:
                    pass
        return self.timeline

    @property
    def has_audio(self) -> bool:
        """Whether the input has delivered audio yet (some systems take a second or two)."""
        return self.source.ring.written > self.start_index

    def problem(self) -> str | None:
        """Why the session cannot go on (one line), or None while all is well."""
        if self.analyzer.error is not None:
            return f"engine stopped: {self.analyzer.error}"
        if not self.source.active:
            return f"audio input '{self.source.device.name}' stopped delivering audio (was it unplugged?)"
        if self.recorder is not None and self.recorder.error is not None:
            self.recorder.error_reported = True
            return f"{self.recorder.error}; recording stopped"
        return None

    @property
    def dropped_s(self) -> float:
        """Audio lost so far: what the engine was too slow to read plus input overflows."""
        from .sources import BLOCK_S

        rate = self.source.sample_rate_hz
        return self.analyzer.lost_samples / rate + getattr(self.source, "overflows", 0) * BLOCK_S


# ---- analysing a file into a recording ---------------------------------------------------
class Cancelled(Exception):
    """The user cancelled a long job (see :func:`analyze_recording`)."""


def analyze_recording(
    path: str | os.PathLike,
    model: EmotionModel,
    settings: AnalysisSettings,
    progress: Callable[[float], None] = lambda fraction: None,
    cancelled: Callable[[], bool] = lambda: False,
    enrolment: Enrolment | None = None,
) -> Recording:
    """Decode and analyse ``path`` in one pass, keeping its audio (16-bit) for drawing and
    playback: what opening a file in the window does, on a worker thread. ``progress`` gets
    0…1 (or -1 while the length is unknown); once ``cancelled()`` is true, :class:`Cancelled`
    is raised between blocks and nothing is kept. ``enrolment`` tells an enrolled voice from others."""
    path = Path(path)
    rate = model.info.sample_rate_hz
    expected_s = audio_duration_s(path)
    blocks: list[np.ndarray] = []  # int16: half the memory of float32, all playback needs

    def on_progress(seconds_done: float) -> None:
        if cancelled():
            raise Cancelled()  # leaves analyze_file between blocks
        progress(min(1.0, seconds_done / expected_s) if expected_s else -1.0)

    timeline = analyze_file(path, model, settings, progress=on_progress,
                            on_block=lambda block: blocks.append(to_int16(block)), enrolment=enrolment)
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
    return Recording(timeline, audio, rate, str(path), model=str(model.path))


# ---- reading, saving, exporting ----------------------------------------------------------
def read_points(path: Path, labels: list[str]) -> Timeline:
    """A timeline from ``timeline.jsonl``, ignoring a last line cut short by a crash."""
    timeline = Timeline(tuple(labels))
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            timeline.extend([TimelinePoint.from_dict(json.loads(line))])
        except (ValueError, KeyError, TypeError):
            continue
    return timeline


def open_session(folder: str | os.PathLike) -> Recording:
    """Reopen a session folder, also one cut short by a crash or ``kill -9``."""
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
        if audio.ndim > 1:
            audio = audio[:, 0]
    return Recording(timeline, audio, rate, info.source, folder, info.model)


def save_as_session(recording: Recording, folder: str | os.PathLike, settings: dict | None = None) -> Path:
    """Write ``recording`` as a session folder (created private; must not hold a session)."""
    folder = Path(folder)
    make_private_dir(folder)
    if (folder / SESSION_FILE).exists():
        raise MoodlineError(f"{folder}: already holds a session")
    SessionInfo(recording.source, recording.model, list(recording.timeline.labels),
                recording.sample_rate_hz, settings or {}).save(folder)
    if recording.audio is not None:
        export_wav(recording, folder / AUDIO_FILE)
    recording.timeline.save(folder / TIMELINE_FILE, file=recording.source)
    return folder


def save_session_copy(folder: Path, target: Path) -> Path:
    """Copy a session folder to ``target`` (which must not exist), keeping it private."""
    target = Path(target)
    if target.exists():
        raise MoodlineError(f"{target}: already exists")
    make_private_dir(target.parent)
    try:
        shutil.copytree(folder, target)  # copies the 0700 / 0600 modes too
    except (OSError, shutil.Error) as exc:
        cause = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
        raise MoodlineError(f"{target}: cannot copy the session ({cause})") from None
    return target


def export_wav(recording: Recording, path: str | os.PathLike) -> Path:
    """The recording's audio as a 16-bit WAV file (written atomically, private)."""
    if recording.audio is None:
        raise MoodlineError("this recording has no audio to export")
    return atomic_write(path, wav_bytes(recording.audio, recording.sample_rate_hz))
