"""A traditional baseline for the comparison tables: eGeMAPS functionals and a linear classifier.

Each clip becomes the 88 functionals of openSMILE's eGeMAPSv02 set (Eyben et al. 2016, the
Geneva minimalistic acoustic parameter set: pitch, loudness, jitter, shimmer, formants, spectral
slope, ... summarised over the whole clip), and a multinomial logistic regression decides one
emotion per clip. It runs the protocol of ``moodline train`` itself: the same corpus loaders,
speaker folds and leave-one-corpus-out splits (:func:`.train.evaluation_splits`), the same labels
a held-out corpus is scored on, the same test conditions applied to the very same audio (seeded
by the clip), and the same scoring (:func:`.train.run_split` with this module's fit). So its
leave-one-corpus-out row can stand in a model card's comparison table
(``moodline train ... --compare runs/compare/egemaps.report.json``).

A clip's functionals are one row of a :class:`.dataset.WindowSet` (a "window" the length of the
clip, all speech): window and clip scores are then the same figure. Rows are cached per clip
and variant under ``runs/cache/``.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import importlib.metadata
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from moodline.engine.audio import load_audio
from moodline.engine.features import FeatureSpec
from moodline.engine.fileio import atomic_write
from moodline.engine.model import Normalization

from . import evaluation
from .conditions import CONDITIONS
from .corpora import Clip, label_order
from .dataset import WindowSet, _babble, _progress, _save, _variant_samples
from .splits import Split

if TYPE_CHECKING:  # .train loads TensorFlow, which the feature worker must never load (see clip_functionals)
    from .train import TrainOptions

FEATURE_KIND = "egemaps_functionals"
MODEL_NAME = "logistic_regression"
SAMPLE_RATE_HZ = FeatureSpec().sample_rate_hz  # the rate every corpus is read at (and eGeMAPS was made for)
# L2 strength, fixed before any test score was seen: scikit-learn's default C = 1, i.e. a penalty
# of half the squared weights against the summed log-loss of thousands of training clips (their
# weights averaging 1), on standardised features. That is light regularisation, as suits 88
# features and far more clips; choosing it on the test folds would flatter the baseline.
REGULARISATION_C = 1.0
MAX_ITERATIONS = 2000  # lbfgs stops well before this on standardised functionals


@functools.cache
def _smile():
    import opensmile

    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def functionals(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The 88 eGeMAPSv02 functionals of mono ``samples`` as float32. A clip too short for a
    functional (openSMILE fills it with NaN) gets 0 there."""
    values = _smile().process_signal(samples, sample_rate_hz).to_numpy(dtype=np.float32)[0]
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def _opensmile_version() -> str:
    # Read without importing opensmile: its library must not be loaded beside TensorFlow (see clip_functionals).
    return importlib.metadata.version("opensmile")


def _cache_path(cache_dir: Path, clip: Clip, variant: int, seed: int, babble_dir: str | None) -> Path:
    voices = str(Path(babble_dir).resolve()) if babble_dir and variant == CONDITIONS["babble_10db"] else None
    settings = json.dumps([FEATURE_KIND, _opensmile_version(), SAMPLE_RATE_HZ, str(clip.path.resolve()), variant,
                           seed, voices])
    return cache_dir / f"egemaps-{hashlib.sha1(settings.encode()).hexdigest()[:20]}.npz"


def _clip_rows(job: tuple) -> list[np.ndarray]:
    """Functionals of one clip as recorded (variant 0) and under each test condition's variant."""
    clip, variants, seed, cache_dir, babble_dir = job
    rows, samples = [], None
    for variant in variants:
        cached = _cache_path(cache_dir, clip, variant, seed, babble_dir) if cache_dir else None
        if cached is not None and cached.exists():
            with np.load(cached) as data:
                rows.append(data["features"][0])
            continue
        if samples is None:
            samples = load_audio(clip.path, SAMPLE_RATE_HZ)
        # The condition exactly as `moodline train` applies it: seeded by seed, variant and clip.
        voices = _babble(babble_dir, unheard=True) if variant == CONDITIONS["babble_10db"] else None
        row = functionals(_variant_samples(samples, clip, variant, SAMPLE_RATE_HZ, seed, voices))
        if cached is not None:
            _save(cached, row[None], np.ones(1, dtype=np.float32))
        rows.append(row)
    return rows


