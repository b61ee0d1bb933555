"""What a user sees when speech is recorded too loud: label changes under gain, with the engine's
"too loud" flag and without it.

    .venv/bin/python benchmarks/bench_clipping.py [--model runs/loco-nemo/whisper_tiny.onnx]
        [--corpus nemo] [--gain-db 20] [--clean-check speechocean762]

Each clip of the corpus (``../shared/data/CORPUS``) is analysed as recorded and ``--gain-db``
louder, clipped at full scale and written as 16-bit PCM would be, with the engine's own windows,
voice-activity gate and classifier (default settings). A clip's label is the argmax of its speech
windows' mean probabilities over the labels the corpus has (the model cards' clip rule). Prints:
the clip UAR both ways; how many clip labels the gain changes when every window counts (what the
model itself does); and with the engine's rule (windows flagged ``clipped`` are not judged): how
many clips become "too loud" (every speech window clipped) and how many are still shown with a
label other than the clean recording's. False alarms: windows flagged on the clean corpus and on
the clean ``--clean-check`` corpus (ordinary read speech).

For a held-out figure, give a model that never heard the corpus: e.g. one trained by
``moodline train --model whisper_tiny --data ravdess=… --data tess=… --augment 4 --babble …
--cv 0 --out runs/loco-nemo/whisper_tiny.onnx`` for nEMO.
"""
from __future__ import annotations

import argparse
import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from moodline.engine.analysis import CLIPPED_SHARE, AnalysisSettings, WindowClassifier, new_slicer
from moodline.engine.audio import load_audio
from moodline.engine.model import EmotionModel, resolve_model
from moodline.training.corpora import load_corpus, load_unlabelled
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
_MODEL: EmotionModel | None = None


def _speech_windows(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(windows, labels)`` and clipped flags of the speech windows of ``samples``."""
    settings = AnalysisSettings()
    slicer, classify = new_slicer(_MODEL, settings), WindowClassifier(_MODEL, settings)
    points = [p for p in classify(slicer.push(samples) + slicer.flush()) if p.is_speech]
    probs = np.array([[p.probabilities[label] for label in _MODEL.info.labels] for p in points])
    return probs.reshape(len(points), len(_MODEL.info.labels)), np.array([p.clipped for p in points], bool)


def _init(model: str) -> None:
    global _MODEL
    _MODEL = EmotionModel(model, threads=1)


def _clip(job: tuple[str, float]):
    path, gain_db = job
    samples = load_audio(path, _MODEL.info.sample_rate_hz)
    loud = np.round(np.clip(samples * 10 ** (gain_db / 20), -1.0, 1.0) * 32767) / 32767
    return _speech_windows(samples), _speech_windows(loud.astype(np.float32))


def _uar(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean([np.mean(predicted[truth == label] == label) for label in np.unique(truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file (default: the shipped default)")
    parser.add_argument("--corpus", default="nemo")
    parser.add_argument("--gain-db", type=float, default=20.0)
    parser.add_argument("--clean-check", default="speechocean762", help="unlabelled speech for false alarms ('' = none)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count() or 1)
    args = parser.parse_args()
    model = str(resolve_model(args.model))
    _init(model)
    labels = _MODEL.info.labels
    clips = load_corpus(args.corpus, DATA / args.corpus).clips
    truth = np.array([c.label for c in clips])
    scored = sorted(set(truth) & set(labels))
    columns = [labels.index(label) for label in scored]

    def label_of(probs: np.ndarray) -> str:
        return "" if len(probs) == 0 else scored[int(np.argmax(probs[:, columns].mean(axis=0)))]

    with Pool(args.jobs, _init, (model,)) as pool:
        results = pool.map(_clip, [(str(c.path), args.gain_db) for c in clips], chunksize=16)
    clean = np.array([label_of(p) for (p, _), _ in results])
    loud_all = np.array([label_of(p) for _, (p, _) in results])
    loud_judged = np.array([label_of(p[~f]) for _, (p, f) in results])
    too_loud = np.array([len(f) > 0 and f.all() for _, (_, f) in results])
    heard = clean != ""
    labelled = heard & (loud_judged != "")
    print(f"model {model}\ncorpus {args.corpus}: {len(clips)} clips, {heard.sum()} with speech; "
          f"scored on {len(scored)} labels; +{args.gain_db:g} dB, clipped; flag at {CLIPPED_SHARE:.0%} of a window's samples")
    print(f"clip UAR as recorded {100 * _uar(truth[heard], clean[heard]):.1f}, "
          f"louder {100 * _uar(truth[heard], loud_all[heard]):.1f} (every window counted)")
    print(f"every window counted: clip labels changed {100 * np.mean(loud_all[heard] != clean[heard]):.1f}%")
    changed = labelled & (loud_judged != clean)
    print(f"engine's rule: 'too loud' {100 * too_loud[heard].mean():.1f}% of clips; shown with another label "
          f"{100 * changed.sum() / heard.sum():.1f}% of clips ({100 * changed.sum() / max(1, labelled.sum()):.1f}% "
          f"of the {labelled.sum()} still labelled)")
    flags = np.concatenate([f for (_, f), _ in results])
    loud_flags = np.concatenate([f for _, (_, f) in results])
    print(f"speech windows flagged: as recorded {100 * flags.mean():.2f}%, louder {100 * loud_flags.mean():.1f}%")
    if args.clean_check:
        check = load_unlabelled(DATA / args.clean_check, held_out=True).clips
        with Pool(args.jobs, _init, (model,)) as pool:
            found = pool.map(_clip, [(str(c.path), args.gain_db) for c in check], chunksize=16)
        flags = np.concatenate([f for (_, f), _ in found])
        print(f"{args.clean_check} (held-out speakers, {len(check)} clips): speech windows flagged as recorded "
              f"{100 * flags.mean():.2f}%, louder {100 * np.concatenate([f for _, (_, f) in found]).mean():.1f}%")


if __name__ == "__main__":
    with recorded():
        main()
