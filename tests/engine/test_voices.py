"""Enrolled voices: ``moodline calibrate --voice NAME`` keeps a person's ordinary speech
privately, and ``--voice NAME`` starts a session's adaptation from it."""
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence
from model_factory import make_model
from moodline.engine import cli
from moodline.engine.analysis import analyze_file
from moodline.engine.features import FeatureSpec
from moodline.engine.model import EmotionModel
from moodline.engine.speakers import Enrolment
from moodline.engine.voices import enrolled_voice

MOODLINE = str(Path(sys.executable).with_name("moodline"))


@pytest.fixture(scope="module")
def adapting(tmp_path_factory):
    """A tiny model that adapts to the voice (prior: 4 windows)."""
    spec = FeatureSpec(n_fft=400)
    return make_model(tmp_path_factory.mktemp("voices") / "adapting.onnx", window_s=2.0, spec=spec,
                      prior_windows=4.0, weights=np.random.default_rng(0).normal(0, 0.3, (spec.n_features, 8)))


@pytest.fixture
def voices(tmp_path, monkeypatch):
    folder = tmp_path / "voices"
    monkeypatch.setenv("MOODLINE_VOICES_DIR", str(folder))
    return folder


@pytest.fixture
def run(capsys):
    def run(*args):
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def padded(audio: np.ndarray, step_s: float = 1.5) -> np.ndarray:
    """``audio`` with silence after it up to a whole number of ``step_s`` (hops and VAD frames)."""
    step = round(step_s * RATE)
    return np.concatenate([audio, np.zeros(-len(audio) % step, np.float32)])


def speech_probabilities(out: str) -> list[list[float]]:
    record = json.loads(out.splitlines()[0])
    return [[p["probabilities"][k] for k in sorted(p["probabilities"])]
            for p in record["timeline"] if p["is_speech"]]


def test_an_enrolled_voice_is_read_from_the_first_word_as_a_session_that_heard_it(
        tmp_path, run, voices, adapting, conversation, speech):
    enrolment = padded(np.concatenate([speech, silence(1), speech, silence(1), speech, silence(1)]))
    talk = padded(conversation)
    sf.write(tmp_path / "enrol.wav", enrolment, RATE)
    sf.write(tmp_path / "talk.wav", talk, RATE)
    sf.write(tmp_path / "both.wav", np.concatenate([enrolment, talk]), RATE)

    code, _, err = run("calibrate", "--voice", "Ann Lee", "--from", tmp_path / "enrol.wav", "--model", adapting)
    assert code == 0, err
    assert "Voice 'Ann Lee' enrolled from" in err
    stored = voices / "Ann Lee.wav"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600  # a person's voice is personal data
    assert run("calibrate", "--list")[1].split("\n")[0] == "Ann Lee"

    def analysed(path, *extra):
        code, out, err = run("analyze", path, "--format", "json", "--model", adapting, *extra)
        assert code == 0, err
        return np.array(speech_probabilities(out))

    # The adaptation starts from the enrolment: for one voice, that is hearing it first in the
    # same session (the engine's own enrolment, without telling voices apart).
    model = EmotionModel(adapting)
    enrolment = enrolled_voice("Ann Lee", model)
    one_voice = Enrolment("Ann Lee", None, enrolment.baseline)
    speech_of = lambda t: np.array([[p.probabilities[k] for k in sorted(p.probabilities)]  # noqa: E731
                                    for p in t.points if p.is_speech])
    started = speech_of(analyze_file(tmp_path / "talk.wav", model, enrolment=one_voice))
    heard_first = analysed(tmp_path / "both.wav")[-len(started):]
    np.testing.assert_allclose(started, heard_first, atol=1e-4)
    # Through the command line, --voice also tells Ann's voice from others: her words are hers,
    # read from the first one against her enrolment.
    code, out, err = run("analyze", tmp_path / "talk.wav", "--format", "json", "--model", adapting, "--voice", "Ann Lee")
    assert code == 0, err
    points = [p for p in json.loads(out.splitlines()[0])["timeline"] if p["is_speech"]]
    assert [p["voice"] for p in points].count("me") >= 0.8 * len(points)
    enrolled, fresh = analysed(tmp_path / "talk.wav", "--voice", "Ann Lee"), analysed(tmp_path / "talk.wav")
    first_mine = next(i for i, p in enumerate(points) if p["voice"] == "me")
    assert np.abs(enrolled[first_mine] - fresh[first_mine]).max() > 1e-3  # it changes what her words say

    assert run("calibrate", "--forget", "Ann Lee")[0] == 0
    assert not stored.exists()


