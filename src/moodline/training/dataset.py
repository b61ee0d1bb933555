"""From clips to feature windows, cut exactly as the engine cuts them, computed once and cached.

A clip is decoded with the engine's :func:`~moodline.engine.audio.load_audio`, run through the
engine's :class:`~moodline.engine.windows.WindowSlicer` (same feature code, same window and
hop, last window zero-padded) with the engine's WebRTC :class:`SpeechDetector`, so every
training window is one the live engine could have classified. Variant 0 of a clip is the clip
itself; variants 1..n are augmented copies (training only), each remembering its source clip
so a split check can prove no copy of a test clip is trained on; variants 101.. are the test
conditions of :mod:`.conditions` (noise, gain, telephone: scoring only).

With a frozen ``encoder`` (an ONNX file from :func:`.whisper.export_stream`), each
window is stored as the encoder's pooled states instead of its features: the encoder is the
slow part, and a frozen one gives the same answer every run.

Windows are cached per (clip, variant, settings) as ``.npz`` files under ``runs/cache/`` (or a
folder the caller gives): feature extraction and augmentation are the slow part of a run.
"""
from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from moodline.engine.analysis import JUDGING_RULES, AnalysisSettings
from moodline.engine.audio import load_audio
from moodline.engine.encoder import CACHE_INPUTS, EncoderStream, StreamShape
from moodline.engine.features import FeatureSpec
from moodline.engine.vad import Gate, speech_detector
from moodline.engine.windows import WindowGrid, WindowSlicer

from .augment import BabbleBank, augmented_copy
from .conditions import CONDITIONS, apply_condition
from .corpora import Clip
from .evaluation import speech_windows

# Windows are cut and gated exactly as the engine's defaults do: a window every hop, and only
# windows in which the VAD heard at least this share of speech are classified, so these are
# the windows worth learning from and the ones evaluation scores.
HOP_S = AnalysisSettings().hop_s
MIN_SPEECH_FRACTION = AnalysisSettings().min_speech_fraction
VAD_AGGRESSIVENESS = AnalysisSettings().vad_aggressiveness
# The shipped models were trained on the windows WebRTC's gate chose, and their cards' commands
# must rebuild them: training keeps that gate until they are retrained on Silero's windows (the
# engine's default gate since 2026-12-05; docs/architecture.md, "Voice gate").
GATE = Gate.WEBRTC.value


@dataclass
class WindowSet:
    """Feature windows of many clips, with where each came from."""

    clips: list[Clip]
    features: np.ndarray  # (N, frames, n_features) float32 (float16 for Whisper log-mel), or (N, states, dims) embeddings
    clip_index: np.ndarray  # (N,) int: which clip of ``clips`` the window was cut from
    variant: np.ndarray  # (N,) int: 0 = the clip as recorded, k > 0 = augmented copy k
    speech_fraction: np.ndarray  # (N,) float

    def select(self, mask: np.ndarray) -> "WindowSet":
        return WindowSet(self.clips, self.features[mask], self.clip_index[mask], self.variant[mask],
                         self.speech_fraction[mask])


def clip_windows(samples: np.ndarray, grid: WindowGrid) -> tuple[np.ndarray, np.ndarray]:
    """All windows of one clip as the engine cuts them: features ``(n, frames, F)``, speech fractions ``(n,)``."""
    slicer = WindowSlicer(grid, speech_detector(GATE, grid.spec.sample_rate_hz, VAD_AGGRESSIVENESS))
    windows = slicer.push(samples) + slicer.flush()
    feats = np.stack([w.features for w in windows]).astype(np.float32)
    return feats, np.array([w.speech_fraction for w in windows], dtype=np.float32)


def _cache_name(clip: Clip, variant: int, spec: FeatureSpec, window_s: float, seed: int, extra: str) -> str:
    settings = json.dumps([spec.sample_rate_hz, spec.to_dict(), window_s, HOP_S, seed, variant,
                           str(clip.path.resolve()), 4, extra, VAD_AGGRESSIVENESS, JUDGING_RULES]
                          + ([GATE] if GATE != Gate.WEBRTC.value else []))  # caches made before gates were a choice stay valid
    return hashlib.sha1(settings.encode()).hexdigest()[:20] + ".npz"


