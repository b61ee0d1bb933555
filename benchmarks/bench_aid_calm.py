"""How calm the conversation aid is: word changes per minute over a recorded conversation.

    .venv/bin/python benchmarks/bench_aid_calm.py [--corpus nemo|ravdess] [--minutes 6] [--seed 0]

Builds a conversation from corpus clips in ../shared/data: turns of one to three sentences by
one speaker in one emotion, the emotion and speaker changing from turn to turn, with 1–4 s
pauses between sentences (each clip's own leading and trailing silence trimmed first, so the
pauses are the stated ones) over a quiet room's noise floor. It is analysed as `moodline
analyze` does (the engine's analyze_file, the shipped default model, default settings), and
the points go through the aid's label stabiliser twice: as it was before issue 9 (copied
below, for this comparison only) and as it is now, both with the aid's default settings.
Prints, for each: how often the shown word changes, how often "No speech" flashes up, how often
a pause dims the word, and how the shown word relates to the emotion actually acted while
someone speaks (right, "Unsure", another emotion, or no emotion at all).
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from moodline.engine.readout import LabelStabilizer, Pause
from moodline.desktop.settings import DesktopSettings
from moodline.engine.analysis import analyze_file
from moodline.engine.audio import load_audio
from moodline.engine.fileio import atomic_write
from moodline.engine.model import EmotionModel, resolve_model
from moodline.engine.timeline import TimelinePoint
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RATE = 16000
PAUSE_S = (1.0, 4.0)  # between sentences
SENTENCES_PER_TURN = (1, 3)  # one speaker, one emotion
NOISE_FLOOR_DBFS = -60.0  # a quiet room through a microphone: never digital silence
TRIM_BELOW_DB = 35.0  # a clip's edges quieter than its loudest 25 ms by this much are silence
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                    "06": "fearful", "07": "disgust", "08": "surprised"}
NEMO_EMOTIONS = {"anger": "angry", "fear": "fearful", "happiness": "happy", "neutral": "neutral",
                 "sadness": "sad", "surprised": "surprised"}


@dataclass(frozen=True)
class Clip:
    path: Path
    speaker: str
    emotion: str


def corpus_clips(corpus: str) -> list[Clip]:
    if corpus == "ravdess":
        return [Clip(p, p.parent.name, RAVDESS_EMOTIONS[p.stem.split("-")[2]])
                for p in sorted((DATA / "ravdess").glob("Actor_*/*.flac"))]
    clips = []
    for p in sorted((DATA / "nemo" / "samples").glob("*.ogg")):
        speaker, emotion, _ = p.stem.split("_")
        clips.append(Clip(p, speaker, NEMO_EMOTIONS[emotion]))
    return clips


def trimmed(audio: np.ndarray) -> np.ndarray:
    """``audio`` without its silent start and end (25 ms frames under the loudest by TRIM_BELOW_DB)."""
    frame = RATE // 40
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[:n * frame].reshape(n, frame) ** 2, axis=1)) + 1e-9
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -TRIM_BELOW_DB)
    return audio[loud[0] * frame:(loud[-1] + 1) * frame] if len(loud) else audio


def build_conversation(corpus: str, minutes: float, seed: int) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Audio at 16 kHz and the acted emotion of each sentence as (start_s, end_s, emotion)."""
    rng = random.Random(seed)
    clips = corpus_clips(corpus)
    if not clips:
        sys.exit(f"bench_aid_calm: no {corpus} clips under {DATA}")
    by_voice: dict[tuple[str, str], list[Clip]] = {}
    for clip in clips:
        by_voice.setdefault((clip.speaker, clip.emotion), []).append(clip)
    voices = sorted(by_voice)
    parts, truth, t_s, last_emotion = [], [], 0.0, None
    while t_s < minutes * 60:
        speaker, emotion = rng.choice([v for v in voices if v[1] != last_emotion])
        last_emotion = emotion
        for clip in rng.sample(by_voice[(speaker, emotion)], rng.randint(*SENTENCES_PER_TURN)):
            speech = trimmed(load_audio(clip.path, RATE))
            truth.append((t_s, t_s + len(speech) / RATE, emotion))
            pause = np.zeros(int(rng.uniform(*PAUSE_S) * RATE), np.float32)
            parts += [speech, pause]
            t_s += (len(speech) + len(pause)) / RATE
    audio = np.concatenate(parts)
    noise = np.random.default_rng(seed).normal(0, 10 ** (NOISE_FLOOR_DBFS / 20), len(audio))
    return (audio + noise).astype(np.float32), truth


