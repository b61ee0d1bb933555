"""The conversation-aid view: entered and left by keyboard, calm, grouped on request."""
from __future__ import annotations

from PyQt5.QtCore import Qt

from moodline.desktop.readout import EMOTION, LISTENING
from moodline.engine.timeline import TimelinePoint

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def pt(t, label, p=0.9):
    probs = {x: (p if x == label else (1 - p) / 7) for x in LABELS}
    return TimelinePoint(t - 2, t, probs, label, p, True)


def test_enter_and_leave_with_the_keyboard(qtbot, window):
    qtbot.keyClick(window, Qt.Key_F11)
    qtbot.waitUntil(lambda: window.aid is not None and window.aid.isVisible())
    aid = window.aid
    assert aid.isFullScreen()
    assert aid.word.font().pointSize() >= 72
    assert aid.shown.state == LISTENING and aid.word.text() == "Listening…"
    qtbot.keyClick(aid, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.aid is None)
    assert not aid.isVisible()


def test_live_points_change_the_word_calmly(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    words = []
    for i in range(12):  # angry for a hop every other hop, otherwise happy
        aid.feed(pt(2.0 + 0.5 * i, "angry" if i % 2 else "happy"))
        words.append(aid.word.text())
    assert words[0] == "Happy"
    changes = sum(a != b for a, b in zip(words, words[1:]))
    assert changes <= 3  # raw labels change 11 times; the dwell keeps it to a few
    assert aid.palette_.name == "colour-blind safe"  # the aid's default palette
    colour = aid.palette_.colour(aid.shown.icon)
    assert colour in aid.word.styleSheet()
    aid.close()


def test_g_groups_emotions_into_fewer_categories(qtbot, window):
    window.toggle_aid()
    aid = window.aid
    assert aid.stabilizer.settings.grouping == "none"
    qtbot.keyClick(aid, Qt.Key_G)
    aid.feed(pt(2.0, "angry"))
    assert aid.shown.state == EMOTION and aid.word.text() == "Negative"
    assert aid.intensity.isVisibleTo(aid) and aid.intensity.value() > 70  # angry is intense
    qtbot.keyClick(aid, Qt.Key_G)
    aid.feed(pt(2.5, "calm"))
    assert aid.word.text() == "Calm" and not aid.intensity.isVisibleTo(aid)
    aid.close()
