"""End to end on a tiny generated corpus: train, evaluate by speaker, export, run in the engine."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moodline.engine.audio import load_audio
from moodline.engine.model import EmotionModel
from moodline.engine.vad import SpeechDetector
from moodline.engine.windows import WindowGrid, WindowSlicer
from moodline.training.cli import main

from training_fixtures import make_ravdess, voice


def test_train_one_epoch_export_and_analyse_a_file_through_the_engine(tmp_path, capsys):
    data = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=2)
    out = tmp_path / "models" / "tiny.onnx"
    code = main(["train", "--data", f"ravdess={data}", "--epochs", "1", "--cv", "2", "--augment", "1",
                 "--window-s", "1.0", "--out", str(out), "--cache", str(tmp_path / "cache"), "--workers", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "fold 1 (1/2)  epoch   1/1" in printed and "clip UAR" in printed  # progress and summary table

    # The report and card sit next to the model, with both folds scored on their own speakers.
    report = json.loads(out.with_name("tiny.report.json").read_text())
    assert [len(s["test_speakers"]) for s in report["splits"]] == [2, 2]
    assert report["labels"] == ["neutral", "happy", "angry"]
    assert report["final"]["parity_max_abs_diff"] <= 1e-4
    card = out.with_name("tiny.md").read_text()
    assert "moodline train --data" in card and "UAR" in card and "CC BY-NC-SA 4.0" in card
    assert out.with_name("tiny.confusion-clip.png").exists()

    # The engine runs the file as it would in the app: its own windows, VAD and features.
    model = EmotionModel(out, prefer="cpu")
    assert model.info.labels == ("neutral", "happy", "angry")
    assert model.fixed_frames is None  # the default model accepts any window length
    grid = WindowGrid.for_seconds(model.info.features, model.info.window_s, 0.5)
    slicer = WindowSlicer(grid, SpeechDetector(model.info.sample_rate_hz))
    audio = load_audio(voice(tmp_path / "new.wav", 200, seconds=2.5, seed=99), model.info.sample_rate_hz)
    windows = slicer.push(audio) + slicer.flush()
    probs = model.predict(np.stack([w.features for w in windows]))
    assert probs.shape == (len(windows), 3) and len(windows) >= 4
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    longer = model.predict(np.concatenate([windows[0].features, windows[1].features])[None])
    assert longer.shape == (1, 3)

    # And the exported model can be scored again without TensorFlow's help.
    code = main(["evaluate", str(out), "--data", f"ravdess={data}", "--speakers", "03", "04",
                 "--report", str(tmp_path / "eval")])
    assert code == 0
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert evaluated["splits"][0]["test_speakers"] == ["ravdess:03", "ravdess:04"]
    assert evaluated["pooled"]["clip"]["n"] == 2 * 3 * 2


@pytest.mark.parametrize("name", ["cnn1d", "cnn_lstm"])
def test_seed_architectures_export_to_onnx_that_the_engine_loads(name, tmp_path):
    from moodline.engine.model import ModelInfo, Normalization
    from moodline.training.export import export_onnx
    from moodline.training.models import MODELS

    recipe = MODELS[name]
    info = ModelInfo(("neutral", "happy", "sad", "angry"), 1.0, recipe.features,
                     Normalization(np.zeros(recipe.features.n_features, np.float32),
                                   np.ones(recipe.features.n_features, np.float32)))
    frames = None if recipe.any_length else info.window_frames
    model = recipe.build(frames, recipe.features.n_features, 4)
    check = np.random.default_rng(0).normal(size=(4, info.window_frames, recipe.features.n_features)).astype(np.float32)
    assert export_onnx(model, info, tmp_path / f"{name}.onnx", check, any_length=recipe.any_length) <= 1e-4
    engine_model = EmotionModel(tmp_path / f"{name}.onnx", prefer="cpu")
    assert engine_model.predict(check).shape == (4, 4)


@pytest.mark.parametrize("name", ["vgg19", "resnet50", "inceptionv3"])
def test_imagenet_backbones_build_from_scratch_for_a_log_mel_window(name):
    from moodline.training.models import MODELS

    model = MODELS[name].build(49, 64, 8)
    assert model.output_shape == (None, 8)
    assert model.predict(np.zeros((1, 49, 64), np.float32), verbose=0).sum() == pytest.approx(1.0, abs=1e-5)


def test_whisper_encoder_model_trains_scores_held_out_corpora_and_runs_in_the_engine(tmp_path, capsys):
    """The encoder recipe end to end: cached embeddings, a corpus held out, a test condition, and
    an exported streaming file whose graph holds the whole encoder (a window's features and the
    cache in; probabilities, the pooled embedding and the hop's cache out) that the engine runs
    a hop at a time."""
    from training_fixtures import make_tess

    ravdess = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=1)
    tess = make_tess(tmp_path / "TESS")
    out = tmp_path / "models" / "encoder.onnx"
    notes = tmp_path / "choices.md"
    notes.write_text("### How this configuration was chosen\n\nTwo heads were compared on these folds.\n")
    code = main(["train", "--model", "whisper_tiny", "--notes", str(notes), "--data", f"ravdess={ravdess}", "--data", f"tess={tess}",
                 "--epochs", "1", "--cv", "2", "--loco", "--conditions", "gain_20db", "--augment", "0",
                 "--hidden", "16", "--window-s", "1.0", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--workers", "1"])
    assert code == 0
    report = json.loads(out.with_name("encoder.report.json").read_text())
    kinds = [s["kind"] for s in report["splits"]]
    assert kinds == ["cv", "cv", "loco", "loco"]
    loco = {s["name"]: s for s in report["splits"] if s["kind"] == "loco"}
    assert set(loco) == {"without ravdess", "without tess"}
    assert {sp.split(":")[0] for sp in loco["without tess"]["test_speakers"]} == {"tess"}
    assert loco["without tess"]["labels"] == ["neutral", "happy", "angry"]
    assert "clip_labels_changed" in loco["without tess"]["conditions"]["gain_20db"]
    card = out.with_name("encoder.md").read_text()
    assert "Leave one corpus out" in card and "gain_20db" in card
    assert "Two heads were compared on these folds." in card.split("## Results")[1].split("## Intended use")[0]

    model = EmotionModel(out, prefer="cpu")
    assert model.info.features.kind == "whisper_log_mel" and model.info.normalization.in_graph
    assert model.streaming and model.info.format_version == 2
    assert [o.name for o in model.session.get_outputs()] == [
        "probabilities", "embedding", "new_keys", "new_values", "new_states"]
    grid = WindowGrid.for_seconds(model.info.features, model.info.window_s, 0.5)
    slicer = WindowSlicer(grid, SpeechDetector(model.info.sample_rate_hz))
    audio = load_audio(voice(tmp_path / "new.wav", 200, seconds=2.5, seed=99), model.info.sample_rate_hz)
    windows = slicer.push(audio) + slicer.flush()
    probs = model.predict(np.stack([w.features for w in windows]))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    stream = model.stream(grid.window_frames, grid.hop_frames)
    outputs = [stream.window(w.index, w.features) for w in windows]
    assert all(o["embedding"].shape == (1, 16) for o in outputs)
    # A stretch's first window encoded hop by hop is the window classified on its own.
    np.testing.assert_allclose(outputs[0]["probabilities"][0], probs[0], atol=1e-6)


def test_distilled_student_learns_from_a_teacher_in_each_split_including_unlabelled_speech(tmp_path):
    """--teacher: per split, the teacher trains on the training side only and labels the
    student's windows there, unlabelled speech included; the student is a normal model file."""
    ravdess = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=1)
    for speaker in range(3):
        voice(tmp_path / "plain" / "WAVE" / f"SPEAKER{speaker:04d}" / "1.wav", 140 + 20 * speaker, seed=speaker)
    out = tmp_path / "fast.onnx"
    code = main(["train", "--model", "cnn2d", "--teacher", "whisper_tiny", "--transfer", str(tmp_path / "plain"),
                 "--data", f"ravdess={ravdess}", "--epochs", "1", "--teacher-epochs", "1", "--cv", "2",
                 "--augment", "0", "--window-s", "1.0", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--workers", "1"])
    assert code == 0
    report = json.loads(out.with_name("fast.report.json").read_text())
    assert [len(s["test_speakers"]) for s in report["splits"]] == [2, 2]
    assert all(not any(sp.startswith("unlabelled:") for sp in s["test_speakers"]) for s in report["splits"])
    assert report["teacher"]["model"] == "whisper_tiny" and report["transfer"]["speakers"] == 3
    licences = out.with_name("fast.md").read_text().split("## Licences")[1]
    assert "RAVDESS" in licences and "Whisper tiny.en" in licences and "MIT" in licences
    assert f"unlabelled speech from `{tmp_path / 'plain'}`" in licences  # the transfer set's terms are named
    model = EmotionModel(out, prefer="cpu")
    assert model.info.features.kind == "log_mel" and model.info.labels == ("neutral", "happy", "angry")


def test_a_head_that_adapts_is_scored_in_sessions_calibrated_and_adapts_in_the_engine(tmp_path):
    """--adapt: each speaker's windows relative to their own in training; the report scores
    sessions and calibrates on the held-out corpora; the file carries the head, the prior and the
    unsure line; `moodline analyze` adapts to the file's voice unless told --no-adapt."""
    import subprocess
    import sys
    from pathlib import Path

    import soundfile as sf

    from training_fixtures import make_tess

    ravdess = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=1)
    tess = make_tess(tmp_path / "TESS")
    out = tmp_path / "models" / "adapting.onnx"
    code = main(["train", "--model", "whisper_tiny", "--adapt", "session", "--prior-windows", "4",
                 "--data", f"ravdess={ravdess}", "--data", f"tess={tess}", "--epochs", "2", "--cv", "2", "--loco",
                 "--augment", "0", "--window-s", "1.0", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--workers", "1"])
    assert code == 0
    report = json.loads(out.with_name("adapting.report.json").read_text())
    assert report["adapt"] == {"reference": "session", "scale": True, "prior_windows": 4.0}
    for split in report["splits"]:
        assert set(split["sessions"]) == {"clip", "balanced", "conversation", "two_voices"}
        assert split["clip"]["uar"] == split["sessions"]["balanced"]["clip"]["uar"]
    calibration = report["calibration"]
    assert set(calibration["per_corpus"]) == {"ravdess", "tess"} and calibration["temperature"] > 0
    card = out.with_name("adapting.md").read_text()
    assert "In sessions: adapting to each voice" in card and "reliability diagram" in card
    assert out.with_name("adapting.reliability.png").stat().st_size > 1000

    model = EmotionModel(out, prefer="cpu")
    assert model.adapts and model.info.adaptation.prior_windows == 4.0
    assert model.info.unsure_threshold == calibration["unsure_threshold"]
    talk = tmp_path / "talk.wav"
    sf.write(talk, np.concatenate([load_audio(voice(tmp_path / f"v{i}.wav", 180 + 40 * i, seconds=2.5, seed=i), 16000)
                                   for i in range(4)]), 16000)
    moodline = str(Path(sys.executable).with_name("moodline"))
    runs = [subprocess.run([moodline, "analyze", str(talk), "--model", str(out), "--format", "json",
                            "--gate", "webrtc", *extra],  # Silero hears these tones as what they are
                           capture_output=True, text=True, timeout=120) for extra in ([], ["--no-adapt"])]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    adapted, plain = (json.loads(r.stdout) for r in runs)
    speech = [(a, b) for a, b in zip(adapted["timeline"], plain["timeline"]) if a["is_speech"]]
    assert len(speech) >= 6
    assert max(abs(a["probabilities"][k] - b["probabilities"][k]) for a, b in speech for k in a["probabilities"]) > 1e-3
