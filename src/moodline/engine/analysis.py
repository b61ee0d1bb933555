"""From windows to timeline points, and offline analysis of a whole file.

The steps after the window slicer — voice-activity gate, model, smoothing — live in
:class:`WindowClassifier`, used unchanged by offline analysis (large batches) and the live
engine thread (a window or two per hop).
"""
from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .adaptation import SessionAdapter
from .audio import audio_blocks
from .errors import MoodlineError
from .model import EmotionModel
from .speakers import ME, OTHER, SPEAKER_FEATURES, UNKNOWN, Enrolment
from .timeline import Timeline, TimelinePoint
from .vad import DEFAULT_AGGRESSIVENESS, DEFAULT_GATE, MIN_MODULATION_DB, PRE_EMPHASIS, Gate, speech_detector
from .windows import Window, WindowGrid, WindowSlicer

OFFLINE_BATCH = 8  # windows per model call offline: small batches stay in cache (measured best 4–8)
# Offline, a batch ends after a window without speech where it can (see analyze_file); in talk
# without such a pause it ends here, 32 s of windows, so that memory stays bounded.
MAX_OFFLINE_BATCH = 64
# Bounds on --window and --hop (and the GUI's settings). A window holds an utterance or two:
# 0.1 s is a few feature frames at the usual 25 ms frames and 10–20 ms hops (a model with longer
# frames refuses short windows itself), and 30 s is as long as any speech model's input
# (Whisper's) and far past what an emotion label describes. Memory grows with the window:
# analysing 5 min of audio peaked at 98 MB with 2 s windows and 123 MB with 30 s ones, while
# --window 3600 took 1.3 GB. A hop longer than a minute would leave most audio unheard.
MIN_WINDOW_S = 0.1
MAX_WINDOW_S = 30.0
MAX_HOP_S = 30.0  # at most the longest window: a hop beyond the window leaves audio unheard
# A model judges windows from half to twice the length it was trained on: far outside that its
# answers saturate ("calm 1.00" for every 0.1 s window of the default) without a word.
WINDOW_RANGE = (0.5, 2.0)
MAX_SMOOTHING_WINDOWS = 1000  # 500 s at the usual hop: beyond that it is a summary, not smoothing
# A speech window with at least this share of its samples at full scale was recorded too loud:
# its peaks are flattened, the distortion reads as a different voice and moves the model's label
# (on a corpus recorded hot, +20 dB clips about a seventh of the samples and changed a fifth of
# the labels). Such windows are classified but flagged ``clipped``: views say "too loud" instead
# of an emotion and summaries leave them out. No window of clean nEMO or speechocean762
# speech reached it (benchmarks/bench_clipping.py).
CLIPPED_SHARE = 0.01

# The engine's own rules for which windows are speech and which are clipped, beside the settings
# a user chooses: kept with results (the --out manifest, the training feature cache) so that
# results made under other rules (an older Moodline) are made again, not mixed in.
JUDGING_RULES = {"speech_gate_db": MIN_MODULATION_DB, "pre_emphasis": PRE_EMPHASIS, "clipped_share": CLIPPED_SHARE}


@dataclass(frozen=True)
class AnalysisSettings:
    """How audio is cut and judged. ``window_s=None`` means the model's own window."""

    window_s: float | None = None
    hop_s: float = 0.5
    smoothing_windows: int = 1  # average the last N speech windows' probabilities (1 = off)
    vad_aggressiveness: int = DEFAULT_AGGRESSIVENESS  # 0 (lets most through) … 3 (strictest about non-speech)
    gate: str = DEFAULT_GATE.value  # which detector decides what is speech (see vad.Gate)
    # A window in which the VAD heard speech for less than this share is "no speech" and is
    # not classified; 0 turns the gate off (every window is classified).
    min_speech_fraction: float = 0.2
    # A model that adapts (see .adaptation) takes each voice relative to the session's own
    # speech; off, every window gets the model's own probabilities (relative to the training
    # speakers' statistics alone).
    adapt: bool = True

    def check(self) -> "AnalysisSettings":
        """These settings, if every value is within its stated range; else one clear error."""
        window_s = self.window_s
        if window_s is not None and not (math.isfinite(window_s) and MIN_WINDOW_S <= window_s <= MAX_WINDOW_S):
            raise MoodlineError(f"window must be between {MIN_WINDOW_S:g} and {MAX_WINDOW_S:g} seconds, "
                                f"not {window_s:g}")
        if not (math.isfinite(self.hop_s) and 0 < self.hop_s <= MAX_HOP_S):
            raise MoodlineError(f"hop must be more than 0 and at most {MAX_HOP_S:g} seconds, not {self.hop_s:g}")
        if not 1 <= self.smoothing_windows <= MAX_SMOOTHING_WINDOWS:
            raise MoodlineError(f"smoothing must cover 1 to {MAX_SMOOTHING_WINDOWS} windows, "
                                f"not {self.smoothing_windows}")
        if self.vad_aggressiveness not in (0, 1, 2, 3):
            raise MoodlineError("voice-activity aggressiveness must be 0, 1, 2 or 3")
        if self.gate not in {g.value for g in Gate}:
            raise MoodlineError(f"speech gate must be one of {', '.join(g.value for g in Gate)}, not {self.gate!r}")
        if not 0.0 <= self.min_speech_fraction <= 1.0:
            raise MoodlineError("minimum speech fraction must be between 0 and 1")
        return self


