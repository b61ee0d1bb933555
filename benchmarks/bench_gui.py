"""How long the GUI thread ever stalls while Moodline analyses a long file and while it streams.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--minutes 60] [--stream-s 30]

A 5 ms timer runs on the GUI thread; a stall is how much later than due it fires. The window
is the real one (plots, panel, frame timer); the analysis runs exactly as File ▸ Open does,
the live session as Start does, fed in real time by a stand-in microphone. Uses
models/default.onnx when present, else a test CNN of about the default model's cost.
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

import numpy as np
import soundfile as sf

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the analysed file")
    parser.add_argument("--stream-s", type=float, default=30.0, help="seconds of live streaming")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from moodline.desktop.app import tune_gc
    from moodline.desktop.main_window import MainWindow
    from moodline.engine.ringbuffer import RingBuffer
    from moodline.engine.sources import InputDevice

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

    class RealTimeSource:
        def __init__(self, device, rate):
            self.device, self.sample_rate_hz, self.overflows = mic, RATE, 0
            self.ring = RingBuffer(30 * RATE)
            self.active = False

        def start(self):
            self.active = True
            threading.Thread(target=self._feed, daemon=True).start()

        def _feed(self):
            pos, block, t0 = 0, 320, time.perf_counter()
            while self.active:
                self.ring.write(np.resize(clip[pos % len(clip):], block))
                pos += block
                time.sleep(max(0.0, t0 + pos / RATE - time.perf_counter()))

        def stop(self):
            self.active = False

    window = MainWindow(QSettings(str(tmp / "bench.ini"), QSettings.IniFormat), model_path=str(model),
                        sessions_root=tmp / "sessions", source_factory=RealTimeSource,
                        device_scanner=lambda: [mic])
    window.resize(1280, 800)
    window.show()
    while window.model is None or window.devices.current_name() is None:
        app.processEvents()
        time.sleep(0.01)
    tune_gc()  # as the app does once its window is up
    meter = StallMeter()

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
    worst_live = meter.report(f"streaming {args.stream_s:g} s live ({points} points)")
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if max(worst_file, worst_live) <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
