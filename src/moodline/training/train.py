"""Training a Moodline model, top to bottom: data, model, fit, evaluate, export.

1. Data: read the corpora, cut every clip into the engine's windows (plus augmented copies of
   each clip for training), cached once per clip.
2. Splits: speaker-independent folds (or a held-out speaker list); corpora with too few
   speakers to test on (TESS has two) are training data in every fold. With ``loco``, also
   leave-one-corpus-out: each corpus in turn is tested on as a whole, scored on the labels it
   shares with the corpora trained on.
3. For each split: standardise with the training side's statistics, fit the model on random
   speech windows of the training clips, score the test speakers' clips as recorded (and under
   the test conditions: unseen noise, +20 dB gain, telephone), at window and clip level.
   A recipe with a frozen pretrained encoder (``whisper_tiny``) trains only its head, on the
   encoder's pooled states, which are computed once per window and cached.
4. Train the final model on every speaker, export it to ONNX (parity-checked), time it, and
   write the report and model card next to it.
"""
from __future__ import annotations

import datetime
import json
import functools
import os
import tempfile
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

# TensorFlow's C++ start-up chatter (and a CUDA probe's "error" on machines without a GPU) is
# not for users; Python exceptions still say what went wrong.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from moodline.engine.adaptation import Adaptation
from moodline.engine.model import ModelInfo, Normalization

from . import evaluation
from .adapt import (SESSION_KINDS, AdaptSettings, adapted_features, calibrate, session_orders,
                    session_probabilities)
from .corpora import Corpus, CorpusError, label_order, load_corpus, load_unlabelled
from .conditions import CONDITIONS
from .dataset import HOP_S, MIN_SPEECH_FRACTION, WindowSet, extract_windows
from .export import export_onnx, inference_ms_per_window
from .models import MODELS
from .splits import Split, check_split, corpus_folds, holdout_split, speaker_folds


ENCODER_DRAWS_PER_CLIP = 4  # windows drawn per training clip per epoch for an encoder head


@dataclass
class TrainOptions:
    """Everything a training run depends on (the command line's flags)."""

    data: list[tuple[str, Path]]
    model: str = "cnn2d"
    epochs: int = 40
    cv: int = 5
    holdout_speakers: Sequence[str] = ()
    train_only: Sequence[str] = ()
    out: Path = Path("runs/cnn2d.onnx")
    window_s: float = 2.0
    augment: int = 2  # augmented copies per training clip
    batch_size: int = 64
    learning_rate: float = 2e-3
    mixup: float = 0.0  # Beta(alpha, alpha) mixing of training pairs; 0 = off
    seed: int = 0
    weights: str | None = None
    cache_dir: Path | None = Path("runs/cache")
    workers: int = 1
    devices: int = 0  # > 0: MirroredStrategy over this many devices (GPUs, else logical CPUs); 0 = automatic
    final: bool = True
    loco: bool = False  # also hold out each corpus in turn
    conditions: Sequence[str] = ()  # test conditions to score (keys of conditions.CONDITIONS)
    babble: Path | None = None  # unlabelled speech that augmentation mixes into babble noise
    head: dict[str, Any] = field(default_factory=dict)  # encoder head settings (models.encoder_head)
    level_normalised: bool = True  # encoder recipes: each window's loudest band-frame at one level
    teacher: str | None = None  # distil: learn the probabilities of this recipe, trained in the same split
    teacher_epochs: int = 40
    transfer: Path | None = None  # unlabelled speech the teacher labels for the student (distillation)
    adapt: AdaptSettings | None = None  # encoder heads: trained to adapt to each voice (see .adapt)
    compare: Sequence[Path] = ()  # other runs' reports to compare with on the leave-one-corpus-out splits
    notes: str = ""  # Markdown for the model card: how the configuration was chosen
    command: str = ""
    verbose: bool = True
    log: list[str] = field(default_factory=list)


def _say(options: TrainOptions, text: str) -> None:
    options.log.append(text)
    if options.verbose:
        print(text, flush=True)


# --- 1. Data --------------------------------------------------------------------------------
def load_data(options: TrainOptions) -> list[Corpus]:
    corpora = [load_corpus(name, path) for name, path in options.data]
    for corpus in corpora:
        _say(options, corpus.summary())
    return corpora


def standardisation(windows: WindowSet, per_element: bool = False) -> Normalization:
    """Per-band mean and standard deviation of the training windows (as recorded, speech only);
    ``per_element`` keeps one statistic per value of a window (for encoder embeddings)."""
    mask = (windows.variant == 0) & (windows.speech_fraction >= MIN_SPEECH_FRACTION)
    feats = windows.features[mask] if mask.any() else windows.features
    axes = 0 if per_element else (0, 1)
    mean = feats.mean(axis=axes, dtype=np.float64)
    std = feats.std(axis=axes, dtype=np.float64)
    return Normalization(mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32))


