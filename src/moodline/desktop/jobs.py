"""What the main window is doing, as one named value.

Some jobs overlap by design (the model loads while the input devices are looked for; a new
model may load while a session listens), so the state is a :class:`~enum.Flag`: one value
naming every job under way. Which buttons and menus are enabled is computed from it.
"""
from __future__ import annotations

from enum import Flag, auto


class JobState(Flag):
    IDLE = 0
    LOADING_MODEL = auto()
    SCANNING = auto()  # looking for input devices
    STARTING = auto()  # opening the input and the session's files
    LISTENING = auto()  # a live session runs
    FINISHING = auto()  # a live session stops: the last audio classified, its files finished
    ANALYSING = auto()  # a recording is analysed
    OPENING = auto()  # a saved session is read


# Jobs the window waits for before it opens, starts or queues anything else ("busy").
BLOCKING_JOBS = (JobState.LOADING_MODEL | JobState.STARTING | JobState.FINISHING | JobState.ANALYSING
                 | JobState.OPENING)
# A live session, from Start until its files are finished.
SESSION_JOBS = JobState.STARTING | JobState.LISTENING | JobState.FINISHING
