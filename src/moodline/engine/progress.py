"""Progress of a long ``moodline analyze`` batch, on stderr: files done of all, audio done, speed
and time left.

On a terminal it is a bar (tqdm) that moves with the audio analysed (inside a long file too, when
files are analysed in this process). Anywhere else (a log file, a cluster job's output) it is one
plain line every :data:`LOG_EVERY_FILES` files, so a batch of 100,000 files writes 1,000 lines,
and a batch too small to need it writes none.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence, TextIO

from .audio import audio_duration_s
from .timeline import format_clock

LOG_EVERY_FILES = 100
MIN_BAR_AUDIO_S = 30.0  # shorter work needs no bar


class BatchProgress:
    """Counts ``files`` and their audio as they finish (on a terminal, their total length is
    read first, from the headers, for the bar and its time left)."""

    def __init__(self, files: Sequence[Path], stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr  # None: stderr is closed
        self.total_files, self.total_audio_s = len(files), 0.0
        self.files_done, self.audio_done_s = 0, 0.0
        self.started = time.perf_counter()
        self._bar = None
        if self._is_terminal():
            # Formats only FFmpeg decodes have no cheap length: they count when analysed.
            self.total_audio_s = sum(audio_duration_s(file) or 0.0 for file in files)
        if self.total_audio_s >= MIN_BAR_AUDIO_S:
            from tqdm import tqdm

            self._bar = tqdm(total=round(self.total_audio_s, 1), file=self.stream, unit="s", unit_scale=False,
                             bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]")
            self._bar.set_postfix_str(self._counts(), refresh=False)

    def _is_terminal(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _counts(self) -> str:
        audio = format_clock(self.audio_done_s)
        if self.total_audio_s:
            audio += f"/{format_clock(self.total_audio_s)}"
        return f"{self.files_done}/{self.total_files} files, {audio} audio"

    def within_file(self, seconds_done: float) -> None:
        """The file being analysed here has ``seconds_done`` of its audio analysed."""
        if self._bar is not None:
            self._bar.update(max(0.0, self.audio_done_s + seconds_done - self._bar.n))

    def file_done(self, audio_s: float) -> None:
        """One more file finished (analysed, or failed with ``audio_s`` 0)."""
        self.files_done += 1
        self.audio_done_s += audio_s
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts(), refresh=False)
            self._bar.update(max(0.0, self.audio_done_s - self._bar.n))
        elif self.files_done % LOG_EVERY_FILES == 0 and self.files_done < self.total_files and self.stream:
            print(f"moodline: {self.line()}", file=self.stream, flush=True)

    def line(self) -> str:
        """``120/300 files, 1:02:00/2:30:00 audio, 95x real time, about 0:54 left``."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        text = f"{self._counts()}, {self.audio_done_s / elapsed:.0f}x real time"
        if self.total_audio_s and self.audio_done_s:
            left = (self.total_audio_s - self.audio_done_s) * elapsed / self.audio_done_s
        elif self.files_done:
            left = (self.total_files - self.files_done) * elapsed / self.files_done
        else:
            return text
        return f"{text}, about {format_clock(max(0.0, left))} left"

    def write(self, line: str) -> None:
        """A line (an error) that must not tear the bar."""
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        elif self.stream is not None:
            print(line, file=self.stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