# Features an encoder reads are kept at half precision (a thousandth of a log10 unit, 0.01 dB):
# half the memory and disk, and a changed encoder (another front end, fine-tuning) re-embeds the
# cached windows instead of re-running the augmentation.
HALF_PRECISION_KINDS = ("whisper_log_mel",)
_BABBLE: dict[tuple[str, bool], BabbleBank] = {}  # per worker process: loaded once
_ENCODERS: dict[str, object] = {}


def _babble(folder: str | None, unheard: bool = False) -> BabbleBank | None:
    if folder is None:
        return None
    if (folder, unheard) not in _BABBLE:
        _BABBLE[folder, unheard] = BabbleBank(folder, unheard=unheard)
    return _BABBLE[folder, unheard]


def _encode(encoder: str, feats: np.ndarray, speech: np.ndarray, hop_frames: int) -> np.ndarray:
    """Pooled encoder states of a clip's feature windows, float16 (half the cache, well within
    the noise). A streaming encoder (:mod:`moodline.engine.encoder`) encodes the windows the
    engine would classify as the engine does, each stretch of them once, a hop at a time; the
    other windows, which nothing reads, are left zero."""
    if encoder not in _ENCODERS:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one process per core does the parallel work
        _ENCODERS[encoder] = ort.InferenceSession(encoder, options, providers=["CPUExecutionProvider"])
    session = _ENCODERS[encoder]
    names = [i.name for i in session.get_inputs()]
    if "new_frames" not in names:
        return session.run(None, {names[0]: feats})[0].astype(np.float16)
    dims = {i.name: i.shape for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    streaming = json.loads(session.get_modelmeta().custom_metadata_map["streaming"])
    shape = StreamShape(feats.shape[1], hop_frames, streaming["frames_per_state"],
                        tuple((dims[n][0], dims[n][2]) for n in CACHE_INPUTS))
    stream = EncoderStream(shape, lambda inputs: dict(zip(outputs, session.run(outputs, inputs))))
    encoded = speech_windows(speech, np.zeros(len(speech), dtype=int), MIN_SPEECH_FRACTION)
    pooled = None
    for index in np.flatnonzero(encoded):
        states = stream.window(int(index), feats[index])["pooled"][0]
        if pooled is None:
            pooled = np.zeros((len(feats), *states.shape), dtype=np.float16)
        pooled[index] = states
    return pooled


def _variant_samples(samples: np.ndarray, clip: Clip, variant: int, rate_hz: int, seed: int,
                     babble: BabbleBank | None) -> np.ndarray:
    if variant == 0:
        return samples
    # Seeded by clip and variant, so a copy is the same in every run and on every fold.
    rng = np.random.default_rng([seed, variant, zlib.crc32(clip.key.encode())])
    for condition, number in CONDITIONS.items():
        if variant == number:
            return apply_condition(samples, condition, rng, rate_hz, unheard_voices=babble)
    return augmented_copy(samples, rng, rate_hz, babble)


def _save(path: Path, features: np.ndarray, speech: np.ndarray) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, features=features, speech_fraction=speech)
    os.replace(tmp, path)


