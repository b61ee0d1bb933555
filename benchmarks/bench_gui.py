"""How long the GUI thread ever stalls while Moodline analyses a long file and while it streams.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--minutes 60] [--stream-s 30]
        [--live-minutes 60]

A 5 ms timer runs on the GUI thread; a stall is how much later than due it fires. The window
is the real one (plots, panel, frame timer); the analysis runs exactly as File ▸ Open does,
the live session as Start does, fed in real time by a stand-in microphone. Uses
models/default.onnx when present, else a test CNN of about the default model's cost.
``--minutes 0`` leaves the file out.

``--live-minutes M`` makes the live session M minutes long without waiting an hour: as soon as
it starts, the timeline view is filled with M minutes minus ``--stream-s`` of made-up points
(tests/long_recording.py) and audio, in one-second blocks as fast as they go; the session's
own points then land after them, and the last ``--stream-s`` stream in real time, measured as
above. On the way, the time of one frame's redraw (one frame of new audio, then
``TimelineView.redraw`` as the frame timer calls it) is measured after 1 minute and at the end.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RATE = 16000
TICK_MS = 5
BUDGET_MS = 50


class StallMeter:
    """Largest delay of a 5 ms GUI timer beyond its due time, in ms."""

    def __init__(self) -> None:
        from PyQt5.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.stalls: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        stall = max(0.0, (now - self.last) * 1000 - TICK_MS)
        self.stalls.append(stall)
        if stall > BUDGET_MS / 2 and os.environ.get("BENCH_DEBUG"):
            print(f"  stall {stall:.0f} ms at +{now - self.t0:.2f} s")
        self.last = now

    def start(self) -> None:
        self.reset()
        self.t0 = time.perf_counter()
        self.timer.start()

    def report(self, what: str) -> float:
        s = np.array(self.stalls or [0.0])
        print(f"{what}: longest event-loop stall {s.max():.1f} ms (p99 {np.percentile(s, 99):.1f} ms, "
              f"{(s > BUDGET_MS).sum()} stalls over {BUDGET_MS} ms, {len(s)} ticks)")
        return float(s.max())


def speech_clip() -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is None:  # no synthesiser: bursts of noise stand in for speech
        rng = np.random.default_rng(0)
        return (rng.normal(0, 0.1, 4 * RATE) * np.hanning(4 * RATE)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run([espeak, "-w", str(wav), "-s", "150", "Hello there, I am talking about the "
                        "weather today, it is lovely and warm."], check=True, capture_output=True)
        samples, rate = sf.read(wav, dtype="float32")
    import soxr

    return soxr.resample(samples, rate, RATE).astype(np.float32) * 0.8


def conversation(clip: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(2 * RATE, np.float32), clip, np.zeros(3 * RATE, np.float32), clip])


def model_path(tmp: Path) -> Path:
    default = ROOT / "models" / "default.onnx"
    if default.is_file():
        return default
    from model_factory import make_model

    return make_model(tmp / "cnn.onnx", kind="cnn", window_s=2.0)


def frame_redraw_ms(view, clip: np.ndarray, pos: int, frames: int = 60) -> tuple[float, float]:
    """(median, longest) ms of the frame timer's redraw after one frame (33 ms) of new audio."""
    block = RATE * 33 // 1000
    took = []
    for k in range(frames):
        view.add_audio(np.resize(clip[(pos + k * block) % len(clip):], block))
        started = time.perf_counter()
        view.redraw()
        took.append(1000 * (time.perf_counter() - started))
    return float(np.median(took)), float(np.max(took))


