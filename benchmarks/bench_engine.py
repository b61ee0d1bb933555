"""Engine benchmark: offline speed, streaming latency, memory and start-up. Prints its figures.

Targets (2-core CPU), by model: the default (Whisper encoder) model — offline real-time factor
<= 0.006 (a 60-minute recording in <= 21.6 s, whole process), streaming per-hop p99 <= 100 ms;
the fast model (and any small CNN) — real-time factor <= 0.002, p99 <= 20 ms. For both: peak memory
<= 300 MB whatever the file's length, import + model load <= 1 s.

    .venv/bin/python benchmarks/bench_engine.py [--model default|fast|FILE] [--minutes-long 60] [--voice]

With --voice, a voice is enrolled first (RAVDESS actor 1's clips, else espeak-ng) and every run
tells it from the others (``--voice``): both models run on every speech window.

The recordings are stitched from RAVDESS clips in ../shared/data (speech with pauses) when
that folder is there, else from synthetic speech (espeak-ng). Without --model it uses the
shipped default model.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
MOODLINE = str(Path(sys.executable).with_name("moodline"))
ENV = dict(os.environ)  # --voice: where the benchmark's enrolled voice is kept


def speech_clips() -> list[np.ndarray]:
    corpus = ROOT.parent / "shared" / "data" / "ravdess"
    if corpus.is_dir():
        files = sorted(corpus.glob("Actor_*/*.flac"))[::7][:120]
        return [sf.read(f, dtype="float32")[0] for f in files]
    wav = Path(tempfile.mkdtemp()) / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "I am talking about the weather today, it is lovely."], check=True)
    import soxr

    samples, rate = sf.read(wav, dtype="float32")
    return [soxr.resample(samples, rate, RATE).astype(np.float32)]


def write_recording(path: Path, minutes: float, clips: list[np.ndarray]) -> None:
    """Clips one after another with 0.5–3 s pauses, written block by block (bounded memory)."""
    rng = np.random.default_rng(0)
    total, target = 0, int(minutes * 60 * RATE)
    with sf.SoundFile(path, "w", RATE, 1, format="FLAC") as out:
        while total < target:
            clip = clips[rng.integers(len(clips))]
            pause = np.zeros(int(rng.uniform(0.5, 3.0) * RATE), np.float32)
            block = np.concatenate([clip, pause])[: target - total]
            out.write(block)
            total += len(block)


# (offline real-time factor, streaming p99 ms) by what the model computes
TARGETS = {"encoder": (0.006, 100.0), "cnn": (0.002, 20.0)}


def model_path(wanted: str | None) -> tuple[str, str, tuple[float, float]]:
    """The model file, how to name it, and its targets."""
    from moodline.engine.model import EmotionModel, resolve_model

    path = resolve_model(wanted)
    if not path.is_file():
        sys.exit(f"{path}: no such model")
    kind = "encoder" if EmotionModel(path).info.features.kind == "whisper_log_mel" else "cnn"
    return str(path), f"{path.name} ({kind})", TARGETS[kind]


def whole_process(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``moodline ARGS`` in a child process."""
    started = time.perf_counter()
    proc = subprocess.run([MOODLINE, *args], capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"moodline failed: {proc.stderr}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # largest child so far
    return elapsed, peak_kb / 1024


def startup(model: str) -> tuple[float, float]:
    code = ("import time; t = time.perf_counter();"
            "import moodline.engine.analysis, moodline.engine.streaming;"
            "from moodline.engine.model import EmotionModel; m = EmotionModel(%r);"
            "t1 = time.perf_counter();"
            "from moodline.engine.analysis import new_slicer, AnalysisSettings;"
            "import numpy as np; s = new_slicer(m, AnalysisSettings()); s.push(np.zeros(16000, np.float32));"
            "print(t1 - t, time.perf_counter() - t)" % model)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(3)]
    load, first = zip(*(map(float, r.stdout.split()) for r in runs))
    return min(load), min(first)


