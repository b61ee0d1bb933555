"""The window as users start it: `moodline --open FILE`, `--start`, `--aid` as a process.

Requests made while the model loads wait for it. The hidden `--dump-timeline FILE` writes what
the window shows when it quits and `--quit-when-ready` quits once the requests are carried out
(CI uses the same flags under Xvfb; here Qt draws offscreen). Live tests need the PulseAudio
server of scripts/test, whose default source is the null sink's monitor.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from moodline.engine.session import AUDIO_FILE, POINTS_FILE, SESSION_FILE, TIMELINE_FILE

MOODLINE = str(Path(sys.executable).with_name("moodline"))
SINK = "moodline_null"
RATE = 16000
WAV_HEADER_BYTES = 44


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def pulse():
    assert shutil.which("paplay"), "PulseAudio tools are needed (scripts/system-packages --test)"
    info = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    assert SINK in info.stdout, "run the tests through scripts/test, which starts PulseAudio with a null sink"


@pytest.fixture
def window_args(tmp_path, model_path):
    """The options every window here gets: the test model, private settings and sessions."""
    return ["--model", str(model_path), "--settings-file", str(tmp_path / "settings" / "moodline.ini"),
            "--sessions-dir", str(tmp_path / "sessions"), "--dump-timeline", str(tmp_path / "shown.json")]


def window(*args, umask=0o022):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([MOODLINE, *args], env=env, umask=umask, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def test_open_from_start_up_shows_the_files_timeline(tmp_path, window_args, model_path, conversation_wav):
    code, err = finished(window("--open", str(conversation_wav), "--quit-when-ready", *window_args))
    assert code == 0, err
    shown = json.loads((tmp_path / "shown.json").read_text())
    assert shown["error"] is None and shown["file"] == str(conversation_wav)
    # The window shows exactly the timeline `moodline analyze` computes for the file.
    analysed = subprocess.run([MOODLINE, "analyze", str(conversation_wav), "--model", str(model_path),
                               "--format", "json"], capture_output=True, text=True, check=True)
    expected = json.loads(analysed.stdout)
    assert shown["timeline"] == expected["timeline"] and len(shown["timeline"]) > 20
    assert shown["duration_s"] == pytest.approx(expected["duration_s"], abs=0.05)
    assert mode(tmp_path / "settings" / "moodline.ini") == 0o600


def test_a_broken_file_from_start_up_is_one_line_and_exit_2(tmp_path, window_args):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    code, err = finished(window("--open", str(broken), "--quit-when-ready", *window_args))
    assert code == 2 and "Traceback" not in err
    ours = [line for line in err.splitlines() if line.startswith("moodline: ")]
    assert len(ours) == 1 and "Could not open the recording" in ours[0] and str(broken) in ours[0]
    assert "broken.wav" in json.loads((tmp_path / "shown.json").read_text())["error"]


def wait_for_audio(folder_glob, proc, timeout_s=20.0) -> Path:
    """The session folder once its audio.wav holds samples (the input is delivering)."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the window did not start recording"
        folders = [p.parent for p in folder_glob() if (p.parent / AUDIO_FILE).is_file()]
        if folders and os.path.getsize(folders[0] / AUDIO_FILE) > WAV_HEADER_BYTES:
            return folders[0]
        time.sleep(0.02)


@pytest.mark.parametrize("signal_number", [signal.SIGHUP, signal.SIGINT], ids=["SIGHUP", "SIGINT"])
def test_start_and_aid_from_start_up_then_a_signal_finishes_the_session(pulse, tmp_path, window_args, speech,
                                                                        signal_number):
    clip = tmp_path / "speech.wav"
    sf.write(clip, speech, RATE)
    sessions = tmp_path / "sessions"
    app = window("--device", "pulse", "--start", "--aid", *window_args, umask=0o000)
    try:
        folder = wait_for_audio(lambda: sessions.glob(f"*/{SESSION_FILE}"), app)
        heard_from = time.monotonic() - 0.25  # audio reaches the file every 0.5 s
        player = subprocess.Popen(["paplay", f"--device={SINK}", str(clip)])
        time.sleep(3.5)
        app.send_signal(signal_number)
        heard_s = time.monotonic() - heard_from
        code, err = finished(app, timeout=30)
        player.kill()
    finally:
        if app.poll() is None:
            app.kill()
    assert code == 0, err
    shown = json.loads((tmp_path / "shown.json").read_text())
    # --device pulse: the server's default source, by its name (the null sink's monitor)
    assert shown["folder"] == str(folder) and shown["file"] == "input: Monitor of Null Output"
    assert any(p["is_speech"] for p in shown["timeline"])
    assert shown["aid"].lower() in shown["labels"]  # the aid view shows the heard emotion
    saved = json.loads((folder / TIMELINE_FILE).read_text())  # the session was finished
    assert saved["timeline"] == shown["timeline"]
    duration_s = sf.info(folder / AUDIO_FILE).duration
    assert shown["audio_s"] == pytest.approx(duration_s, abs=1e-3)
    assert abs(duration_s - heard_s) <= 1.0, (duration_s, heard_s)
    assert mode(sessions) == mode(folder) == 0o700
    assert {mode(p) for p in folder.iterdir()} == {0o600}
    assert mode(tmp_path / "settings" / "moodline.ini") == 0o600


def test_a_window_killed_mid_session_leaves_a_session_the_window_reopens(pulse, tmp_path, window_args):
    sessions = tmp_path / "sessions"
    app = window("--device", "pulse", "--start", *window_args)
    try:
        folder = wait_for_audio(lambda: sessions.glob(f"*/{SESSION_FILE}"), app)
        heard_from = time.monotonic() - 0.25
        time.sleep(3.0)
        app.kill()
        heard_s = time.monotonic() - heard_from
        app.communicate(timeout=10)
    finally:
        if app.poll() is None:
            app.kill()
    assert not (folder / TIMELINE_FILE).exists()
    duration_s = sf.info(folder / AUDIO_FILE).duration
    assert heard_s - 1.0 <= duration_s <= heard_s + 0.5, (duration_s, heard_s)
    journal = [json.loads(line) for line in (folder / POINTS_FILE).read_text().splitlines()]
    assert len(journal) >= 2

    code, err = finished(window("--open", str(folder), "--quit-when-ready", *window_args))
    assert code == 0, err
    shown = json.loads((tmp_path / "shown.json").read_text())
    assert shown["folder"] == str(folder) and shown["timeline"] == journal
    assert shown["audio_s"] == pytest.approx(duration_s, abs=1e-3)  # the audio is there to play
