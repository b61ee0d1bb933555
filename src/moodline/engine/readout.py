"""What a person reading the emotion live is shown now: the line of ``moodline listen``, the
window's emotion panel and the conversation aid all show these readouts.

A :class:`Readout` is one of: *listening* (nothing heard yet, or not for a long while), *no
speech*, *unsure* (the best emotion's probability is below the unsure threshold, so no label is
shown as if it were known), *too loud* (the speech is clipped: distortion the model would
misread) or an *emotion* with its confidence. :class:`LabelStabilizer` turns
the stream of timeline points into calm readouts for a person reading them live in a
conversation: a shown state stays for a minimum dwell time, a new emotion must beat the shown
one by a hysteresis margin, and a pause never replaces what was last heard. Through a pause the
last readout is held, marked :attr:`Pause.HOLDING` (the view dims it) and, once the pause has
lasted a few seconds, :attr:`Pause.PAUSED` (the view adds a small "paused" hint); only a long
silence returns to *listening*. People pause all the time while they talk and listen: a word
that flips to "No speech" at every breath is the flashing the aid exists to avoid. Emotions
may be grouped into fewer categories (positive / neutral / negative) with a calm-to-intense
measure beside them.

When the session tells an enrolled voice from others (:mod:`.speakers`), the aid is there for
the other person: by default (:attr:`ShownVoices.OTHER`) the enrolled voice's own windows, and
those whose voice is unknown, are heard as a pause in the partner's speech, so the partner's
last emotion stays (dimmed as in any pause) while the user talks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Mapping

from .errors import MoodlineError
from .speakers import ME, OTHER, UNKNOWN
from .timeline import TimelinePoint



class ReadoutState(Enum):
    """What a readout says; the value names its icon and palette colour."""

    LISTENING = "listening"
    NO_SPEECH = "no_speech"
    UNSURE = "unsure"
    TOO_LOUD = "too_loud"
    EMOTION = "emotion"


LISTENING, NO_SPEECH, UNSURE, TOO_LOUD, EMOTION = ReadoutState  # short names for the states
_STATE_WORDS = {LISTENING: "Listening…", NO_SPEECH: "No speech", UNSURE: "Unsure", TOO_LOUD: "Too loud"}
# What a person can do about "too loud", said the same way wherever it shows.
TOO_LOUD_ADVICE = "the voice is clipped: move the microphone away or turn its gain down"

DEFAULT_UNSURE_THRESHOLD = 0.40  # below this probability the best emotion is "unsure"

# How the aid treats a pause, timed from the start of the first window without speech (a
# window is "no speech" when under a fifth of it holds speech, so this overstates a pause by
# at most a fifth of a window). Such a window only comes after a pause of most of a window
# (1.6 s of the shipped model's 2 s), so breaths and pauses between words never reach this.
DIM_AFTER_S = 2.5  # the held readout dims (with 2 s windows: not for one lone window without speech)
PAUSED_HINT_AFTER_S = 3.0  # ... and a small "paused" hint appears
LISTENING_AFTER_S = 20.0  # a silence this long ends the conversation turn: back to "listening"
# A new emotion must lead this long (two updates at the usual 0.5 s hop) before it replaces
# the shown word. "Unsure" needs no such wait: for someone relying on the aid, a doubtful
# emotion shown as if known is worse than none (benchmarks/bench_aid_calm.py measures both).
CONFIRM_S = 0.5
MAX_DWELL_S = 30.0  # a label held longer than this would no longer follow the conversation



class Grouping(Enum):
    """How emotions are shown: each on its own, or grouped by valence (with an intensity bar)."""

    NONE = "none"
    VALENCE = "valence"


# Grouping of the eight emotions into valence categories. Labels a model has beyond these
# fall into "neutral". Surprise is counted as positive: in acted corpora it mostly is.
GROUPINGS: dict[Grouping, dict[str, str] | None] = {
    Grouping.NONE: None,
    Grouping.VALENCE: {
        "happy": "positive", "calm": "positive", "surprised": "positive",
        "neutral": "neutral",
        "sad": "negative", "angry": "negative", "fearful": "negative", "disgust": "negative",
    },
}
GROUP_ORDER = ("positive", "neutral", "negative")
# How intense (aroused) each emotion sounds, 0 = calm … 1 = intense; unknown labels 0.5.
INTENSITY = {"calm": 0.1, "sad": 0.25, "neutral": 0.3, "disgust": 0.6, "happy": 0.7,
             "surprised": 0.85, "fearful": 0.9, "angry": 1.0}


class ShownVoices(Enum):
    """Whose emotion the readout shows when the session tells an enrolled voice from others."""

    OTHER = "other"  # the partner's only: the enrolled voice (and unknown ones) count as a pause
    ALL = "all"  # every voice's

    def shows(self, voice: str | None) -> bool:
        """Whether a window of ``voice`` shows its emotion: with :attr:`OTHER`, not the user's own
        voice, nor one not clearly someone else's (windows whose voice was not told all do)."""
        return self is ShownVoices.ALL or voice not in (ME, UNKNOWN)


