"""Does the model's confidence say when it is right? The label shown per speech window, by
how sure the model is, on a corpus.

    .venv/bin/python benchmarks/bench_confidence.py [--model runs/loco-nemo/whisper_tiny.onnx]
        [--corpus nemo] [--clips 1200] [--seed 0] [--jobs 2]

``--clips`` clips of the corpus (``../shared/data/CORPUS``, drawn at random; 0 = all) are
analysed with the engine's own windows, voice-activity gate and classifier (default settings).
For every speech window not flagged "too loud" it takes what the engine shows: the label with
the highest probability over all of the model's outputs, "unsure" below a threshold. Prints how
often that label is the acted emotion, how often it is one the corpus never acts (say "calm" for
nEMO), and for thresholds from 0.3 to 0.9: the share of windows that get a label, the share of
those that are right, and the share of all windows shown with a wrong one. If a higher
threshold makes the shown labels right more often, "unsure" protects the user; if not, the
model's confidence says little about whether it is right on these voices.

Give a model that never heard the corpus for a held-out figure (see bench_clipping.py for how
runs/loco-nemo/whisper_tiny.onnx is trained); the shipped models heard every corpus here.
"""
from __future__ import annotations

import argparse
import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from moodline.engine.analysis import AnalysisSettings, WindowClassifier, new_slicer
from moodline.engine.audio import load_audio
from moodline.engine.model import EmotionModel, resolve_model
from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD
from moodline.training.corpora import load_corpus
from figures import recorded  # the figures also go to docs/benchmark-figures.md

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_MODEL: EmotionModel | None = None


def _init(model: str) -> None:
    global _MODEL
    _MODEL = EmotionModel(model, threads=1)


def _shown(path: str) -> list[tuple[str, float]]:
    """(label, probability) of the engine's best emotion for each judged speech window."""
    settings = AnalysisSettings()
    slicer, classify = new_slicer(_MODEL, settings), WindowClassifier(_MODEL, settings)
    samples = load_audio(path, _MODEL.info.sample_rate_hz)
    points = classify(slicer.push(samples) + slicer.flush())
    return [(p.label, p.probabilities[p.label]) for p in points if p.is_speech and not p.clipped]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="default: the shipped default model (which heard these corpora)")
    p.add_argument("--corpus", default="nemo", choices=("nemo", "ravdess", "tess"))
    p.add_argument("--clips", type=int, default=1200, help="clips drawn at random; 0 = every clip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = p.parse_args()

    model = resolve_model(args.model)
    clips = load_corpus(args.corpus, DATA / args.corpus).clips
    order = np.random.default_rng(args.seed).permutation(len(clips))
    clips = [clips[i] for i in (order[:args.clips] if args.clips else order)]
    with Pool(args.jobs, initializer=_init, initargs=(str(model),)) as pool:
        shown = pool.map(_shown, [str(c.path) for c in clips], chunksize=8)
    truth = np.array([c.label for c, windows in zip(clips, shown) for _ in windows])
    label = np.array([lab for windows in shown for lab, _ in windows])
    confidence = np.array([conf for windows in shown for _, conf in windows])
    right = label == truth
    acted = sorted(set(c.label for c in clips))
    never = sorted(set(EmotionModel(model).info.labels) - set(acted))

    print(f"model {model.name} on {args.corpus}: {len(clips)} clips of {len({c.speaker for c in clips})} "
          f"speakers, {len(truth)} speech windows; acted: {', '.join(acted)}")
    print(f"best label right on {100 * right.mean():.1f}% of windows (chance {100 / len(acted):.1f}%); "
          f"a label the corpus never acts ({', '.join(never) or 'none'}) on "
          f"{100 * np.isin(label, never).mean():.1f}%")
    print(f"{'threshold':>10s} {'labelled %':>11s} {'right of labelled %':>20s} {'wrong, of all %':>16s}")
    for t in THRESHOLDS:
        shown_now = confidence >= t
        mark = "  (default unsure threshold)" if abs(t - DEFAULT_UNSURE_THRESHOLD) < 1e-9 else ""
        precision = 100 * right[shown_now].mean() if shown_now.any() else float("nan")
        print(f"{t:10.1f} {100 * shown_now.mean():11.1f} {precision:20.1f} "
              f"{100 * (shown_now & ~right).mean():16.1f}{mark}")


if __name__ == "__main__":
    with recorded():
        main()
