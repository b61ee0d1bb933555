"""What File ▸ Export writes, and writing it (no Qt here).

The window asks for a kind of export and a path; this module knows which file each kind is and
which engine function writes it: the timeline (CSV per window, JSON), its segments (CSV), a
figure of the whole recording or of a stretch (PNG, SVG) and the audio (WAV).
"""
from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Callable

from moodline.engine.errors import MoodlineError
from moodline.engine.session import Recording, export_wav
from moodline.engine.timeline import SEGMENTS_SUFFIX, Timeline

from .figure import FigureContent, save_figure


class Export(Enum):
    """What File ▸ Export writes: (menu text, file ending, file dialog filter)."""

    TIMELINE_CSV = ("Timeline as &CSV…", ".csv", "Timeline as CSV, one row per window (*.csv)")
    TIMELINE_JSON = ("Timeline as &JSON…", ".json", "Timeline as JSON (*.json)")
    SEGMENTS_CSV = ("&Segments as CSV…", SEGMENTS_SUFFIX, "Segments as CSV, one row per stretch of one emotion (*.csv)")
    FIGURE_PNG = ("&Figure (PNG)…", ".png", "Figure as PNG (*.png)")
    FIGURE_SVG = ("Figure (S&VG)…", ".svg", "Figure as SVG (*.svg)")
    AUDIO_WAV = ("&Audio (WAV)…", ".wav", "Audio (*.wav)")

    @property
    def menu_text(self) -> str:
        return self.value[0]

    @property
    def suffix(self) -> str:
        return self.value[1]

    @property
    def file_filter(self) -> str:
        return self.value[2]

    @classmethod
    def for_path(cls, path: str | os.PathLike) -> "Export":
        """The export a file name asks for (``talk.csv``: the timeline; ``talk.segments.csv``: the segments)."""
        name = Path(path).name.lower()
        for kind in (cls.SEGMENTS_CSV, cls.TIMELINE_CSV, cls.TIMELINE_JSON, cls.FIGURE_PNG, cls.FIGURE_SVG,
                     cls.AUDIO_WAV):
            if name.endswith(kind.suffix):
                return kind
        raise MoodlineError(f"{path}: unknown export format '{Path(path).suffix}'")


def write_export(path: str | os.PathLike, kind: Export | None, timeline: Timeline | None, source: str,
                 figure: Callable[[], FigureContent], recording: Recording | None) -> Path:
    """Write ``kind`` of export (by default the kind ``path``'s name ends in) and return its path.

    ``source`` names the audio in timeline files; ``figure`` makes the figure's content only
    when a figure is asked for; ``recording`` is None while a live session runs (its audio is
    not finished yet).
    """
    path = Path(path)
    kind = kind or Export.for_path(path)
    if timeline is None:
        raise MoodlineError("there is no timeline to export yet")
    if kind in (Export.TIMELINE_CSV, Export.TIMELINE_JSON):
        return timeline.save(path, file=source)
    if kind is Export.SEGMENTS_CSV:
        return timeline.save_segments(path)
    if kind in (Export.FIGURE_PNG, Export.FIGURE_SVG):
        return save_figure(path, figure())
    if recording is None:
        raise MoodlineError("stop the session before exporting its audio")
    return export_wav(recording, path)