def clip_functionals(clips: Sequence[Clip], conditions: Sequence[str] = (), seed: int = 0,
                     cache_dir: str | Path | None = None, babble_dir: str | Path | None = None,
                     progress: bool = True) -> WindowSet:
    """One row of functionals per clip as recorded and per clip under each of ``conditions``
    (a :class:`WindowSet` whose ``features`` are ``(rows, 88)``, every row counted as speech).

    They are computed in one worker process that never loads TensorFlow: openSMILE's library
    corrupts the heap of a process that loaded TensorFlow before it (opensmile 2.6, TensorFlow
    2.21: "malloc(): invalid size"), and the splits and scoring reused from :mod:`.train` load it.
    """
    import multiprocessing

    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    variants = [0] + [CONDITIONS[c] for c in conditions]
    jobs = [(clip, variants, seed, Path(cache_dir) if cache_dir else None, str(babble_dir) if babble_dir else None)
            for clip in clips]
    with multiprocessing.get_context("spawn").Pool(1) as worker:
        per_clip = list(_progress(worker.imap(_clip_rows, jobs, chunksize=16), len(jobs), progress))
    rows = [row for clip_rows in per_clip for row in clip_rows]
    n = len(rows)
    return WindowSet(list(clips), np.stack(rows), np.repeat(np.arange(len(clips)), len(variants)),
                     np.tile(variants, len(clips)), np.ones(n, dtype=np.float32))


