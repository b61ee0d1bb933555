"""Training a head that adapts to each voice: its features, its sessions, its calibration."""
from pathlib import Path

import numpy as np
import pytest

from moodline.training.adapt import (AdaptSettings, adapted_features, calibrate, choose_unsure_threshold,
                                     fit_temperature, reliability, session_orders, shown_right, with_temperature)
from moodline.training.corpora import Clip
from moodline.training.dataset import WindowSet

NEUTRAL = 0


def window_set(rng, speakers=("a", "b", "c"), clips_per_label=(6, 2, 2, 2), windows_per_clip=3, variants=(0,)):
    """Windows of clips by several speakers, each speaker with their own offset (a voice)."""
    clips, labels, feats, clip_index, variant = [], [], [], [], []
    for s, speaker in enumerate(speakers):
        offset = rng.normal(0, 3, (2, 4))
        for label, count in enumerate(clips_per_label):
            for k in range(count):
                clips.append(Clip(Path(f"{speaker}{label}{k}.wav"), str(label), speaker, "fake"))
                for v in variants:
                    for _ in range(windows_per_clip):
                        feats.append(offset + label + rng.normal(0, 0.3, (2, 4)))
                        clip_index.append(len(clips) - 1)
                        variant.append(v)
                        labels.append(label)
    n = len(feats)
    return WindowSet(clips, np.array(feats, np.float32), np.array(clip_index), np.array(variant),
                     np.ones(n, np.float32)), np.array(labels)


@pytest.mark.parametrize("reference", ["session", "mixed"])
def test_each_voice_in_each_variant_is_taken_relative_to_itself(reference):
    rng = np.random.default_rng(0)
    windows, labels = window_set(rng, variants=(0, 1))
    windows.features[windows.variant == 1] += 5.0  # a room that changes every voice the same way
    feats, mean, std = adapted_features(windows, labels, NEUTRAL, AdaptSettings(reference), seed=0)
    z = (feats - mean) / std
    speakers = np.array([c.speaker for c in windows.clips])[windows.clip_index]
    for speaker in set(speakers):
        for v in (0, 1):
            group = z[(speakers == speaker) & (windows.variant == v)]
            if reference == "session":  # relative to the whole session: centred and scaled
                np.testing.assert_allclose(group.mean(axis=0), 0, atol=1e-3)
                np.testing.assert_allclose(group.std(axis=0), 1, atol=1e-2)
    # The voices' offsets are gone: labels are told apart by where they sit, not by who spoke.
    raw = np.corrcoef(windows.features[:, 0, 0], labels)[0, 1]
    assert np.corrcoef(z[:, 0, 0], labels)[0, 1] > max(0.6, raw + 0.2)


def test_sessions_hold_every_clip_as_the_kind_says():
    rng = np.random.default_rng(1)
    windows, labels = window_set(rng, clips_per_label=(7, 3, 3, 3))
    clips = np.unique(windows.clip_index)
    alone = session_orders(windows, labels, "clip", NEUTRAL, 0)
    assert sorted(int(s[0]) for s in alone) == clips.tolist() and all(len(s) == 1 for s in alone)
    balanced = session_orders(windows, labels, "balanced", NEUTRAL, 0)
    assert len(balanced) == 3 and sorted(np.concatenate(balanced).tolist()) == clips.tolist()
    speakers = np.array([c.speaker for c in windows.clips])
    assert all(len(set(speakers[s])) == 1 for s in balanced)
    talk = session_orders(windows, labels, "conversation", NEUTRAL, 0)
    clip_label = {c: labels[np.flatnonzero(windows.clip_index == c)[0]] for c in clips}
    emotional = [c for s in talk for c in s if clip_label[c] != NEUTRAL]
    assert sorted(emotional) == sorted(c for c in clips if clip_label[c] != NEUTRAL)  # each once
    for session in talk:
        share = np.mean([clip_label[c] == NEUTRAL for c in session])
        assert 0.6 <= share <= 0.8
    pairs = session_orders(windows, labels, "two_voices", NEUTRAL, 0)
    assert sorted(np.concatenate(pairs).tolist()) == clips.tolist()
    first = pairs[0]
    assert len(set(speakers[first])) == 2 and all(speakers[a] != speakers[b] for a, b in zip(first, first[1:]))


def test_calibration_undoes_overconfidence_and_the_threshold_keeps_its_promise():
    rng = np.random.default_rng(2)

    def corpus(n):
        labels = rng.integers(0, 4, n)
        logits = rng.normal(0, 1, (n, 4))
        logits[np.arange(n), labels] += 1.0
        p = np.exp(3.0 * logits)  # three times too sharp
        return p / p.sum(axis=1, keepdims=True), labels

    data = {name: corpus(4000) for name in ("x", "y", "z")}
    probs, labels = data["x"]
    assert fit_temperature(probs, labels) == pytest.approx(3.0, rel=0.15)
    before, after = reliability(probs, labels)["ece"], reliability(with_temperature(probs, 3.0), labels)["ece"]
    assert after < before / 3
    report = calibrate(data, within=data["x"])
    assert report["across"]["ece"] < 0.03 < report["across_before"]["ece"]
    threshold = report["unsure_threshold"]
    right, share = shown_right(with_temperature(probs, report["temperature"]), labels, threshold)
    assert right >= 0.7 and share > 0.01
    lower = round(threshold - 0.05, 2)
    assert shown_right(with_temperature(probs, report["temperature"]), labels, lower)[0] < 0.72
    assert choose_unsure_threshold(np.full((10, 4), 0.25), np.ones(10, int)) is None  # never right enough
