"""The live path for real: a recording is played into PulseAudio's null sink (scripts/test
starts the server) and ``moodline listen`` records the sink's monitor through sounddevice."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE
from model_factory import LABELS, make_model
from moodline.engine.features import FeatureSpec
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
    # Before the first words the live line says it is listening; pauses hold the last label.
    assert "(listening)" in stdout and "(no speech)" not in stdout
    assert data["summary"]["label"] in stdout


def live_words(stdout):
    """The word of each live line ("0:12  angry  0.72 ███"): one line per window when stdout is
    not a terminal."""
    return [m.group(1) for m in re.finditer(r"^ *\d+:\d\d  (\S+)", stdout, re.MULTILINE)]


@pytest.fixture(scope="module")
def jumpy_model_path(tmp_path_factory):
    """A tiny model that answers confidently by the shape of the spectrum, not its level: on
    speech its label changes every second or two (as a real model's can)."""
    weights = np.random.default_rng(0).normal(0, 5.0, (FeatureSpec().n_features, len(LABELS)))
    weights -= weights.mean(axis=0)  # a louder or quieter window alone changes nothing
    return make_model(tmp_path_factory.mktemp("models") / "jumpy.onnx", window_s=2.0, weights=weights)


def test_listen_shows_the_calm_label_of_the_aid_and_records_the_raw_one(pulse, jumpy_model_path,
                                                                        conversation_wav, tmp_path):
    hold_s = 3.0
    out = tmp_path / "live.json"
    seconds = len(sf.read(conversation_wav)[0]) / RATE + 4
    proc = start_listen(jumpy_model_path, out, "--seconds", f"{seconds:.1f}", "--hold", f"{hold_s:g}")
    time.sleep(1.0)
    play(conversation_wav)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    data = json.loads(out.read_text())
    timeline = data["timeline"]
    hop_s = timeline[1]["start_s"] - timeline[0]["start_s"]
    words = live_words(stdout)
    assert len(words) == len(timeline)  # a line per window
    assert set(words) <= {*data["labels"], "unsure", "(listening)"}
    # The recorded timeline keeps each window's own label, and those flip faster than the hold
    # (the jumpy model): what the live line must not do.
    raw = [p["label"] for p in timeline if p["is_speech"]]
    raw_changes = [i for i in range(1, len(raw)) if raw[i] != raw[i - 1]]
    assert any((b - a) * hop_s < hold_s for a, b in zip(raw_changes, raw_changes[1:])), raw
    shown = [i for i in range(1, len(words)) if words[i] != words[i - 1]]
    assert shown, words  # it does show something once speech comes
    for a, b in zip(shown, shown[1:]):  # after the first reading, each word stays the hold
        assert (b - a) * hop_s >= hold_s - 1e-6, words


def test_listen_says_unsure_below_the_models_own_line_unless_told_another(pulse, speech, tmp_path):
    """The model's file gives its "unsure" line (here 0.1): listen uses it, and --unsure overrides it."""
    weights = np.zeros((FeatureSpec().n_features, len(LABELS)))  # every emotion 1/8, always
    model = make_model(tmp_path / "own_line.onnx", window_s=2.0, weights=weights,
                       metadata={"unsure_threshold": "0.1"})
    wav = tmp_path / "speech.wav"
    sf.write(wav, speech, RATE)
    seconds = len(speech) / RATE + 4
    shown = {}
    for name, options in (("own line", []), ("--unsure 0.2", ["--unsure", "0.2"])):
        proc = start_listen(model, tmp_path / f"{len(shown)}.json", "--seconds", f"{seconds:.1f}", *options)
        time.sleep(1.0)
        play(wav)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        shown[name] = set(live_words(stdout)) - {"(listening)"}
    # 1/8 is above 0.1 and below 0.2; of eight equal emotions the first shows
    assert shown == {"own line": {"neutral"}, "--unsure 0.2": {"unsure"}}


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
