"""The user's settings with their named defaults, persisted with ``QSettings``.

The dataclass is plain Python; :func:`load_settings` / :func:`save_settings` map it to and
from a ``QSettings`` store (one key per field, under ``settings/``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from moodline.engine.analysis import AnalysisSettings
from moodline.engine.errors import MoodlineError
from moodline.engine.fileio import PRIVATE_FILE_MODE, create_private_file, make_private_dir
from moodline.engine.readout import StabilizerSettings
from moodline.engine.vad import Gate

from .palette import Palette

ORGANIZATION, APPLICATION = "Moodline", "Moodline"


@dataclass(frozen=True)
class AidDisplay:
    """What the conversation aid shows beside the word."""

    show_percentages: bool = False  # off: a number invites reading more into a guess than it holds
    intensity_bar: bool = False  # a calm–intense bar under the word (always on when grouped)
    large_text: bool = False


GATE_NAMES = tuple(g.value for g in Gate)

# The window starts from the engine's defaults, as `moodline analyze` and `listen` do.
_ANALYSIS, _STABILIZER = AnalysisSettings(), StabilizerSettings()


@dataclass(frozen=True)
class DesktopSettings:
    window_s: float = _ANALYSIS.window_s or 0.0  # 0 = the model's own window
    hop_s: float = _ANALYSIS.hop_s
    smoothing_windows: int = _ANALYSIS.smoothing_windows
    vad_aggressiveness: int = _ANALYSIS.vad_aggressiveness  # 0 hears most as speech … 3 strictest
    speech_gate: str = _ANALYSIS.gate  # which detector decides what is speech (engine.vad.Gate)
    unsure_threshold: float = _STABILIZER.unsure_threshold
    model_path: str = ""  # "" = the shipped default model; "fast" = the shipped fast one; else a file
    high_contrast: bool = False  # brighter colours in every view, a black conversation aid
    follow_minutes: float = 2.0  # the live timeline shows the last N minutes
    aid_grouping: str = _STABILIZER.grouping  # "none" or "valence"
    aid_min_dwell_s: float = _STABILIZER.min_dwell_s
    aid_hysteresis: float = _STABILIZER.hysteresis
    aid_show_percentages: bool = AidDisplay.show_percentages
    aid_intensity_bar: bool = AidDisplay.intensity_bar
    aid_large_text: bool = AidDisplay.large_text

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings(window_s=self.window_s or None, hop_s=self.hop_s,
                                smoothing_windows=self.smoothing_windows,
                                vad_aggressiveness=self.vad_aggressiveness, gate=self.speech_gate)

    def stabilizer(self) -> StabilizerSettings:
        return StabilizerSettings(min_dwell_s=self.aid_min_dwell_s, hysteresis=self.aid_hysteresis,
                                  unsure_threshold=self.unsure_threshold, grouping=self.aid_grouping)

    def colour_palette(self) -> Palette:
        """The one palette every view draws with."""
        return Palette(high_contrast=self.high_contrast)

    def aid_display(self) -> AidDisplay:
        return AidDisplay(show_percentages=self.aid_show_percentages,
                          intensity_bar=self.aid_intensity_bar, large_text=self.aid_large_text)


def load_settings(store) -> DesktopSettings:
    """Settings from a ``QSettings``; missing or unreadable values keep their defaults."""
    values = {}
    for f in fields(DesktopSettings):
        raw = store.value(f"settings/{f.name}")
        if raw is None:
            continue
        kind = type(f.default)
        if kind is bool:  # an INI file gives "true" / "false", and bool("false") is True
            if str(raw).lower() not in ("true", "false"):
                continue
            values[f.name] = str(raw).lower() == "true"
            continue
        try:
            values[f.name] = kind(raw)
        except (TypeError, ValueError):
            continue
    if values.get("speech_gate") not in (None, *GATE_NAMES):
        del values["speech_gate"]  # a gate this Moodline does not have (an edited or newer file)
    return DesktopSettings(**values)


def save_settings(store, settings: DesktopSettings) -> None:
    for name, value in asdict(settings).items():
        store.setValue(f"settings/{name}", value)
    store.sync()
    make_store_private(store)


def make_store_private(store) -> None:
    """Keep the settings file (it names the user's devices, models and folders) readable by
    its owner only, whatever the umask.

    ``QSettings`` writes the file itself, at times of its choosing, and keeps the mode of the
    file it replaces: so an INI file is created empty with mode 0600 before Qt first writes
    it, and any settings file is set to 0600. (Windows keeps settings in the registry; macOS's
    preferences daemon writes its plist itself, so it is not created ahead.)
    """
    path = Path(store.fileName())
    if not path.is_absolute():
        return  # a registry key, not a file
    try:
        if path.exists():
            os.chmod(path, PRIVATE_FILE_MODE)
        elif store.format() == store.IniFormat or sys.platform != "darwin":
            make_private_dir(path.parent)
            os.close(create_private_file(path))
    except (OSError, MoodlineError):
        pass  # an unwritable settings folder: Qt reports nothing either, settings just do not stick
