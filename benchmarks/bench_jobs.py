"""`moodline analyze --jobs N` on a folder of short files: throughput and memory per worker.

For each N from 1 to the machine's core count it runs the whole `moodline analyze FOLDER
--jobs N --format json` in a child process and prints files per second, hours of audio per
wall-clock hour, the scaling efficiency (throughput over N times that of --jobs 1) and the
peak resident memory of the main process and of the largest worker.

    .venv/bin/python benchmarks/bench_jobs.py [--model default|fast|FILE] [--files 300] [--repeat 3] [--ray]

Each setting runs --repeat times, the settings taking turns so that anything else busy on the
machine slows them alike; the figures come from the best run (least disturbed), and the median
is printed beside it.

The files are RAVDESS clips from ../shared/data (one clip with a short pause each, about 4 s)
when that folder is there, else synthetic speech (espeak-ng), written as FLAC to a temporary
folder. --jobs 1 analyses the files one after another in one process, with onnxruntime using
every core for each batch; --jobs N > 1 runs N worker processes with one onnxruntime thread each.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench_engine import RATE, model_path, speech_clips
from figures import recorded  # the figures also go to docs/benchmark-figures.md

# The command in a child process: peak memory of itself and of its largest worker (POSIX getrusage).
RUN = """
import json, resource, sys
from moodline.engine.cli import main
code = main(sys.argv[2:])
peak = {"main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "code": code}
open(sys.argv[1], "w").write(json.dumps(peak))
"""


def write_files(folder: Path, count: int, clips: list[np.ndarray]) -> float:
    """``count`` FLAC files, each a clip and 0.2–1 s of silence; the seconds of audio written."""
    rng = np.random.default_rng(0)
    total = 0
    for i in range(count):
        clip = clips[i % len(clips)]
        audio = np.concatenate([clip, np.zeros(int(rng.uniform(0.2, 1.0) * RATE), np.float32)])
        sf.write(folder / f"clip{i:04d}.flac", audio, RATE)
        total += len(audio)
    return total / RATE


def run(folder: Path, model: str, jobs: int | str, scratch: Path) -> tuple[float, dict]:
    """Wall time (s) of the whole command, and its peak memory. ``jobs`` "ray": a new local Ray
    cluster (its start included), whose workers are not this command's children."""
    report = scratch / f"peak-{jobs}.json"
    where = ["--ray"] if jobs == "ray" else ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUN, str(report), "analyze", str(folder), "--model", model,
                           *where, "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    peak = json.loads(report.read_text()) if report.exists() else {}
    if proc.returncode != 0 or peak.get("code") != 0:
        sys.exit(f"moodline failed: {proc.stderr.decode(errors='replace')}")
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also --ray on a new local cluster (needs ray)")
    args = parser.parse_args()
    model, described, _ = model_path(args.model)
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, {sys.platform}; model: {described}")

    scratch = Path(tempfile.mkdtemp(prefix="moodline-bench-jobs-"))
    try:
        folder = scratch / "clips"
        folder.mkdir()
        audio_s = write_files(folder, args.files, speech_clips())
        print(f"{args.files} files, {audio_s / 60:.1f} min of audio ({audio_s / args.files:.1f} s a file)")
        settings = [*range(1, cores + 1), *(["ray"] if args.ray else [])]
        runs: dict[int | str, list[tuple[float, dict]]] = {jobs: [] for jobs in settings}
        for _ in range(args.repeat):
            for jobs in settings:
                runs[jobs].append(run(folder, model, jobs, scratch))
        base = None
        for jobs in settings:
            times = sorted(elapsed for elapsed, _ in runs[jobs])
            best, median = times[0], float(np.median(times))
            main_mb, worker_mb = (max(peak[key] for _, peak in runs[jobs]) for key in ("main_mb", "worker_mb"))
            files_per_s = args.files / best
            base = base or files_per_s
            if jobs == "ray":
                print(f"--ray ({cores} CPUs, cluster start included): {best:.2f} s (median {median:.2f} s of "
                      f"{len(times)}), {files_per_s:.1f} files/s, {audio_s / best:.0f} audio-hours per wall-hour, "
                      f"scaling efficiency {files_per_s / (cores * base):.0%}; driver {main_mb:.0f} MB")
                continue
            workers = "" if jobs == 1 else f", largest worker {worker_mb:.0f} MB"
            print(f"--jobs {jobs}: {best:.2f} s (median {median:.2f} s of {len(times)}), {files_per_s:.1f} files/s, "
                  f"{audio_s / best:.0f} audio-hours per wall-hour, scaling efficiency "
                  f"{files_per_s / (jobs * base):.0%}; peak memory: main process {main_mb:.0f} MB{workers}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    with recorded():
        main()