class LinearModel:
    """A fitted scikit-learn classifier with Keras's ``predict``: probabilities over every label
    (0 for a label its training side had no clip of)."""

    def __init__(self, classifier: Any, n_labels: int) -> None:
        self.classifier, self.n_labels = classifier, n_labels

    def predict(self, x: np.ndarray, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        probs = np.zeros((len(x), self.n_labels))
        probs[:, self.classifier.classes_] = self.classifier.predict_proba(x)
        return probs


def fit_linear(options: TrainOptions, windows: WindowSet, clip_labels: np.ndarray, names: Sequence[str],
               split: Split, seed: int, title: str, teacher: None = None) -> tuple[LinearModel, Normalization]:
    """Standardise the split's training clips with their own statistics and fit a multinomial
    logistic regression (fixed ``REGULARISATION_C``), each clip weighted as ``moodline train``
    draws its batches: every corpus the same share, and within a corpus every class."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from .train import TrainingWindows, _say, split_masks, standardisation

    train_mask, _ = split_masks(windows, split)
    side = windows.select(train_mask & (clip_labels[windows.clip_index] >= 0))
    labels = clip_labels[side.clip_index]
    norm = standardisation(side, per_element=True)
    balance = TrainingWindows(side, labels, len(names), norm, batch_size=1, seed=seed, spec_augment=False)
    clips = np.unique(side.clip_index)  # the order of balance.clip_weights
    weights = balance.clip_weights[np.searchsorted(clips, side.clip_index)]
    weights *= len(weights) / weights.sum()  # mean 1, so C means what it says
    classifier = LogisticRegression(C=REGULARISATION_C, max_iter=MAX_ITERATIONS)
    # One BLAS thread: the products are small, and on a busy 2-core machine waking OpenBLAS's
    # threads made each lbfgs step 15 times slower (as engine/features.py found for its hops).
    with threadpool_limits(limits=1):
        classifier.fit(norm.apply(side.features), labels, sample_weight=weights)
    _say(options, f"  {title}  {len(labels)} training clips, {classifier.n_iter_.max()} iterations")
    return LinearModel(classifier, len(names)), norm


def run_baseline(options: TrainOptions) -> dict[str, Any]:
    """The splits of ``options`` (folds, held-out speakers, leave-one-corpus-out) scored with
    eGeMAPS functionals and logistic regression; writes ``<out>.report.json`` and ``<out>.md``
    (``options.out`` is the prefix) and returns the report."""
    import sklearn

    from .train import _mean_row, _pool, _say, evaluation_splits, load_data, run_split

    started = time.perf_counter()
    corpora = load_data(options)
    clips = [clip for corpus in corpora for clip in corpus.clips]
    names = label_order({clip.label for clip in clips})
    splits, kinds, train_only = evaluation_splits(options, corpora)

    _say(options, f"eGeMAPS functionals of {len(clips)} clips, as recorded"
                  + (f" and under {', '.join(options.conditions)}" if options.conditions else "")
                  + f" (cached in {options.cache_dir})")
    windows = clip_functionals(clips, options.conditions, options.seed, options.cache_dir, options.babble,
                               progress=options.verbose and sys.stderr.isatty())
    feature_minutes = (time.perf_counter() - started) / 60
    clip_labels = np.array([names.index(c.label) for c in clips])

    rows, pooled = [], {"cv": [], "holdout": [], "loco": []}
    for i, (split, kind) in enumerate(zip(splits, kinds)):
        row, predictions = run_split(options, windows, clip_labels, names, split, kind, options.seed + i,
                                     f"{split.name} ({i + 1}/{len(splits)})", fitter=fit_linear)
        rows.append(row)
        pooled[kind].append(predictions)
        extra = "".join(f", {c} {r['clip']['uar']:.1%}" for c, r in row["conditions"].items())
        _say(options, f"{split.name}: clip UAR {row['clip']['uar']:.1%}{extra}")

    out = Path(options.out)
    report: dict[str, Any] = {
        "name": out.name, "model": MODEL_NAME, "labels": list(names), "command": options.command,
        "created": datetime.date.today().isoformat(), "seed": options.seed, "sample_rate_hz": SAMPLE_RATE_HZ,
        "features": {"kind": FEATURE_KIND, "feature_set": "eGeMAPSv02", "level": "functionals of the whole clip",
                     "values": int(windows.features.shape[1]), "opensmile": _opensmile_version()},
        "classifier": {"kind": "multinomial logistic regression (scikit-learn lbfgs)", "penalty": "l2",
                       "C": REGULARISATION_C, "max_iter": MAX_ITERATIONS, "scikit_learn": sklearn.__version__,
                       "weighting": "every corpus the same total weight, and within a corpus every class"},
        "babble": str(options.babble) if options.babble else None,
        "corpora": [{"name": c.name, "summary": c.summary(), "train_only": c.name in train_only,
                     "speakers": len(c.speakers), "clips": len(c.clips), "dropped": dict(c.dropped)}
                    for c in corpora],
        "conditions": list(options.conditions),
        "protocol": _protocol_text(options, splits, train_only),
        "splits": rows,
    }
    speaker_rows = [r for r in rows if r["kind"] != "loco"]
    if len(speaker_rows) > 1:
        report["mean"] = _mean_row(speaker_rows)
    if speaker_rows:
        report["pooled"] = _pool(pooled["cv"] + pooled["holdout"], names)
    if pooled["loco"]:
        report["loco"] = {"mean_clip_uar": float(np.mean([r["clip"]["uar"] for r in rows if r["kind"] == "loco"])),
                          "pooled": _pool(pooled["loco"], names)}
    _say(options, "\n" + evaluation.summary_table(rows + ([report["mean"]] if "mean" in report else [])) + "\n")
    report["minutes"] = (time.perf_counter() - started) / 60
    report["feature_minutes"] = feature_minutes
    out.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_json(report, out.with_name(out.name + ".report.json"))
    atomic_write(out.with_name(out.name + ".md"), summary(report), mode=evaluation.SHARED_FILE_MODE)
    _say(options, f"wrote {out}.report.json and {out}.md")
    return report


def _protocol_text(options: TrainOptions, splits: list[Split], train_only: list[str]) -> str:
    from .train import CONDITION_TEXT

    speaker_splits = [s for s in splits if not s.name.startswith("without ")]
    loco = len(splits) - len(speaker_splits)
    parts = [f"The splits `moodline train` makes with the same options (seed {options.seed}):"]
    if speaker_splits:
        parts.append(f"{len(speaker_splits)} speaker-independent split(s) over "
                     f"{sum(len(s.test_speakers) for s in speaker_splits)} test speakers"
                     + (f" ({', '.join(train_only)} for training only)" if train_only else "") + ";")
    if loco:
        parts.append(f"leave-one-corpus-out ({loco} splits), each held-out corpus scored on the labels it shares "
                     "with the corpora trained on (the other outputs dropped, the rest renormalised).")
    parts.append("Each split standardises the functionals with its training clips' statistics and fits a fresh "
                 "classifier with fixed settings (nothing is chosen on test data). Training clips are used as "
                 "recorded (no augmentation).")
    if options.conditions:
        parts.append("The same test clips are also scored under: "
                     + "; ".join(CONDITION_TEXT[c] for c in options.conditions) + ".")
    return " ".join(parts)


def summary(report: dict[str, Any]) -> str:
    """A short Markdown summary of a baseline report."""
    features, classifier = report["features"], report["classifier"]
    lines = [
        f"# Baseline `{report['name']}`: eGeMAPS functionals and logistic regression",
        "",
        f"Made by `moodline baseline` on {report['created']} in {report['minutes']:.1f} min "
        f"({report['feature_minutes']:.1f} min of it computing or reading the features):",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"- Features: the {features['values']} {features['feature_set']} functionals of openSMILE "
        f"{features['opensmile']} over each whole clip at {report['sample_rate_hz']} Hz.",
        f"- Classifier: {classifier['kind']}, L2, C = {classifier['C']} (fixed), {classifier['weighting']}.",
        *[f"- {c['summary']}" + (" — training only in the speaker folds" if c["train_only"] else "")
          for c in report["corpora"]],
        "",
        report["protocol"],
        "",
        *evaluation.evaluation_markdown(report, intro=(
            "Scores are percentages. One decision per clip from its functionals (no windows), so the window "
            "and clip columns are the same figure. UAR = unweighted average recall (mean of per-class "
            "recalls; chance = 1 / classes).")),
    ]
    return "\n".join(lines)
