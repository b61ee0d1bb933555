"""What the model sees in training: balanced draws, masked windows, training-side statistics."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from moodline.training.corpora import Clip
from moodline.training.dataset import WindowSet


def window_set(counts: dict[tuple[str, str], int], windows_per_clip: int = 3) -> WindowSet:
    clips = [Clip(Path(f"/{corpus}/{label}/{i}.wav"), label, f"{corpus}:s{i % 2}", corpus)
             for (corpus, label), n in counts.items() for i in range(n)]
    n = len(clips) * windows_per_clip
    rng = np.random.default_rng(0)
    return WindowSet(clips, rng.normal(-30, 10, (n, 40, 64)).astype(np.float32),
                     np.repeat(np.arange(len(clips)), windows_per_clip), np.zeros(n, int), np.ones(n, np.float32))


def test_batches_balance_corpora_and_classes_within_each_corpus():
    from moodline.training.train import TrainingWindows, standardisation

    # A big two-voice corpus (like TESS) beside a small one that alone has 'calm'.
    windows = window_set({("ravdess", "calm"): 20, ("ravdess", "angry"): 20, ("tess", "angry"): 200})
    names = ["calm", "angry"]
    labels = np.array([names.index(c.label) for c in windows.clips])[windows.clip_index]
    batches = TrainingWindows(windows, labels, 2, standardisation(windows), batch_size=64, seed=0)
    drawn = Counter()
    for epoch in range(20):
        for index in batches.draw(np.random.default_rng(epoch)):
            clip = windows.clips[windows.clip_index[index]]
            drawn[(clip.corpus, clip.label)] += 1
    total = sum(drawn.values())
    # Half the draws from each corpus; within the small one, calm as often as angry.
    assert abs(drawn[("ravdess", "calm")] / total - 0.25) < 0.03
    assert abs(drawn[("ravdess", "angry")] / total - 0.25) < 0.03
    assert abs(drawn[("tess", "angry")] / total - 0.5) < 0.03


def test_training_batches_are_standardised_and_masked_but_inputs_untouched():
    from moodline.training.train import TrainingWindows, standardisation

    windows = window_set({("ravdess", "calm"): 40, ("ravdess", "angry"): 40})
    before = windows.features.copy()
    labels = np.array([0 if c.label == "calm" else 1 for c in windows.clips])[windows.clip_index]
    norm = standardisation(windows)
    x, y = (t.numpy() for t in next(iter(TrainingWindows(windows, labels, 2, norm, batch_size=32, seed=1).dataset(1))))
    assert x.shape == (32, 40, 64) and y.shape == (32, 2)
    assert abs(float(x.mean())) < 0.3 and 0.5 < float(x.std()) < 1.5  # standardised
    masked_stripes = sum(int(np.all(w == 0, axis=1).any() or np.all(w == 0, axis=0).any()) for w in x)
    assert masked_stripes > 16  # SpecAugment on most training windows
    np.testing.assert_array_equal(windows.features, before)


def test_standardisation_uses_only_recorded_speech_windows():
    from moodline.training.train import standardisation

    windows = window_set({("ravdess", "calm"): 10})
    windows.variant[::2] = 1
    windows.features[windows.variant == 1] += 100  # augmented copies must not move the statistics
    norm = standardisation(windows)
    np.testing.assert_allclose(norm.mean, windows.features[windows.variant == 0].mean(axis=(0, 1)), rtol=1e-5)


def test_mixup_blends_labels_into_distributions_and_is_off_by_default():
    from moodline.training.train import TrainingWindows, standardisation

    windows = window_set({("ravdess", "calm"): 40, ("ravdess", "angry"): 40})
    labels = np.array([0 if c.label == "calm" else 1 for c in windows.clips])[windows.clip_index]
    norm = standardisation(windows)
    _, plain = next(TrainingWindows(windows, labels, 2, norm, batch_size=32, seed=1).epoch(0))
    assert set(np.unique(plain)) == {0.0, 1.0}
    _, mixed = next(TrainingWindows(windows, labels, 2, norm, batch_size=32, seed=1, mixup=0.4).epoch(0))
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(mixed.max(axis=1) >= 0.5) and np.any((mixed > 0.01) & (mixed < 0.99))


def test_each_epoch_is_its_own_draw_and_the_same_however_often_it_is_read():
    """A strategy may read the data more than once (Keras reads the first batch to build the
    model); the batches of an epoch must not depend on that, or two devices train on other data."""
    from moodline.training.train import TrainingWindows, standardisation

    windows = window_set({("ravdess", "calm"): 20, ("ravdess", "angry"): 20})
    labels = np.array([0 if c.label == "calm" else 1 for c in windows.clips])[windows.clip_index]
    batches = TrainingWindows(windows, labels, 2, standardisation(windows), batch_size=16, seed=3, mixup=0.4)
    data = batches.dataset(2)
    first = [x.numpy() for x, _ in data]
    again = [x.numpy() for x, _ in data]
    assert len(batches) == 3 and [len(x) for x in first] == [16, 16, 8] * 2  # two epochs of 40 clips
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[3])  # the second epoch is a new draw
