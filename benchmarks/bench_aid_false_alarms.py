"""How often the conversation aid shows an emotion when someone is simply reading aloud.

    .venv/bin/python benchmarks/bench_aid_false_alarms.py [--model default] [--before REPORT] [--enrol]

Ordinary read English from the speechocean762 speakers that no part of Moodline's training heard
(../shared/data/speechocean762: the speaker folders after the first 100, which training's babble
noise never uses): each speaker's utterances joined, their silent edges trimmed, with short
pauses (0.3-0.8 s) over a quiet room's noise floor, into one session of about half a minute to a
minute. Each session is analysed as `moodline analyze` does (the engine's analyze_file, default
settings, so a model that adapts learns the voice as it goes) and replayed through the aid's own
LabelStabilizer with its default settings and the model's own unsure threshold. Prints the share
of speech time the aid showed each word, per window and through the aid, with and without
adaptation. Nobody here acts an emotion: every emotion shown other than neutral or calm is a false
alarm.

With ``--before`` (an older model's training report) it also prints, per emotion, the clip recall
on held-out acted corpora (leave-one-corpus-out, pooled) of this model's report beside the older
one's: what the aid's quiet costs in emotions it should catch. With ``--enrol`` it also compares,
on the second half of each speaker's utterances, learning the voice from the session alone with
starting from the first half enrolled as the speaker's voice (``moodline calibrate --voice``).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine.audio import load_audio
from moodline.engine.model import EmotionModel, resolve_model
from moodline.engine.speakers import Enrolment
from moodline.engine.voices import enrolment_from
from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD, EMOTION, LabelStabilizer, StabilizerSettings

from bench_aid_calm import trimmed  # a clip without its silent edges, as the calm benchmark cuts them
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "speechocean762"
RATE = 16000
TRAINING_SPEAKERS = 100  # training's babble uses the first 100 speaker folders (training.corpora)
PAUSE_S = (0.3, 0.8)
NOISE_FLOOR_DBFS = -60.0
ORDINARY = ("neutral", "calm")


def speakers() -> list[tuple[str, list[np.ndarray]]]:
    """Each held-out speaker's utterances, silent edges trimmed, in file order."""
    folders = sorted(p for p in (DATA / "WAVE").iterdir() if p.is_dir())[TRAINING_SPEAKERS:]
    if not folders:
        sys.exit(f"bench_aid_false_alarms: no held-out speakers under {DATA / 'WAVE'}")
    return [(f.name, [trimmed(load_audio(path, RATE)) for path in sorted(f.glob("*.ogg"))]) for f in folders]


def joined(clips: list[np.ndarray], rng: random.Random, seed: int) -> np.ndarray:
    """Utterances with short pauses between them, over a quiet room's noise floor."""
    parts = []
    for clip in clips:
        parts += [clip, np.zeros(int(rng.uniform(*PAUSE_S) * RATE), np.float32)]
    audio = np.concatenate(parts)
    noise = np.random.default_rng(seed).normal(0, 10 ** (NOISE_FLOOR_DBFS / 20), len(audio))
    return (audio + noise).astype(np.float32)


def sessions(voices, seed: int) -> list[tuple[str, np.ndarray]]:
    rng = random.Random(seed)
    return [(name, joined(clips, rng, seed)) for name, clips in voices]


def enrolled_sessions(model: EmotionModel, voices, seed: int):
    """Each speaker's first half of utterances as an enrolment (``moodline calibrate --from``),
    the other half as the session: (name, session audio, the enrolled voice's baseline)."""
    rng = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, clips in voices:
            half = len(clips) // 2
            path = Path(scratch) / f"{name}-enrol.wav"
            sf.write(path, joined(clips[:half], rng, seed), RATE)
            out.append((name, joined(clips[half:], rng, seed), Enrolment(name, None, enrolment_from(name, path, model)[0].baseline)))
    return out