class TrainingWindows:
    """Training batches: each epoch, one random speech window (of a random variant) per training
    clip, then SpecAugment masks (and mixup, if asked for).

    Clips are drawn so that every corpus has the same share and, within a corpus, every class:
    a model tells corpora apart at once, so what it must not learn is that one corpus's clips
    are mostly one class. (Balancing classes over the pooled data would do just that: RAVDESS
    alone has 'calm', so a RAVDESS-sounding quiet voice would be 'calm' twice as often as 'sad'.)

    :meth:`dataset` hands the batches to ``model.fit`` as a ``tf.data.Dataset``; ``batch_size``
    is the global batch, which a distribution strategy splits between its replicas.
    """

    def __init__(self, windows: WindowSet, labels: np.ndarray, n_labels: int, norm: Normalization,
                 batch_size: int, seed: int, spec_augment: bool = True, mixup: float = 0.0,
                 draws_per_clip: int = 1, targets: np.ndarray | None = None) -> None:
        from .augment import spec_augment as mask

        self._mask = mask if spec_augment else None
        self.mixup = mixup
        self.windows, self.labels, self.n_labels, self.targets = windows, labels, n_labels, targets
        self.norm, self.batch_size, self.draws = norm, batch_size, draws_per_clip
        self.seed = seed
        order = np.argsort(windows.clip_index, kind="stable")
        clips, starts = np.unique(windows.clip_index[order], return_index=True)
        self.groups = np.split(order, starts[1:])  # window indices of each training clip
        clip_labels = labels[[g[0] for g in self.groups]]
        corpora = np.array([windows.clips[c].corpus for c in clips])
        cells = Counter(zip(corpora, clip_labels))  # clips per (corpus, class)
        classes_per_corpus = Counter(corpus for corpus, _ in cells)
        weights = np.array([1.0 / (cells[(c, y)] * classes_per_corpus[c]) for c, y in zip(corpora, clip_labels)])
        self.clip_weights = weights / weights.sum()

    def __len__(self) -> int:
        """Batches per epoch."""
        return -(-len(self.groups) * self.draws // self.batch_size)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch's windows, in order: a clip by the balanced weights, then one of its windows."""
        chosen = rng.choice(len(self.groups), size=len(self.groups) * self.draws, p=self.clip_weights)
        return np.array([rng.choice(self.groups[c]) for c in chosen])

    def batch(self, picked: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of the windows ``picked``: standardised, masked, mixed."""
        x = self.norm.apply(self.windows.features[picked]).astype(np.float32)
        if self._mask is not None:
            x = np.stack([self._mask(w, rng, fill=0.0) for w in x])
        if self.targets is not None:  # a teacher's probabilities (distillation)
            y = self.targets[picked].astype(np.float32)
        else:
            y = np.eye(self.n_labels, dtype=np.float32)[self.labels[picked]]
        if self.mixup > 0:  # blend pairs of windows and their labels (mixup, Zhang et al. 2018)
            lam = rng.beta(self.mixup, self.mixup, len(x)).astype(np.float32)
            lam = np.maximum(lam, 1 - lam)[:, None]  # the first window of a pair stays the main one
            other = rng.permutation(len(x))
            x = lam[:, :, None] * x + (1 - lam[:, :, None]) * x[other]
            y = lam * y + (1 - lam) * y[other]
        return x, y

    def epoch(self, number: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Epoch ``number``'s batches. Its draw, masks and mixup come from the seed and the number
        alone, so the epoch is the same whoever reads it and however often (under a strategy,
        Keras reads the first batch once more to build the model)."""
        rng = np.random.default_rng([self.seed, int(number)])
        picked = self.draw(rng)
        for start in range(0, len(picked), self.batch_size):
            yield self.batch(picked[start:start + self.batch_size], rng)

    def dataset(self, epochs: int):
        """``epochs`` epochs of batches, one after the other, as a ``tf.data.Dataset`` for
        ``model.fit(..., steps_per_epoch=len(self))``.

        The numpy work stays in :meth:`batch` (mixup pairs windows within a batch); tf.data only
        unbatches and batches each epoch's rows again, the same batches, so that a strategy sees
        an ordinary batched dataset whose global batch it can split between replicas. Sharding is
        by data: on several machines each worker makes every epoch (the same seed gives every
        worker the same batches) and keeps its share; a generator has no files to shard by.
        """
        import tensorflow as tf

        rows = (tf.TensorSpec((None, *self.windows.features.shape[1:]), tf.float32),
                tf.TensorSpec((None, self.n_labels), tf.float32))

        def one_epoch(number):
            return (tf.data.Dataset.from_generator(self.epoch, args=(number,), output_signature=rows)
                    .unbatch().batch(self.batch_size))

        data = (tf.data.Dataset.range(epochs).flat_map(one_epoch)
                .apply(tf.data.experimental.assert_cardinality(epochs * len(self)))
                .prefetch(tf.data.AUTOTUNE))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return data.with_options(options)


# --- 2. Model and fit -----------------------------------------------------------------------
class EpochProgress(keras.callbacks.Callback):
    """One line per epoch: which run, loss, training accuracy, seconds."""

    def __init__(self, options: TrainOptions, title: str) -> None:
        super().__init__()
        self.options, self.title = options, title

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        _say(self.options, f"  {self.title}  epoch {epoch + 1:>3}/{self.params['epochs']}  "
                           f"loss {logs.get('loss', 0):.3f}  acc {logs.get('accuracy', 0):.3f}  "
                           f"{time.perf_counter() - self.start:.1f} s")


@functools.cache
def _strategy(devices: int = 0):
    """Where :func:`fit` runs, chosen once per process (the first call is at the start of
    :func:`train`, before TensorFlow sets up its devices, which it does only once):

    - ``TF_CONFIG`` in the environment: ``MultiWorkerMirroredStrategy``, one replica per worker
      (not verified on real machines);
    - ``devices`` N > 0: ``MirroredStrategy`` over the first N GPUs, or, on a machine without a
      GPU, over the CPU split into N logical devices (to try the distributed path without a GPU);
    - else ``MirroredStrategy`` over every GPU when there are several, or TensorFlow's default
      (one device).
    """
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices when each fold builds a new model
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if devices > 0 and gpus:
        if devices > len(gpus):
            raise ValueError(f"--devices {devices}: this machine has {len(gpus)} GPU(s)")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)])
    if devices > 0:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError:  # TensorFlow has already set up its devices in this process
            if len(tf.config.list_logical_devices("CPU")) != devices:
                raise ValueError(f"--devices {devices}: TensorFlow has already started in this process with "
                                 f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s); "
                                 "run the training in a new process") from None
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def fit(options: TrainOptions, windows: WindowSet, labels: np.ndarray, n_labels: int, seed: int,
        title: str, targets: np.ndarray | None = None, neutral: int | None = None) -> tuple[keras.Model, Normalization]:
    """Train a fresh model on ``windows`` (training side only), on their labels or on a teacher's
    probabilities ``targets``; returns it with the standardisation its inputs need (none for an
    encoder head: its statistics are in the graph). ``neutral`` is the label index of neutral
    speech (the reference of an adapting head that takes voices relative to their neutral)."""
    keras.utils.set_random_seed(seed)
    recipe = MODELS[options.model]
    if recipe.encoder:
        # The head sees pooled encoder states: standardised inside the graph, no SpecAugment
        # (the embeddings are not images), several draws per clip (an epoch is cheap).
        stats = standardisation(windows, per_element=True)
        norm = Normalization()
        if options.adapt is not None and targets is None:
            # Each speaker's windows relative to their own reference, as the engine will see them.
            feats, mean, std = adapted_features(windows, labels, neutral, options.adapt, seed)
            stats = Normalization(mean, std)
            windows = WindowSet(windows.clips, feats.astype(np.float16), windows.clip_index, windows.variant,
                                windows.speech_fraction)
        batches = TrainingWindows(windows, labels, n_labels, norm, options.batch_size, seed, spec_augment=False,
                                  mixup=options.mixup, draws_per_clip=ENCODER_DRAWS_PER_CLIP, targets=targets)
    else:
        norm = standardisation(windows)
        batches = TrainingWindows(windows, labels, n_labels, norm, options.batch_size, seed, mixup=options.mixup,
                                  targets=targets)
    frames = None if recipe.any_length else windows.features.shape[1]
    with _strategy(options.devices).scope():
        if recipe.encoder:
            model = recipe.build(*windows.features.shape[1:], n_labels, mean=stats.mean, std=stats.std, **options.head)
        else:
            model = recipe.build(frames, windows.features.shape[2], n_labels, weights=options.weights)
        schedule = keras.optimizers.schedules.CosineDecay(options.learning_rate, options.epochs * len(batches), alpha=0.02)
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                      metrics=["accuracy"])
    model.fit(batches.dataset(options.epochs), epochs=options.epochs, steps_per_epoch=len(batches), verbose=0,
              shuffle=False, callbacks=[EpochProgress(options, title)])  # shuffle: the draw is random already
    return model, norm


