import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence, tone
from model_factory import make_model
from moodline.engine import cli


@pytest.fixture
def run(capsys, model_path):
    """Run ``moodline ARGS --model tiny`` in-process: (exit code, stdout, stderr)."""
    def run(*args, model=True):
        extra = ["--model", str(model_path)] if model and args[0] in ("analyze", "listen", "info") else []
        code = cli.main([*args, *extra])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def files(tmp_path, conversation):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    sf.write(folder / "talk.wav", conversation, RATE)
    sf.write(folder / "sub" / "quiet.flac", silence(4), RATE)
    return folder


def test_json_lines_one_object_per_file(run, files):
    code, out, err = run("analyze", str(files), "--format", "json")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["file"]).name for r in records] == ["quiet.flac", "talk.wav"]
    quiet, talk = records
    assert quiet["summary"]["label"] is None
    assert talk["summary"]["label"] in talk["labels"]
    assert set(talk["summary"]["probabilities"]) == set(talk["labels"]) == set(talk["summary"]["shares"])
    assert talk["duration_s"] == pytest.approx(len(sf.read(files / "talk.wav")[0]) / RATE, abs=1e-3)
    point = talk["timeline"][10]
    assert set(point) == {"start_s", "end_s", "is_speech", "clipped", "voice", "label", "confidence", "probabilities"}
    assert point["clipped"] is False and point["voice"] is None  # no voice enrolled: nobody told apart


