"""``moodline baseline``: eGeMAPS functionals and logistic regression, scored on the splits
``moodline train`` makes, in a report that a model card's comparison table can take."""
from __future__ import annotations

import json

from moodline.training.cli import main
from moodline.training.evaluation import comparison_row
from moodline.training.splits import speaker_folds
from training_fixtures import make_ravdess, make_tess


def test_baseline_tells_two_emotions_apart_on_the_splits_train_makes(tmp_path):
    # Neutral voices near 110 Hz, angry ones near 180 Hz: two corpora, four and two speakers.
    ravdess = make_ravdess(tmp_path / "RAVDESS", emotions=("01", "05"))
    tess = make_tess(tmp_path / "TESS", emotions=("neutral", "angry"))
    out, cache = tmp_path / "runs" / "egemaps", tmp_path / "cache"
    code = main(["baseline", "--data", f"ravdess={ravdess}", "--data", f"tess={tess}", "--cv", "2", "--loco",
                 "--conditions", "gain_20db", "--out", str(out), "--cache", str(cache)])
    assert code == 0

    report = json.loads((tmp_path / "runs" / "egemaps.report.json").read_text())
    rows = {row["name"]: row for row in report["splits"]}
    assert [(name, row["kind"]) for name, row in rows.items()] == [
        ("fold 1", "cv"), ("fold 2", "cv"), ("without ravdess", "loco"), ("without tess", "loco")]
    speakers = [f"ravdess:{a:02d}" for a in range(1, 5)] + ["tess:OAF", "tess:YAF"]
    assert [rows[f"fold {i + 1}"]["test_speakers"] for i in range(2)] == [
        list(fold.test_speakers) for fold in speaker_folds(speakers, 2, seed=0)]
    assert all(row["clip"]["uar"] >= 0.9 for row in rows.values())  # chance: 0.5
    assert all(set(row["conditions"]) == {"gain_20db"} for row in rows.values())

    compared = comparison_row(report)
    assert compared["features"] == "egemaps_functionals" and compared["mean"] >= 0.9
    assert set(compared["held_out"]) == {"ravdess", "tess"} and set(compared["conditions"]) == {"gain_20db"}
    summary = (tmp_path / "runs" / "egemaps.md").read_text()
    assert "### Leave one corpus out" in summary and "C = 1.0" in summary
    # One cache entry per clip as recorded and per clip under the condition.
    assert len(list(cache.glob("egemaps-*.npz"))) == 2 * (16 + 8)


def test_a_missing_corpus_folder_is_one_line_and_status_2(capsys, tmp_path):
    code = main(["baseline", "--data", f"ravdess={tmp_path / 'nope'}"])
    assert code == 2
    assert capsys.readouterr().err == f"moodline baseline: error: {tmp_path / 'nope'}: no such folder\n"


def test_options_that_need_more_than_the_corpora_are_refused_before_any_work(capsys, ravdess_dir):
    code = main(["baseline", "--data", f"ravdess={ravdess_dir}", "--cv", "0"])
    assert code == 2 and capsys.readouterr().err.startswith("moodline baseline: error: nothing to evaluate")
    code = main(["baseline", "--data", f"ravdess={ravdess_dir}", "--conditions", "babble_10db"])
    assert code == 2 and "babble_10db needs --babble FOLDER" in capsys.readouterr().err
    code = main(["baseline", "--data", f"ravdess={ravdess_dir}", "--epochs", "3"])  # nothing is trained by epochs
    assert code == 2 and "unrecognized arguments: --epochs 3" in capsys.readouterr().err
