"""The conversation-aid view: full screen, calm through pauses and changes, legible colours
shared with every other view, words before numbers."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QFontMetrics

from moodline.desktop.palette import Palette
from moodline.engine.readout import EMOTION, LISTENING, Readout
from moodline.desktop.widgets.aid_view import (DIMMED_OPACITY, LARGE_TEXT_SCALE, MIN_OPACITY,
                                               MIN_WORD_PT, THEMES, WORD_PT)
from moodline.desktop.widgets.emotion_panel import BACKGROUND as PANEL_BACKGROUND
from moodline.desktop.widgets.timeline_view import BACKGROUND as TIMELINE_BACKGROUND
from moodline.engine.timeline import TimelinePoint

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
PALETTES = (Palette(high_contrast=False), Palette(high_contrast=True))


def pt(t, label, p=0.9):
    probs = {x: (p if x == label else (1 - p) / 7) for x in LABELS}
    return TimelinePoint(t - 2, t, probs, label, p, True)


def quiet(t):
    return TimelinePoint(t - 2, t, None, None, None, False)


def everything_shown(aid) -> str:
    return " ".join(w.text() for w in (aid.word, aid.detail, aid.pause_hint))


# ---- colour arithmetic (WCAG 2.x contrast; Machado et al. 2009 colour-blindness simulation) ----
def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])


def linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def contrast(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = (float(linear(c) @ [0.2126, 0.7152, 0.0722]) for c in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def seen_at(colour: str, background: str, opacity: float) -> np.ndarray:
    """What a colour drawn at ``opacity`` looks like (Qt blends the stored sRGB values)."""
    return opacity * rgb(colour) + (1 - opacity) * rgb(background)


CVD = {  # full-severity protanopia, deuteranopia, tritanopia in linear RGB
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def lab(c_linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c_linear
    f = xyz / [0.95047, 1.0, 1.08883]
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# ---- entering, leaving, size ---------------------------------------------------------
def test_enter_full_screen_and_leave_with_the_keyboard(qtbot, window):
    qtbot.keyClick(window, Qt.Key_F11)
    qtbot.waitUntil(lambda: window.aid is not None and window.aid.isVisible())
    aid = window.aid
    assert aid.isFullScreen()
    qtbot.waitUntil(lambda: aid.size() == window.screen().size())  # the whole screen
    assert aid.shown.state == LISTENING and aid.word.text() == "Listening…"
    # As large as the screen allows: every word the aid can show fits across it.
    font = aid.word.font()
    assert font.bold() and MIN_WORD_PT <= font.pointSizeF() <= WORD_PT
    widest = max(QFontMetrics(font).horizontalAdvance(w) for w in (*[x.capitalize() for x in LABELS], "Listening…"))
    assert widest <= aid.width() - 80
    qtbot.keyClick(aid, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.aid is None)
    assert not aid.isVisible()


def test_large_text_makes_the_word_and_the_hints_larger(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    aid.showNormal()
    aid.resize(2400, 1200)  # a screen wide enough for the largest size
    qtbot.waitUntil(lambda: aid.width() == 2400)
    assert aid.word.font().pointSizeF() == pytest.approx(WORD_PT)
    hint_pt = aid.pause_hint.font().pointSizeF()
    window.apply_settings(replace(window.settings, aid_display=replace(window.settings.aid_display, large_text=True)))
    assert aid.word.font().pointSizeF() == pytest.approx(WORD_PT * LARGE_TEXT_SCALE)
    assert aid.pause_hint.font().pointSizeF() == pytest.approx(hint_pt * LARGE_TEXT_SCALE)
    aid.close()


# ---- calm: pauses and changes -----------------------------------------------------------
def test_a_live_conversation_with_pauses_never_flashes_no_speech(qtbot, window, inputs):
    """Through the real window and live session: 3 s quiet, speech, a 4 s pause, speech, then
    a quiet room. The aid says "Listening…" until speech, then holds what it heard through
    the pause (dimmed, "paused"), and only after a long silence listens again."""
    window.toggle_aid()
    aid = window.aid
    seen = []
    feed = aid.feed

    def feed_and_look(point):
        feed(point)
        seen.append((point, aid.word.text(), aid.pause_hint.text(), aid.fade.endValue()))

    aid.feed = feed_and_look
    inputs.speed = 16.0
    window.start()
    qtbot.waitUntil(lambda: bool(inputs.sources) and inputs.sources[-1].done, timeout=20000)
    first_speech = next(i for i, (p, *_) in enumerate(seen) if p.is_speech)
    # The quiet room after the conversation: 20 s later (1.3 s at 16x) the aid listens again.
    qtbot.waitUntil(lambda: len(seen) > first_speech + 40 and seen[-1][1] == "Listening…", timeout=20000)
    window.stop()

    words = [word for _, word, *_ in seen]
    assert "No speech" not in words
    assert set(words[:first_speech]) == {"Listening…"}  # before anyone spoke
    last_speech = max(i for i, (p, *_) in enumerate(seen) if p.is_speech)
    between = seen[first_speech:last_speech + 1]
    assert "Listening…" not in {word for _, word, *_ in between}  # the 4 s pause is held
    assert any(hint == "paused" for _, _, hint, _ in between)
    assert any(opacity == DIMMED_OPACITY for *_, opacity in between)
    # Each quiet moment shows the word last shown while someone spoke.
    last_spoken = None
    for p, word, *_ in between:
        if p.is_speech:
            last_spoken = word
        else:
            assert word == last_spoken


def test_a_new_word_fades_in_from_a_legible_floor(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    opacities = []
    aid.fade.valueChanged.connect(lambda value: opacities.append(value))
    aid.feed(pt(2.0, "happy"))
    for i in range(1, 8):  # angry, clearly, after the minimum dwell
        aid.feed(pt(2.0 + 0.5 * i, "angry"))
    assert aid.word.text() == "Angry"
    qtbot.waitUntil(lambda: aid.opacity.opacity() == 1.0, timeout=3000)
    assert opacities and min(opacities) >= MIN_OPACITY
    assert min(opacities) < 0.9  # the change did fade


def test_a_pause_dims_the_word_shows_a_hint_and_moves_nothing(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    for i in range(4):
        aid.feed(pt(2.0 + 0.5 * i, "sad"))
    qtbot.waitUntil(lambda: aid.size() == window.screen().size())
    qtbot.wait(50)
    word_at = aid.word.geometry()
    opacities = []
    aid.fade.valueChanged.connect(lambda value: opacities.append(value))
    t = 3.5
    hints = []
    while t < 9.0:  # a 5.5 s pause
        t += 0.5
        aid.feed(quiet(t))
        hints.append(aid.pause_hint.text())
        qtbot.wait(20)
    assert aid.word.text() == "Sad" and hints[0] == "" and hints[-1] == "paused"
    assert aid.word.geometry() == word_at  # the hint appeared without moving the word
    qtbot.waitUntil(lambda: aid.opacity.opacity() == DIMMED_OPACITY, timeout=3000)
    aid.feed(pt(t + 0.5, "sad"))  # speech again: bright, no hint
    assert aid.pause_hint.text() == ""
    qtbot.waitUntil(lambda: aid.opacity.opacity() == 1.0, timeout=3000)
    assert min(opacities) >= MIN_OPACITY


def test_the_word_changes_calmly_while_the_label_flickers(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    words = []
    for i in range(12):  # angry for a hop every other hop, otherwise happy
        aid.feed(pt(2.0 + 0.5 * i, "angry" if i % 2 else "happy"))
        words.append(aid.word.text())
    assert set(words) == {"Happy"}  # a label that leads for one hop at a time never shows
    aid.close()


# ---- words before numbers ------------------------------------------------------------
def test_percentages_are_hidden_unless_asked_for(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    aid.feed(pt(2.0, "happy", 0.72))
    assert aid.word.text() == "Happy" and "%" not in everything_shown(aid)
    aid.feed(pt(4.5, "happy", 0.2))  # no longer sure: "Unsure", in words
    assert aid.word.text() == "Unsure" and "%" not in everything_shown(aid)
    assert aid.detail.text() == "no emotion is clear"
    window.apply_settings(replace(window.settings, aid_display=replace(window.settings.aid_display, show_percentages=True)))
    assert aid.detail.text() == "best guess happy, 20%"
    aid.feed(pt(7.0, "sad", 0.8))
    aid.feed(pt(7.5, "sad", 0.8))
    assert aid.word.text() == "Sad" and aid.detail.text() == "80% sure"


def test_the_calm_intense_bar_is_an_option_and_g_groups(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    assert not aid.intensity.isVisibleTo(aid)
    window.apply_settings(replace(window.settings, aid_display=replace(window.settings.aid_display, intensity_bar=True)))
    aid.feed(pt(2.0, "calm"))
    assert aid.intensity.isVisibleTo(aid) and aid.intensity.value() < 30
    window.apply_settings(replace(window.settings, aid_display=replace(window.settings.aid_display, intensity_bar=False)))
    assert not aid.intensity.isVisibleTo(aid)
    qtbot.keyClick(aid, Qt.Key_G)
    aid.feed(pt(4.0, "angry"))
    assert aid.shown.state == EMOTION and aid.word.text() == "Negative"
    assert aid.intensity.isVisibleTo(aid) and aid.intensity.value() > 70  # grouped: always shown
    qtbot.keyClick(aid, Qt.Key_G)
    aid.feed(pt(6.5, "calm"))
    assert aid.word.text() == "Calm" and not aid.intensity.isVisibleTo(aid)
    aid.close()


# ---- one palette, legible, colour-blind safe ---------------------------------------------
def test_every_view_draws_with_one_palette(qtbot, window):
    window.toggle_aid()
    aid, panel = window.aid, window.panel
    for palette_setting in (False, True):
        window.apply_settings(replace(window.settings, high_contrast=palette_setting))
        palette = window.palette_
        assert palette.high_contrast == palette_setting
        assert panel.palette_ is palette and window.timeline_view.palette_ is palette and aid.palette_ is palette
        for label in LABELS:
            aid.reset()
            aid.feed(pt(2.0, label))
            panel.show_readout(Readout(EMOTION, label, 0.9))
            colour = palette.colour(label)
            assert f"color:{colour}" in aid.word.styleSheet() and f"color:{colour}" in panel.word.styleSheet()
        # The aid's background follows the mode; its words stay readable on it.
        assert THEMES[palette_setting].background in aid.styleSheet()
    assert Palette(high_contrast=False).colour("angry") != Palette(high_contrast=True).colour("angry")


@pytest.mark.parametrize("palette", PALETTES, ids=lambda p: p.name)
def test_every_colour_is_legible_on_every_background_it_is_drawn_on(palette):
    aid_background = THEMES[palette.high_contrast].background
    colours = {label: palette.colour(label) for label in palette.known_labels()}
    colours.update({f"extra {i}": c for i, c in enumerate(palette.extra_colours())})
    for name, colour in colours.items():
        # WCAG AA for text (4.5:1) everywhere; high contrast aims at AAA (7:1) on its black.
        assert contrast(rgb(colour), rgb(aid_background)) >= (7.0 if palette.high_contrast else 4.5), name
        for background in (PANEL_BACKGROUND, TIMELINE_BACKGROUND):
            assert contrast(rgb(colour), rgb(background)) >= 4.5, (name, background)
        # Fading in or dimmed, the aid's large word keeps WCAG's large-text minimum (3:1).
        for opacity in (MIN_OPACITY, DIMMED_OPACITY):
            assert contrast(seen_at(colour, aid_background, opacity), rgb(aid_background)) >= 3.0, name


@pytest.mark.parametrize("palette", PALETTES, ids=lambda p: p.name)
def test_the_emotions_stay_apart_for_colour_blind_eyes(palette):
    for vision, matrix in {"typical": np.eye(3), **CVD}.items():
        seen = {label: lab(np.clip(np.asarray(matrix) @ linear(rgb(palette.colour(label))), 0, 1))
                for label in LABELS}
        closest = min(itertools.combinations(LABELS, 2),
                      key=lambda pair: np.linalg.norm(seen[pair[0]] - seen[pair[1]]))
        assert np.linalg.norm(seen[closest[0]] - seen[closest[1]]) >= 10, (vision, closest)
