"""Mistakes a user can make get one clear line and exit status 2, never a traceback."""
from __future__ import annotations

from moodline.training.cli import MODEL_NAMES, main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_missing_corpus_folder(capsys, tmp_path):
    code, err = run(capsys, "train", "--data", f"ravdess={tmp_path / 'nope'}")
    assert code == 2
    assert err.strip() == f"moodline train: error: {tmp_path / 'nope'}: no such folder"


def test_unknown_corpus_and_malformed_data_argument(capsys, tmp_path):
    code, err = run(capsys, "train", "--data", f"ravdes={tmp_path}")
    assert code == 2 and "unknown corpus 'ravdes'" in err and "Traceback" not in err
    code, err = run(capsys, "train", "--data", str(tmp_path))
    assert code == 2 and "expected NAME=PATH" in err


def test_folder_without_audio(capsys, tmp_path):
    code, err = run(capsys, "train", "--data", f"tess={tmp_path}")
    assert code == 2
    assert err == f"moodline train: error: {tmp_path}: no tess audio files found with a usable label\n"


def test_missing_model_file(capsys, ravdess_dir, tmp_path):
    code, err = run(capsys, "evaluate", str(tmp_path / "missing.onnx"), "--data", f"ravdess={ravdess_dir}")
    assert code == 2 and "model file not found" in err


def test_unknown_model_name_is_an_argparse_error(capsys, ravdess_dir):
    code, err = run(capsys, "train", "--data", f"ravdess={ravdess_dir}", "--model", "transformer")
    assert code == 2 and "invalid choice: 'transformer'" in err


def test_model_names_offered_are_the_ones_that_exist():
    from moodline.training.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)


def test_missing_notes_file_is_one_line_before_any_training(capsys, ravdess_dir, tmp_path):
    code, err = run(capsys, "train", "--data", f"ravdess={ravdess_dir}", "--notes", str(tmp_path / "no.md"))
    assert code == 2 and f"--notes {tmp_path / 'no.md'}: no such file" in err
