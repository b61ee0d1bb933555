"""Whose voice a point or a stretch is, in the window's words (no Qt here).

When a session tells the user's enrolled voice from others (:mod:`moodline.engine.speakers`),
each speech window is "me", "other" or "unknown"; the window calls them "You", "Other" and
"Unsure whose", in that order wherever they are listed (the timeline's rows, the segments).
"""
from __future__ import annotations

from moodline.engine.readout import VOICE_WORDS
from moodline.engine.speakers import ME, OTHER, UNKNOWN, VOICES

VOICE_ORDER = VOICES  # me, other, unknown: the engine's order
VOICE_PHRASES = {ME: "your voice", OTHER: "the other person's voice", UNKNOWN: "unsure whose voice"}
VOICE_TIPS = {ME: "Your own voice (the voice enrolled as yours in Settings)",
              OTHER: "Another voice than yours: the person you are talking with",
              UNKNOWN: "Not clear whose voice: two at once, a cough, or a voice like yours"}


def voice_word(voice: str | None) -> str:
    """The word for ``voice`` ("" when voices were not told apart)."""
    return VOICE_WORDS.get(voice, "") if voice else ""