def test_too_little_speech_keeps_nothing_and_says_why(tmp_path, run, voices, adapting, speech):
    sf.write(tmp_path / "short.wav", np.concatenate([silence(5), speech, silence(5)]), RATE)
    code, _, err = run("calibrate", "--voice", "ann", "--from", tmp_path / "short.wav", "--model", adapting)
    assert code == 2
    assert err.startswith("moodline: voice 'ann': heard ") and "nothing saved" in err and err.count("\n") == 1
    assert not any(voices.iterdir())  # no voice, no trial recording left behind


@pytest.mark.parametrize("args, message", [
    (["analyze", "{talk}", "--voice", "bob", "--model", "{adapting}"], "no voice named 'bob' (enrolled: ann)"),
    (["listen", "--voice", "bob", "--model", "{adapting}"], "no voice named 'bob'"),
    (["calibrate", "--voice", "../ann", "--from", "{talk}"], "voice name '../ann': use 1 to 40 letters"),
    (["calibrate", "--voice", "con", "--from", "{talk}"], "voice name 'con'"),
    (["calibrate", "--voice", "x", "--seconds", "nan"], "--seconds must be from 8 to 120"),
    (["calibrate", "--voice", "x", "--from", "{talk}", "--device", "pulse"], "give one of them"),
    (["calibrate", "--forget", "bob"], "no voice named 'bob'"),
])
def test_a_wrong_voice_is_one_line_and_exit_2(tmp_path, run, voices, adapting, model_path, conversation,
                                             args, message):
    voices.mkdir(mode=0o700)
    sf.write(voices / "ann.wav", conversation, RATE)
    sf.write(tmp_path / "talk.wav", conversation, RATE)
    given = [a.format(talk=tmp_path / "talk.wav", adapting=adapting, plain=model_path) for a in args]
    code, out, err = run(*given)
    assert code == 2 and out == ""
    assert err.startswith("moodline: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("model, extra", [("adapting", ["--no-adapt"]), ("plain", [])])
def test_a_voice_is_told_apart_without_adaptation_too(tmp_path, run, voices, adapting, model_path, conversation,
                                                      model, extra):
    """A model that does not adapt (or --no-adapt) still tells the enrolled voice from others."""
    voices.mkdir(mode=0o700)
    sf.write(voices / "ann.wav", conversation, RATE)
    sf.write(tmp_path / "talk.wav", conversation, RATE)
    path = adapting if model == "adapting" else model_path
    code, out, err = run("analyze", tmp_path / "talk.wav", "--voice", "ann", "--model", path, "--format", "json", *extra)
    assert code == 0, err
    heard = [p["voice"] for p in json.loads(out)["timeline"] if p["is_speech"]]
    assert heard and heard.count("me") >= 0.8 * len(heard)  # Ann's own recording is Ann


def test_a_voice_enrolled_from_the_microphone(tmp_path, voices, adapting, speech):
    """``moodline calibrate`` as a user runs it, recording PulseAudio's null sink (scripts/test)."""
    talk = tmp_path / "talk.wav"
    sf.write(talk, np.concatenate([np.concatenate([speech, silence(0.3)])] * 4), RATE)
    env = {**os.environ, "MOODLINE_VOICES_DIR": str(voices)}
    proc = subprocess.Popen([MOODLINE, "calibrate", "--voice", "me", "--device", "pulse", "--seconds", "12",
                             "--model", str(adapting)], stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()
    assert line.startswith("Recording 'pulse': speak normally for 12 s"), line + proc.stderr.read()
    player = threading.Thread(target=subprocess.run, args=(["paplay", "--device=moodline_null", str(talk)],))
    player.start()
    started = time.monotonic()
    _, err = proc.communicate(timeout=60)
    player.join()
    assert proc.returncode == 0, err
    assert time.monotonic() - started >= 11.0  # it listened for the time it said
    assert "Voice 'me' enrolled from" in err
    recorded, rate = sf.read(voices / "me.wav")
    assert len(recorded) / rate == pytest.approx(12.0, abs=0.01)
    assert stat.S_IMODE((voices / "me.wav").stat().st_mode) == 0o600
