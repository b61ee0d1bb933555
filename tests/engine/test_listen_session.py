"""`moodline listen --out DIR` for real: a session recorded as it goes, ended by Ctrl-C,
SIGTERM, SIGHUP or kill -9 while speech plays into PulseAudio's null sink (scripts/test
starts the server), then checked on disk: audio, timeline, file modes, and that it reopens.
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

import numpy as np
import pytest
import soundfile as sf

from moodline.engine import cli
from moodline.engine.session import AUDIO_FILE, POINTS_FILE, SESSION_FILE, TIMELINE_FILE, open_session

SINK = "moodline_null"
MOODLINE = str(Path(sys.executable).with_name("moodline"))
HOP_S = 0.5
WINDOW_S = 2.0  # the tiny test model's window


def points_for(heard_s: float) -> int:
    """Windows a session of ``heard_s`` seconds yields before its last, padded one."""
    return int((heard_s - WINDOW_S) / HOP_S) + 1


@pytest.fixture(scope="module")
def pulse():
    assert shutil.which("paplay"), "PulseAudio tools are needed (scripts/system-packages --test)"
    info = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    assert SINK in info.stdout, "run the tests through scripts/test, which starts PulseAudio with a null sink"


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory, speech):
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    sf.write(path, speech, 16000)
    return path


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class Listening:
    """A `moodline listen` process, from its "Listening" line (audio flows) to its end."""

    def __init__(self, model_path, out, umask=0o022):
        self.proc = subprocess.Popen([MOODLINE, "listen", "--device", "pulse", "--model", str(model_path),
                                      "--out", str(out)], umask=umask,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.first = self.proc.stderr.readline()
        self.started = time.monotonic()
        assert self.first.startswith("Listening to 'pulse'"), self.first + self.proc.stderr.read()

    def end(self, signal_number):
        self.proc.send_signal(signal_number)
        ended = time.monotonic()
        self.proc.wait(30)
        self.out, self.err = self.proc.stdout.read(), self.first + self.proc.stderr.read()
        return ended - self.started  # seconds of audio the input delivered before the signal


def play_and_signal(model_path, folder, speech_wav, signal_number, umask):
    listen = Listening(model_path, folder, umask)
    time.sleep(0.5)
    player = subprocess.Popen(["paplay", f"--device={SINK}", str(speech_wav)])
    time.sleep(3.0)  # the signal comes while the speech still plays
    assert player.poll() is None
    heard_s = listen.end(signal_number)
    player.kill()
    player.wait(10)
    return listen, heard_s


def check_audio(folder, heard_s, lost_at_most_s):
    audio, rate = sf.read(folder / AUDIO_FILE, dtype="float32")
    duration_s = len(audio) / rate
    assert heard_s - lost_at_most_s <= duration_s <= heard_s + 0.3, (duration_s, heard_s)
    quiet = np.abs(audio[: int(0.4 * rate)]).max()
    loud = np.abs(audio[int(0.8 * rate):]).max()  # the speech started 0.5 s in
    assert quiet < 0.01 and loud > 0.1, (quiet, loud)
    return duration_s


def check_private(folder):
    assert mode(folder) == 0o700
    for name in os.listdir(folder):
        assert mode(folder / name) == 0o600, name


@pytest.mark.parametrize("signal_number, umask", [(signal.SIGINT, 0o022), (signal.SIGTERM, 0o000)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_session_cleanly(pulse, model_path, speech_wav, tmp_path, signal_number, umask):
    folder = tmp_path / "new" / "session"  # the parent is created too
    listen, heard_s = play_and_signal(model_path, folder, speech_wav, signal_number, umask)
    assert listen.proc.returncode == 0, listen.err
    assert "Traceback" not in listen.err and f"Session saved in {folder}" in listen.err
    assert "session  " in listen.out  # the summary is printed

    check_audio(folder, heard_s, lost_at_most_s=0.3)
    saved = json.loads((folder / TIMELINE_FILE).read_text())
    points = saved["timeline"]
    assert len(points) >= points_for(heard_s) and any(p["is_speech"] for p in points)
    assert saved["file"] == "input: pulse"
    journal = [json.loads(line) for line in (folder / POINTS_FILE).read_text().splitlines()]
    assert journal == points
    info = json.loads((folder / SESSION_FILE).read_text())
    assert info["sample_rate_hz"] == 16000 and info["source"] == "input: pulse"
    # What the session was judged with, as the window's sessions say (it used to be empty).
    assert info["settings"]["hop_s"] == 0.5 and info["settings"]["gate"] == "silero"
    assert info["settings"]["unsure_threshold"] == 0.4 and info["settings"]["hold_s"] == 2.0
    check_private(folder)
    assert mode(tmp_path / "new") == 0o700


def test_closing_the_terminal_ends_the_session_cleanly(pulse, model_path, speech_wav, tmp_path):
    """SIGHUP as a closed terminal sends it: every later write to the terminal fails (EIO)."""
    import pty

    folder = tmp_path / "session"
    terminal, its_side = pty.openpty()
    proc = subprocess.Popen([MOODLINE, "listen", "--device", "pulse", "--model", str(model_path),
                             "--out", str(folder)], stdin=its_side, stdout=its_side, stderr=its_side,
                            start_new_session=True, umask=0o000)
    os.close(its_side)
    shown = b""
    while b"Listening to 'pulse'" not in shown:
        chunk = os.read(terminal, 1000)
        assert chunk, shown
        shown += chunk
    started = time.monotonic()
    time.sleep(0.5)
    player = subprocess.Popen(["paplay", f"--device={SINK}", str(speech_wav)])
    time.sleep(2.5)
    os.close(terminal)  # the terminal window is closed: points printed from now on fail
    time.sleep(0.6)
    proc.send_signal(signal.SIGHUP)
    heard_s = time.monotonic() - started
    player.kill()
    assert proc.wait(30) == 0
    check_audio(folder, heard_s, lost_at_most_s=0.3)
    points = json.loads((folder / TIMELINE_FILE).read_text())["timeline"]
    assert len(points) >= points_for(heard_s) and any(p["is_speech"] for p in points)
    assert [json.loads(line) for line in (folder / POINTS_FILE).read_text().splitlines()] == points
    check_private(folder)


def test_kill_9_loses_at_most_a_second_and_the_session_reopens(pulse, model_path, speech_wav, tmp_path):
    folder = tmp_path / "killed"
    listen, heard_s = play_and_signal(model_path, folder, speech_wav, signal.SIGKILL, 0o000)
    assert listen.proc.returncode == -signal.SIGKILL
    duration_s = check_audio(folder, heard_s, lost_at_most_s=1.0)
    assert not (folder / TIMELINE_FILE).exists()
    check_private(folder)

    reopened = open_session(folder)  # the timeline comes back from the journal
    assert len(reopened.timeline.points) >= points_for(heard_s) - 2  # written every 0.5 s
    assert any(p.is_speech for p in reopened.timeline.points)
    assert len(reopened.audio) / reopened.sample_rate_hz == pytest.approx(duration_s)

    # The cut-short audio is a valid WAV that `moodline analyze` reads as complete.
    result = subprocess.run([MOODLINE, "analyze", str(folder / AUDIO_FILE), "--model", str(model_path),
                             "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duration_s"] == pytest.approx(duration_s, abs=0.01)


def test_the_output_place_is_checked_before_the_microphone_opens(model_path, tmp_path, monkeypatch, capsys):
    from moodline.engine import sources

    def no_microphone(*args, **kwargs):
        raise AssertionError("the microphone was opened")

    monkeypatch.setattr(sources, "MicrophoneSource", no_microphone)
    (tmp_path / "file").write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    file = tmp_path / "file"
    cases = [  # --out, the line on stderr
        (file, f"{file}: cannot create the folder (a file is in the way)"),
        (file / "session", f"{file / 'session'}: cannot create the folder (a file is in the way of a folder in this path)"),
        (full, f"{full}: the folder is not empty; choose a new or empty folder"),
        (file / "t.csv", f"{file}: cannot create the folder (a file is in the way)"),
    ]
    for out, message in cases:
        assert cli.main(["listen", "--model", str(model_path), "--out", str(out)]) == 2
        assert capsys.readouterr().err == f"moodline: {message}\n"
    assert (full / "notes.txt").read_text() == "mine" and sorted(os.listdir(full)) == ["notes.txt"]
    os.mkdir(tmp_path / "folder.json")
    assert cli.main(["listen", "--model", str(model_path), "--out", str(tmp_path / "folder.json")]) == 2
    assert "is a folder" in capsys.readouterr().err


def without_root_powers() -> list[str]:
    """A command prefix under which folder permissions apply (root may otherwise write anywhere)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_no_permission_for_the_output_is_one_line_before_listening(model_path, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    cases = [(locked / "session", f"{locked / 'session'}: cannot create the folder (permission denied)"),
             (locked / "t.json", f"{locked}: cannot write in this folder (permission denied)")]
    for out, message in cases:
        result = subprocess.run([*without_root_powers(), MOODLINE, "listen", "--model", str(model_path),
                                 "--out", str(out)], capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr) == (2, f"moodline: {message}\n")
    assert os.listdir(locked) == []


def test_a_session_that_cannot_start_leaves_no_folder(model_path, tmp_path, monkeypatch, capsys):
    import sounddevice

    monkeypatch.setattr(sounddevice, "query_devices", lambda *a, **k: [
        {"name": "speakers", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000.0}])
    folder = tmp_path / "never"
    assert cli.main(["listen", "--model", str(model_path), "--out", str(folder)]) == 2
    assert "no input device found" in capsys.readouterr().err
    assert not folder.exists()
