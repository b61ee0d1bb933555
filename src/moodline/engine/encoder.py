"""Running a streaming encoder model: the encoder once per stretch of speech.

Overlapping windows (2 s every 0.5 s) would have an encoder read every second of speech four
times. A *streaming* model file instead encodes only each window's newest hop and returns that
hop's keys, values and states; :class:`EncoderStream` keeps them for the rest of the window and
hands them back at the next hop, so each second of speech is encoded once. The first window of a
stretch of speech (one whose predecessor was not classified) is encoded whole, with an empty
cache, exactly as a model of single windows would encode it. Live and offline analysis feed the
same windows in the same order, so they run the very same steps.

The graph's inputs, by name (:data:`STREAM_INPUTS`): ``features`` ``(1, frames, bands)``, the
window's features; ``new_frames`` (an int64 scalar), how many of its last frames are the hop
to encode (all of them for a stretch's first window); ``position`` (int64), the first new state's
index since the stretch began; and the cache ``past_keys``, ``past_values`` ``(blocks, P, d)``,
``past_states`` ``(states, P, d)``. Besides its ordinary outputs it returns ``new_keys``,
``new_values`` and ``new_states`` (:data:`STREAM_CACHE_OUTPUTS`), the hop's part of the cache,
``frames_per_state`` feature frames to a state (the model's ``streaming`` metadata).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAM_INPUTS = ("features", "new_frames", "position", "past_keys", "past_values", "past_states")
CACHE_INPUTS = ("past_keys", "past_values", "past_states")
STREAM_CACHE_OUTPUTS = ("new_keys", "new_values", "new_states")


@dataclass(frozen=True)
class StreamShape:
    """What an :class:`EncoderStream` needs to know about its model and window grid."""

    window_frames: int  # feature frames in a window
    hop_frames: int  # feature frames between windows (the hop encoded at each step)
    frames_per_state: int  # feature frames per encoder state (Whisper: 2)
    cache_shapes: tuple[tuple[int, int], ...]  # (leading size, width) of each cache input

    def problem(self) -> str | None:
        """Why windows of this grid cannot be streamed, or ``None``."""
        per = self.frames_per_state
        if self.window_frames % per or self.hop_frames % per:
            return (f"its windows and hops must be whole encoder steps of {per} feature frames "
                    f"(this grid has {self.window_frames} and {self.hop_frames})")
        return None



class EncoderStream:
    """One stream of windows through a streaming model session (one per file or live session).

    ``run(inputs)`` runs the session on a dict of named inputs and returns a dict of named
    outputs; it is the caller's (:class:`~moodline.engine.model.EmotionModel`), so errors are
    reported where the model is known.
    """

    def __init__(self, shape: StreamShape, run) -> None:
        self.shape = shape
        self._run = run
        self._next_index: int | None = None  # the window a cache continues into
        self.reset()

    def reset(self) -> None:
        """Forget the cache: the next window starts a stretch."""
        self._cache = [np.zeros((lead, 0, width), np.float32) for lead, width in self.shape.cache_shapes]
        self._position = 0
        self._next_index = None

    def window(self, index: int, features: np.ndarray) -> dict[str, np.ndarray]:
        """The model's outputs for window ``index`` (its features ``(frames, bands)``)."""
        shape = self.shape
        if self._next_index == index and shape.hop_frames < shape.window_frames:
            new_frames = shape.hop_frames
        else:  # a stretch's first window: all of it at once, as a model of single windows would
            self.reset()
            new_frames = shape.window_frames
        outputs = self._run({
            "features": np.ascontiguousarray(features[None], dtype=np.float32),
            "new_frames": np.array(new_frames, np.int64),
            "position": np.array(self._position, np.int64), **dict(zip(CACHE_INPUTS, self._cache)),
        })
        self._cache = [np.concatenate((old, outputs[name]), axis=1)
                       for old, name in zip(self._cache, STREAM_CACHE_OUTPUTS)]
        self._position += new_frames // shape.frames_per_state
        # What the next window shares with this one: all but this window's first hop.
        keep = max(0, shape.window_frames - shape.hop_frames) // shape.frames_per_state
        self._cache = [c[:, c.shape[1] - keep:] for c in self._cache]
        self._next_index = index + 1
        return outputs
