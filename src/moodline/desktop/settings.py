"""The user's settings with their named defaults, persisted with ``QSettings``.

The dataclass is plain Python and holds the engine's own settings dataclasses; :func:`load_settings`
/ :func:`save_settings` map it to and from a ``QSettings`` store (one key per value, under
``settings/``, named in :data:`FILE_KEYS`).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from moodline.engine.analysis import AnalysisSettings
from moodline.engine.errors import MoodlineError
from moodline.engine.fileio import PRIVATE_FILE_MODE, create_private_file, make_private_dir
from moodline.engine.readout import Grouping, ShownVoices, StabilizerSettings, unsure_threshold_for
from moodline.engine.vad import Gate

from .palette import Palette

ORGANIZATION, APPLICATION = "Moodline", "Moodline"


@dataclass(frozen=True)
class AidDisplay:
    """What the conversation aid shows beside the word."""

    show_percentages: bool = False  # off: a number invites reading more into a guess than it holds
    intensity_bar: bool = False  # a calm–intense bar under the word (always on when grouped)
    large_text: bool = False


# Until models carried their own "unsure" line, every save wrote this one, chosen or not.
_UNSURE_BEFORE_MODELS_HAD_THEIRS = 0.40


@dataclass(frozen=True)
class DesktopSettings:
    """What the window is set to: the engine's own settings (how the voice is read, how the
    readout is calmed) and the window's (what the aid shows, the model, colours, the live view).
    A ``None`` means "the model's own", as in the engine: ``analysis.window_s`` the model's
    window, ``aid.unsure_threshold`` its "unsure" line."""

    analysis: AnalysisSettings = AnalysisSettings()  # the window starts from the engine's defaults
    aid: StabilizerSettings = StabilizerSettings()
    aid_display: AidDisplay = AidDisplay()
    # The user's own enrolled voice (engine.voices): sessions tell it from the partner's, and its
    # adaptation starts from it; "" = none, every voice is one.
    voice: str = ""
    model_path: str = ""  # "" = the shipped default model; "fast" = the shipped fast one; else a file
    high_contrast: bool = False  # brighter colours in every view, a black conversation aid
    follow_minutes: float = 2.0  # the live timeline shows the last N minutes
    voice_rows: bool = False  # the timeline draws one row per voice (when its points carry voices)

    def unsure_line(self, model_own: float | None) -> float:
        """The "unsure" line in use with a model whose own line is ``model_own`` (or none)."""
        return unsure_threshold_for(self.aid.unsure_threshold, model_own)

    def stabilizer(self, unsure_threshold: float | None = None) -> StabilizerSettings:
        """The aid's settings, with ``unsure_threshold`` the line in use (by default the one
        chosen, else the engine's: as for a model without a line of its own)."""
        return replace(self.aid, unsure_threshold=self.unsure_line(None) if unsure_threshold is None
                       else unsure_threshold)

    def colour_palette(self) -> Palette:
        """The one palette every view draws with."""
        return Palette(high_contrast=self.high_contrast)

    def to_record(self) -> dict:
        """Every value by its settings-file key, ready for JSON (what a session folder records)."""
        return {key: _plain(_value(self, key)) for key in FILE_KEYS}


# The settings file's keys, under "settings/" (the same since before the settings were nested),
# and where each value lives: (part of DesktopSettings or None for its own field, field).
FILE_KEYS: dict[str, tuple[str | None, str]] = {
    "window_s": ("analysis", "window_s"),  # 0 in a file: the model's own (None)
    "hop_s": ("analysis", "hop_s"),
    "smoothing_windows": ("analysis", "smoothing_windows"),
    "vad_aggressiveness": ("analysis", "vad_aggressiveness"),
    "speech_gate": ("analysis", "gate"),
    "adapt": ("analysis", "adapt"),
    "voice": (None, "voice"),
    "unsure_threshold": ("aid", "unsure_threshold"),  # absent: the model's own
    "model_path": (None, "model_path"),
    "high_contrast": (None, "high_contrast"),
    "follow_minutes": (None, "follow_minutes"),
    "aid_grouping": ("aid", "grouping"),
    "aid_min_dwell_s": ("aid", "min_dwell_s"),
    "aid_hysteresis": ("aid", "hysteresis"),
    "aid_show_percentages": ("aid_display", "show_percentages"),
    "aid_intensity_bar": ("aid_display", "intensity_bar"),
    "aid_large_text": ("aid_display", "large_text"),
    "aid_shown_voices": ("aid", "shown_voices"),  # absent (older files): the default, the other person's
    "timeline_voice_rows": (None, "voice_rows"),
}
_OPTIONAL_FLOATS = {"window_s", "unsure_threshold"}  # None by default: a number when set
_CHOICES = {"speech_gate": Gate, "aid_grouping": Grouping, "aid_shown_voices": ShownVoices}  # stored as the enum's value


def _value(settings: DesktopSettings, key: str):
    part, name = FILE_KEYS[key]
    return getattr(getattr(settings, part) if part else settings, name)


def _plain(value):
    return value.value if isinstance(value, (Grouping, ShownVoices)) else value


def _parse(key: str, raw, default):
    """A value read from the file, as its field's type; ``ValueError`` if it cannot be one."""
    if key in _CHOICES:
        choice = _CHOICES[key](str(raw))  # a choice this Moodline lacks (an edited or newer file): ValueError
        return choice.value if key == "speech_gate" else choice
    kind = float if key in _OPTIONAL_FLOATS else type(default)
    if kind is bool:  # an INI file gives "true" / "false", and bool("false") is True
        if str(raw).lower() not in ("true", "false"):
            raise ValueError(raw)
        return str(raw).lower() == "true"
    value = kind(raw)
    return None if key == "window_s" and value == 0.0 else value


def load_settings(store) -> DesktopSettings:
    """Settings from a ``QSettings``; missing or unreadable values keep their defaults."""
    defaults = DesktopSettings()
    parts: dict[str | None, dict] = {None: {}, "analysis": {}, "aid": {}, "aid_display": {}}
    for key, (part, name) in FILE_KEYS.items():
        raw = store.value(f"settings/{key}")
        if raw is None:
            continue
        try:
            parts[part][name] = _parse(key, raw, _value(defaults, key))
        except (TypeError, ValueError):
            continue
    if store.value("settings/adapt") is None and parts["aid"].get("unsure_threshold") == _UNSURE_BEFORE_MODELS_HAD_THEIRS:
        # A file from before 'adapt' was saved: its 0.40 was the default, not a choice, so
        # the line now follows the model. Any other value there was the user's and stays.
        del parts["aid"]["unsure_threshold"]
    return DesktopSettings(analysis=replace(defaults.analysis, **parts["analysis"]),
                           aid=replace(defaults.aid, **parts["aid"]),
                           aid_display=replace(defaults.aid_display, **parts["aid_display"]), **parts[None])


def save_settings(store, settings: DesktopSettings) -> None:
    for key in FILE_KEYS:
        value = _value(settings, key)
        if value is None:  # left to the model: no value to keep
            store.remove(f"settings/{key}")
        else:
            store.setValue(f"settings/{key}", _plain(value))
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
