"""What the voice-activity gate lets through: speech kept, steady noise turned away.

    .venv/bin/python benchmarks/bench_vad.py [--clips 200] [--seed 0]

For 2 s windows every 0.5 s (the shipped models' grid) that WebRTC's VAD passes (at least 20%
of their 30 ms frames heard as speech, at the engine's default aggressiveness), prints the
spread between the loudest and quietest tenth of the frames' energies (p90 − p10, dB):
percentiles over clean speech (RAVDESS, nEMO, speechocean762's held-out speakers), over nEMO
speech in the unseen noises of the model cards' noise condition at 10 and 0 dB SNR, and the largest spread of one minute of
white, pink and brown noise and mains hum at −30 and −20 dBFS. Then the share of each that
the engine's gate (:data:`moodline.engine.vad.MIN_MODULATION_DB`) keeps as speech.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from moodline.engine.audio import load_audio
from moodline.engine.vad import MIN_MODULATION_DB, VAD_FRAME_S, SpeechDetector
from moodline.training import conditions
from moodline.training.corpora import load_corpus, load_unlabelled

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RATE, WINDOW_S, HOP_S, MIN_SPEECH = 16000, 2.0, 0.5, 0.2


def spreads(samples: np.ndarray) -> np.ndarray:
    """p90 − p10 of the 30 ms frame energies of each window the VAD passes."""
    detector = SpeechDetector(RATE)
    detector.push(samples, last=True)
    energy = detector._energy_db  # the engine's own per-frame energies and flags
    out = []
    for start in np.arange(0.0, max(len(samples) / RATE - WINDOW_S, 0.0) + 1e-9, HOP_S):
        flags = detector._flags[round(start / VAD_FRAME_S): round((start + WINDOW_S) / VAD_FRAME_S)]
        if flags and sum(flags) / len(flags) >= MIN_SPEECH:
            part = energy[round(start / VAD_FRAME_S): round((start + WINDOW_S) / VAD_FRAME_S)]
            out.append(np.percentile(part, 90) - np.percentile(part, 10))
    return np.array(out)


def pink(n: int, rng: np.random.Generator, exponent: float = 1.0) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum = (rng.normal(size=len(f)) + 1j * rng.normal(size=len(f))) / np.maximum(f, 20.0) ** (exponent / 2)
    return np.fft.irfft(spectrum, n)


def report(name: str, values: np.ndarray) -> None:
    kept = np.mean(values >= MIN_MODULATION_DB) if len(values) else 0.0
    print(f"{name:<34} {len(values):5d} windows  p0.5 {np.percentile(values, 0.5):5.1f}  p1 {np.percentile(values, 1):5.1f}  "
          f"p50 {np.percentile(values, 50):5.1f} dB   kept as speech {100 * kept:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"gate: windows whose frame energies spread less than {MIN_MODULATION_DB:g} dB are not speech")
    for name in ("ravdess", "nemo"):
        clips = load_corpus(name, DATA / name).clips
        picked = rng.permutation(len(clips))[: args.clips]
        report(f"{name} (clean)", np.concatenate([spreads(load_audio(clips[i].path, RATE)) for i in picked]))
    ordinary = load_unlabelled(DATA / "speechocean762", held_out=True).clips[: args.clips]
    report("speechocean762 (clean)", np.concatenate([spreads(load_audio(c.path, RATE)) for c in ordinary]))
    nemo = load_corpus("nemo", DATA / "nemo").clips
    for snr in (10, 0):
        picked = rng.permutation(len(nemo))[: args.clips // 2]
        noisy = [conditions.unseen_noise(load_audio(nemo[i].path, RATE), rng, RATE, snr) for i in picked]
        report(f"nemo + unseen noise at {snr} dB SNR", np.concatenate([spreads(x.astype(np.float32)) for x in noisy]))
    n = 60 * RATE
    noises = {"white": rng.normal(size=n), "pink": pink(n, rng), "brown": pink(n, rng, 2.0),
              "mains hum": conditions._hum(n, rng, RATE)}
    for name, noise in noises.items():
        for level_db in (-30, -20):
            x = (noise / np.std(noise) * 10 ** (level_db / 20)).astype(np.float32)
            found = spreads(x)
            largest = f"largest spread {found.max():4.1f} dB" if len(found) else "none passed the VAD"
            kept = np.mean(found >= MIN_MODULATION_DB) if len(found) else 0.0
            print(f"{name} at {level_db} dBFS: VAD passed {len(found)} of 117 windows, {largest}, "
                  f"kept as speech {100 * kept:.1f}%")


if __name__ == "__main__":
    main()