def prefill_live_session(window, clip: np.ndarray, prefill_s: float, filled: Callable[[], None]) -> None:
    """Once the live session has its audio rate, fill the timeline view with ``prefill_s`` of
    made-up points and audio, shift the session's own points to follow them, then call
    ``filled`` (the fill itself blocks the GUI thread: it is no stall of the app)."""
    sys.path.insert(0, str(ROOT / "tests" / "desktop"))
    from long_recording import synthetic_points

    from moodline.engine.timeline import TimelinePoint

    view = window.timeline_view
    set_rate = view.set_live_audio_rate
    add_points = view.add_points

    def shifted(points):
        add_points([TimelinePoint(p.start_s + prefill_s, p.end_s + prefill_s, p.probabilities, p.label,
                                  p.confidence, p.is_speech) for p in points])

    def set_rate_and_fill(sample_rate_hz: int) -> None:
        set_rate(sample_rate_hz)
        view.set_live_audio_rate = set_rate
        started = time.perf_counter()
        points = synthetic_points(prefill_s / 60, labels=window.model.info.labels)
        hops_per_s = 2  # synthetic_points' hop is 0.5 s
        for second in range(int(prefill_s)):
            view.add_audio(np.resize(clip[second * RATE % len(clip):], RATE))
            add_points(points[hops_per_s * second:hops_per_s * (second + 1)])
            if second + 1 == 60 or second + 1 == int(prefill_s):
                median, longest = frame_redraw_ms(view, clip, second * RATE)
                print(f"redraw after {(second + 1) / 60:.1f} min of live session: median {median:.2f} ms, "
                      f"longest {longest:.2f} ms (one frame of new audio, {len(view.series)} points)")
        # The session's own points follow the made-up ones (their clock starts at 0).
        view.add_points = shifted
        print(f"filled {prefill_s / 60:.1f} min of the live session in {time.perf_counter() - started:.1f} s")
        filled()

    view.set_live_audio_rate = set_rate_and_fill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the analysed file")
    parser.add_argument("--stream-s", type=float, default=30.0, help="seconds of live streaming")
    parser.add_argument("--live-minutes", type=float, default=0.0,
                        help="make the live session this long, all but its last --stream-s filled "
                             "in faster than real time (0: only --stream-s)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from moodline.desktop.app import tune_gc
    from moodline.desktop.main_window import MainWindow
    from moodline.engine.sources import FileReplaySource, InputDevice

    app = QApplication([])
    if os.environ.get("BENCH_DEBUG"):
        import gc
        gc_started = {}
        def gc_cb(phase, info):
            if phase == "start":
                gc_started[0] = time.perf_counter()
            elif info["generation"] == 2 or time.perf_counter() - gc_started[0] > 0.01:
                print(f"  gc gen{info['generation']} {1000 * (time.perf_counter() - gc_started[0]):.0f} ms "
                      f"in {threading.current_thread().name}")
        gc.callbacks.append(gc_cb)
    tmp = Path(tempfile.mkdtemp(prefix="moodline-bench-"))
    clip = conversation(speech_clip())
    model = model_path(tmp)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; model: {model.name}")

    long_wav = tmp / "long.wav"
    reps = int(np.ceil(args.minutes * 60 * RATE / len(clip)))
    with sf.SoundFile(long_wav, "w", RATE, 1, "PCM_16") as f:
        for _ in range(reps):
            f.write(clip)
    mic = InputDevice(0, "bench microphone", "bench", 1, RATE, True)

    def real_time_source(device, rate):  # a microphone hearing the conversation, in real time
        return FileReplaySource(clip, RATE, device=mic, loop=True)

    window = MainWindow(QSettings(str(tmp / "bench.ini"), QSettings.IniFormat), model_path=str(model),
                        sessions_root=tmp / "sessions", source_factory=real_time_source,
                        device_scanner=lambda: [mic])
    window.resize(1280, 800)
    window.show()
    while window.model is None or window.devices.current_name() is None:
        app.processEvents()
        time.sleep(0.01)
    tune_gc()  # as the app does once its window is up
    meter = StallMeter()

    worst_file = 0.0
    if args.minutes > 0:
        meter.start()
        started = time.perf_counter()
        window.open_path(long_wav)
        while window.busy:
            app.processEvents()
            time.sleep(0.001)
        for _ in range(20):  # let the whole timeline draw
            app.processEvents()
            time.sleep(0.01)
        took = time.perf_counter() - started
        assert window.recording is not None, window.banner.text()
        print(f"analysed {args.minutes:g} min ({len(window.recording.timeline.points)} points) in {took:.1f} s")
        worst_file = meter.report(f"analysing a {args.minutes:g}-minute file")

    prefill_s = max(0.0, args.live_minutes * 60 - args.stream_s)
    if prefill_s:
        def streaming_from_now() -> None:
            nonlocal end
            meter.start()
            end = time.perf_counter() + args.stream_s

        prefill_live_session(window, clip, prefill_s, streaming_from_now)
    meter.start()
    window.start()
    end = time.perf_counter() + args.stream_s
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    points = len(window.timeline_view.series)
    window.stop()
    while window.busy:
        app.processEvents()
        time.sleep(0.001)
    what = f"streaming {args.stream_s:g} s live ({points} points)"
    if prefill_s:
        what = (f"streaming the last {args.stream_s:g} s of a {args.live_minutes:g}-minute live session "
                f"({points} points)")
    worst_live = meter.report(what)
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if max(worst_file, worst_live) <= BUDGET_MS else 1


if __name__ == "__main__":
    with recorded():
        code = main()
    sys.exit(code)