# ---- the stabiliser before issue 9 (desktop/readout.py at 8fedfb4), for comparison only ----
def _old_readout(point: TimelinePoint, unsure_threshold: float) -> tuple[str, str | None, float | None]:
    if not point.is_speech or not point.probabilities:
        return "no_speech", None, None
    best = max(point.probabilities, key=point.probabilities.get)
    if point.probabilities[best] < unsure_threshold:
        return "unsure", None, point.probabilities[best]
    return "emotion", best, point.probabilities[best]


class OldStabilizer:
    """Minimum dwell, hysteresis, and "No speech" once a pause lasted ``silence_hold_s``."""

    def __init__(self, min_dwell_s: float, hysteresis: float, unsure_threshold: float,
                 silence_hold_s: float = 1.5) -> None:
        self.min_dwell_s, self.hysteresis = min_dwell_s, hysteresis
        self.unsure_threshold, self.silence_hold_s = unsure_threshold, silence_hold_s
        self.shown: tuple[str, str | None, float | None] = ("listening", None, None)
        self._since_s: float | None = None
        self._silence_since_s: float | None = None

    def update(self, point: TimelinePoint) -> str:
        """Take one point; return the word the aid showed."""
        now = point.end_s
        raw = _old_readout(point, self.unsure_threshold)
        if raw[0] == "no_speech":
            if self._silence_since_s is None:
                self._silence_since_s = point.start_s
        else:
            self._silence_since_s = None
        first = self._since_s is None
        dwell_over = first or now - self._since_s >= self.min_dwell_s
        shown = self.shown
        if raw[0] == "no_speech":
            silence_long = now - self._silence_since_s >= self.silence_hold_s
            if shown[0] != "no_speech" and (first or (silence_long and dwell_over)):
                self._show(raw, now)
        elif shown[0] == "emotion":
            held = point.probabilities.get(shown[1], 0.0)
            if raw[0] == "emotion" and raw[1] != shown[1] and dwell_over and raw[2] >= held + self.hysteresis:
                self._show(raw, now)
            elif held < self.unsure_threshold - self.hysteresis and dwell_over:
                self._show(("unsure", None, max(point.probabilities.values())), now)
        elif raw[0] == shown[0]:
            self.shown = raw
        elif dwell_over:
            self._show(raw, now)
        state, label, _ = self.shown
        return label.capitalize() if state == "emotion" else \
            {"listening": "Listening…", "no_speech": "No speech", "unsure": "Unsure"}[state]

    def _show(self, readout, now_s: float) -> None:
        self.shown, self._since_s = readout, now_s


# ---- measuring ------------------------------------------------------------------------
def acted_emotion(point: TimelinePoint, truth: list[tuple[float, float, str]]) -> str | None:
    """The emotion of the sentence heard at the window's end (None: a pause)."""
    for start_s, end_s, emotion in truth:
        if start_s <= point.end_s - 0.25 <= end_s:
            return emotion
    return None


