"""The one error type the command line turns into a single line on stderr."""
from __future__ import annotations

import re


def first_line(exc: BaseException) -> str:
    """The gist of a library's error for a one-line message: its first line, without the
    file name libsndfile repeats."""
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    return text.rstrip(".")


class MoodlineError(Exception):
    """A problem a user can act on: the message names the file (or key) and what is wrong."""


class AudioError(MoodlineError):
    """An audio file that cannot be decoded, or holds nothing usable."""


class ModelError(MoodlineError):
    """A model file that is missing, corrupt, or breaks the metadata contract."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe to show on a terminal as one line: control characters (a file name may hold
    ESC sequences, newlines, carriage returns) are shown escaped (``\\x1b``, ``\\n``) instead of
    acting on the terminal or splitting the line."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)
