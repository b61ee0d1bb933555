"""The live path for real: a recording is played into PulseAudio's null sink (scripts/test
starts the server) and ``moodline listen`` records the sink's monitor through sounddevice."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from audio_fixtures import RATE
from moodline.engine import cli

SINK = "moodline_null"
MOODLINE = str(Path(sys.executable).with_name("moodline"))


def runs(flags):
    """(start index, length) of each run of True."""
    out, start = [], None
    for i, flag in enumerate(flags + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append((start, i - start))
            start = None
    return out


@pytest.fixture(scope="module")
def pulse():
    assert shutil.which("paplay"), "PulseAudio tools are needed (scripts/system-packages --test)"
    info = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    assert SINK in info.stdout, "run the tests through scripts/test, which starts PulseAudio with a null sink"


def start_listen(model_path, out, *extra):
    proc = subprocess.Popen([MOODLINE, "listen", "--device", "pulse", "--model", str(model_path),
                             "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # "Listening to ..." once the microphone is open
    assert line.startswith("Listening to 'pulse'"), line + proc.stderr.read()
    return proc


def play(path):
    subprocess.run(["paplay", f"--device={SINK}", str(path)], check=True)


def check_speech_where_speech_was(points, speech_s):
    """Two speech runs as long as the two utterances, a ~4 s gap of silence between them."""
    flags = [p["is_speech"] for p in points]
    speech_runs = runs(flags)
    assert len(speech_runs) == 2, "".join("S" if f else "." for f in flags)
    hop = points[1]["start_s"] - points[0]["start_s"]
    (a, a_len), (b, b_len) = speech_runs
    for length in (a_len, b_len):  # a window counts as speech while it overlaps the utterance
        assert speech_s - 1.5 <= length * hop <= speech_s + 3.0
    gap_s = (b - a - a_len) * hop
    assert 1.0 <= gap_s <= 4.0  # 4 s of silence, less the windows that straddle speech
    assert not any(flags[:a]) and a > 0  # silence before the first utterance


def test_listen_shows_speech_where_the_recording_has_speech(pulse, model_path, conversation_wav, speech, tmp_path):
    out = tmp_path / "live.json"
    seconds = len(sf.read(conversation_wav)[0]) / RATE + 4
    proc = start_listen(model_path, out, "--seconds", f"{seconds:.1f}")
    time.sleep(1.0)
    play(conversation_wav)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    data = json.loads(out.read_text())
    check_speech_where_speech_was(data["timeline"], len(speech) / RATE)
    assert data["summary"]["label"] in data["labels"]
    assert "(no speech)" in stdout and data["summary"]["label"] in stdout


def test_ctrl_c_stops_cleanly_and_keeps_the_timeline(pulse, model_path, conversation_wav, speech, tmp_path):
    out = tmp_path / "interrupted.csv"
    proc = start_listen(model_path, out)
    time.sleep(1.0)
    play(conversation_wav)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("start_s,end_s,is_speech,label,confidence")
    assert sum(line.split(",")[2] == "1" for line in lines[1:]) >= 8


def test_devices_lists_pulseaudio(pulse, capsys):
    assert cli.main(["devices"]) == 0
    assert "Monitor of Null Output  (PulseAudio" in capsys.readouterr().out  # the server's name for it


def test_no_input_device_is_a_clear_error(monkeypatch, capsys, model_path):
    import sounddevice

    monkeypatch.setattr(sounddevice, "query_devices", lambda *a, **k: [
        {"name": "speakers", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000.0}])
    assert cli.main(["listen", "--model", str(model_path), "--seconds", "1"]) == 2
    assert capsys.readouterr().err.strip() == "moodline: audio input: no input device found (is a microphone connected?)"
    assert cli.main(["listen", "--device", "Studio Mic", "--model", str(model_path)]) == 2


def test_a_device_that_vanishes_keeps_the_timeline_so_far(pulse, model_path, tmp_path, monkeypatch, capsys):
    from moodline.engine import sources

    started = time.monotonic()
    monkeypatch.setattr(sources.MicrophoneSource, "active",
                        property(lambda self: self._stream is not None and time.monotonic() - started < 2.5))
    out = tmp_path / "cut.json"
    code = cli.main(["listen", "--device", "pulse", "--model", str(model_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "moodline: audio input 'pulse' stopped delivering audio" in err
    assert len(json.loads(out.read_text())["timeline"]) >= 1


def test_an_engine_failure_is_reported_and_the_timeline_kept(pulse, model_path, conversation_wav, tmp_path,
                                                             monkeypatch, capsys):
    from moodline.engine.model import EmotionModel

    monkeypatch.setattr(EmotionModel, "predict", lambda self, x: (_ for _ in ()).throw(MemoryError("out of memory")))
    out = tmp_path / "failed.csv"
    player = subprocess.Popen(["paplay", f"--device={SINK}", str(conversation_wav)])
    try:
        code = cli.main(["listen", "--device", "pulse", "--model", str(model_path), "--out", str(out),
                         "--seconds", "15"])
    finally:
        player.kill()
    err = capsys.readouterr().err
    assert code == 2 and "moodline: engine stopped: out of memory" in err
    assert out.read_text().startswith("start_s,end_s")
