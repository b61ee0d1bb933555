"""The user's settings with their named defaults, persisted with ``QSettings``.

The dataclass is plain Python; :func:`load_settings` / :func:`save_settings` map it to and
from a ``QSettings`` store (one key per field, under ``settings/``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from moodline.engine.analysis import AnalysisSettings

from .palette import COLOUR_BLIND_SAFE, DEFAULT_PALETTE
from .readout import DEFAULT_UNSURE_THRESHOLD, StabilizerSettings

ORGANIZATION, APPLICATION = "Moodline", "Moodline"


@dataclass(frozen=True)
class DesktopSettings:
    window_s: float = 0.0  # 0 = the model's own window
    hop_s: float = 0.5
    smoothing_windows: int = 1
    vad_aggressiveness: int = 3  # voice-activity sensitivity: 0 hears most as speech … 3 strictest
    unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD
    model_path: str = ""  # "" = the shipped default model
    palette: str = DEFAULT_PALETTE
    follow_minutes: float = 2.0  # the live timeline shows the last N minutes
    aid_palette: str = COLOUR_BLIND_SAFE
    aid_grouping: str = "none"  # "none" or "valence"
    aid_min_dwell_s: float = 2.0
    aid_hysteresis: float = 0.15

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings(window_s=self.window_s or None, hop_s=self.hop_s,
                                smoothing_windows=self.smoothing_windows,
                                vad_aggressiveness=self.vad_aggressiveness)

    def stabilizer(self) -> StabilizerSettings:
        return StabilizerSettings(min_dwell_s=self.aid_min_dwell_s, hysteresis=self.aid_hysteresis,
                                  unsure_threshold=self.unsure_threshold, grouping=self.aid_grouping)


def load_settings(store) -> DesktopSettings:
    """Settings from a ``QSettings``; missing or unreadable values keep their defaults."""
    values = {}
    for f in fields(DesktopSettings):
        raw = store.value(f"settings/{f.name}")
        if raw is None:
            continue
        kind = type(f.default)
        try:
            values[f.name] = kind(raw)
        except (TypeError, ValueError):
            continue
    return DesktopSettings(**values)


def save_settings(store, settings: DesktopSettings) -> None:
    for name, value in asdict(settings).items():
        store.setValue(f"settings/{name}", value)
    store.sync()