# --- 3. Evaluate ----------------------------------------------------------------------------
def evaluate_split(model: keras.Model, norm: Normalization, test: WindowSet, labels: np.ndarray,
                   names: Sequence[str], allowed: Sequence[int] | None = None,
                   adapt: AdaptSettings | None = None, seed: int = 0) -> dict[str, Any]:
    """Window- and clip-level scores of ``model`` on ``test`` (windows of test speakers).

    ``allowed`` (label indices) restricts the decision to the labels a held-out corpus shares
    with the training side: the other probabilities are dropped and the rest renormalised.
    A head that adapts (``adapt``) is scored as the engine runs it, in sessions: each clip alone,
    each test speaker's clips as one balanced session, and conversation-like sessions (see
    :func:`.adapt.session_orders`); the row's own scores are the balanced sessions', and
    ``sessions`` has all three.
    """
    mask = evaluation.speech_windows(test.speech_fraction, test.clip_index, MIN_SPEECH_FRACTION)
    keep = np.zeros(len(names), dtype=bool)
    keep[list(allowed) if allowed is not None else slice(None)] = True

    def restrict(probs: np.ndarray) -> np.ndarray:
        probs = np.where(keep, probs, 0.0)
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)

    if adapt is None:
        x = norm.apply(test.features[mask]).astype(np.float32)
        probs = restrict(model.predict(x, batch_size=256, verbose=0))
        return evaluation.score_predictions(probs, test.clip_index[mask], labels[mask], test.speech_fraction[mask],
                                            names, MIN_SPEECH_FRACTION)
    embeddings, adaptation = head_embeddings(model, test.features), head_adaptation(model, adapt)
    neutral = names.index("neutral") if "neutral" in names else None
    sessions: dict[str, Any] = {}
    for kind in SESSION_KINDS:
        order = session_orders(test, labels, kind, neutral, seed)
        probs, rows, session = session_probabilities(embeddings, test, order, adaptation, mask)
        probs = restrict(probs)
        # Each (session, clip) is scored once; alone or in balanced sessions every clip is in exactly one.
        instance = test.clip_index[rows] if kind != "conversation" else \
            session * (int(test.clip_index.max()) + 1) + test.clip_index[rows]
        scored = evaluation.score_predictions(probs, instance, labels[rows], test.speech_fraction[rows], names,
                                              MIN_SPEECH_FRACTION)
        speech = test.speech_fraction[rows] >= MIN_SPEECH_FRACTION
        scored["_calibration"] = (probs[speech], labels[rows][speech])
        sessions[kind] = scored
    row = dict(sessions["balanced"])
    row["sessions"] = {kind: {"window": v["window"], "clip": v["clip"]} for kind, v in sessions.items()}
    row["_calibration"] = {kind: sessions[kind]["_calibration"] for kind in ("balanced", "conversation")}
    return row


def head_embeddings(model: keras.Model, features: np.ndarray) -> np.ndarray:
    """What the exported graph returns as ``embedding`` for windows of pooled states: the states
    standardised with the head's own statistics, flattened (the linear head's input)."""
    mean, std = model.get_layer("standardize").get_weights()
    flat = features.reshape(len(features), -1)
    return (flat - mean.reshape(-1)) / std.reshape(-1)


