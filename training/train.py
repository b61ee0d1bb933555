"""Training a Moodline model, top to bottom: data, model, fit, evaluate, export.

1. Data: read the corpora, cut every clip into the engine's windows (plus augmented copies of
   each clip for training), cached once per clip.
2. Splits: speaker-independent folds (or a held-out speaker list); corpora with too few
   speakers to test on (TESS has two) are training data in every fold.
3. For each split: standardise with the training side's statistics, fit the model on one
   random speech window per training clip per epoch, score the test speakers' clips as
   recorded, at window and clip level.
4. Train the final model on every speaker, export it to ONNX (parity-checked), time it, and
   write the report and model card next to it.
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

# TensorFlow's C++ start-up chatter (and a CUDA probe's "error" on machines without a GPU) is
# not for users; Python exceptions still say what went wrong.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from moodline.engine.model import ModelInfo, Normalization

from . import evaluation
from .corpora import Corpus, label_order, load_corpus
from .dataset import HOP_S, MIN_SPEECH_FRACTION, WindowSet, extract_windows
from .export import export_onnx, inference_ms_per_window
from .models import MODELS
from .splits import Split, check_split, holdout_split, speaker_folds


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
    final: bool = True
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


def standardisation(windows: WindowSet) -> Normalization:
    """Per-band mean and standard deviation of the training windows (as recorded, speech only)."""
    mask = (windows.variant == 0) & (windows.speech_fraction >= MIN_SPEECH_FRACTION)
    feats = windows.features[mask] if mask.any() else windows.features
    mean = feats.mean(axis=(0, 1), dtype=np.float64)
    std = feats.std(axis=(0, 1), dtype=np.float64)
    return Normalization(mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32))


class TrainingWindows(keras.utils.PyDataset):
    """Training batches: each epoch, one random speech window (of a random variant) per training
    clip, then SpecAugment masks (and mixup, if asked for).

    Clips are drawn so that every corpus has the same share and, within a corpus, every class:
    a model tells corpora apart at once, so what it must not learn is that one corpus's clips
    are mostly one class. (Balancing classes over the pooled data would do just that: RAVDESS
    alone has 'calm', so a RAVDESS-sounding quiet voice would be 'calm' twice as often as 'sad'.)
    """

    def __init__(self, windows: WindowSet, labels: np.ndarray, n_labels: int, norm: Normalization,
                 batch_size: int, seed: int, spec_augment: bool = True, mixup: float = 0.0) -> None:
        super().__init__()
        from .augment import spec_augment as mask

        self._mask = mask if spec_augment else None
        self.mixup = mixup
        self.windows, self.labels, self.n_labels = windows, labels, n_labels
        self.norm, self.batch_size = norm, batch_size
        self.rng = np.random.default_rng(seed)
        order = np.argsort(windows.clip_index, kind="stable")
        clips, starts = np.unique(windows.clip_index[order], return_index=True)
        self.groups = np.split(order, starts[1:])  # window indices of each training clip
        clip_labels = labels[[g[0] for g in self.groups]]
        corpora = np.array([windows.clips[c].corpus for c in clips])
        cells = Counter(zip(corpora, clip_labels))  # clips per (corpus, class)
        classes_per_corpus = Counter(corpus for corpus, _ in cells)
        weights = np.array([1.0 / (cells[(c, y)] * classes_per_corpus[c]) for c, y in zip(corpora, clip_labels)])
        self.clip_weights = weights / weights.sum()
        self.on_epoch_end()

    def __len__(self) -> int:
        return -(-len(self.groups) // self.batch_size)

    def on_epoch_end(self) -> None:
        chosen = self.rng.choice(len(self.groups), size=len(self.groups), p=self.clip_weights)
        self.epoch_windows = np.array([self.rng.choice(self.groups[c]) for c in chosen])

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        picked = self.epoch_windows[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.norm.apply(self.windows.features[picked]).astype(np.float32)
        if self._mask is not None:
            x = np.stack([self._mask(w, self.rng, fill=0.0) for w in x])
        y = np.eye(self.n_labels, dtype=np.float32)[self.labels[picked]]
        if self.mixup > 0:  # blend pairs of windows and their labels (mixup, Zhang et al. 2018)
            lam = self.rng.beta(self.mixup, self.mixup, len(x)).astype(np.float32)
            lam = np.maximum(lam, 1 - lam)[:, None]  # the first window of a pair stays the main one
            other = self.rng.permutation(len(x))
            x = lam[:, :, None] * x + (1 - lam[:, :, None]) * x[other]
            y = lam * y + (1 - lam) * y[other]
        return x, y


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
                           f"{time.perf_counter() - self.start:.0f} s")


def _strategy():
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices when each fold builds a new model
    gpus = tf.config.list_physical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def fit(options: TrainOptions, windows: WindowSet, labels: np.ndarray, n_labels: int, seed: int,
        title: str) -> tuple[keras.Model, Normalization]:
    """Train a fresh model on ``windows`` (training side only); returns it with its standardisation."""
    keras.utils.set_random_seed(seed)
    recipe = MODELS[options.model]
    norm = standardisation(windows)
    batches = TrainingWindows(windows, labels, n_labels, norm, options.batch_size, seed, mixup=options.mixup)
    frames = None if recipe.any_length else windows.features.shape[1]
    with _strategy().scope():
        model = recipe.build(frames, windows.features.shape[2], n_labels, weights=options.weights)
        schedule = keras.optimizers.schedules.CosineDecay(options.learning_rate, options.epochs * len(batches), alpha=0.02)
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                      metrics=["accuracy"])
    model.fit(batches, epochs=options.epochs, verbose=0, callbacks=[EpochProgress(options, title)])
    return model, norm


# --- 3. Evaluate ----------------------------------------------------------------------------
def evaluate_split(model: keras.Model, norm: Normalization, test: WindowSet, labels: np.ndarray,
                   names: Sequence[str]) -> dict[str, Any]:
    """Window- and clip-level scores of ``model`` on ``test`` (as-recorded windows of test speakers)."""
    mask = evaluation.speech_windows(test.speech_fraction, test.clip_index, MIN_SPEECH_FRACTION)
    x = norm.apply(test.features[mask]).astype(np.float32)
    probs = model.predict(x, batch_size=256, verbose=0)
    return evaluation.score_predictions(probs, test.clip_index[mask], labels[mask], test.speech_fraction[mask],
                                        names, MIN_SPEECH_FRACTION)


def split_windows(windows: WindowSet, split: Split) -> tuple[WindowSet, WindowSet]:
    """The training side (speech windows of every variant of the training speakers' clips) and
    the test side (every window of the test speakers' clips as recorded), after :func:`check_split`."""
    speaker = np.array([c.speaker for c in windows.clips])[windows.clip_index]
    key = np.array([c.key for c in windows.clips])[windows.clip_index]
    train_mask = np.isin(speaker, split.train_speakers)
    train_mask &= evaluation.speech_windows(windows.speech_fraction, windows.clip_index, MIN_SPEECH_FRACTION)
    test_mask = np.isin(speaker, split.test_speakers) & (windows.variant == 0)  # never an augmented copy
    check_split(set(speaker[train_mask]), set(key[train_mask]), set(speaker[test_mask]), set(key[test_mask]))
    return windows.select(train_mask), windows.select(test_mask)


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


def _mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("accuracy", "uar", "macro_f1")
    mean = {level: {k: float(np.mean([r[level][k] for r in rows])) for k in keys} for level in ("window", "clip")}
    return {"name": "mean", "test_speakers": [], **mean,
            "window_uar_std": float(np.std([r["window"]["uar"] for r in rows])),
            "clip_uar_std": float(np.std([r["clip"]["uar"] for r in rows]))}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPU cores ({cpu}), no GPU used" if not _gpus() else f"{_gpus()} GPU(s)"


def _gpus() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


# --- The whole run --------------------------------------------------------------------------
def train(options: TrainOptions) -> dict[str, Any]:
    """Run the protocol of ``options``: data, splits, per-split fit and evaluation, final model.

    Returns the report (also written as ``<out>.report.json`` and the card ``<out>.md``).
    """
    started = time.perf_counter()
    recipe = MODELS[options.model]
    corpora = load_data(options)
    clips = [clip for corpus in corpora for clip in corpus.clips]
    names = label_order({clip.label for clip in clips})
    splits, train_only = _splits(options, corpora)

    _say(options, f"features: {len(clips)} clips, {options.augment} augmented copies each (cached in {options.cache_dir})")
    windows = extract_windows(clips, recipe.features, options.window_s, options.augment, seed=options.seed,
                              cache_dir=options.cache_dir, workers=options.workers,
                              progress=options.verbose and sys.stderr.isatty())
    clip_labels = np.array([names.index(c.label) for c in clips])
    _say(options, f"{len(windows.features)} windows of {options.window_s} s "
                  f"({windows.features.shape[1]} frames x {windows.features.shape[2]} {recipe.features.kind})")

    rows, pooled = [], [[], [], [], []]
    for i, split in enumerate(splits):
        train_side, test_side = split_windows(windows, split)
        title = f"{split.name} ({i + 1}/{len(splits)})"
        model, norm = fit(options, train_side, clip_labels[train_side.clip_index], len(names), options.seed + i, title)
        row = evaluate_split(model, norm, test_side, clip_labels[test_side.clip_index], names)
        for bucket, values in zip(pooled, row.pop("_pred")):
            bucket.extend(values)
        rows.append({"name": split.name, "test_speakers": list(split.test_speakers), **row})
        _say(options, f"{split.name}: window UAR {row['window']['uar']:.1%}, clip UAR {row['clip']['uar']:.1%} "
                      f"(test speakers {', '.join(split.test_speakers)})")

    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "name": out.stem, "model": options.model, "labels": list(names), "command": options.command,
        "created": datetime.date.today().isoformat(), "machine": _machine(), "seed": options.seed,
        "sample_rate_hz": recipe.features.sample_rate_hz, "features": recipe.features.to_dict(),
        "window_s": options.window_s, "hop_s": HOP_S, "min_speech_fraction": MIN_SPEECH_FRACTION,
        "epochs": options.epochs,
        "corpora": [{"name": c.name, "summary": c.summary(), "train_only": c.name in train_only,
                     "speakers": len(c.speakers), "clips": len(c.clips), "dropped": dict(c.dropped)}
                    for c in corpora],
        "augmentation": f"{options.augment} copies per clip, each one of pitch shift (±2 semitones), time "
                        "stretch (0.85–1.15) or speed change (0.9–1.1), then maybe light reverberation (30%), "
                        "band-limiting (30%), noise at 10–40 dB SNR (60%), and a gain of −12 to +6 dB; "
                        "SpecAugment (2 time and 2 frequency masks) on every training window.",
        "protocol": _protocol_text(options, splits, train_only),
        "splits": rows,
    }
    if rows:
        if len(rows) > 1:
            report["mean"] = _mean_row(rows)
        report["pooled"] = {"window": evaluation.score(pooled[0], pooled[1], names),
                            "clip": evaluation.score(pooled[2], pooled[3], names)}
        report["figures"] = {}
        for level in ("clip", "window"):
            figure = out.with_name(f"{out.stem}.confusion-{level}.png")
            evaluation.plot_confusion(report["pooled"][level]["confusion"], names, figure,
                                      f"{out.stem}: {level} level, pooled over {len(rows)} test split(s)")
            report["figures"][level] = figure.name
        _say(options, "\n" + evaluation.summary_table(rows + ([report["mean"]] if "mean" in report else [])) + "\n")

    if options.final:
        every = evaluation.speech_windows(windows.speech_fraction, windows.clip_index, MIN_SPEECH_FRACTION)
        model, norm = fit(options, windows.select(every), clip_labels[windows.clip_index[every]], len(names),
                          options.seed + 1000, "final")
        check = norm.apply(windows.features[every & (windows.variant == 0)][:64]).astype(np.float32)
        summary = (f"CV clip UAR {report['mean']['clip']['uar']:.3f}" if "mean" in report else "not evaluated")
        info = ModelInfo(names, options.window_s, recipe.features, norm,
                         provenance=f"moodline {options.model} trained {report['created']} on "
                                    f"{', '.join(c.name for c in corpora)}; {summary}; {options.command}"[:1000])
        diff = export_onnx(model, info, out, check, any_length=recipe.any_length)
        report["final"] = {"file_bytes": out.stat().st_size, "parameters": int(model.count_params()),
                           "parity_max_abs_diff": diff, "parity_windows": len(check),
                           "inference_ms_per_window": inference_ms_per_window(out), "timing_runs": 300}
        _say(options, f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, "
                      f"{report['final']['inference_ms_per_window']:.2f} ms per window on one core, parity {diff:.1e})")

    report["train_minutes"] = (time.perf_counter() - started) / 60
    evaluation.write_json(report, out.with_name(f"{out.stem}.report.json"))
    out.with_name(f"{out.stem}.md").write_text(evaluation.model_card(report), encoding="utf-8")
    _say(options, f"wrote {out.with_name(out.stem + '.md')} and {out.with_name(out.stem + '.report.json')}")
    return report


def _protocol_text(options: TrainOptions, splits: list[Split], train_only: list[str]) -> str:
    extra = (f" Corpora used for training only, never tested on: {', '.join(train_only)}." if train_only else "")
    if not splits:
        return "No held-out evaluation was run (--cv 0 without --holdout-speakers)." + extra
    kind = (f"{len(splits)}-fold cross-validation by speaker" if len(splits) > 1
            else "a fixed held-out speaker list")
    n_test = sum(len(s.test_speakers) for s in splits)
    return (f"Speaker-independent {kind} over {n_test} test speakers: every clip of a test speaker is "
            "scored as recorded (no augmentation); no test speaker, and no augmented copy of a test clip, "
            "is in that split's training data (checked on the windows actually used). "
            f"Each split trains a fresh model for a fixed {options.epochs} epochs (no early stopping on test data); "
            "standardisation statistics come from the training side only." + extra
            + (" The shipped model is then trained the same way on every speaker." if options.final else ""))
