"""End to end with real audio: a recording played into PulseAudio's null sink while the app,
on a real X server (Xvfb), listens to the sink's monitor; speech shows where it was played.

Needs what scripts/test sets up: a PulseAudio server whose default source is
``moodline_null.monitor``, and Xvfb installed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RATE = 16000
PARTS_S = (2.0, None, 3.0, None, 1.5)  # silence, speech, silence, speech, silence


@pytest.fixture(scope="module")
def xvfb_display():
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is needed (scripts/system-packages --test installs it)"
    for number in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(5)


def test_played_speech_appears_on_the_live_timeline(tmp_path, xvfb_display, model_path, speech):
    assert subprocess.run(["pactl", "info"], capture_output=True).returncode == 0, \
        "a PulseAudio server with the moodline_null sink is needed (see scripts/test)"
    parts = [speech if s is None else np.zeros(int(s * RATE), np.float32) for s in PARTS_S]
    clip = tmp_path / "clip.wav"
    sf.write(clip, np.concatenate(parts), RATE)
    bounds = np.cumsum([0] + [len(p) / RATE for p in parts])
    speech_s = [(bounds[1], bounds[2]), (bounds[3], bounds[4])]
    gap_centre = (bounds[2] + bounds[3]) / 2

    sessions = tmp_path / "sessions"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    app = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", "import sys; from moodline.desktop.app import main; sys.exit(main(sys.argv[1:]))",
         "--model", str(model_path), "--device", "pulse", "--start", "--sessions-dir", str(sessions),
         "--settings-file", str(tmp_path / "settings.ini"),
         "--quit-after", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not list(sessions.glob("*/session.json")):
            assert app.poll() is None, app.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the app did not start listening"
            time.sleep(0.05)
        time.sleep(0.3)  # the input stream opens just after the session file is written
        folder = next(sessions.glob("*/session.json")).parent
        started = json.loads((folder / "session.json").read_text())["started_unix_s"]
        played = time.time()
        subprocess.run(["paplay", "--device=moodline_null", str(clip)], check=True, timeout=30)
        time.sleep(2.5)  # the last windows need audio after the clip's end
        app.send_signal(signal.SIGTERM)  # closes the window, which finishes the session
        assert app.wait(20) == 0, app.stdout.read().decode(errors="replace")
    finally:
        if app.poll() is None:
            app.kill()

    timeline = json.loads((folder / "timeline.json").read_text())["timeline"]
    offset = played - started  # session time of the clip's start
    centres = np.array([(p["start_s"] + p["end_s"]) / 2 - offset for p in timeline])
    is_speech = np.array([p["is_speech"] for p in timeline])
    assert len(centres) > 10
    for start, end in speech_s:  # both utterances are heard
        assert is_speech[(centres > start) & (centres < end)].any(), (start, end, centres[is_speech])
    assert not is_speech[centres < -0.5].any()  # before the clip: the sink was silent
    assert not is_speech[np.argmin(abs(centres - gap_centre))]  # the pause between them
    speech_centres = centres[is_speech]
    assert all(any(s - 1.5 < c < e + 1.5 for s, e in speech_s) for c in speech_centres)
    audio, rate = sf.read(folder / "audio.wav")
    assert len(audio) / rate > bounds[-1]  # the session recorded the whole clip
