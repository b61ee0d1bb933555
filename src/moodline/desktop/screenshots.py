"""Render the main window (live, a short and an hour-long recording) and the conversation aid to PNG files.

    scripts/screenshots            (starts Xvfb itself)
    python -m moodline.desktop.screenshots OUT_DIR --model MODEL --audio FILE [--long-audio FILE]

Runs the real window on whatever display Qt is given; the live view is fed from the
recording in real time by a stand-in microphone, so the pictures show what a user sees.
Recordings are analysed by the window as File ▸ Open does. The conversation aid is fed the
points of the last recording opened, as it would hear them live, up to a pause long enough
for its "paused" hint (the recording running out counts as the conversation going quiet).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


SIZE = (1360, 800)  # wide enough for the summary and segments panels beside the timeline
AID_SIZE = (1280, 760)
LONG_ANALYSIS_TIMEOUT_S = 900.0  # an hour with the default model takes about a minute on 2 cores
CONVERSATION_BEFORE_PAUSE_S = 90.0  # the aid has heard this much of the conversation first
SHOW_AT_FRACTION = 0.4  # the recordings' playhead and readout, this far in ...
CLEAR_STRETCH_S = 2.0  # ... in a stretch of one emotion at least this long, above the unsure threshold


def _wait(app, condition, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _pause(app, seconds: float) -> None:
    _wait(app, lambda end=time.monotonic() + seconds: time.monotonic() > end)


def _save(widget, path: Path) -> None:
    widget.grab().save(str(path))
    print(path)


def _show_recording(app, window, path: str, out: Path, timeout_s: float = 60.0) -> None:
    """Open ``path`` as File ▸ Open does, put the playhead in a stretch of speech a little way
    in (as → does; nothing plays, so no sound device is needed), and save the window."""
    window.open_path(path)
    _wait(app, lambda: not window.busy, timeout_s)
    if window.recording is None:
        raise RuntimeError(f"{path} did not open: {window.status_session.text()}")
    _pause(app, 0.5)  # the segments list lays out its rows first, so it can scroll to one
    target_s = window.recording.duration_s * SHOW_AT_FRACTION
    clear = [s for s in window.recording.timeline.segments() if s.is_speech and s.duration_s >= CLEAR_STRETCH_S
             and s.confidence >= window.unsure_threshold()]
    if clear:
        nearest = min(clear, key=lambda s: abs((s.start_s + s.end_s) / 2 - target_s))
        target_s = (nearest.start_s + nearest.end_s) / 2
    window.playback.jump_to(target_s)
    _pause(app, 0.5)
    _save(window, out)


def _feed_aid_until_paused(aid, points) -> None:
    """Feed ``points`` to the aid as it would hear them live, up to the first pause (after
    :data:`CONVERSATION_BEFORE_PAUSE_S`) through which it holds an emotion with its "paused"
    hint; if none comes, the conversation goes quiet after the last point."""
    from moodline.engine.readout import EMOTION, Pause
    from moodline.engine.timeline import TimelinePoint

    def paused() -> bool:
        return aid.shown.pause == Pause.PAUSED and aid.shown.state == EMOTION

    aid.reset()
    for point in points:
        aid.feed(point)
        if paused() and point.start_s >= CONVERSATION_BEFORE_PAUSE_S:
            return
    last = points[-1]
    window_s = last.end_s - last.start_s
    hop_s = points[-1].start_s - points[-2].start_s if len(points) > 1 else window_s
    t_s = last.start_s
    while not paused() and t_s < last.start_s + 30.0:
        t_s += hop_s
        aid.feed(TimelinePoint(t_s, t_s + window_s, None, None, None, False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--audio", required=True, help="a recording with speech (16 kHz or any rate)")
    parser.add_argument("--long-audio", help="an hour-long conversation with pauses (optional)")
    parser.add_argument("--live-s", type=float, default=25.0, help="seconds of live listening to show")
    args = parser.parse_args(argv)
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from moodline.engine.audio import load_audio
    from moodline.engine.sources import FileReplaySource, InputDevice

    from .app import apply_theme
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(["moodline"])
    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="moodline-shots-"))
    rate = 16000
    audio = load_audio(args.audio, rate)
    mic = InputDevice(0, "Built-in microphone", "ALSA", 1, rate, True)

    def replay(device, preferred_rate_hz):  # a microphone hearing the recording, in real time
        return FileReplaySource(audio, rate, device=mic, loop=True)

    store = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
    window = MainWindow(store, model_path=args.model, sessions_root=tmp / "sessions",
                        source_factory=replay, device_scanner=lambda: [mic])
    window.resize(*SIZE)
    window.show()
    _wait(app, lambda: window.model is not None and window.devices.current_name() is not None)
    args.out.mkdir(parents=True, exist_ok=True)

    window.start()
    _wait(app, lambda: window.live is not None)
    _pause(app, args.live_s)
    _save(window, args.out / "main-window-live.png")
    window.stop()
    _wait(app, lambda: not window.busy)

    _show_recording(app, window, args.audio, args.out / "recording.png")
    if args.long_audio:
        _show_recording(app, window, args.long_audio, args.out / "long-recording.png", LONG_ANALYSIS_TIMEOUT_S)

    window.toggle_aid()
    window.aid.resize(*AID_SIZE)
    _pause(app, 0.5)
    _feed_aid_until_paused(window.aid, window.recording.timeline.points)
    _pause(app, 2.0)  # the dimming runs its course
    _save(window.aid, args.out / "conversation-aid.png")
    window.aid.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
