"""Whose voice it is: the shipped speaker encoder and the "me / other / unknown" decision.

A conversation has two people. Once a user has enrolled their voice (:mod:`.voices`), each
speech window is embedded by a speaker encoder and compared with the enrolled voice's
embedding: similar enough and it is "me", dissimilar enough and it is "other", in between
"unknown" (two voices at once, a cough, a voice like the user's). The aid then shows the other
person's emotion, and each voice keeps its own adaptation baseline (see :mod:`.analysis`).

The encoder is Resemblyzer's GE2E voice encoder (Apache-2.0), ported to ONNX by
``moodline export-voice-model`` with a parity check against the original (``models/voice.md``):
three LSTM layers over 40 mel power bands of 25 ms frames every 10 ms (not their logarithm:
the network was trained so), returning a unit-length 256-value embedding. Its input is brought
to :data:`LEVEL_DBFS` first, louder only, as Resemblyzer does: the bands are power, so the
level reaches the network.

File contract (``metadata_props``): ``format_version`` ``"1"``, ``kind`` ``"speaker_encoder"``,
``sample_rate_hz``, ``features`` (a ``mel_power`` :class:`~.features.FeatureSpec`),
``level_dbfs``, ``partial_frames``, ``provenance``. Inputs ``mels`` float32 ``(batch, frames,
40)`` and ``lengths`` int32 ``(batch,)`` (the frames of each row, the rest padding); output
``embedding`` float32 ``(batch, 256)``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .adaptation import VoiceBaseline
from .errors import ModelError, first_line
from .features import FeatureSpec, features

SPEAKER_FEATURES = FeatureSpec(sample_rate_hz=16000, kind="mel_power", n_fft=400, win_length=400, hop_length=160,
                               n_mels=40, fmin_hz=0.0, fmax_hz=8000.0)
PARTIAL_FRAMES = 160  # the 1.6 s the network was trained on; embed_recording averages such partials
LEVEL_DBFS = -30.0  # quieter input is brought up to this RMS level (never down), as Resemblyzer
MAX_GAIN = 1000.0  # 60 dB: a window this quiet has no voice worth comparing
EMBEDDING_DIMS = 256
VOICED_DB = 30.0  # frames quieter than the window's loudest by more than this are pauses
MIN_VOICED_FRAMES = 50  # 0.5 s: a window with less voice than this cannot say whose it is

ME, OTHER, UNKNOWN = "me", "other", "unknown"
VOICES = (ME, OTHER, UNKNOWN)
# Cosine similarity to the enrolled voice at and above which a window is "me", and below which
# it is "other"; between them it is "unknown". Chosen by benchmarks/bench_voices.py on its
# development speakers (nEMO, TESS, speechocean762; never the ones it reports on): the fewest
# "unknown" windows with at most 2.5% wrong, quiet and in a café. On held-out RAVDESS actors
# that gave 5.2% wrong with 52% "unknown", short of issue 20's target: see
# docs/benchmark-figures.md.
ME_AT = 0.695
OTHER_BELOW = 0.5375


def level_gain(samples: np.ndarray) -> float:
    """The gain that brings ``samples`` up to :data:`LEVEL_DBFS` RMS (1 when already louder)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 0.0:
        return 1.0
    return float(min(MAX_GAIN, max(1.0, 10.0 ** ((LEVEL_DBFS - 20.0 * math.log10(rms)) / 20.0))))


def shipped_speaker_model() -> Path:
    """The shipped speaker encoder (``models/voice.onnx``)."""
    from importlib.resources import files

    return Path(str(files("moodline.models") / "voice.onnx"))


