"""Render the main window, a loaded recording and the conversation-aid view to PNG files.

    scripts/screenshots            (starts Xvfb itself)
    python -m moodline.desktop.screenshots OUT_DIR --model MODEL --audio FILE

Runs the real window on whatever display Qt is given; the live view is fed from the
recording in real time by a stand-in microphone, so the pictures show what a user sees.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SIZE = (1280, 760)


def _wait(app, condition, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _pause(app, seconds: float) -> None:
    _wait(app, lambda end=time.monotonic() + seconds: time.monotonic() > end)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--audio", required=True, help="a recording with speech (16 kHz or any rate)")
    parser.add_argument("--live-s", type=float, default=25.0, help="seconds of live listening to show")
    args = parser.parse_args(argv)
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from moodline.engine.audio import load_audio
    from moodline.engine.ringbuffer import RingBuffer
    from moodline.engine.sources import InputDevice

    from .app import apply_theme
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(["moodline"])
    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="moodline-shots-"))
    rate = 16000
    audio = load_audio(args.audio, rate)
    mic = InputDevice(0, "Built-in microphone", "ALSA", 1, rate, True)

    class Replay:  # a microphone hearing the recording, in real time
        def __init__(self, device, preferred_rate_hz):
            self.device, self.sample_rate_hz, self.overflows = mic, rate, 0
            self.ring, self.active = RingBuffer(30 * rate), False

        def start(self):
            self.active = True
            threading.Thread(target=self._feed, daemon=True).start()

        def _feed(self):
            pos, t0 = 0, time.perf_counter()
            while self.active:
                self.ring.write(np.resize(audio[pos % len(audio):], 320))
                pos += 320
                time.sleep(max(0.0, t0 + pos / rate - time.perf_counter()))

        def stop(self):
            self.active = False

    store = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
    window = MainWindow(store, model_path=args.model, sessions_root=tmp / "sessions",
                        source_factory=Replay, device_scanner=lambda: [mic])
    window.resize(*SIZE)
    window.show()
    _wait(app, lambda: window.model is not None and window.devices.current_name() is not None)
    args.out.mkdir(parents=True, exist_ok=True)

    window.start()
    _wait(app, lambda: window.live is not None)
    _pause(app, args.live_s)
    window.grab().save(str(args.out / "main-window-live.png"))
    print(args.out / "main-window-live.png")

    window.toggle_aid()
    window.aid.resize(*SIZE)
    _pause(app, 1.0)
    window.aid.grab().save(str(args.out / "conversation-aid.png"))
    print(args.out / "conversation-aid.png")
    window.aid.close()
    window.stop()
    _wait(app, lambda: not window.busy)

    window.open_path(args.audio)
    _wait(app, lambda: not window.busy)
    window.play_from(min(6.0, window.recording.duration_s / 3))
    _pause(app, 0.6)
    window.player.stop()
    window.grab().save(str(args.out / "recording.png"))
    print(args.out / "recording.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
