"""What the panel and the conversation aid say: states, dwell, hysteresis, pauses, grouping (no Qt)."""
from __future__ import annotations

import pytest

from moodline.engine.readout import (EMOTION, Grouping, LISTENING, NO_SPEECH, PAUSED_HINT_AFTER_S, UNSURE,
                                     LabelStabilizer, Pause, StabilizerSettings,
                                     group_probabilities, intensity, readout_for)
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


WINDOW = 2.0


def talk(speech_spans, until_s, rule="engine"):
    """The points of a conversation: a 2 s window every hop; speech windows are happy. With
    ``rule="engine"`` a window is speech when a fifth of it is (as the engine decides); with
    ``"eager"``, when its newest hop holds any speech: a pause is heard at once, so the aid
    meets more no-speech windows than the engine ever gives it."""
    points = []
    for i in range(int((until_s - WINDOW) / HOP) + 1):
        end = WINDOW + i * HOP
        start = end - WINDOW if rule == "engine" else end - HOP
        heard = sum(max(0.0, min(b, end) - max(a, start)) for a, b in speech_spans)
        speaking = heard >= 0.2 * WINDOW if rule == "engine" else heard > 0
        points.append(point(end, happy=0.9) if speaking else point(end))
    return points


@pytest.mark.parametrize("rule", ["engine", "eager"])
@pytest.mark.parametrize("pause_s", [1.5, 2.0, 3.0, 5.0, 10.0])
def test_a_pause_holds_the_last_emotion_and_never_says_no_speech(pause_s, rule):
    spans = [(0.0, 5.0), (5.0 + pause_s, 12.0 + pause_s)]
    points = talk(spans, 12.0 + pause_s, rule)
    shown = feed(LabelStabilizer(), points)
    assert {(r.state, r.label) for r in shown} == {(EMOTION, "happy")}
    in_pause = [r.pause for r, p in zip(shown, points) if not p.is_speech]
    if rule == "eager" or pause_s >= 2.0:
        assert in_pause  # the pause reached the aid ...
    if pause_s >= PAUSED_HINT_AFTER_S:  # ... and a long one shows the hint
        assert Pause.HOLDING in in_pause or rule == "eager"
        assert Pause.PAUSED in in_pause
    assert shown[-1].pause == Pause.NONE  # speaking again: not dimmed


def test_the_paused_hint_comes_after_the_stated_seconds_of_pause():
    points = talk([(0.0, 5.0)], 12.0)
    shown = feed(LabelStabilizer(), points)
    first_silent = next(p for p in points if not p.is_speech)
    hinted = next(p for p, r in zip(points, shown) if r.pause == Pause.PAUSED)
    dimmed = next(p for p, r in zip(points, shown) if r.pause == Pause.HOLDING)
    assert hinted.end_s - first_silent.start_s == pytest.approx(PAUSED_HINT_AFTER_S, abs=HOP)
    assert dimmed.end_s < hinted.end_s


def test_a_long_silence_returns_to_listening_and_the_next_speech_shows_at_once():
    s = LabelStabilizer()
    s.update(point(2.0, happy=0.9))
    quiet = talk([], 25.0)[4:]  # windows from 2 s on, none with speech
    shown = feed(s, quiet)
    assert NO_SPEECH not in {r.state for r in shown}
    back_to_listening = next(p for p, r in zip(quiet, shown) if r.state == LISTENING)
    assert back_to_listening.end_s - 2.0 == pytest.approx(s.settings.listening_after_s)
    assert shown[-1].state == LISTENING
    back = s.update(point(25.5, angry=0.9))  # no dwell, no confirmation: like the first reading
    assert (back.state, back.label) == (EMOTION, "angry")


def test_silence_before_any_speech_is_listening_not_no_speech():
    s = LabelStabilizer()
    assert {r.state for r in feed(s, talk([], 8.0))} == {LISTENING}


def test_one_window_of_another_emotion_is_not_shown_two_are():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=0.0))
    s.update(point(2.0, happy=0.9))
    assert s.update(point(2.5, angry=0.9)).label == "happy"  # a lone window: not yet
    assert s.update(point(3.0, happy=0.9)).label == "happy"
    assert s.update(point(3.5, angry=0.9)).label == "happy"
    assert s.update(point(4.0, angry=0.9)).label == "angry"  # led for two updates: shown


def test_going_back_in_time_starts_afresh():
    s = LabelStabilizer()
    feed(s, [point(20.0 + i * HOP, happy=0.9) for i in range(4)])
    assert s.update(point(5.0, sad=0.9)).label == "sad"  # played from an earlier moment


def test_a_fading_emotion_becomes_unsure_with_hysteresis():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=0.0, hysteresis=0.1, unsure_threshold=0.4))
    s.update(point(2.0, calm=0.8))
    assert s.update(point(2.5, calm=0.35)).label == "calm"  # inside the margin: stays
    assert s.update(point(3.0, calm=0.25)).state == UNSURE


def test_grouping_into_positive_neutral_negative_with_intensity():
    probs = point(2.0, angry=0.5, sad=0.2, happy=0.1).probabilities
    grouped = group_probabilities(probs, Grouping.VALENCE)
    assert set(grouped) == {"positive", "neutral", "negative"}
    assert sum(grouped.values()) == pytest.approx(1.0)
    readout = readout_for(point(2.0, angry=0.5, sad=0.2, happy=0.1), grouping=Grouping.VALENCE)
    assert readout.label == "negative" and readout.icon == "negative"
    calm = intensity(point(2.0, calm=0.9).probabilities)
    angry = intensity(point(2.0, angry=0.9).probabilities)
    assert 0 <= calm < 0.3 < 0.8 < angry <= 1
