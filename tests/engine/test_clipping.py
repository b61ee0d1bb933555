"""Speech recorded too loud (peaks flattened at full scale): measured per window, flagged on the
timeline, shown as "too loud" instead of an emotion, and left out of summaries."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE
from moodline.engine.analysis import CLIPPED_SHARE
from moodline.engine.features import FeatureSpec
from moodline.engine.readout import EMOTION, TOO_LOUD, LabelStabilizer, StabilizerSettings, readout_for
from moodline.engine.timeline import Timeline, TimelinePoint
from moodline.engine.windows import FULL_SCALE, WindowGrid, WindowSlicer
from test_hostile_input import analyze, text

LABELS = ("neutral", "happy", "sad", "angry")


def hot(samples: np.ndarray, gain_db: float = 20.0) -> np.ndarray:
    """``gain_db`` louder, clipped at full scale as a converter would."""
    return np.clip(samples * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def window_fractions(samples: np.ndarray, chunks: list[int] | None = None) -> list[float]:
    slicer = WindowSlicer(WindowGrid.for_seconds(FeatureSpec(), 2.0, 0.5))
    if chunks is None:
        windows = slicer.push(samples)
    else:
        windows, at = [], 0
        for size in chunks:
            windows += slicer.push(samples[at: at + size])
            at += size
        windows += slicer.push(samples[at:])
    return [w.clipped_fraction for w in windows + slicer.flush()]


def test_windows_count_the_samples_at_full_scale_however_the_stream_is_cut(conversation):
    grid = WindowGrid.for_seconds(FeatureSpec(), 2.0, 0.5)
    loud = hot(conversation)
    whole = window_fractions(loud)
    sizes = np.random.default_rng(3).integers(1, 4000, 200).tolist()
    assert window_fractions(loud, sizes) == whole  # live (any block sizes) measures what offline does
    span = grid.window_frames * grid.spec.hop_length
    for k in (8, 12, 20):
        counted = np.count_nonzero(np.abs(loud[k * grid.hop_samples: k * grid.hop_samples + span]) >= FULL_SCALE)
        assert whole[k] == pytest.approx(counted / span, abs=1e-9)
    assert max(whole) > 0.05  # +20 dB flattens a good part of the espeak voice's samples
    assert whole[0] == 0.0  # the leading silence is not clipped
    assert max(window_fractions(conversation)) == 0.0  # the voice as recorded (peak 0.8) never is


def test_moodline_analyze_flags_speech_recorded_too_loud_and_leaves_it_out_of_the_summary(
        tmp_path, conversation, model_path):
    sf.write(tmp_path / "clean.wav", conversation, RATE)
    sf.write(tmp_path / "hot.wav", hot(conversation), RATE)  # 16-bit PCM, as a recorder writes it
    result = analyze(tmp_path / "clean.wav", tmp_path / "hot.wav", "--format", "json", model=model_path)
    assert result.returncode == 0, text(result.stderr)
    clean, loud = (json.loads(line) for line in text(result.stdout).splitlines())
    assert not any(p["clipped"] for p in clean["timeline"])
    assert clean["summary"]["clipped_s"] == 0 and clean["summary"]["label"] is not None

    speech = [p for p in loud["timeline"] if p["is_speech"]]
    clipped = [p for p in speech if p["clipped"]]
    assert len(clipped) >= 0.8 * len(speech) > 0
    assert all(p["label"] in loud["labels"] for p in clipped)  # what the model said is kept
    summary = loud["summary"]
    assert summary["clipped_s"] == pytest.approx(len(clipped) * 0.5, abs=1e-6)
    assert summary["speech_s"] == pytest.approx(len(speech) * 0.5, abs=1e-6)
    judged = [p for p in speech if not p["clipped"]]
    if judged:  # shares are of the windows that could be judged
        assert sum(summary["shares"].values()) == pytest.approx(1.0, abs=1e-4)
    else:
        assert summary["label"] is None

    words = analyze(tmp_path / "hot.wav", model=model_path)
    assert words.returncode == 0
    assert "too loud" in text(words.stdout)

    out = tmp_path / "out"
    assert analyze(tmp_path / "clean.wav", tmp_path / "hot.wav", "--out", out, model=model_path).returncode == 0
    rows = {row["file"].rsplit("/", 1)[-1]: row for row in csv.DictReader(io.StringIO((out / "summary.csv").read_text()))}
    assert float(rows["hot.wav"]["clipped_s"]) == pytest.approx(summary["clipped_s"], abs=1e-3)
    assert float(rows["clean.wav"]["clipped_s"]) == 0.0


def point(t: float, clipped: bool = False, **probs) -> TimelinePoint:
    full = {label: probs.get(label, 0.0) for label in LABELS}
    best = max(full, key=full.get)
    return TimelinePoint(t - 2, t, full, best, full[best], True, clipped)


def test_too_loud_replaces_the_emotion_at_once_and_the_emotion_returns_when_the_voice_is_clean():
    s = LabelStabilizer(StabilizerSettings(min_dwell_s=2.0, confirm_s=0.5))
    assert s.update(point(2.0, happy=0.9)).state == EMOTION
    shown = s.update(point(2.5, clipped=True, angry=0.95))  # within the dwell: shown anyway
    assert (shown.state, shown.word, shown.label) == (TOO_LOUD, "Too loud", None)
    assert readout_for(point(2.5, clipped=True, angry=0.95)).state == TOO_LOUD
    states = [s.update(point(3.0 + 0.5 * i, happy=0.9)).state for i in range(6)]
    assert states[0] == TOO_LOUD and states[-1] == EMOTION


def test_clipped_windows_keep_their_flag_in_csv_and_json_and_old_files_still_load(tmp_path):
    timeline = Timeline(LABELS)
    timeline.extend([point(2.0, happy=0.9), point(2.5, clipped=True, angry=0.9), point(3.0, clipped=True, angry=0.8),
                     point(3.5, sad=0.7)])
    summary = timeline.summary()
    assert summary.shares == {"neutral": 0.0, "happy": 0.5, "sad": 0.5, "angry": 0.0}
    assert (summary.speech_s, summary.clipped_s) == (2.0, 1.0)
    assert [(s.label, s.clipped) for s in timeline.segments()] == [("happy", False), ("angry", True), ("sad", False)]
    for name in ("t.csv", "t.json"):
        again = Timeline.load(timeline.save(tmp_path / name))
        assert [p.clipped for p in again.points] == [False, True, True, False]
        assert again.summary() == summary
    old = tmp_path / "old.csv"  # written before the flag: no last column
    old.write_text("start_s,end_s,is_speech,label,confidence,neutral,happy,sad,angry\n"
                   "0.0,2.0,1,happy,0.9,0.05,0.9,0.05,0.0\n")
    loaded = Timeline.load(old)
    assert loaded.labels == LABELS and loaded.points[0].clipped is False and loaded.points[0].label == "happy"



def test_a_recording_clipped_at_48_khz_is_still_flagged_after_resampling(tmp_path, conversation, model_path):
    import soxr

    # Clipped by the recorder at 48 kHz; the engine resamples to the model's 16 kHz, which puts
    # a small ripple on the flat tops (peaks up to ~1.1): the flag must survive it.
    sf.write(tmp_path / "hot48.wav", hot(soxr.resample(conversation, RATE, 48000)), 48000)
    result = analyze(tmp_path / "hot48.wav", "--format", "json", model=model_path)
    assert result.returncode == 0, text(result.stderr)
    speech = [p for p in json.loads(text(result.stdout))["timeline"] if p["is_speech"]]
    assert sum(p["clipped"] for p in speech) >= 0.8 * len(speech) > 0
