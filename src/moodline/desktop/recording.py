"""A recording on screen: analysing a file into one, and its waveform (no Qt here).

Opening a file decodes and analyses it in one pass (the audio is kept for the waveform strip
and playback) on a worker thread, reporting progress and checking for cancellation through
plain callables. Sessions (recorded, reopened, saved) are the engine's: :mod:`moodline.engine.session`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine.audio import audio_duration_s, to_int16
from moodline.engine.model import EmotionModel
from moodline.engine.session import Recording
from moodline.engine.voices import enrolled_baseline

from .series import GrowingEnvelope

WAVEFORM_BUCKETS_PER_S = 50  # resolution of the waveform strip


class Cancelled(Exception):
    """The user cancelled a long job."""


def waveform_envelope(audio: np.ndarray, sample_rate_hz: int,
                      buckets_per_s: int = WAVEFORM_BUCKETS_PER_S) -> GrowingEnvelope:
    """The waveform of ``audio`` scaled to -1…1, ready to draw at any zoom (built off the GUI thread)."""
    envelope = GrowingEnvelope(sample_rate_hz, buckets_per_s)
    scale = 32768.0 if audio.dtype == np.int16 else 1.0
    minute = 60 * sample_rate_hz  # a float copy of a whole hour would take ~230 MB: a minute at a time
    for start in range(0, len(audio), minute):
        envelope.append(audio[start:start + minute].astype(np.float32) / scale)
    return envelope


def analyze_recording(
    path: str | os.PathLike,
    model: EmotionModel,
    settings: AnalysisSettings,
    progress: Callable[[float], None] = lambda fraction: None,
    cancelled: Callable[[], bool] = lambda: False,
    voice: str = "",
) -> Recording:
    """Decode and analyse ``path`` (starting from the enrolled ``voice``, if one is named).
    ``progress`` gets 0…1 (or -1 while the length is unknown)."""
    path = Path(path)
    rate = model.info.sample_rate_hz
    expected_s = audio_duration_s(path)
    blocks: list[np.ndarray] = []  # int16: half the memory of float32, all playback needs

    def on_progress(seconds_done: float) -> None:
        if cancelled():
            raise Cancelled()  # leaves analyze_file between blocks; nothing is kept
        progress(min(1.0, seconds_done / expected_s) if expected_s else -1.0)

    # One pass: the engine decodes and analyses, and hands each block over for the waveform.
    timeline = analyze_file(path, model, settings, progress=on_progress,
                            on_block=lambda block: blocks.append(to_int16(block)),
                            baseline=enrolled_baseline(voice, model, settings))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
    return Recording(timeline, audio, rate, str(path), model=str(model.path))
