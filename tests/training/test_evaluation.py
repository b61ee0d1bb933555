"""Scores mean what a reader of the report expects them to mean."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moodline.training import evaluation

LABELS = ("neutral", "happy", "sad")


def test_uar_weighs_every_class_equally_unlike_accuracy():
    # 8 neutral clips all right, 2 happy both wrong: accuracy 80%, UAR (100 + 0) / 2 = 50%.
    y_true = np.array([0] * 8 + [1] * 2)
    y_pred = np.array([0] * 8 + [0] * 2)
    scores = evaluation.score(y_true, y_pred, LABELS)
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["uar"] == pytest.approx(0.5)  # sad has no test clips: not averaged in
    assert scores["per_class"]["neutral"]["precision"] == pytest.approx(0.8)
    assert scores["per_class"]["happy"]["recall"] == 0.0
    assert scores["macro_f1"] == pytest.approx((2 * 0.8 * 1.0 / 1.8 + 0) / 2)
    assert scores["confusion"] == [[8, 0, 0], [2, 0, 0], [0, 0, 0]]


def test_clip_decision_averages_its_windows_probabilities():
    probs = np.array([[0.6, 0.4, 0.0], [0.1, 0.9, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    clips, clip_probs = evaluation.clip_probabilities(probs, np.array([3, 3, 3, 7]))
    assert clips.tolist() == [3, 7]
    np.testing.assert_allclose(clip_probs[0], [0.4, 0.6, 0.0])
    result = evaluation.score_predictions(probs, np.array([3, 3, 3, 7]), np.array([0, 0, 0, 2]),
                                          np.array([1.0, 1.0, 0.0, 1.0]), LABELS, 0.2)
    assert result["window"]["n"] == 3  # the silent window is not scored on its own
    assert result["clip"]["n"] == 2 and result["clip"]["accuracy"] == 0.5


def test_a_clip_without_speech_windows_still_gets_a_decision():
    mask = evaluation.speech_windows(np.array([0.0, 0.5, 0.0, 0.1]), np.array([0, 0, 1, 1]), 0.2)
    assert mask.tolist() == [False, True, True, True]


def test_confusion_figure_and_json_are_written(tmp_path):
    scores = evaluation.score(np.array([0, 1, 2]), np.array([0, 2, 2]), LABELS)
    evaluation.plot_confusion(scores["confusion"], LABELS, tmp_path / "c.png", "test")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    evaluation.write_json({"scores": scores}, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["scores"]["uar"] == pytest.approx(2 / 3)
    table = evaluation.summary_table([{"name": "fold 1", "test_speakers": ["ravdess:01"], "window": scores, "clip": scores}])
    assert "fold 1" in table and "66.7%" in table


def test_the_card_warns_when_ordinary_speech_is_not_called_neutral():
    from moodline.training.evaluation import _limits

    report = {"corpora": [{"name": "ravdess", "train_only": False}], "splits": [{"kind": "loco"}],
              "final": {"ordinary_speech": {"labels": {"neutral": 0.11, "sad": 0.4, "calm": 0.49}}}}
    limits = "\n".join(_limits(report))
    assert "calm 49% and neutral only 11%" in limits
    assert "speaker folds" not in limits  # no speaker folds were run: no claim about them
    report["final"]["ordinary_speech"]["labels"] = {"neutral": 0.7, "sad": 0.3}
    assert "not reliably called neutral" not in "\n".join(_limits(report))
