"""A synthetic long recording (timeline and audio) for the timeline tests and benchmarks.

No model runs: the points are made up so a test knows exactly where each emotion and each
pause is. Speech comes in utterances of a few seconds with pauses between them; within speech
the winning emotion changes every ``segment_s`` seconds on average.
"""
from __future__ import annotations

import numpy as np

from moodline.engine.session import Recording
from moodline.engine.timeline import Timeline, TimelinePoint

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
RATE = 16000


def synthetic_points(minutes: float, hop_s: float = 0.5, window_s: float = 2.0, seed: int = 0,
                     segment_s: float = 20.0, labels=LABELS) -> list[TimelinePoint]:
    """One point per hop over ``minutes``; utterances of 2–12 s separated by 0.5–4 s pauses."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 / hop_s)
    speech = np.zeros(n, bool)
    i = 0
    while i < n:
        i += int(rng.uniform(0.5, 4.0) / hop_s)
        length = int(rng.uniform(2.0, 12.0) / hop_s)
        speech[i:i + length] = True
        i += length
    points = []
    winner = int(rng.integers(len(labels)))
    for k in range(n):
        if rng.random() < hop_s / segment_s:
            winner = int(rng.integers(len(labels)))
        start = k * hop_s
        if not speech[k]:
            points.append(TimelinePoint(start, start + window_s, None, None, None, False))
            continue
        raw = rng.dirichlet(np.ones(len(labels)))
        raw[winner] += rng.uniform(0.2, 2.5)
        p = raw / raw.sum()
        probs = {label: float(v) for label, v in zip(labels, p)}
        best = max(probs, key=probs.get)
        points.append(TimelinePoint(start, start + window_s, probs, best, probs[best], True))
    return points


def synthetic_recording(minutes: float, seed: int = 0, with_audio: bool = True) -> Recording:
    """A recording of ``minutes`` with :func:`synthetic_points` and quiet noise as its audio."""
    timeline = Timeline(LABELS)
    timeline.extend(synthetic_points(minutes, seed=seed))
    audio = None
    if with_audio:
        rng = np.random.default_rng(seed)
        audio = rng.integers(-300, 300, int(minutes * 60 * RATE), dtype=np.int16)
    return Recording(timeline, audio, RATE, f"synthetic-{minutes:g}min.wav")