def window_grid(model: EmotionModel, settings: AnalysisSettings) -> WindowGrid:
    """The window grid for ``model`` under ``settings``; refuses windows the model cannot take."""
    info = model.info
    window_s = info.window_s if settings.window_s is None else settings.window_s
    low, high = info.window_s * WINDOW_RANGE[0], info.window_s * WINDOW_RANGE[1]
    if not low - 1e-9 <= window_s <= high + 1e-9:
        raise MoodlineError(f"{model.path}: this model was trained on {info.window_s:g} s windows and judges "
                            f"{low:g} to {high:g} s; {window_s:g} s windows would get answers it never learnt to give")
    if settings.hop_s > window_s:
        raise MoodlineError(f"hop ({settings.hop_s:g} s) is longer than the window ({window_s:g} s): "
                            "the audio between windows would go unheard")
    multiple = info.streaming["frames_per_state"] if model.streaming else 1
    try:
        grid = WindowGrid.for_seconds(info.features, window_s, settings.hop_s, multiple)
    except ValueError as exc:  # a window shorter than one of this model's feature frames
        raise MoodlineError(f"{model.path}: {exc}") from None
    if model.fixed_frames is not None and grid.window_frames != model.fixed_frames:
        raise MoodlineError(
            f"{model.path}: this model only takes {info.window_s:g} s windows, not {window_s:g} s")
    if model.streaming:
        model.stream(grid.window_frames, grid.hop_frames)  # refuses a grid it cannot stream
    return grid


def new_slicer(model: EmotionModel, settings: AnalysisSettings, gate_runner: Executor | None = None,
               keep_audio: bool = False) -> WindowSlicer:
    """A window slicer with its voice-activity detector, configured for ``model`` (Silero's
    network runs on ``gate_runner``, one thread, when given: see :class:`~.vad.SileroDetector`);
    with ``keep_audio`` its windows carry their audio (for telling voices apart)."""
    speech = speech_detector(settings.gate, model.info.sample_rate_hz, settings.vad_aggressiveness, gate_runner)
    return WindowSlicer(window_grid(model, settings), speech, keep_audio=keep_audio)