def test_out_dir_gets_a_timeline_per_file_and_a_summary(run, files, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run("analyze", str(files), "--out", str(out_dir))
    assert code == 0, err
    rows = list(csv.DictReader((out_dir / "talk.wav.csv").open()))
    assert rows[0].keys() >= {"start_s", "end_s", "is_speech", "label", "confidence", "happy"}
    assert any(r["is_speech"] == "1" for r in rows) and any(r["is_speech"] == "0" for r in rows)
    assert (out_dir / "sub" / "quiet.flac.csv").exists()
    summary = list(csv.DictReader((out_dir / "summary.csv").open()))
    assert {Path(r["file"]).name: r["label"] for r in summary}["quiet.flac"] == ""
    assert "talk.wav" in out  # the human summary still goes to the terminal


def test_a_summary_written_before_clipping_was_measured_is_kept_and_extended(run, files, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    labels = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    old_header = ["file", "duration_s", "label", "speech_s", *(f"p_{l}" for l in labels), *(f"share_{l}" for l in labels)]
    old_row = ["/archive/old.wav", "12.000", "sad", "8.500", *["0.125000"] * 8, *(["0.000000"] * 3 + ["1.000000"] + ["0.000000"] * 4)]
    (out_dir / "summary.csv").write_text(",".join(old_header) + "\n" + ",".join(old_row) + "\n")
    code, _, err = run("analyze", str(files), "--out", str(out_dir))
    assert code == 0, err
    rows = {Path(r["file"]).name: r for r in csv.DictReader((out_dir / "summary.csv").open())}
    assert set(rows) == {"old.wav", "talk.wav", "quiet.flac"}
    assert rows["old.wav"]["clipped_s"] == "" and rows["old.wav"]["label"] == "sad"  # unknown, not 0
    assert rows["old.wav"]["share_sad"] == "1.000000"
    assert rows["talk.wav"]["clipped_s"] == "0.000"


def test_plain_run_prints_a_readable_summary(run, files):
    code, out, _ = run("analyze", str(files / "talk.wav"))
    assert code == 0
    assert "talk.wav" in out and "no speech" in out
    # Times read as a clock (m:ss), not as seconds: "talk.wav  0:16  happy (…, 40% of 0:06 speech)".
    assert re.search(r"talk\.wav  0:\d\d  \w+ \(mean p=[01]\.\d\d, \d+% of 0:\d\d speech\)", out), out
    assert re.search(r"^ +0:\d\d – +0:\d\d  ", out, re.MULTILINE), out  # the segments


@pytest.mark.parametrize("name, content, message", [
    ("missing.wav", None, "no such file or folder"),
    ("empty", "folder", "no audio files in this folder"),
    ("zero.wav", b"", "empty file"),
    ("junk.flac", b"fLaC" + bytes(300), "not a readable audio file"),
    ("notes.txt", b"hello", "not a supported audio file"),
])
def test_bad_input_is_one_line_and_the_batch_goes_on(run, files, tmp_path, name, content, message):
    bad = tmp_path / name
    if content == "folder":
        bad.mkdir()
    elif content is not None:
        bad.write_bytes(content)
    code, out, err = run("analyze", str(bad), str(files / "talk.wav"), "--format", "json")
    assert code == 2
    assert len(out.splitlines()) == 1 and json.loads(out)["file"].endswith("talk.wav")  # still analysed
    assert f"moodline: {bad}: {message}" in err
    assert err.count("\n") == 3  # the error, then the closing list of failures
    assert "Traceback" not in err


def test_nan_audio_is_refused(run, tmp_path):
    samples = tone(300, 2.0)
    samples[5] = np.inf
    sf.write(tmp_path / "inf.wav", samples, RATE, subtype="FLOAT")
    code, _, err = run("analyze", str(tmp_path / "inf.wav"))
    assert code == 2 and "inf.wav: contains NaN or infinite samples" in err


def test_missing_or_corrupt_model(run, files, tmp_path):
    code, _, err = run("analyze", str(files), "--model", str(tmp_path / "no.onnx"), model=False)
    assert code == 2 and "no.onnx: model file not found" in err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    code, _, err = run("analyze", str(files), "--model", str(bad), model=False)
    assert code == 2 and "bad.onnx: not a loadable ONNX model" in err and "Traceback" not in err
    broken = make_model(tmp_path / "broken.onnx", metadata={"labels": None})
    code, _, err = run("analyze", str(files), "--model", str(broken), model=False)
    assert code == 2 and err.strip() == f"moodline: {broken}: metadata key 'labels' is missing"


def test_info_shows_the_models_metadata_and_providers(run):
    code, out, _ = run("info")
    assert code == 0
    assert "Execution providers usable here: CPUExecutionProvider" in out
    assert "labels: neutral, calm, happy" in out and "16000 Hz" in out and "provenance: test model" in out


def test_console_script_analyses_without_importing_tensorflow(files, model_path):
    code = ("import sys; from moodline.engine.cli import main;"
            f"rc = main(['analyze', {str(files)!r}, '--model', {str(model_path)!r}, '--format', 'json']);"
            "assert not any(m.split('.')[0] == 'tensorflow' for m in sys.modules), 'tensorflow imported';"
            "sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    exe = Path(sys.executable).with_name("moodline")
    result = subprocess.run([str(exe), "analyze", str(files / "nothing.wav")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) >= 1


def test_a_window_too_short_for_the_model_is_one_clear_line(run, files, tmp_path):
    flat = make_model(tmp_path / "flat.onnx", kind="flat", window_s=2.0)
    code, _, err = run("analyze", str(files / "talk.wav"), "--model", str(flat), "--window", "1.0", model=False)
    assert code == 2
    assert "flat.onnx: the model failed on windows of 97 frames" in err and "Traceback" not in err


def test_the_options_default_to_the_engines_settings(model_path, tmp_path):
    """One source of truth: what `analyze` and `listen` do without options is what the engine's
    settings say (and the window starts from the same; tests/desktop/test_desktop_settings.py).
    The unsure line is the model's own when its file gives one (listen shows it: test_listen.py)."""
    from moodline.engine.analysis import AnalysisSettings
    from moodline.engine.model import EmotionModel
    from moodline.engine.readout import StabilizerSettings

    parser = cli._parser()
    for argv in (["analyze", "x.wav"], ["listen"]):
        assert cli._settings(parser.parse_args(argv)) == AnalysisSettings()
    assert cli._stabilizer_settings(parser.parse_args(["listen"]), EmotionModel(model_path)) == StabilizerSettings().for_model(None)
    own_line = EmotionModel(make_model(tmp_path / "own.onnx", metadata={"unsure_threshold": "0.55"}))
    assert cli._stabilizer_settings(parser.parse_args(["listen"]), own_line).unsure_threshold == 0.55
    given = parser.parse_args(["listen", "--unsure", "0.3"])
    assert cli._stabilizer_settings(given, own_line).unsure_threshold == 0.3


@pytest.mark.parametrize("option, message", [
    (["--hold", "-1"], "moodline: hold must be between 0 and 30 seconds, not -1"),
    (["--unsure", "1.5"], "moodline: the unsure threshold is a probability between 0 and 1, not 1.5"),
])
def test_a_bad_listen_setting_is_one_clear_line(run, option, message):
    code, out, err = run("listen", *option)
    assert code == 2 and err.strip() == message


def speech_probabilities(run, wav: Path, model: Path, *options: str) -> np.ndarray:
    """``moodline analyze WAV --format json``: the probabilities of each speech window (windows, labels)."""
    code, out, err = run("analyze", str(wav), "--format", "json", "--model", str(model), *options, model=False)
    assert code == 0, err
    record = json.loads(out)
    return np.array([[p["probabilities"][label] for label in record["labels"]]
                     for p in record["timeline"] if p["is_speech"]])


def test_no_adapt_changes_nothing_for_a_model_that_does_not_adapt(run, files, model_path):
    talk = files / "talk.wav"
    assert np.array_equal(speech_probabilities(run, talk, model_path, "--no-adapt"),
                          speech_probabilities(run, talk, model_path))


def test_no_adapt_judges_every_window_on_its_own(run, files, model_path, tmp_path):
    """A model that adapts reads each window relative to the voice heard so far in the file;
    --no-adapt gives the model's own answer, as the same model without adaptation gives it."""
    adapts = make_model(tmp_path / "adapts.onnx", window_s=2.0, prior_windows=4.0)  # model_path's weights
    talk = files / "talk.wav"  # two utterances of about 4 s
    adapted = speech_probabilities(run, talk, adapts)
    own = speech_probabilities(run, talk, adapts, "--no-adapt")
    assert adapted.shape == own.shape and len(own) >= 10
    np.testing.assert_allclose(own, speech_probabilities(run, talk, model_path), atol=1e-6)
    assert np.all(np.abs(adapted - own).max(axis=1) > 0.05)  # every speech window reads differently
