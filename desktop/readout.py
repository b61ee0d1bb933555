"""What the emotion panel and the conversation-aid view show now (plain Python, no Qt).

A :class:`Readout` is one of: *listening* (nothing heard yet), *no speech*, *unsure* (the
best emotion's probability is below the unsure threshold, so no label is shown as if it were
known) or an *emotion* with its confidence. :class:`LabelStabilizer` turns the stream of
timeline points into calm readouts for a person reading them live: a shown state stays for a
minimum dwell time, a new emotion must beat the shown one by a hysteresis margin, and "no
speech" appears only after a pause has lasted a while. Emotions may be grouped into fewer
categories (positive / neutral / negative) with a calm-to-intense measure beside them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from moodline.engine.timeline import TimelinePoint

LISTENING, NO_SPEECH, UNSURE, EMOTION = "listening", "no_speech", "unsure", "emotion"
_STATE_WORDS = {LISTENING: "Listening…", NO_SPEECH: "No speech", UNSURE: "Unsure"}

DEFAULT_UNSURE_THRESHOLD = 0.40  # below this probability the best emotion is "unsure"

# Grouping of the eight emotions into valence categories. Labels a model has beyond these
# fall into "neutral". Surprise is counted as positive: in acted corpora it mostly is.
GROUPINGS: dict[str, dict[str, str] | None] = {
    "none": None,
    "valence": {
        "happy": "positive", "calm": "positive", "surprised": "positive",
        "neutral": "neutral",
        "sad": "negative", "angry": "negative", "fearful": "negative", "disgust": "negative",
    },
}
GROUP_ORDER = ("positive", "neutral", "negative")
# How intense (aroused) each emotion sounds, 0 = calm … 1 = intense; unknown labels 0.5.
INTENSITY = {"calm": 0.1, "sad": 0.25, "neutral": 0.3, "disgust": 0.6, "happy": 0.7,
             "surprised": 0.85, "fearful": 0.9, "angry": 1.0}


@dataclass(frozen=True)
class Readout:
    """One thing to show: a state, and for ``EMOTION`` the label and its confidence."""

    state: str
    label: str | None = None
    confidence: float | None = None
    best_guess: str | None = None  # for UNSURE: the label that was not sure enough
    intensity: float | None = None  # 0 calm … 1 intense, for speech readouts

    @property
    def word(self) -> str:
        return self.label.capitalize() if self.state == EMOTION else _STATE_WORDS[self.state]

    @property
    def icon(self) -> str:
        return self.label if self.state == EMOTION else self.state


def group_probabilities(probabilities: Mapping[str, float], grouping: str = "none") -> dict[str, float]:
    """Probabilities summed into the categories of ``grouping`` (unchanged for ``"none"``)."""
    groups = GROUPINGS[grouping]
    if groups is None:
        return dict(probabilities)
    out = {name: 0.0 for name in GROUP_ORDER}
    for label, p in probabilities.items():
        out[groups.get(label, "neutral")] += p
    return out


def intensity(probabilities: Mapping[str, float]) -> float:
    """Expected intensity (0 calm … 1 intense) under ``probabilities``."""
    total = sum(probabilities.values()) or 1.0
    return sum(INTENSITY.get(label, 0.5) * p for label, p in probabilities.items()) / total


def readout_for(point: TimelinePoint | None, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                grouping: str = "none") -> Readout:
    """The honest, unsmoothed readout of one point (``None``: nothing heard yet)."""
    if point is None:
        return Readout(LISTENING)
    if not point.is_speech or not point.probabilities:
        return Readout(NO_SPEECH)
    probs = group_probabilities(point.probabilities, grouping)
    best = max(probs, key=probs.get)
    level = intensity(point.probabilities)
    if probs[best] < unsure_threshold:
        return Readout(UNSURE, confidence=probs[best], best_guess=best, intensity=level)
    return Readout(EMOTION, best, probs[best], intensity=level)


@dataclass(frozen=True)
class StabilizerSettings:
    min_dwell_s: float = 2.0  # a shown state stays at least this long
    hysteresis: float = 0.15  # a new emotion must beat the shown one by this much probability
    silence_hold_s: float = 1.5  # a pause must last this long before "no speech" shows
    unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD
    grouping: str = "none"


class LabelStabilizer:
    """Readouts that do not flicker, driven by point times (so it is testable without clocks)."""

    def __init__(self, settings: StabilizerSettings = StabilizerSettings()) -> None:
        self.settings = settings
        self.shown = Readout(LISTENING)
        self._since_s: float | None = None  # when the shown state began (None: nothing yet)
        self._silence_since_s: float | None = None

    def reset(self) -> None:
        self.shown, self._since_s, self._silence_since_s = Readout(LISTENING), None, None

    def update(self, point: TimelinePoint) -> Readout:
        """Take one new point; return what to show now."""
        s = self.settings
        now = point.end_s
        raw = readout_for(point, s.unsure_threshold, s.grouping)
        if raw.state == NO_SPEECH:
            if self._silence_since_s is None:
                self._silence_since_s = point.start_s
        else:
            self._silence_since_s = None
        first = self._since_s is None
        dwell_over = first or now - self._since_s >= s.min_dwell_s
        shown = self.shown

        if raw.state == NO_SPEECH:
            if shown.state == NO_SPEECH:
                return shown
            silence_long = now - self._silence_since_s >= s.silence_hold_s
            return self._show(raw, now) if first or (silence_long and dwell_over) else shown

        probs = group_probabilities(point.probabilities, s.grouping)
        if shown.state == EMOTION:
            held = probs.get(shown.label, 0.0)
            if raw.state == EMOTION and raw.label != shown.label and dwell_over \
                    and raw.confidence >= held + s.hysteresis:
                return self._show(raw, now)
            if held < s.unsure_threshold - s.hysteresis and dwell_over:
                best = max(probs, key=probs.get)
                return self._show(Readout(UNSURE, confidence=probs[best], best_guess=best,
                                          intensity=raw.intensity), now)
            # Stay, but show the held emotion's current confidence.
            self.shown = replace(shown, confidence=held, intensity=raw.intensity)
            return self.shown
        if raw.state == shown.state:  # unsure stays unsure; refresh its numbers
            self.shown = raw
            return raw
        return self._show(raw, now) if dwell_over else shown

    def _show(self, readout: Readout, now_s: float) -> Readout:
        self.shown, self._since_s = readout, now_s
        return readout
