"""A recording's waveform, ready to draw at any zoom (no Qt here).

Analysing a file into a recording, with progress and cancellation, and sessions (recorded,
reopened, saved) are the engine's: :mod:`moodline.engine.session`.
"""
from __future__ import annotations

import numpy as np

from .series import GrowingEnvelope

WAVEFORM_BUCKETS_PER_S = 50  # resolution of the waveform strip


def waveform_envelope(audio: np.ndarray, sample_rate_hz: int,
                      buckets_per_s: int = WAVEFORM_BUCKETS_PER_S) -> GrowingEnvelope:
    """The waveform of ``audio`` scaled to -1…1, ready to draw at any zoom (built off the GUI thread)."""
    envelope = GrowingEnvelope(sample_rate_hz, buckets_per_s)
    scale = 32768.0 if audio.dtype == np.int16 else 1.0
    minute = 60 * sample_rate_hz  # a float copy of a whole hour would take ~230 MB: a minute at a time
    for start in range(0, len(audio), minute):
        envelope.append(audio[start:start + minute].astype(np.float32) / scale)
    return envelope