# Whose voice a window was, in words (the listen line, the window's rows and segments).
VOICE_WORDS = {ME: "You", OTHER: "Other", UNKNOWN: "Unsure whose"}


class Pause(Enum):
    """Where a held readout is in a pause."""

    NONE = "none"  # speech is heard (or the pause is too short to mention)
    HOLDING = "holding"  # no speech for a moment: the last readout stays, dimmed
    PAUSED = "paused"  # a longer pause: still held and dimmed, with a "paused" hint


@dataclass(frozen=True)
class Readout:
    """One thing to show: a state, and for ``EMOTION`` the label and its confidence."""

    state: ReadoutState
    label: str | None = None
    confidence: float | None = None
    best_guess: str | None = None  # for UNSURE: the label that was not sure enough
    intensity: float | None = None  # 0 calm … 1 intense, for speech readouts
    pause: Pause = Pause.NONE  # for a readout held through a pause (LabelStabilizer only)

    @property
    def word(self) -> str:
        return self.label.capitalize() if self.state == EMOTION else _STATE_WORDS[self.state]

    @property
    def icon(self) -> str:
        return self.label if self.state is EMOTION else self.state.value


def group_probabilities(probabilities: Mapping[str, float], grouping: Grouping = Grouping.NONE) -> dict[str, float]:
    """Probabilities summed into the categories of ``grouping`` (unchanged for ``Grouping.NONE``)."""
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


def unsure_threshold_for(chosen: float | None, model_own: float | None) -> float:
    """The "unsure" line in use: the one the user chose, else the model's own (its file's
    ``unsure_threshold``), else :data:`DEFAULT_UNSURE_THRESHOLD`."""
    if chosen is not None:
        return chosen
    return model_own if model_own is not None else DEFAULT_UNSURE_THRESHOLD


def readout_for(point: TimelinePoint | None, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                grouping: Grouping = Grouping.NONE) -> Readout:
    """The honest, unsmoothed readout of one point (``None``: nothing heard yet)."""
    if point is None:
        return Readout(LISTENING)
    if not point.is_speech or not point.probabilities:
        return Readout(NO_SPEECH)
    probs = group_probabilities(point.probabilities, grouping)
    best = max(probs, key=probs.get)
    level = intensity(point.probabilities)
    if point.clipped:
        return Readout(TOO_LOUD, confidence=probs[best], best_guess=best)
    if probs[best] < unsure_threshold:
        return Readout(UNSURE, confidence=probs[best], best_guess=best, intensity=level)
    return Readout(EMOTION, best, probs[best], intensity=level)


@dataclass(frozen=True)
class StabilizerSettings:
    """How :class:`LabelStabilizer` calms the readout (the defaults of ``listen`` and the window)."""

    min_dwell_s: float = 2.0  # a shown state stays at least this long
    hysteresis: float = 0.15  # a new emotion must beat the shown one by this much probability
    confirm_s: float = CONFIRM_S
    dim_after_s: float = DIM_AFTER_S
    paused_hint_after_s: float = PAUSED_HINT_AFTER_S
    listening_after_s: float = LISTENING_AFTER_S
    unsure_threshold: float | None = None  # None: the model's own line (see for_model), else the default
    grouping: Grouping = Grouping.NONE
    shown_voices: ShownVoices = ShownVoices.OTHER

    @property
    def unsure_line(self) -> float:
        """The "unsure" line in use (:data:`DEFAULT_UNSURE_THRESHOLD` if none is set)."""
        return unsure_threshold_for(self.unsure_threshold, None)

    def for_model(self, model_own: float | None) -> "StabilizerSettings":
        """These settings for a model whose own "unsure" line is ``model_own`` (or none): the
        line chosen here if one is, else the model's, else the default."""
        return replace(self, unsure_threshold=unsure_threshold_for(self.unsure_threshold, model_own))

    def check(self) -> "StabilizerSettings":
        """These settings, if every value is within its range; else one clear error."""
        if not (math.isfinite(self.min_dwell_s) and 0.0 <= self.min_dwell_s <= MAX_DWELL_S):
            raise MoodlineError(f"hold must be between 0 and {MAX_DWELL_S:g} seconds, not {self.min_dwell_s:g}")
        line = self.unsure_line
        if not (math.isfinite(line) and 0.0 <= line <= 1.0):
            raise MoodlineError(f"the unsure threshold is a probability between 0 and 1, not {line:g}")
        if not 0.0 <= self.hysteresis <= 1.0:
            raise MoodlineError(f"hysteresis is a probability between 0 and 1, not {self.hysteresis:g}")
        if not isinstance(self.grouping, Grouping):
            raise MoodlineError(f"grouping must be one of {', '.join(g.value for g in Grouping)}, "
                                f"not {self.grouping!r}")
        if not isinstance(self.shown_voices, ShownVoices):
            raise MoodlineError(f"shown voices must be one of {', '.join(v.value for v in ShownVoices)}, "
                                f"not {self.shown_voices!r}")
        return self