class WindowClassifier:
    """Windows in, timeline points out: VAD gate → model → adaptation → smoothing.

    Two steps, so that offline analysis can run the costly one on several threads:
    :meth:`encode` runs the model on the speech windows (a streaming model encodes each stretch
    of them once, a hop at a time: the first window after one without speech starts the
    stretch, and windows must come in order, as the slicer gives them); :meth:`finish` turns
    its outputs into points, in order, through the session's adaptation (a model that adapts,
    see :mod:`.adaptation`, unless ``settings.adapt`` is off) and the smoothing. Smoothing
    averages the probabilities of the last ``smoothing_windows`` speech windows; a window
    without speech starts a new utterance, so smoothing never carries across silence.

    With an ``enrolment`` that tells voices apart (see :mod:`.speakers`), each speech window is
    also labelled "me", "other" or "unknown", and each voice keeps its own adaptation: "me"
    starts from the enrolled voice's statistics, "other" from the training speakers', so two
    people are never averaged into one. An "unknown" window is judged against "other" but
    learnt by neither, and smoothing starts afresh when the voice changes, as after silence.
    Without separation the one session adapter starts from ``enrolment.baseline``.
    """

    def __init__(self, model: EmotionModel, settings: AnalysisSettings,
                 enrolment: Enrolment | None = None) -> None:
        self.model = model
        self.labels = model.info.labels
        self.settings = settings
        self._recent: deque[np.ndarray] = deque(maxlen=settings.smoothing_windows)
        self._recent_voice: str | None = None
        self._stream = None
        self.separation = None if enrolment is None else enrolment.separation
        if self.separation is not None and model.info.sample_rate_hz != SPEAKER_FEATURES.sample_rate_hz:
            raise MoodlineError(f"{model.path}: telling voices apart needs a model at "
                                f"{SPEAKER_FEATURES.sample_rate_hz} Hz, not {model.info.sample_rate_hz} Hz")
        baseline = None if enrolment is None else enrolment.baseline
        self.adapters: dict[str, SessionAdapter] = {}
        if model.adapts and settings.adapt:
            if self.separation is not None:
                self.adapters = {ME: SessionAdapter(model.info.adaptation, baseline),
                                 OTHER: SessionAdapter(model.info.adaptation)}
            else:
                self.adapters = {OTHER: SessionAdapter(model.info.adaptation, baseline)}
        if model.streaming:
            grid = window_grid(model, settings)
            self._stream = model.stream(grid.window_frames, grid.hop_frames)

    def is_speech(self, window: Window) -> bool:
        """Whether ``window`` is classified: one without speech ends a stretch of speech (the
        encoder's cache and the smoothing start afresh after it)."""
        return window.speech_fraction >= self.settings.min_speech_fraction

    def encode(self, windows: Sequence[Window]) -> list[Encoded]:
        """What the model says of each window (nothing for windows without speech)."""
        speech = [w for w in windows if self.is_speech(w)]
        probs = embeddings = None
        if speech and self._stream is not None:
            outputs = [self._stream.window(w.index, w.features) for w in speech]
            probs = np.concatenate([o["probabilities"] for o in outputs])
            if self.adapters:
                embeddings = np.concatenate([o["embedding"] for o in outputs])
        elif speech:
            batch = np.stack([w.features for w in speech])
            probs = self.model.predict(batch)
            if self.adapters:
                embeddings = self.model.embed(batch)
        voices = [None] * len(speech)
        if speech and self.separation is not None:
            voices = self.separation.voices([w.samples for w in speech])[0]
        found, i = [], 0
        for window in windows:
            if not self.is_speech(window):
                found.append(Encoded(window, None, None))
                continue
            found.append(Encoded(window, probs[i], None if embeddings is None else embeddings[i], voices[i]))
            i += 1
        return found

    def _adapt(self, speech: list["Encoded"]) -> list[np.ndarray]:
        """Each speech window's probabilities after its voice's adaptation, in order."""
        if not self.adapters:
            return [e.probabilities for e in speech]
        adapted: list[np.ndarray] = []
        start = 0
        while start < len(speech):  # runs of windows that go to one adapter
            key = ME if speech[start].voice == ME else OTHER
            end = start + 1
            while end < len(speech) and (ME if speech[end].voice == ME else OTHER) == key:
                end += 1
            run = speech[start:end]
            # Clipped windows are classified, but their distortion is not learnt as the voice;
            # nor is a window whose voice is unknown.
            learn = np.array([e.window.clipped_fraction < CLIPPED_SHARE and e.voice != UNKNOWN for e in run])
            adapted.extend(self.adapters[key](np.stack([e.embedding for e in run]), learn))
            start = end
        return adapted

    def finish(self, encoded: Sequence[Encoded]) -> list[TimelinePoint]:
        """Timeline points of :meth:`encode`'s outputs, which must come in order."""
        adapted = iter(self._adapt([e for e in encoded if e.probabilities is not None]))
        points = []
        for item in encoded:
            window = item.window
            if item.probabilities is None:
                self._recent.clear()
                points.append(TimelinePoint(window.start_s, window.end_s, None, None, None, False))
                continue
            if window.clipped_fraction >= CLIPPED_SHARE:
                # Kept as the model said it (nothing computed is lost), flagged, and kept out
                # of the smoothing so that the distortion does not spill into its neighbours.
                raw = next(adapted)
                best = int(np.argmax(raw))
                points.append(TimelinePoint(window.start_s, window.end_s,
                                            {label: float(p) for label, p in zip(self.labels, raw)},
                                            self.labels[best], float(raw[best]), True, clipped=True,
                                            voice=item.voice))
                continue
            if item.voice != self._recent_voice:  # another voice: a new utterance
                self._recent.clear()
                self._recent_voice = item.voice
            self._recent.append(next(adapted))
            smoothed = np.mean(self._recent, axis=0) if len(self._recent) > 1 else self._recent[0]
            best = int(np.argmax(smoothed))
            points.append(TimelinePoint(
                window.start_s, window.end_s,
                {label: float(p) for label, p in zip(self.labels, smoothed)},
                self.labels[best], float(smoothed[best]), True, voice=item.voice,
            ))
        return points

    def __call__(self, windows: Sequence[Window]) -> list[TimelinePoint]:
        return self.finish(self.encode(windows))


