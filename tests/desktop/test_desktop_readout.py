"""What the panel and the conversation aid say: states, dwell, hysteresis, grouping (no Qt)."""
from __future__ import annotations

import pytest

from moodline.desktop.readout import (EMOTION, LISTENING, NO_SPEECH, UNSURE, LabelStabilizer,
                                      StabilizerSettings, group_probabilities, intensity,
                                      readout_for)
from moodline.engine.timeline import TimelinePoint

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
HOP = 0.5


def point(t, **probs):
    """A point ending at ``t``; no probabilities means silence. Unnamed labels share the rest."""
    if not probs:
        return TimelinePoint(t - 2, t, None, None, None, False)
    rest = (1 - sum(probs.values())) / (len(LABELS) - len(probs))
    full = {label: probs.get(label, rest) for label in LABELS}
    best = max(full, key=full.get)
    return TimelinePoint(t - 2, t, full, best, full[best], True)


def feed(stabilizer, points):
    return [stabilizer.update(p) for p in points]


def test_states_are_explicit_and_unsure_hides_the_label():
    assert readout_for(None).state == LISTENING
    assert readout_for(point(2.0)).state == NO_SPEECH
    sure = readout_for(point(2.0, happy=0.8), unsure_threshold=0.4)
    assert (sure.state, sure.word, sure.icon) == (EMOTION, "Happy", "happy")
    unsure = readout_for(point(2.0, happy=0.3), unsure_threshold=0.4)
    assert unsure.state == UNSURE and unsure.word == "Unsure" and unsure.label is None
    assert unsure.best_guess == "happy"


def test_the_first_reading_shows_at_once():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=2.0))
    assert s.shown.state == LISTENING
    assert s.update(point(2.0, angry=0.9)).label == "angry"


def test_a_flickering_label_does_not_flicker_on_screen():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=2.0, hysteresis=0.15))
    points = [point(2.0 + i * HOP, **({"happy": 0.5, "sad": 0.4} if i % 2 else {"sad": 0.5, "happy": 0.4}))
              for i in range(20)]
    assert len({p.label for p in points}) == 2
    shown = feed(s, points)
    # The raw label alternates every hop; the shown word stays: neither beats the other by
    # the hysteresis margin.
    assert {r.label for r in shown} == {"sad"}


def test_a_clear_change_shows_after_the_minimum_dwell():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=2.0, hysteresis=0.15))
    s.update(point(2.0, happy=0.9))
    shown = feed(s, [point(2.0 + i * HOP, angry=0.9) for i in range(1, 8)])
    changed_at = 2.0 + HOP * (1 + [r.label for r in shown].index("angry"))
    assert changed_at == pytest.approx(4.0)  # not before 2 s of showing "happy"


def test_silence_shows_no_speech_only_after_a_pause():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=0.0, silence_hold_s=5.0))
    s.update(point(2.0, happy=0.9))
    states = [s.update(point(2.0 + i * HOP)).state for i in range(1, 12)]
    assert states[:4] == [EMOTION] * 4 and states[-1] == NO_SPEECH


def test_a_fading_emotion_becomes_unsure_with_hysteresis():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=0.0, hysteresis=0.1, unsure_threshold=0.4))
    s.update(point(2.0, calm=0.8))
    assert s.update(point(2.5, calm=0.35)).label == "calm"  # inside the margin: stays
    assert s.update(point(3.0, calm=0.25)).state == UNSURE


def test_grouping_into_positive_neutral_negative_with_intensity():
    probs = point(2.0, angry=0.5, sad=0.2, happy=0.1).probabilities
    grouped = group_probabilities(probs, "valence")
    assert set(grouped) == {"positive", "neutral", "negative"}
    assert sum(grouped.values()) == pytest.approx(1.0)
    readout = readout_for(point(2.0, angry=0.5, sad=0.2, happy=0.1), grouping="valence")
    assert readout.label == "negative" and readout.icon == "negative"
    calm = intensity(point(2.0, calm=0.9).probabilities)
    angry = intensity(point(2.0, angry=0.9).probabilities)
    assert 0 <= calm < 0.3 < 0.8 < angry <= 1
