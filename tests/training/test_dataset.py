"""Training windows are the engine's windows, and the cache returns exactly what was computed."""
from __future__ import annotations

import numpy as np

from moodline.engine.features import FeatureSpec
from moodline.engine.windows import WindowGrid
from moodline.training.conditions import CONDITIONS
from moodline.training.corpora import load_corpus
from moodline.training.dataset import clip_windows, extract_windows

from training_fixtures import voice

SPEC = FeatureSpec(hop_length=320)


def test_a_clip_shorter_than_a_window_is_one_padded_window(tmp_path):
    grid = WindowGrid.for_seconds(SPEC, 2.0, 0.5)
    samples = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)  # 0.5 s
    feats, speech = clip_windows(samples, grid)
    assert feats.shape == (1, grid.window_frames, 64) and speech.shape == (1,)


def test_windows_follow_the_engine_grid(tmp_path):
    grid = WindowGrid.for_seconds(SPEC, 1.0, 0.5)
    samples = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    feats, _ = clip_windows(samples, grid)
    assert len(feats) == grid.windows_for(len(samples)) == 6  # 0.0, 0.5, ... 2.5 s; the last padded


def test_cached_windows_are_identical_and_augmented_copies_differ(ravdess_dir, tmp_path):
    clips = load_corpus("ravdess", ravdess_dir).clips[:3]
    first = extract_windows(clips, SPEC, 1.0, 1, seed=0, cache_dir=tmp_path / "cache", progress=False)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 6  # 3 clips x (recording + 1 copy)
    again = extract_windows(clips, SPEC, 1.0, 1, seed=0, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.variant, again.variant)
    recorded = first.features[(first.clip_index == 0) & (first.variant == 0)]
    copy = first.features[(first.clip_index == 0) & (first.variant == 1)]
    assert recorded.shape != copy.shape or not np.allclose(recorded, copy)


def test_another_babble_folder_is_mixed_anew_not_read_from_the_cache(ravdess_dir, tmp_path):
    import soundfile as sf

    def voices(folder, base_hz):  # 100 voices for training copies, 2 more training never hears (the café's)
        t = np.arange(4000) / 16000
        for speaker in range(102):
            (folder / f"SPEAKER{speaker:04d}").mkdir(parents=True)
            sf.write(folder / f"SPEAKER{speaker:04d}" / "1.wav",
                     (0.2 * np.sin(2 * np.pi * (base_hz + 5 * speaker) * t)).astype(np.float32), 16000)
        return folder

    clips, cache = load_corpus("ravdess", ravdess_dir).clips[:2], tmp_path / "cache"
    low, high = voices(tmp_path / "low", 100), voices(tmp_path / "high", 900)
    runs, cached = [], []
    for folder in (low, high, low):
        runs.append(extract_windows(clips, SPEC, 1.0, 1, cache_dir=cache, progress=False,
                                    conditions=("babble_10db",), babble_dir=folder))
        cached.append(len(list(cache.glob("*.npz"))))
    # Each clip's augmented copy and café are made anew for the second folder; its recording is not.
    assert cached == [2 * 3, 2 * 3 + 2 * 2, 2 * 3 + 2 * 2]
    cafe = [run.features[run.variant == CONDITIONS["babble_10db"]] for run in runs]
    assert not np.allclose(cafe[0], cafe[1])  # the café always mixes the folder's voices
    np.testing.assert_array_equal(cafe[0], cafe[2])  # the first folder's windows, from the cache
    np.testing.assert_array_equal(runs[0].features[runs[0].variant == 0], runs[1].features[runs[1].variant == 0])


def test_voice_fixture_is_heard_as_speech(tmp_path):
    # The fixtures stand in for speech; the engine's VAD must hear them as such for the
    # training tests to exercise the speech-window path.
    from moodline.engine.audio import load_audio

    path = voice(tmp_path / "v.wav", 150)
    _, speech = clip_windows(load_audio(path, 16000), WindowGrid.for_seconds(SPEC, 1.0, 0.5))
    assert speech.max() >= 0.2