def measure(words: list[str], points: list[TimelinePoint], truth, minutes: float,
            dimmed: list[bool] | None = None) -> dict[str, float]:
    changes = sum(a != b for a, b in zip(words, words[1:]))
    no_speech = sum(b == "No speech" and a != "No speech" for a, b in zip([""] + words, words))
    emotion_words = [w for w in words if w not in ("No speech", "Listening…")]
    emotion_changes = sum(a != b for a, b in zip(emotion_words, emotion_words[1:]))
    shown = {"right": 0, "Unsure": 0, "wrong": 0, "no emotion": 0}  # while someone speaks
    for word, point in zip(words, points):
        acted = acted_emotion(point, truth)
        if acted is None or not point.is_speech:
            continue
        kind = "right" if word == acted.capitalize() else word if word == "Unsure" else \
            "no emotion" if word in ("No speech", "Listening…") else "wrong"
        shown[kind] += 1
    heard = sum(shown.values())
    out = {"word changes/min": changes / minutes, "emotion-word changes/min": emotion_changes / minutes,
           '"No speech" flashes': no_speech, '"No speech" flashes/min': no_speech / minutes}
    out.update({f"in speech: {kind} %": 100 * n / heard for kind, n in shown.items()})
    if dimmed is not None:
        out["dims/min"] = sum(b and not a for a, b in zip(dimmed, dimmed[1:])) / minutes
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", choices=("nemo", "ravdess"), default="nemo",
                   help="nemo: Polish actors (default); the shipped models heard both corpora, so for "
                        "voices a model never heard pass --model with one trained without the corpus")
    p.add_argument("--minutes", type=float, default=6.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="default: the shipped default model")
    p.add_argument("--csv", type=Path, help="also write every point's old and new word here")
    args = p.parse_args()

    audio, truth = build_conversation(args.corpus, args.minutes, args.seed)
    minutes = len(audio) / RATE / 60
    model = EmotionModel(resolve_model(args.model))
    desktop = DesktopSettings()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "conversation.wav"
        sf.write(wav, audio, RATE, subtype="PCM_16")
        points = analyze_file(wav, model, desktop.analysis).points

    settings = desktop.stabilizer()
    old = OldStabilizer(settings.min_dwell_s, settings.hysteresis, settings.unsure_line)
    new = LabelStabilizer(settings)
    old_words = [old.update(point) for point in points]
    new_readouts = [new.update(point) for point in points]
    new_words = [r.word for r in new_readouts]
    dimmed = [r.pause != Pause.NONE for r in new_readouts]

    pauses = [b[0] - a[1] for a, b in zip(truth, truth[1:])]
    speech_points = sum(pt.is_speech for pt in points)
    print(f"conversation: {args.corpus}, {minutes:.1f} min, {len(truth)} sentences, "
          f"{len({e for *_, e in truth})} emotions, pauses {min(pauses):.1f}–{max(pauses):.1f} s; "
          f"model {model.path.name}; {len(points)} points, {speech_points} with speech")
    rows = [("before (HEAD)", measure(old_words, points, truth, minutes)),
            ("now", measure(new_words, points, truth, minutes, dimmed))]
    names = list(rows[1][1])
    print(f"{'':24s}" + "".join(f"{name:>16s}" for name, _ in rows))
    for name in names:
        print(f"{name:24s}" + "".join(f"{r[name]:16.1f}" if name in r else f"{'—':>16s}" for _, r in rows))
    print(f"acted sentences per minute: {len(truth) / minutes:.1f}; acted emotion changes per minute: "
          f"{sum(a[2] != b[2] for a, b in zip(truth, truth[1:])) / minutes:.1f}")
    if args.csv:
        table = io.StringIO()
        out = csv.writer(table)
        out.writerow(["end_s", "is_speech", "acted", "raw_label", "old_word", "new_word", "new_pause"])
        for pt, old_word, r in zip(points, old_words, new_readouts):
            out.writerow([f"{pt.end_s:.2f}", int(pt.is_speech), acted_emotion(pt, truth) or "",
                          pt.label or "", old_word, r.word, r.pause.value])
        atomic_write(args.csv, table.getvalue())

if __name__ == "__main__":
    with recorded():
        main()
