"""Splits are by speaker, and nothing of a test clip, not even an augmented copy, is trained on."""
from __future__ import annotations

import numpy as np
import pytest

from moodline.engine.features import FeatureSpec
from moodline.training.corpora import load_corpus
from moodline.training.dataset import clip_windows, extract_windows
from moodline.training.splits import (Split, SplitLeakError, check_split, corpus_folds, holdout_split,
                                      speaker_folds)

SPEAKERS = [f"ravdess:{i:02d}" for i in range(1, 21)]


def test_every_speaker_is_tested_exactly_once_and_never_trained_on_in_its_fold():
    folds = speaker_folds(SPEAKERS, k=5, seed=3, train_only=["tess:OAF", "tess:YAF"])
    tested = [s for fold in folds for s in fold.test_speakers]
    assert sorted(tested) == SPEAKERS
    for fold in folds:
        assert len(fold.test_speakers) == 4
        assert not set(fold.train_speakers) & set(fold.test_speakers)
        assert {"tess:OAF", "tess:YAF"} <= set(fold.train_speakers)
        assert set(fold.train_speakers) | set(fold.test_speakers) == set(SPEAKERS) | {"tess:OAF", "tess:YAF"}


def test_folds_depend_on_the_seed_only():
    assert speaker_folds(SPEAKERS, 5, seed=1) == speaker_folds(list(reversed(SPEAKERS)), 5, seed=1)
    assert speaker_folds(SPEAKERS, 5, seed=1) != speaker_folds(SPEAKERS, 5, seed=2)


def test_folds_spread_each_corpus_over_the_folds():
    speakers = SPEAKERS + [f"nemo:{name}" for name in ("EB0", "IC0", "KD0", "KS0", "MK0", "MP0", "SM0", "TP0", "WR0")]
    folds = speaker_folds(speakers, k=5, seed=0)
    per_fold = [sum(s.startswith("nemo:") for s in fold.test_speakers) for fold in folds]
    assert sorted(per_fold) == [1, 2, 2, 2, 2]  # 9 nEMO speakers over 5 folds, none left without
    assert all(sum(s.startswith("ravdess:") for s in fold.test_speakers) == 4 for fold in folds)


def test_leave_one_corpus_out_tests_every_speaker_of_one_corpus_and_trains_on_the_others():
    speakers = SPEAKERS + ["tess:OAF", "tess:YAF", "nemo:EB0", "nemo:WR0"]
    folds = corpus_folds(speakers)
    assert [f.name for f in folds] == ["without nemo", "without ravdess", "without tess"]
    for fold in folds:
        held = fold.name.split()[-1]
        assert {s.split(":")[0] for s in fold.test_speakers} == {held}
        assert held not in {s.split(":")[0] for s in fold.train_speakers}
        assert set(fold.train_speakers) | set(fold.test_speakers) == set(speakers)
    assert [f.name for f in corpus_folds(speakers, ["tess"])] == ["without tess"]
    with pytest.raises(ValueError, match="at least two corpora"):
        corpus_folds(SPEAKERS)


def test_too_few_speakers_for_the_folds_is_refused():
    with pytest.raises(ValueError, match="5 folds need at least 5 speakers"):
        speaker_folds(["tess:OAF", "tess:YAF"], k=5)


def test_holdout_accepts_bare_speaker_numbers():
    split = holdout_split(SPEAKERS + ["tess:OAF"], ["19", "ravdess:20"])
    assert split.test_speakers == ("ravdess:19", "ravdess:20")
    assert "ravdess:19" not in split.train_speakers and "tess:OAF" in split.train_speakers
    with pytest.raises(ValueError, match="'42' matches no speaker"):
        holdout_split(SPEAKERS, ["42"])


def test_check_refuses_a_shared_speaker_or_a_copy_of_a_test_clip():
    check_split({"a"}, {"clip1"}, {"b"}, {"clip2"})
    with pytest.raises(SplitLeakError, match="speaker"):
        check_split({"a", "b"}, {"clip1"}, {"b"}, {"clip2"})
    # An augmented copy carries its source clip's key: same clip on both sides is a leak even
    # when speaker ids were (wrongly) different.
    with pytest.raises(SplitLeakError, match="copies of them are in training"):
        check_split({"a"}, {"clip1", "clip2"}, {"b"}, {"clip2"})


def test_fold_windows_train_on_augmented_copies_but_test_only_as_recorded(ravdess_dir, tmp_path):
    from moodline.training.train import split_windows

    corpus = load_corpus("ravdess", ravdess_dir)
    spec = FeatureSpec(hop_length=320)
    windows = extract_windows(corpus.clips, spec, 1.0, 2, seed=0, cache_dir=tmp_path / "cache", progress=False)
    split = Split("fold", ("ravdess:01", "ravdess:02", "ravdess:03"), ("ravdess:04",))
    train, test = split_windows(windows, split)

    assert set(np.unique(train.variant)) == {0, 1, 2}  # augmented copies are trained on
    assert {windows.clips[i].speaker for i in np.unique(train.clip_index)} == set(split.train_speakers)
    assert set(np.unique(test.variant)) == {0}
    test_clips = np.unique(test.clip_index)
    assert {windows.clips[i].speaker for i in test_clips} == {"ravdess:04"}
    # The test windows are exactly what the engine cuts from the untouched recording.
    from moodline.engine.audio import load_audio
    from moodline.engine.windows import WindowGrid

    first = test_clips[0]
    expected, _ = clip_windows(load_audio(windows.clips[first].path, 16000), WindowGrid.for_seconds(spec, 1.0, 0.5))
    np.testing.assert_array_equal(test.features[test.clip_index == first], expected)


def test_a_split_that_puts_a_speaker_on_both_sides_is_refused(ravdess_dir):
    from moodline.training.train import split_windows

    corpus = load_corpus("ravdess", ravdess_dir)
    windows = extract_windows(corpus.clips, FeatureSpec(hop_length=320), 1.0, 1, progress=False)
    with pytest.raises(SplitLeakError):
        split_windows(windows, Split("bad", ("ravdess:01", "ravdess:02"), ("ravdess:02",)))