def shown_shares(model: EmotionModel, talks, adapt: bool, threshold: float,
                 baselines=None) -> tuple[Counter, Counter, int]:
    """Per speech window: what the aid showed and what the window's own label was."""
    aid, raw, speech = Counter(), Counter(), 0
    with tempfile.TemporaryDirectory() as scratch:
        for i, (name, audio) in enumerate(talks):
            path = Path(scratch) / f"{name}.wav"
            sf.write(path, audio, RATE)
            timeline = analyze_file(path, model, AnalysisSettings(adapt=adapt),
                                    enrolment=None if baselines is None else baselines[i])
            stabilizer = LabelStabilizer(StabilizerSettings(unsure_threshold=threshold))
            for point in timeline.points:
                readout = stabilizer.update(point)
                if not point.is_speech:
                    continue
                speech += 1
                raw[point.label] += 1
                aid[readout.label if readout.state == EMOTION else readout.word] += 1
    return aid, raw, speech


def report(label: str, aid: Counter, raw: Counter, speech: int) -> None:
    print(f"\n{label}: {speech} speech windows")
    print(f"  per window, an emotion other than neutral/calm: {false_alarms(raw, speech):5.1f}%   "
          + ", ".join(f"{k} {100 * v / speech:.0f}%" for k, v in raw.most_common()))
    print(f"  the aid showed an emotion other than neutral/calm: {false_alarms(aid, speech):5.1f}% of speech "
          f"time (target: at most 15%)   " + ", ".join(f"{k} {100 * v / speech:.0f}%" for k, v in aid.most_common()))


def false_alarms(counts: Counter, total: int) -> float:
    return 100 * sum(n for word, n in counts.items() if word not in ORDINARY and word not in ("Unsure", "Listening…",
                                                                                                "Too loud")) / total


def recall_table(report: dict, before: dict) -> list[str]:
    def recalls(r):
        clip = r["loco"]["pooled"]["clip"]
        return {name: clip["per_class"][name]["recall"] for name in clip["per_class"]
                if clip["per_class"][name]["support"]}
    now, then = recalls(report), recalls(before)
    lines = [f"{'emotion':<10} {'before':>7} {'now':>7} {'change':>7}"]
    worst = 0.0
    for name in now:
        if name in then:
            change = 100 * (now[name] - then[name])
            worst = min(worst, change)
            lines.append(f"{name:<10} {100 * then[name]:6.1f}% {100 * now[name]:6.1f}% {change:+6.1f}")
    lines.append(f"largest fall: {-worst:.1f} points (target: at most 5)")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="default: the shipped default model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--before", type=Path, help="an older model's .report.json, to compare held-out recall with")
    p.add_argument("--enrol", action="store_true",
                   help="also: half of each speaker's utterances enrolled as their voice, the session the other half")
    args = p.parse_args()
    model = EmotionModel(resolve_model(args.model), threads=0)
    threshold = model.info.unsure_threshold or DEFAULT_UNSURE_THRESHOLD
    voices = speakers()
    talks = sessions(voices, args.seed)
    seconds = sum(len(a) for _, a in talks) / RATE
    print(f"model {model.path.name}: {len(talks)} speakers never heard in training, {seconds / 60:.1f} min of "
          f"read English; aid: default stabiliser, unsure below {threshold:.2f}"
          + (" (the model's own)" if model.info.unsure_threshold else " (the engine's default)"))
    for adapt in ((True, False) if model.adapts else (False,)):
        label = "adapting to each voice" if adapt else "each window on its own" if model.adapts else "as the model is"
        report(label, *shown_shares(model, talks, adapt, threshold))
    if args.enrol and model.adapts:
        enrolled = enrolled_sessions(model, voices, args.seed)
        halves = [(name, audio) for name, audio, _ in enrolled]
        print(f"\nthe second half of each speaker's utterances ({sum(len(a) for _, a in halves) / RATE / 60:.1f} min), "
              "the first half enrolled as their voice:")
        report("learning the voice from the session alone", *shown_shares(model, halves, True, threshold))
        report("starting from the enrolled voice", *shown_shares(model, halves, True, threshold,
                                                                 [b for _, _, b in enrolled]))
    if args.before:
        report_path = model.path.with_suffix(".report.json")
        if not report_path.is_file():
            sys.exit(f"bench_aid_false_alarms: {report_path}: no training report beside the model")
        print("\nclip recall on held-out acted corpora (leave one corpus out, pooled), "
              f"{args.before.name} -> {report_path.name}:")
        print("\n".join(recall_table(json.loads(report_path.read_text()), json.loads(args.before.read_text()))))


if __name__ == "__main__":
    with recorded():
        main()