def _extract_one(job: tuple) -> list[tuple[np.ndarray, np.ndarray]]:
    clip, variants, spec, window_s, seed, cache_dir, babble_dir, encoder, encoder_id, also_cache = job
    out, samples = [], None
    for variant in variants:
        with_babble = babble_dir is not None and 0 < variant < 100  # only augmented copies mix babble
        # Whose voices a variant mixes in belongs in its cache name: another --babble folder
        # must not reuse windows mixed from the last one. Variants without babble keep their names.
        voices = ([str(Path(babble_dir).resolve())] if babble_dir is not None
                  and (with_babble or variant == CONDITIONS["babble_10db"]) else [])
        audio = None

        def variant_audio() -> np.ndarray:
            nonlocal samples, audio
            if audio is None:
                if samples is None:
                    samples = load_audio(clip.path, spec.sample_rate_hz)
                babble = (_babble(babble_dir) if with_babble
                          else _babble(babble_dir, unheard=True) if variant == CONDITIONS["babble_10db"] else None)
                audio = _variant_samples(samples, clip, variant, spec.sample_rate_hz, seed, babble)
            return audio

        def features_of(feature_spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
            """Feature windows of this variant for ``feature_spec``, from the cache or computed (and cached)."""
            cached = Path(cache_dir) / _cache_name(clip, variant, feature_spec, window_s, seed,
                                                   json.dumps([with_babble, None] + voices)) if cache_dir else None
            if cached is not None and cached.exists():
                with np.load(cached) as data:
                    return data["features"], data["speech_fraction"]
            feats, speech = clip_windows(variant_audio(), WindowGrid.for_seconds(feature_spec, window_s, HOP_S))
            if feature_spec.kind in HALF_PRECISION_KINDS:
                feats = feats.astype(np.float16)
            if cached is not None:
                _save(cached, feats, speech)
            return feats, speech

        for other in also_cache:  # other models' features of the same audio, while it is at hand
            features_of(other)
        cached_embeddings = None
        if cache_dir and encoder is not None:
            cached_embeddings = Path(cache_dir) / _cache_name(clip, variant, spec, window_s, seed,
                                                              json.dumps([with_babble, encoder_id] + voices))
            if cached_embeddings.exists():
                with np.load(cached_embeddings) as data:
                    out.append((data["features"], data["speech_fraction"]))
                continue
        feats, speech = features_of(spec)
        if encoder is not None:
            feats = _encode(encoder, feats.astype(np.float32), speech,
                            WindowGrid.for_seconds(spec, window_s, HOP_S).hop_frames)
            if cached_embeddings is not None:
                _save(cached_embeddings, feats, speech)
        out.append((feats, speech))
    return out


def extract_windows(clips: Sequence[Clip], spec: FeatureSpec, window_s: float, n_augmented: dict[str, int] | int = 0,
                    seed: int = 0, cache_dir: str | os.PathLike | None = None, workers: int = 1,
                    progress: bool = True, conditions: Sequence[str] = (), babble_dir: str | os.PathLike | None = None,
                    encoder: str | os.PathLike | None = None, also_cache: Sequence[FeatureSpec] = ()) -> WindowSet:
    """Windows of every clip (variant 0) plus ``n_augmented`` augmented copies of each, plus the
    clip under each of ``conditions`` (test conditions, see :mod:`.conditions`).

    ``n_augmented`` may be a number for all clips or a per-corpus dict. ``workers`` > 1 decodes
    and augments in that many processes. ``babble_dir`` is a folder of unlabelled speech that
    augmentation mixes into babble noise. ``encoder`` is a pooled-encoder ONNX file: windows are
    then stored as its embeddings. ``also_cache`` are other feature specs whose windows of the
    same (augmented) audio go into the cache on the way, so other models need no second
    augmentation pass.
    """
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    counts = n_augmented if isinstance(n_augmented, dict) else {}
    extra_variants = [CONDITIONS[c] for c in conditions]
    encoder_id = None
    if encoder is not None:
        encoder = str(Path(encoder).resolve())
        encoder_id = hashlib.sha1(Path(encoder).read_bytes()).hexdigest()[:16]
    babble = None if babble_dir is None else str(babble_dir)
    jobs = [(clip, list(range(1 + counts.get(clip.corpus, n_augmented if isinstance(n_augmented, int) else 0)))
             + extra_variants, spec, window_s, seed, None if cache_dir is None else str(cache_dir), babble,
             encoder, encoder_id, tuple(also_cache)) for clip in clips]
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(_progress(pool.imap(_extract_one, jobs, chunksize=8), len(jobs), progress))
    else:
        results = list(_progress(map(_extract_one, jobs), len(jobs), progress))

    feats, clip_index, variant, speech = [], [], [], []
    for i, (job, per_variant) in enumerate(zip(jobs, results)):
        for v, (f, s) in zip(job[1], per_variant):
            feats.append(f)
            speech.append(s)
            clip_index.append(np.full(len(f), i))
            variant.append(np.full(len(f), v))
    return WindowSet(list(clips), np.concatenate(feats), np.concatenate(clip_index), np.concatenate(variant),
                     np.concatenate(speech))


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="features", unit="clip", leave=False)
