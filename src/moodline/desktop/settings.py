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
from moodline.engine.readout import StabilizerSettings, unsure_threshold_for
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
# Until models carried their own "unsure" line, every save wrote this one, chosen or not.
_UNSURE_BEFORE_MODELS_HAD_THEIRS = 0.40


@dataclass(frozen=True)
class DesktopSettings:
    window_s: float = _ANALYSIS.window_s or 0.0  # 0 = the model's own window
    hop_s: float = _ANALYSIS.hop_s
    smoothing_windows: int = _ANALYSIS.smoothing_windows
    vad_aggressiveness: int = _ANALYSIS.vad_aggressiveness  # 0 hears most as speech … 3 strictest
    speech_gate: str = _ANALYSIS.gate  # which detector decides what is speech (engine.vad.Gate)
    adapt: bool = _ANALYSIS.adapt  # judge a voice relative to the session's (models that adapt)
    voice: str = ""  # an enrolled voice the session starts from (engine.voices); "" = learn it as it listens
    unsure_threshold: float | None = None  # None: the model's own line, else the engine's default
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
                                vad_aggressiveness=self.vad_aggressiveness, gate=self.speech_gate,
                                adapt=self.adapt)

    def unsure_line(self, model_own: float | None) -> float:
        """The "unsure" line in use with a model whose own line is ``model_own`` (or none)."""
        return unsure_threshold_for(self.unsure_threshold, model_own)

    def stabilizer(self, unsure_threshold: float | None = None) -> StabilizerSettings:
        """The aid's settings, with ``unsure_threshold`` the line in use (by default the one
        chosen, else the engine's: as for a model without a line of its own)."""
        line = self.unsure_line(None) if unsure_threshold is None else unsure_threshold
        return StabilizerSettings(min_dwell_s=self.aid_min_dwell_s, hysteresis=self.aid_hysteresis,
                                  unsure_threshold=line, grouping=self.aid_grouping)

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
        kind = float if f.name == "unsure_threshold" else type(f.default)
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
    if store.value("settings/adapt") is None and values.get("unsure_threshold") == _UNSURE_BEFORE_MODELS_HAD_THEIRS:
        # A file from before 'adapt' was saved: its 0.40 was the default, not a choice, so
        # the line now follows the model. Any other value there was the user's and stays.
        del values["unsure_threshold"]
    return DesktopSettings(**values)


def save_settings(store, settings: DesktopSettings) -> None:
    for name, value in asdict(settings).items():
        if value is None:  # the unsure line left to the model: no value to keep
            store.remove(f"settings/{name}")
        else:
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