class LabelStabilizer:
    """Readouts that do not flicker, driven by point times (so it is testable without clocks).

    The first reading shows at once. After that a change waits for the minimum dwell; a new
    emotion must also beat the shown one by the hysteresis margin and lead for ``confirm_s``,
    while "unsure" (the shown emotion's probability fell below the unsure threshold by the
    margin) shows as soon as the dwell allows. Never shows *no speech*: a pause holds the last
    readout (see :class:`Pause`) until it has lasted ``listening_after_s``; then *listening*
    shows, and the next speech shows at once. *Too loud* shows at once too. Points that go back
    in time (the user played a recording from an earlier moment) or jump ahead by more than that
    start afresh.
    """

    def __init__(self, settings: StabilizerSettings = StabilizerSettings()) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.shown = Readout(LISTENING)
        self._since_s: float | None = None  # when the shown state began (None: show at once)
        self._silence_since_s: float | None = None  # where the current pause began
        self._last_end_s: float | None = None
        self._candidate: tuple[str, str | None] | None = None  # a change waiting to be confirmed
        self._candidate_since_s = 0.0

    def update(self, point: TimelinePoint) -> Readout:
        """Take one new point; return what to show now."""
        s = self.settings
        now = point.end_s
        if self._last_end_s is not None and not 0 <= now - self._last_end_s <= s.listening_after_s:
            self.reset()
        self._last_end_s = now
        raw = readout_for(point, s.unsure_line, s.grouping)
        if raw.state == NO_SPEECH or not s.shown_voices.shows(point.voice):
            self._candidate = None
            return self._hold_through_pause(point)
        self._silence_since_s = None
        shown = replace(self.shown, pause=Pause.NONE)
        probs = group_probabilities(point.probabilities, s.grouping)
        proposal = self._proposal(shown, raw, probs)
        if proposal is not None:
            key = (proposal.state, proposal.label)
            if key != self._candidate:
                self._candidate, self._candidate_since_s = key, now
            first = self._since_s is None
            # Clipped speech shows at once: an emotion held on over distortion would be read as heard.
            dwell_over = first or proposal.state == TOO_LOUD or now - self._since_s >= s.min_dwell_s
            confirmed = first or proposal.state != EMOTION \
                or now - self._candidate_since_s >= s.confirm_s - 1e-6
            if dwell_over and confirmed:
                self._candidate = None
                return self._show(proposal, now)
        else:
            self._candidate = None
        # Stay: an emotion with its current confidence, "unsure" with fresh numbers.
        if shown.state == EMOTION:
            return self._keep(replace(shown, confidence=probs.get(shown.label, 0.0), intensity=raw.intensity))
        return self._keep(raw if raw.state == shown.state else shown)

    def _proposal(self, shown: Readout, raw: Readout, probs: Mapping[str, float]) -> Readout | None:
        """What ``raw`` would change the shown readout to, before dwell and confirmation."""
        s = self.settings
        if shown.state == EMOTION:
            if raw.state == TOO_LOUD:
                return raw
            held = probs.get(shown.label, 0.0)
            if raw.state == EMOTION and raw.label != shown.label and raw.confidence >= held + s.hysteresis:
                return raw
            if held < s.unsure_line - s.hysteresis:
                best = max(probs, key=probs.get)
                return Readout(UNSURE, confidence=probs[best], best_guess=best, intensity=raw.intensity)
            return None
        return None if raw.state == shown.state else raw

    def _hold_through_pause(self, point: TimelinePoint) -> Readout:
        s = self.settings
        if self._silence_since_s is None:
            self._silence_since_s = point.start_s
        if self.shown.state == LISTENING:
            return self.shown
        pause_s = point.end_s - self._silence_since_s
        if pause_s >= s.listening_after_s:
            self._since_s = None  # the next speech shows at once, as at the start
            return self._keep(Readout(LISTENING))
        if pause_s >= s.paused_hint_after_s:
            return self._keep(replace(self.shown, pause=Pause.PAUSED))
        if pause_s >= s.dim_after_s:
            return self._keep(replace(self.shown, pause=Pause.HOLDING))
        return self.shown

    def _keep(self, readout: Readout) -> Readout:
        self.shown = readout
        return readout

    def _show(self, readout: Readout, now_s: float) -> Readout:
        self.shown, self._since_s = readout, now_s
        return readout