def enrol(tmp: Path, clips: list[np.ndarray]) -> Path:
    """Enrol the voice 'bench' (``moodline enrol --from``) in a folder of the benchmark's own."""
    corpus = ROOT.parent / "shared" / "data" / "ravdess" / "Actor_01"
    own = [sf.read(f, dtype="float32")[0] for f in sorted(corpus.glob("*.flac"))[:12]] if corpus.is_dir() else clips
    path = tmp / "enrol.flac"
    sf.write(path, np.concatenate([np.concatenate([c, np.zeros(RATE // 2, np.float32)]) for c in own]), RATE)
    ENV["MOODLINE_VOICES_DIR"] = str(tmp / "voices")
    subprocess.run([MOODLINE, "enrol", "--voice", "bench", "--from", str(path)], check=True, env=ENV,
                   capture_output=True)
    return path


def streaming(model_file: str, recording: Path, hops: int, enrolled: Path | None = None) -> np.ndarray:
    """Per-hop processing times: the engine thread fed one hop of audio at a time."""
    from moodline.engine.analysis import AnalysisSettings
    from moodline.engine.audio import load_audio
    from moodline.engine.model import EmotionModel
    from moodline.engine.ringbuffer import RingBuffer
    from moodline.engine.streaming import StreamingAnalyzer

    model = EmotionModel(model_file)
    audio = load_audio(recording, RATE)[: int((hops + 4) * 0.5 * RATE)]
    ring = RingBuffer(30 * RATE)
    enrolment = None
    if enrolled is not None:
        from moodline.engine.voices import enrolment_from

        enrolment = enrolment_from("bench", enrolled, model)[0]
    analyzer = StreamingAnalyzer(model, ring, RATE, AnalysisSettings(), enrolment)
    analyzer.start()
    hop = int(0.5 * RATE)
    for i in range(0, len(audio), hop):
        ring.write(audio[i:i + hop])
        deadline = time.perf_counter() + 1.0
        while analyzer.reader.position < ring.written and time.perf_counter() < deadline:
            time.sleep(0.002)  # wait for the engine to take this hop, as in real time
        time.sleep(0.01)
    analyzer.stop()
    return np.array(analyzer.hop_times_s)[4:] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--minutes-long", type=float, default=60.0)
    parser.add_argument("--hops", type=int, default=600)
    parser.add_argument("--voice", action="store_true", help="with an enrolled voice told from others")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="moodline-bench-"))
    model, described, (rtf_target, p99_target) = model_path(args.model)
    print(f"machine: {os.cpu_count()} cores, {sys.platform}; model: {described}"
          + ("; with an enrolled voice told from others (the speaker encoder too)" if args.voice else ""))

    clips = speech_clips()
    enrolled = enrol(tmp, clips) if args.voice else None
    voice = ["--voice", "bench"] if args.voice else []
    short, long = tmp / "short.flac", tmp / "long.flac"
    write_recording(short, args.minutes, clips)
    write_recording(long, args.minutes_long, clips)

    load_s, first_s = startup(model)
    print(f"start-up: import moodline.engine + model load {load_s:.2f} s "
          f"(target <= 1 s); + feature set-up and first window {first_s:.2f} s")

    elapsed, peak_short = whole_process(["analyze", str(short), "--model", model, "--format", "json", *voice])
    seconds = args.minutes * 60
    print(f"offline: {args.minutes:g} min analysed in {elapsed:.2f} s, whole process: "
          f"real-time factor {elapsed / seconds:.4f} (target <= {rtf_target:g}); peak memory {peak_short:.0f} MB")
    elapsed, peak_long = whole_process(["analyze", str(long), "--model", model, "--format", "json", *voice])
    seconds = args.minutes_long * 60
    print(f"offline: {args.minutes_long:g} min analysed in {elapsed:.2f} s: real-time factor "
          f"{elapsed / seconds:.4f} (target <= {rtf_target:g}); peak memory {peak_long:.0f} MB (target <= 300 MB)")

    times = streaming(model, short, args.hops, enrolled)
    print(f"streaming: {len(times)} hops, per-hop processing p50 {np.percentile(times, 50):.2f} ms, "
          f"p99 {np.percentile(times, 99):.2f} ms, max {times.max():.2f} ms (target p99 <= {p99_target:g} ms)")


if __name__ == "__main__":
    with recorded():
        main()