@dataclass(frozen=True)
class Encoded:
    """What the model said of one window, before the session's adaptation and smoothing."""

    window: Window
    probabilities: np.ndarray | None  # None: a window without speech (not classified)
    embedding: np.ndarray | None  # a model that adapts: the vector its head reads
    voice: str | None = None  # "me", "other" or "unknown" when the session tells voices apart


def analyze_file(
    path: str | os.PathLike,
    model: EmotionModel,
    settings: AnalysisSettings = AnalysisSettings(),
    progress: Callable[[float], None] | None = None,
    on_block: Callable[[np.ndarray], None] | None = None,
    workers: int = 1,
    enrolment: Enrolment | None = None,
) -> Timeline:
    """The emotion timeline of one audio file, decoded and classified block by block.

    ``progress`` is called with the seconds of audio done so far; ``on_block`` with each
    decoded block (mono float32 at the model's rate), for a caller that also keeps the audio
    (to draw or play it) without decoding the file twice. Raises
    :class:`~moodline.engine.errors.AudioError` for a file that cannot be analysed.

    This thread decodes and computes features while one thread runs the voice gate and
    ``workers`` threads run the model. Stretches of speech are independent (after a window
    without speech the encoder's cache and the smoothing start afresh), so with several workers
    each takes whole stretches and the timeline is the same for any number of them. Give such
    workers a model made with ``threads=1``, so that they share the cores out instead of each
    spreading its calls over all of them.
    """
    settings = settings.check()
    rate = model.info.sample_rate_hz
    rules = WindowClassifier(model, settings, enrolment)  # the session: adaptation and smoothing
    timeline = Timeline(model.info.labels)
    in_flight: deque[Future] = deque()
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="moodline-gate") as gate,
          ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="moodline-classify") as pool):
        slicer = new_slicer(model, settings, gate, keep_audio=rules.separation is not None)
        classify: WindowClassifier | None = None  # encodes the current stretch
        latest: Future | None = None

        def hand_over(windows: list[Window], fresh: bool) -> None:
            """Classify ``windows`` on a worker: with a classifier of their own when they begin
            a stretch (``fresh``), else after the batch before them, whose stretch they go on."""
            nonlocal classify, latest
            after = None if fresh else latest
            if fresh:
                classify = WindowClassifier(model, settings, enrolment)
            latest = pool.submit(_classify_after, after, classify, windows)
            in_flight.append(latest)
            while len(in_flight) > 2 * max(1, workers):  # bounded memory; the timeline in order
                timeline.extend(rules.finish(in_flight.popleft().result()))

        pending: list[Window] = []
        fresh = True
        for block in audio_blocks(path, rate):
            if on_block is not None:
                on_block(block)
            for window in slicer.push(block):
                pending.append(window)
                stretch_ended = not rules.is_speech(window)
                if (len(pending) >= OFFLINE_BATCH and stretch_ended) or len(pending) >= MAX_OFFLINE_BATCH:
                    hand_over(pending, fresh)
                    pending, fresh = [], stretch_ended
            if progress is not None:
                progress(slicer.samples_received / rate)
        hand_over(pending + slicer.flush(), fresh)
        while in_flight:
            timeline.extend(rules.finish(in_flight.popleft().result()))
    timeline.duration_s = slicer.samples_received / rate
    return timeline


def _classify_after(before: Future | None, classify: WindowClassifier, windows: list[Window]) -> list[Encoded]:
    if before is not None:
        before.result()  # the batch whose stretch these windows go on has been encoded
    return classify.encode(windows)
