"""What each voice gate lets through: speech kept, noise and music turned away.

    .venv/bin/python benchmarks/bench_vad.py [--clips 150] [--seed 0] [--music DIR]

For 2 s windows every 0.5 s (the shipped models' grid), a window is speech when the gate heard
speech in at least 20% of it (the engine's rule). Gates: ``webrtc`` (WebRTC's VAD at the
default aggressiveness with the steadiness check), ``silero`` (Silero VAD, threshold 0.5) and
``both`` (the smaller of the two shares).

Speech recall: the reference speech windows are those of the *clean* clip in which at least
20% of the 30 ms frames lie within 35 dB of the clip's loudest frame (a gate-independent
energy reference; acted corpus clips hold one utterance between short silences). Recall is the
share of those windows the gate passes: clean (RAVDESS, nEMO, speechocean762's held-out
speakers), in the model cards' unseen noises (hum, music, traffic) at 10 and 0 dB SNR, in a
café at 10 dB (voices of unheard speakers over pink noise) and 30 dB quieter.

Non-speech: the share of windows passed in one minute of each generated sound at −30 and
−20 dBFS, and in real music files given with ``--music`` (decoded by the engine).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from moodline.engine.audio import find_audio_files, load_audio
from moodline.engine.vad import Gate, speech_detector
from moodline.training import conditions
from moodline.training.augment import BabbleBank, coloured_noise
from moodline.training.corpora import load_corpus, load_unlabelled
from figures import recorded  # the figures also go to docs/benchmark-figures.md

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RATE, WINDOW_S, HOP_S, MIN_SPEECH = 16000, 2.0, 0.5, 0.2
GATES = [g.value for g in Gate]


def window_starts(n_samples: int) -> np.ndarray:
    return np.arange(0.0, max(n_samples / RATE - WINDOW_S, 0.0) + 1e-9, HOP_S)


def judged(gate: str, samples: np.ndarray) -> np.ndarray:
    """Per window: did ``gate`` judge it speech?"""
    detector = speech_detector(gate, RATE)
    detector.push(samples.astype(np.float32), last=True)
    return np.array([detector.speech_fraction(s, s + WINDOW_S) >= MIN_SPEECH for s in window_starts(len(samples))])


def reference(samples: np.ndarray) -> np.ndarray:
    """Per window of a clean clip: does it hold speech by the energy reference?"""
    frame = round(0.03 * RATE)
    n = len(samples) // frame
    energy = 10 * np.log10(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = energy >= max(energy.max() - 35.0, -70.0)
    out = []
    for s in window_starts(len(samples)):
        part = loud[round(s / 0.03): round((s + WINDOW_S) / 0.03)]
        out.append(len(part) > 0 and part.mean() >= MIN_SPEECH)
    return np.array(out)


def sweep(n: int, lo: float, hi: float, seconds: float) -> np.ndarray:
    t = np.arange(n) / RATE
    phase = (t % seconds) / seconds
    f = lo * (hi / lo) ** phase  # exponential sweep, repeating
    return np.sin(2 * np.pi * np.cumsum(f) / RATE)


def organ(n: int, rng: np.random.Generator) -> np.ndarray:
    """Sustained chords, a new one every 1–2 s."""
    out, pos = np.zeros(n), 0
    while pos < n:
        length = min(int(rng.uniform(1.0, 2.0) * RATE), n - pos)
        t = np.arange(length) / RATE
        for semitone in rng.choice(24, size=3, replace=False):
            f0 = 130.8 * 2 ** (semitone / 12)
            out[pos:pos + length] += sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        pos += length
    return out


def piano_melody(n: int, rng: np.random.Generator) -> np.ndarray:
    """A melody of decaying notes over a chord struck every bar."""
    out, pos = np.zeros(n), 0
    while pos < n:
        length = int(rng.uniform(0.2, 0.5) * RATE)
        t = np.arange(min(2 * length, n - pos)) / RATE
        f0 = 261.6 * 2 ** (rng.integers(0, 15) / 12)
        out[pos:pos + len(t)] += sum(np.sin(2 * np.pi * f0 * k * t) * 0.6 ** k for k in range(1, 8)) * np.exp(-4 * t)
        pos += length
    return out + 0.5 * conditions._music(n, rng, RATE)


def drums(n: int, rng: np.random.Generator) -> np.ndarray:
    """A beat: kick, snare-like noise bursts and hi-hats at 100–140 bpm."""
    out = np.zeros(n)
    beat = int(60 / rng.uniform(100, 140) * RATE)
    t = np.arange(beat) / RATE
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * t)) * t) * np.exp(-8 * t)
    snare = rng.standard_normal(beat) * np.exp(-20 * t)
    hat = np.diff(rng.standard_normal(beat + 1)) * np.exp(-60 * t)
    for i, start in enumerate(range(0, n - beat, beat)):
        out[start:start + beat] += (kick if i % 2 == 0 else snare) + 0.3 * hat
        half = start + beat // 2
        out[half:half + beat][: n - half] += (0.3 * hat)[: n - half]
    return out


def non_speech(rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = 60 * RATE
    t = np.arange(n) / RATE
    return {
        "white noise": rng.standard_normal(n),
        "pink noise": coloured_noise(n, rng, 1.0),
        "brown noise": coloured_noise(n, rng, 2.0),
        "mains hum": conditions._hum(n, rng, RATE),
        "tone 440 Hz": np.sin(2 * np.pi * 440 * t),
        "tone 1 kHz": np.sin(2 * np.pi * 1000 * t),
        "chord (C major)": sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
        "slow sweep (100 Hz-4 kHz, 10 s)": sweep(n, 100, 4000, 10.0),
        "fast sweep (100 Hz-4 kHz, 1 s)": sweep(n, 100, 4000, 1.0),
        "plucked melody over chords": conditions._music(n, rng, RATE),
        "organ chords": organ(n, rng),
        "piano-like melody": piano_melody(n, rng),
        "drum beat": drums(n, rng),
        "traffic": conditions._traffic(n, rng, RATE),
    }


def at_level(x: np.ndarray, level_db: float) -> np.ndarray:
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12) * 10 ** (level_db / 20)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=150, help="clips per corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--music", type=Path, help="a folder of real music files to measure too")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cafe_voices = BabbleBank(str(DATA / "speechocean762"), RATE, unheard=True)

    clips = []
    for name in ("ravdess", "nemo"):
        found = load_corpus(name, DATA / name).clips
        clips += [found[i].path for i in rng.permutation(len(found))[: args.clips]]
    clips += [c.path for c in load_unlabelled(DATA / "speechocean762", held_out=True).clips[: args.clips]]
    versions = {"clean": lambda x: x,
                "unseen noise 10 dB SNR": lambda x: conditions.unseen_noise(x, rng, RATE, 10.0),
                "unseen noise 0 dB SNR": lambda x: conditions.unseen_noise(x, rng, RATE, 0.0),
                "cafe 10 dB SNR": lambda x: conditions.cafe(x, rng, cafe_voices, 10.0),
                "quiet (-30 dB)": lambda x: x * 10 ** (-30 / 20)}
    passed = {(v, g): [] for v in versions for g in GATES}
    seconds, spent = 0.0, {g: 0.0 for g in GATES}
    for path in clips:
        clean = load_audio(path, RATE)
        ref = reference(clean)
        for version, make in versions.items():
            audio = make(clean).astype(np.float32)
            for gate in GATES:
                started = time.perf_counter()
                judged_speech = judged(gate, audio)
                if version == "clean":
                    spent[gate] += time.perf_counter() - started
                passed[version, gate].append(judged_speech[ref])
        seconds += len(clean) / RATE
    print(f"speech recall over {len(clips)} clips ({args.clips} per corpus: RAVDESS, nEMO, speechocean762 held out); "
          f"{sum(len(r) for r in passed['clean', GATES[0]])} reference speech windows")
    print(f"{'condition':<34}" + "".join(f"{g:>10}" for g in GATES))
    for version in versions:
        print(f"{version:<34}" + "".join(f"{100 * np.concatenate(passed[version, g]).mean():9.1f}%" for g in GATES))

    print("\nshare of windows judged speech (117 windows in each minute)")
    print(f"{'sound':<34}{'level':>7}" + "".join(f"{g:>10}" for g in GATES))
    sounds = non_speech(rng)
    if args.music:
        for path in find_audio_files(args.music):
            sounds[f"music file {path.name}"] = load_audio(path, RATE)
    worst = {g: 0.0 for g in GATES}
    for name, sound in sounds.items():
        for level_db in (-30, -20):
            shares = [judged(g, at_level(sound, level_db)).mean() for g in GATES]
            worst = {g: max(worst[g], s) for g, s in zip(GATES, shares)}
            print(f"{name[:33]:<34}{level_db:>5} dB" + "".join(f"{100 * s:9.1f}%" for s in shares))
    print(f"{'worst':<41}" + "".join(f"{100 * worst[g]:9.1f}%" for g in GATES))
    print("\ncost on one core, per second of audio (detector and window shares): "
          + ", ".join(f"{g} {1e3 * spent[g] / seconds:.2f} ms" for g in GATES))


if __name__ == "__main__":
    with recorded():
        main()