class SpeakerEncoder:
    """The speaker encoder's onnxruntime session (CPU, ``threads`` threads)."""

    def __init__(self, path: str | os.PathLike | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path) if path is not None else shipped_speaker_model()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable files
            raise ModelError(f"{self.path}: not a speaker encoder onnxruntime can load ({first_line(exc)})") from None
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("kind") != "speaker_encoder":
            raise ModelError(f"{self.path}: not a speaker encoder (metadata 'kind' is {meta.get('kind')!r})")
        try:
            spec = FeatureSpec(sample_rate_hz=int(meta["sample_rate_hz"]), **json.loads(meta["features"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.path}: malformed speaker encoder metadata ({exc})") from None
        if spec != SPEAKER_FEATURES:
            raise ModelError(f"{self.path}: its features ({spec}) are not the ones this Moodline computes "
                             f"for a speaker encoder ({SPEAKER_FEATURES})")
        self.spec = spec
        self.provenance = meta.get("provenance", "")

    def run(self, mels: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Embeddings ``(n, 256)`` of mel power bands ``(n, frames, 40)``, used as given; row
        ``i`` ends after ``lengths[i]`` frames (default: all of them)."""
        mels = np.ascontiguousarray(mels, dtype=np.float32)
        if len(mels) == 0:
            return np.zeros((0, EMBEDDING_DIMS), dtype=np.float32)
        if lengths is None:
            lengths = np.full(len(mels), mels.shape[1], dtype=np.int32)
        return self._session.run(["embedding"], {"mels": mels, "lengths": np.asarray(lengths, dtype=np.int32)})[0]

    def embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        """Unit embeddings ``(n, 256)`` of ``n`` windows of audio at 16 kHz.

        As Resemblyzer trims long silences before embedding, each window keeps only its frames
        within :data:`VOICED_DB` of its loudest (a window that is half pause would otherwise be
        half "silence's voice"), the last :data:`PARTIAL_FRAMES` of them at most (what the
        network was trained on, and a fifth less work for a 2 s window), brought to
        :data:`LEVEL_DBFS`; they go through the network in
        one batch, each ending where its kept frames end. A window with fewer than
        :data:`MIN_VOICED_FRAMES` such frames gets NaN: too little voice to say whose.
        """
        out = np.full((len(windows), EMBEDDING_DIMS), np.nan, dtype=np.float32)
        kept: list[tuple[int, np.ndarray]] = []
        for i, samples in enumerate(windows):
            samples = np.asarray(samples, dtype=np.float32)
            mels = features(samples, self.spec)
            energy = mels.sum(axis=1)
            voiced = mels[energy >= energy.max(initial=0.0) * 10.0 ** (-VOICED_DB / 10.0)]
            if len(voiced) >= MIN_VOICED_FRAMES:  # the network learnt from 1.6 s: the latest 1.6 s
                kept.append((i, voiced[-PARTIAL_FRAMES:] * level_gain(samples) ** 2))
        if kept:
            lengths = np.array([len(m) for _, m in kept], dtype=np.int32)
            batch = np.zeros((len(kept), lengths.max(), self.spec.n_mels), dtype=np.float32)
            for row, (_, mels) in enumerate(kept):
                batch[row, :len(mels)] = mels
            out[[i for i, _ in kept]] = self.run(batch, lengths)
        return out

    def embed_recording(self, samples: np.ndarray) -> np.ndarray:
        """One unit embedding of a whole recording, as Resemblyzer's ``embed_utterance``: the
        recording at :data:`LEVEL_DBFS`, cut into 1.6 s partials 1.3 times a second (the last
        kept if it is three-quarters full), their embeddings averaged."""
        samples = np.asarray(samples, dtype=np.float32) * level_gain(samples)
        hop = self.spec.hop_length
        n_frames = math.ceil((len(samples) + 1) / hop)
        step = round(self.spec.sample_rate_hz / 1.3 / hop)
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
        if len(starts) > 1 and (len(samples) - starts[-1] * hop) / (PARTIAL_FRAMES * hop) < 0.75:
            starts.pop()
        end = (starts[-1] + PARTIAL_FRAMES) * hop
        samples = np.pad(samples, (0, max(0, end - len(samples))))
        mels = features(np.pad(samples, self.spec.n_fft // 2), self.spec)  # centred frames, as librosa
        embeddings = self.run(np.stack([mels[s: s + PARTIAL_FRAMES] for s in starts]))
        mean = embeddings.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)


@lru_cache(maxsize=1)
def shipped_encoder() -> SpeakerEncoder:
    """The shipped speaker encoder, loaded once per process (sessions and workers share it;
    onnxruntime runs one session from several threads)."""
    return SpeakerEncoder()


@dataclass(frozen=True)
class VoiceSeparation:
    """Tells the enrolled voice from others by its speaker embedding (:data:`ME_AT`,
    :data:`OTHER_BELOW`)."""

    reference: np.ndarray  # the enrolled voice's unit embedding, (256,)
    me_at: float = ME_AT
    other_below: float = OTHER_BELOW

    def similarity(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings, dtype=np.float32) @ self.reference

    def decide(self, similarity: np.ndarray) -> list[str]:
        """"me", "other" or "unknown" for each similarity (NaN, too little voice: unknown)."""
        return [ME if s >= self.me_at else OTHER if s < self.other_below else UNKNOWN for s in np.atleast_1d(similarity)]

    def voices(self, windows: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
        """Whose voice each window of audio is, and its similarity to the enrolled voice."""
        similarity = self.similarity(shipped_encoder().embed_windows(windows))
        return self.decide(similarity), similarity


@dataclass(frozen=True)
class Enrolment:
    """An enrolled voice as a session uses it: how to tell it from others (``separation``) and
    where its adaptation starts (``baseline``, for a model that adapts; ``None`` otherwise)."""

    name: str
    separation: VoiceSeparation | None
    baseline: VoiceBaseline | None = None