def head_adaptation(model: keras.Model, adapt: AdaptSettings, temperature: float = 1.0) -> Adaptation:
    """The engine's adaptation of a linear encoder head (its softmax layer's weights, divided by
    ``temperature``)."""
    weights, bias = model.get_layer("probabilities").get_weights()
    return Adaptation(adapt.prior_windows, (weights / temperature).astype(np.float32),
                      (bias / temperature).astype(np.float32), adapt.scale)


def split_windows(windows: WindowSet, split: Split, test_variant: int = 0) -> tuple[WindowSet, WindowSet]:
    """The training side (speech windows of the training speakers' clips as recorded and their
    augmented copies) and the test side (every window of the test speakers' clips as recorded,
    or under the test condition ``test_variant``), after :func:`check_split`."""
    train_mask, test_mask = split_masks(windows, split, test_variant)
    return windows.select(train_mask), windows.select(test_mask)


def split_masks(windows: WindowSet, split: Split, test_variant: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_windows` as masks over ``windows`` (checked the same way)."""
    speaker = np.array([c.speaker for c in windows.clips])[windows.clip_index]
    key = np.array([c.key for c in windows.clips])[windows.clip_index]
    train_mask = np.isin(speaker, split.train_speakers) & (windows.variant < min(CONDITIONS.values()))
    train_mask &= evaluation.speech_windows(windows.speech_fraction, windows.clip_index, MIN_SPEECH_FRACTION)
    test_mask = np.isin(speaker, split.test_speakers) & (windows.variant == test_variant)  # never an augmented copy
    check_split(set(speaker[train_mask]), set(key[train_mask]), set(speaker[test_mask]), set(key[test_mask]))
    return train_mask, test_mask


def _splits(options: TrainOptions, corpora: list[Corpus]) -> tuple[list[Split], list[str]]:
    """The splits to evaluate on, and the corpora used for training only (with why)."""
    train_only = {name.lower().replace("-", "_") for name in options.train_only}
    if options.cv > 1 and not options.holdout_speakers:
        for corpus in corpora:  # a corpus too small to test on is training data, said out loud
            if len(corpus.speakers) < options.cv and corpus.name not in train_only:
                _say(options, f"{corpus.name}: {len(corpus.speakers)} speakers, fewer than {options.cv} folds: "
                              "training data only")
                train_only.add(corpus.name)
    test_side = [s for c in corpora if c.name not in train_only for s in c.speakers]
    always = [s for c in corpora if c.name in train_only for s in c.speakers]
    if options.holdout_speakers:
        split = holdout_split(test_side, options.holdout_speakers)
        return [Split(split.name, split.train_speakers + tuple(always), split.test_speakers)], sorted(train_only)
    if options.cv > 1:
        return speaker_folds(test_side, options.cv, options.seed, train_only=always), sorted(train_only)
    return [], sorted(train_only)


def evaluation_splits(options: TrainOptions, corpora: list[Corpus]) -> tuple[list[Split], list[str], list[str]]:
    """Every split a run is scored on, the kind of each (cv, holdout or loco), and the corpora
    used for training only in the speaker splits."""
    splits, train_only = _splits(options, corpora)
    kinds = ["holdout" if options.holdout_speakers else "cv"] * len(splits)
    if options.loco:
        loco = corpus_folds([s for c in corpora for s in c.speakers])
        splits, kinds = splits + loco, kinds + ["loco"] * len(loco)
    return splits, kinds, train_only


def _mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("accuracy", "uar", "macro_f1")
    mean = {level: {k: float(np.mean([r[level][k] for r in rows])) for k in keys} for level in ("window", "clip")}
    return {"name": "mean", "test_speakers": [], **mean,
            "window_uar_std": float(np.std([r["window"]["uar"] for r in rows])),
            "clip_uar_std": float(np.std([r["clip"]["uar"] for r in rows]))}


def _machine(strategy) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    where = f"{os.cpu_count()} CPU cores ({cpu}), no GPU used" if not _gpus() else f"{_gpus()} GPU(s)"
    replicas = strategy.num_replicas_in_sync
    return where + (f", {type(strategy).__name__} over {replicas} replicas" if replicas > 1 else "")


def _gpus() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


# --- The whole run --------------------------------------------------------------------------
def _encoder_file(options: TrainOptions) -> Path | None:
    """The frozen encoder (pooled states, ONNX) that embeds the windows, exported once per cache."""
    recipe = MODELS[options.model]
    if not recipe.encoder:
        return None
    from .whisper import demo_stretch, export_stream, stream_settings, weights_for

    folder = Path(options.cache_dir) if options.cache_dir else Path(tempfile.mkdtemp(prefix="moodline-encoder-"))
    path = folder / f"{recipe.encoder}{'_level' if options.level_normalised else ''}_stream.onnx"
    if not path.exists():
        _say(options, f"exporting the {recipe.encoder} streaming encoder for feature caching: {path}")
        windows, hop_frames = demo_stretch(options.window_s, HOP_S)
        export_stream(path, windows, hop_frames, weights_for(recipe.encoder), level_normalised=options.level_normalised,
                      metadata={"streaming": json.dumps(stream_settings(HOP_S))})
    return path


def _allowed(split: Split, windows: WindowSet, clip_labels: np.ndarray) -> list[int]:
    """Label indices the split's test side is scored on: those its training side has examples of."""
    speaker = np.array([c.speaker for c in windows.clips])
    trained = set(clip_labels[np.isin(speaker, split.train_speakers)].tolist())
    tested = set(clip_labels[np.isin(speaker, split.test_speakers)].tolist())
    return sorted((trained & tested) - {-1})


@dataclass
class Teacher:
    """Distillation: the teacher's options, its windows, and which of them matches each student window."""

    options: TrainOptions
    windows: WindowSet
    match: np.ndarray  # for each student window, the index of the teacher window cut at the same place, or -1


def align_windows(student: WindowSet, teacher: WindowSet) -> np.ndarray:
    """For each window of ``student``, the window of ``teacher`` of the same clip, variant and
    position (their features differ, their audio is the same), or -1 where the teacher has none."""
    def keys(w: WindowSet) -> np.ndarray:
        group = w.clip_index.astype(np.int64) * 1024 + w.variant
        starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
        ordinal = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
        return group * 4096 + ordinal

    student_keys, teacher_keys = keys(student), keys(teacher)
    order = np.argsort(teacher_keys)
    at = np.clip(np.searchsorted(teacher_keys, student_keys, sorter=order), 0, len(order) - 1)
    found = teacher_keys[order[at]] == student_keys
    return np.where(found, order[at], -1)


def fit_for_split(options: TrainOptions, windows: WindowSet, clip_labels: np.ndarray, names: Sequence[str],
                  split: Split, seed: int, title: str, teacher: Teacher | None = None) -> tuple[keras.Model, Normalization]:
    """Train on the split's training side: on the labels, or on a teacher trained there first."""
    train_mask, _ = split_masks(windows, split)
    labelled = train_mask & (clip_labels[windows.clip_index] >= 0)
    if teacher is None:
        side = windows.select(labelled)
        return fit(options, side, clip_labels[side.clip_index], len(names), seed, title,
                   neutral=names.index("neutral") if "neutral" in names else None)
    teacher_train, _ = split_masks(teacher.windows, split)
    teacher_train &= clip_labels[teacher.windows.clip_index] >= 0
    side = teacher.windows.select(teacher_train)
    teacher_model, _ = fit(teacher.options, side, clip_labels[side.clip_index], len(names), seed, title + " teacher")
    train_mask &= teacher.match >= 0
    side = windows.select(train_mask)
    embedded = teacher.windows.features[teacher.match[train_mask]]
    targets = np.concatenate([teacher_model.predict(embedded[i:i + 4096].astype(np.float32), batch_size=1024, verbose=0)
                              for i in range(0, len(embedded), 4096)])
    # Unlabelled clips are balanced by what the teacher hears in them.
    balance = np.where(clip_labels[side.clip_index] >= 0, clip_labels[side.clip_index], targets.argmax(axis=1))
    return fit(options, side, balance, len(names), seed, title + " student", targets=targets)


def run_split(options: TrainOptions, windows: WindowSet, clip_labels: np.ndarray, names: Sequence[str],
              split: Split, kind: str, seed: int, title: str,
              teacher: Teacher | None = None,
              fitter: Callable[..., tuple[Any, Normalization]] = fit_for_split) -> tuple[dict[str, Any], dict[str, list]]:
    """Fit on the split's training side; score its test side as recorded and under each test condition.

    ``fitter`` trains the split's model (a baseline passes its own, with :func:`fit_for_split`'s
    arguments, returning a model with Keras's ``predict`` and its standardisation).
    Returns the report row and the pooled predictions (window and clip level, with each clip's corpus).
    """
    _, test_side = split_windows(windows, split)
    allowed = _allowed(split, windows, clip_labels)
    model, norm = fitter(options, windows, clip_labels, names, split, seed, title, teacher)
    test_side = test_side.select(np.isin(clip_labels[test_side.clip_index], allowed))
    recipe = MODELS.get(options.model)  # a baseline (moodline baseline) has no recipe here
    adapt = options.adapt if recipe is not None and recipe.encoder and teacher is None else None
    row = evaluate_split(model, norm, test_side, clip_labels[test_side.clip_index], names, allowed, adapt, seed)
    pred = row.pop("_pred")
    clips = np.unique(test_side.clip_index)
    pooled = {"window": [pred[0], pred[1]], "clip": [pred[2], pred[3]],
              "clip_corpus": [windows.clips[i].corpus for i in clips]}
    if "_calibration" in row:  # window probabilities in sessions, for calibrating the final model
        pooled["calibration"] = {kind: (*found, windows.clips[clips[0]].corpus)
                                 for kind, found in row.pop("_calibration").items()}
    result: dict[str, Any] = {"name": split.name, "kind": kind, "test_speakers": list(split.test_speakers),
                              "labels": [names[i] for i in allowed], **row, "conditions": {}}
    for condition in options.conditions:
        _, heard = split_windows(windows, split, CONDITIONS[condition])
        heard = heard.select(np.isin(clip_labels[heard.clip_index], allowed))
        scored = evaluate_split(model, norm, heard, clip_labels[heard.clip_index], names, allowed, adapt, seed)
        scored.pop("_calibration", None)
        clip_pred = scored.pop("_pred")[3]
        result["conditions"][condition] = {**scored, "clip_labels_changed": float(np.mean(clip_pred != pred[3]))}
    return result, pooled


def _pool(rows_pooled: list[dict[str, list]], names: Sequence[str]) -> dict[str, Any]:
    """Scores of the predictions of several splits together, overall and per corpus."""
    window_true = np.concatenate([p["window"][0] for p in rows_pooled])
    window_pred = np.concatenate([p["window"][1] for p in rows_pooled])
    clip_true = np.concatenate([p["clip"][0] for p in rows_pooled])
    clip_pred = np.concatenate([p["clip"][1] for p in rows_pooled])
    corpus = np.concatenate([p["clip_corpus"] for p in rows_pooled])
    out = {"window": evaluation.score(window_true, window_pred, names),
           "clip": evaluation.score(clip_true, clip_pred, names), "per_corpus": {}}
    for name in sorted(set(corpus)):
        mask = corpus == name
        out["per_corpus"][name] = {"clip": evaluation.score(clip_true[mask], clip_pred[mask], names)}
    return out


def train(options: TrainOptions) -> dict[str, Any]:
    """Run the protocol of ``options``: data, splits, per-split fit and evaluation, final model.

    Returns the report (also written as ``<out>.report.json`` and the card ``<out>.md``).
    """
    started = time.perf_counter()
    strategy = _strategy(options.devices)  # first: logical devices can only be set before TensorFlow starts
    if strategy.num_replicas_in_sync > 1:
        _say(options, f"training on {strategy.num_replicas_in_sync} replicas ({type(strategy).__name__}), "
                      f"global batch {options.batch_size}")
    recipe = MODELS[options.model]
    corpora = load_data(options)
    clips = [clip for corpus in corpora for clip in corpus.clips]
    names = label_order({clip.label for clip in clips})
    splits, kinds, train_only = evaluation_splits(options, corpora)

    transfer = load_unlabelled(options.transfer) if options.transfer else None
    if transfer is not None:  # unlabelled speech is training data for the student in every split
        _say(options, f"{transfer.name}: {len(transfer.clips)} clips, {len(transfer.speakers)} speakers "
                      f"({options.transfer}), labelled by the teacher")
        splits = [Split(s.name, s.train_speakers + tuple(transfer.speakers), s.test_speakers) for s in splits]
    every_clip = clips + (transfer.clips if transfer else [])

    def windows_for(opts: TrainOptions) -> WindowSet:
        encoder = _encoder_file(opts)
        _say(options, f"features for {opts.model}: {len(every_clip)} clips, {opts.augment} augmented copies each"
                      + (f", {len(opts.conditions)} test conditions" if opts.conditions else "")
                      + (f", embedded by the frozen {MODELS[opts.model].encoder} encoder" if encoder else "")
                      + f" (cached in {opts.cache_dir})")
        found = extract_windows(every_clip, MODELS[opts.model].features, opts.window_s, opts.augment, seed=opts.seed,
                                cache_dir=opts.cache_dir, workers=opts.workers,
                                progress=opts.verbose and sys.stderr.isatty(), conditions=opts.conditions,
                                babble_dir=opts.babble, encoder=encoder)
        shape = " x ".join(str(n) for n in found.features.shape[1:])
        _say(options, f"{int(np.sum(found.variant == 0))} windows of {opts.window_s} s as recorded, "
                      f"{len(found.features)} with copies and conditions ({shape} each)")
        return found

    features_started = time.perf_counter()
    windows = windows_for(options)
    feature_minutes = (time.perf_counter() - features_started) / 60
    teacher = None
    if options.teacher:
        teacher_options = replace(options, model=options.teacher, epochs=options.teacher_epochs, teacher=None,
                                  conditions=())
        teacher_windows = windows_for(teacher_options)
        teacher = Teacher(teacher_options, teacher_windows, align_windows(windows, teacher_windows))
    clip_labels = np.array([names.index(c.label) if c.label else -1 for c in every_clip])

    rows, pooled = [], {"cv": [], "holdout": [], "loco": []}
    for i, (split, kind) in enumerate(zip(splits, kinds)):
        title = f"{split.name} ({i + 1}/{len(splits)})"
        row, predictions = run_split(options, windows, clip_labels, names, split, kind, options.seed + i, title,
                                     teacher)
        pooled[kind].append(predictions)
        rows.append(row)
        extra = "".join(f", {c} {r['clip']['uar']:.1%}" for c, r in row["conditions"].items())
        _say(options, f"{split.name}: window UAR {row['window']['uar']:.1%}, clip UAR {row['clip']['uar']:.1%}"
                      f"{extra} (test speakers {', '.join(split.test_speakers)})")

    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "name": out.stem, "model": options.model, "labels": list(names), "command": options.command,
        "created": datetime.date.today().isoformat(), "machine": _machine(strategy), "seed": options.seed,
        "sample_rate_hz": recipe.features.sample_rate_hz, "features": recipe.features.to_dict(),
        "window_s": options.window_s, "hop_s": HOP_S, "min_speech_fraction": MIN_SPEECH_FRACTION,
        "epochs": options.epochs, "encoder": recipe.encoder, "head": dict(options.head),
        "streaming": bool(recipe.encoder),  # encoders run once per stretch of speech (engine/encoder.py)
        "level_normalised": bool(recipe.encoder and options.level_normalised),
        "teacher": options.teacher and {"model": options.teacher, "epochs": options.teacher_epochs,
                                        "head": dict(options.head)},
        "transfer": transfer and {"path": str(options.transfer), "clips": len(transfer.clips),
                                  "speakers": len(transfer.speakers)},
        "babble": str(options.babble) if options.babble else None,
        "adapt": None if options.adapt is None else {"reference": options.adapt.reference, "scale": options.adapt.scale,
                                                     "prior_windows": options.adapt.prior_windows},
        "notes": options.notes.strip().splitlines() if options.notes.strip() else [],
        "corpora": [{"name": c.name, "summary": c.summary(), "train_only": c.name in train_only,
                     "speakers": len(c.speakers), "clips": len(c.clips), "dropped": dict(c.dropped)}
                    for c in corpora],
        "augmentation": AUGMENTATION_TEXT.format(n=options.augment,
                                                 babble=" or babble of unlabelled speech" if options.babble else ""),
        "conditions": list(options.conditions),
        "protocol": _protocol_text(options, splits, train_only),
        "splits": rows,
    }
    speaker_rows = [r for r in rows if r["kind"] != "loco"]
    if speaker_rows:
        if len(speaker_rows) > 1:
            report["mean"] = _mean_row(speaker_rows)
        report["pooled"] = _pool(pooled["cv"] + pooled["holdout"], names)
    if pooled["loco"]:
        report["loco"] = {"mean_clip_uar": float(np.mean([r["clip"]["uar"] for r in rows if r["kind"] == "loco"])),
                          "pooled": _pool(pooled["loco"], names)}
    report["figures"] = {}
    for prefix, scores, title in (("", report.get("pooled"), "speaker-independent folds"),
                                  ("loco-", report.get("loco", {}).get("pooled"), "leave-one-corpus-out")):
        for level in ("clip", "window") if scores else ():
            figure = out.with_name(f"{out.stem}.{prefix}confusion-{level}.png")
            evaluation.plot_confusion(scores[level]["confusion"], names, figure, f"{out.stem}: {level} level, {title}")
            report["figures"][prefix + level] = figure.name
    if rows:
        _say(options, "\n" + evaluation.summary_table(rows + ([report["mean"]] if "mean" in report else [])) + "\n")

    calibration_data = [p["calibration"] for p in pooled["loco"] if "calibration" in p]
    if calibration_data:
        # Probabilities the engine shows: window by window, in balanced and conversation-like sessions.
        held_out = {}
        for found in calibration_data:
            corpus = found["balanced"][2]
            held_out[corpus] = (np.concatenate([found[k][0] for k in found]), np.concatenate([found[k][1] for k in found]))
        speaker_folds = [p["calibration"]["balanced"] for p in pooled["cv"] + pooled["holdout"] if "calibration" in p]
        within = (np.concatenate([f[0] for f in speaker_folds]), np.concatenate([f[1] for f in speaker_folds])) \
            if speaker_folds else None
        report["calibration"] = calibrate(held_out, within)
        figure = out.with_name(f"{out.stem}.reliability.png")
        evaluation.plot_reliability(report["calibration"], figure, f"{out.stem}: reliability of the shown label")
        report["figures"]["reliability"] = figure.name
        _say(options, f"calibration: temperature {report['calibration']['temperature']:.2f}, "
                      f"ECE across corpora {report['calibration']['across']['ece']:.1%} "
                      f"(before {report['calibration']['across_before']['ece']:.1%}), unsure threshold "
                      f"{report['calibration']['unsure_threshold']}")
    for p in pooled["cv"] + pooled["holdout"] + pooled["loco"]:
        p.pop("calibration", None)
    if options.final:
        everyone = Split("final", tuple(sorted({c.speaker for c in every_clip})), ())
        report["final"] = _final_model(options, windows, clip_labels, names, report, corpora, out, everyone, teacher)
    if options.compare and pooled["loco"]:
        import json

        others = [json.loads(Path(p).read_text(encoding="utf-8")) for p in options.compare]
        report["comparison"] = [evaluation.comparison_row(r) for r in others] + [evaluation.comparison_row(report)]
    report["train_minutes"] = (time.perf_counter() - started) / 60
    report["feature_minutes"] = feature_minutes
    evaluation.write_json(report, out.with_name(f"{out.stem}.report.json"))
    evaluation.write_card(report, out.with_name(f"{out.stem}.md"))
    _say(options, f"wrote {out.with_name(out.stem + '.md')} and {out.with_name(out.stem + '.report.json')}")
    return report


AUGMENTATION_TEXT = (
    "{n} copies per clip, each made in the order sound meets them: the voice (pitch shift of ±2 "
    "semitones, time stretch 0.85–1.15, speed change 0.9–1.1, or unchanged), a synthetic room (50%: "
    "RT60 0.2–1.2 s, early reflections, direct-to-reverberant ratio −3 to +12 dB), noise (70%: white, "
    "pink or brown{babble} at 0–30 dB SNR against the speech level), a microphone (50%: high-pass, "
    "low-pass and up to three ±9 dB resonances; else 15% telephone-like band-limiting), a gain of −30 to "
    "+24 dB clipped at full scale, and a lossy codec (30%: Opus or MP3 at about 8–40 kbit/s)."
)


def _final_model(options: TrainOptions, windows: WindowSet, clip_labels: np.ndarray, names: Sequence[str],
                 report: dict[str, Any], corpora: list[Corpus], out: Path, everyone: Split,
                 teacher: Teacher | None) -> dict[str, Any]:
    """Train on every speaker, export to ONNX (parity-checked, engine-checked), time it."""
    recipe = MODELS[options.model]
    every = evaluation.speech_windows(windows.speech_fraction, windows.clip_index, MIN_SPEECH_FRACTION)
    every &= windows.variant < min(CONDITIONS.values())
    model, norm = fit_for_split(options, windows, clip_labels, names, everyone, options.seed + 1000, "final", teacher)
    if "mean" in report:
        summary = f"CV clip UAR {report['mean']['clip']['uar']:.3f}"
    elif "loco" in report:
        summary = f"leave-one-corpus-out clip UAR {report['loco']['mean_clip_uar']:.3f}"
    else:
        summary = "not evaluated"
    provenance = (f"moodline {options.model} trained {report['created']} on {', '.join(c.name for c in corpora)}; "
                  f"{summary}; {options.command}")[:1000]
    if recipe.encoder:
        # The encoder once per stretch of speech: a streaming file (format 2), checked against
        # TensorFlow hop by hop over a stretch of real speech.
        from moodline.engine.model import STREAMING_FORMAT_VERSION

        from .whisper import demo_stretch, export_stream, parameter_count, stream_settings, weights_for

        adaptation = unsure = None
        if options.adapt is not None and teacher is None:
            calibration = report.get("calibration", {})
            temperature = calibration.get("temperature", 1.0)
            unsure = calibration.get("unsure_threshold")
            softmax = model.get_layer("probabilities")
            weights, bias = softmax.get_weights()
            softmax.set_weights([weights / temperature, bias / temperature])  # calibrated in the graph too
            adaptation = head_adaptation(model, options.adapt)
        info = ModelInfo(names, options.window_s, recipe.features, Normalization(), provenance=provenance,
                         format_version=STREAMING_FORMAT_VERSION, streaming=stream_settings(HOP_S),
                         adaptation=adaptation, unsure_threshold=unsure)
        check, hop_frames = demo_stretch(options.window_s, HOP_S)
        weights = weights_for(recipe.encoder)
        diff = export_stream(out, check, hop_frames, weights, head=model, level_normalised=options.level_normalised,
                             metadata=info.to_metadata())
        parameters = parameter_count(weights) + model.count_params()
    else:
        info = ModelInfo(names, options.window_s, recipe.features, norm, provenance=provenance)
        check = norm.apply(windows.features[every & (windows.variant == 0)][:64]).astype(np.float32)
        diff = export_onnx(model, info, out, check, any_length=recipe.any_length)
        parameters = model.count_params()
    ordinary = _ordinary_speech(options, model, norm, names)
    final = {"file_bytes": out.stat().st_size, "parameters": int(parameters),
             "parity_max_abs_diff": diff, "parity_windows": len(check),
             "inference_ms_per_window": inference_ms_per_window(out), "timing_runs": 300,
             "ordinary_speech": ordinary}
    _say(options, f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, "
                  f"{final['inference_ms_per_window']:.2f} ms per window on one core, parity {diff:.1e})")
    return final


def _ordinary_speech(options: TrainOptions, model: keras.Model, norm: Normalization,
                     names: Sequence[str]) -> dict[str, Any] | None:
    """What the final model calls ordinary read speech of speakers no part of training heard
    (the unlabelled set's held-out speakers): a conversation aid's false alarms."""
    folder = options.transfer or options.babble
    if folder is None:
        return None
    try:
        held_out = load_unlabelled(folder, held_out=True)
    except CorpusError:
        return None
    recipe = MODELS[options.model]
    found = extract_windows(held_out.clips, recipe.features, options.window_s, 0, seed=options.seed,
                            cache_dir=options.cache_dir, workers=options.workers, progress=False,
                            encoder=_encoder_file(options))
    mask = evaluation.speech_windows(found.speech_fraction, found.clip_index, MIN_SPEECH_FRACTION)
    session = None
    if options.adapt is not None and recipe.encoder:
        # Each speaker's utterances one after another, as one session (the engine's adapter).
        speakers = np.array([c.speaker for c in found.clips])
        order = [np.flatnonzero(speakers == s) for s in sorted(set(speakers))]
        probs, rows, _ = session_probabilities(head_embeddings(model, found.features), found, order,
                                               head_adaptation(model, options.adapt), mask)
        clip_index = found.clip_index[rows]
        window_labels = probs.argmax(axis=1)
        session = {name: float(np.mean(window_labels == i)) for i, name in enumerate(names)}
    else:
        probs = model.predict(norm.apply(found.features[mask]).astype(np.float32), batch_size=256, verbose=0)
        clip_index = found.clip_index[mask]
    _, clip_probs = evaluation.clip_probabilities(probs, clip_index)
    decided = clip_probs.argmax(axis=1)
    shares = {name: float(np.mean(decided == i)) for i, name in enumerate(names)}
    return {"path": str(folder), "clips": int(len(decided)), "speakers": len(held_out.speakers), "labels": shares,
            "mean_probabilities": {name: float(clip_probs[:, i].mean()) for i, name in enumerate(names)},
            **({"session_windows": session} if session is not None else {})}


def _protocol_text(options: TrainOptions, splits: list[Split], train_only: list[str]) -> str:
    extra = (f" Corpora used for training only in the speaker folds, never tested on there: "
             f"{', '.join(train_only)}." if train_only else "")
    speaker_splits = [s for s in splits if not s.name.startswith("without ")]
    loco = [s for s in splits if s.name.startswith("without ")]
    if not splits:
        return "No held-out evaluation was run (--cv 0 without --holdout-speakers)." + extra
    parts = []
    if speaker_splits:
        kind = (f"{len(speaker_splits)}-fold cross-validation by speaker" if len(speaker_splits) > 1
                else "a fixed held-out speaker list")
        n_test = sum(len(s.test_speakers) for s in speaker_splits)
        parts.append(f"Speaker-independent {kind} over {n_test} test speakers (each corpus's speakers spread "
                     "over the folds)." + extra)
    if loco:
        parts.append(f"Leave-one-corpus-out ({len(loco)} splits): each corpus in turn is held out whole and the "
                     "model trained on the others; it is scored on the labels the held-out corpus shares with "
                     "them (the other outputs are dropped and the rest renormalised).")
    parts.append("Every clip of a test speaker is scored as recorded (no augmentation); no test speaker, and no "
                 "augmented copy of a test clip, is in that split's training data (checked on the windows "
                 f"actually used). Each split trains a fresh model for a fixed {options.epochs} epochs (no early "
                 "stopping on test data); standardisation statistics come from the training side only.")
    if options.conditions:
        parts.append("The same test clips are also scored under: " + "; ".join(CONDITION_TEXT[c] for c in options.conditions)
                     + ". These conditions are applied to test clips only.")
    if options.final:
        parts.append("The shipped model is then trained the same way on every speaker.")
    return " ".join(parts)


CONDITION_TEXT = {
    "noise_10db": "noise at 10 dB SNR against the speech level, of kinds never used in training "
                  "(mains hum with a machine whine, plucked music, passing traffic)",
    "gain_20db": "a gain of +20 dB, clipped at full scale",
    "telephone": "a telephone line (300–3400 Hz, 8 kHz G.711 µ-law)",
    "babble_10db": "a café at 10 dB SNR: 3–8 voices talking at once, of speakers no part of training heard "
                   "(the babble folder's held-out speakers), over pink noise 6 dB below them",
}
