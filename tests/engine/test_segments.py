"""Segments (runs of one emotion) and the summary in words: what `moodline analyze` prints and
writes with --segments, and what the window lists, exports and jumps to."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from audio_fixtures import RATE
from moodline.engine.timeline import (SEGMENTS_CSV_HEADER, Segment, SegmentOrder, Summary, Timeline, TimelinePoint,
                                      format_clock, segments, segments_to_csv, top_segments)

LABELS = ("neutral", "happy", "sad", "angry")
HOP_S, WINDOW_S = 0.5, 2.0
MOODLINE = str(Path(sys.executable).with_name("moodline"))


def windows(*runs: tuple[str | None, int, float]) -> list[TimelinePoint]:
    """Windows every 0.5 s, 2 s long, from runs of (label or None, count, confidence)."""
    points = []
    for label, count, p in runs:
        for _ in range(count):
            start = len(points) * HOP_S
            if label is None:
                points.append(TimelinePoint(start, start + WINDOW_S, None, None, None, False))
                continue
            rest = (1 - p) / (len(LABELS) - 1)
            probs = {name: p if name == label else rest for name in LABELS}
            points.append(TimelinePoint(start, start + WINDOW_S, probs, label, p, True))
    return points


def timeline_of(points, duration_s=None) -> Timeline:
    timeline = Timeline(LABELS)
    timeline.extend(points)
    if duration_s is not None:
        timeline.duration_s = duration_s
    return timeline


def test_segments_merge_runs_and_split_halfway_between_window_centres():
    points = windows(("happy", 4, 0.9), (None, 3, 0), ("sad", 2, 0.6), ("sad", 2, 0.8), ("angry", 1, 0.7))
    found = timeline_of(points, duration_s=7.3).segments()
    assert [s.label for s in found] == ["happy", None, "sad", "angry"]  # the two sad runs are one
    assert [s.windows for s in found] == [4, 3, 4, 1]
    # Window k is centred at k*0.5 + 1.0; a boundary lies halfway between two centres, i.e.
    # 0.75 s after the start of the first window of the next segment.
    assert [s.start_s for s in found] == pytest.approx([0.0, 2.75, 4.25, 6.25])
    assert [s.end_s for s in found] == pytest.approx([2.75, 4.25, 6.25, 7.3])  # the last ends with the file
    assert all(a.end_s == b.start_s for a, b in zip(found, found[1:]))  # they tile the recording
    assert found[2].confidence == pytest.approx(0.7) and found[1].confidence is None
    assert not found[1].is_speech and found[0].duration_s == pytest.approx(2.75)


def test_a_clip_shorter_than_a_window_is_one_segment_as_long_as_the_clip():
    found = timeline_of(windows(("angry", 1, 0.8)), duration_s=1.2).segments()
    assert found == [Segment(0.0, 1.2, "angry", 0.8, 1)]
    assert timeline_of([]).segments() == [] and segments([]) == []


def test_the_segments_csv_is_the_segments_with_clock_times():
    points = windows(("happy", 130, 0.9), (None, 3, 0), ("sad", 8000, 0.6))  # past an hour
    timeline = timeline_of(points)
    rows = list(csv.reader(io.StringIO(segments_to_csv(timeline.segments()))))
    assert tuple(rows[0]) == SEGMENTS_CSV_HEADER == ("start_s", "end_s", "start", "end", "label", "confidence", "clipped", "voice")
    assert len(rows) == 1 + len(timeline.segments())
    for row, s in zip(rows[1:], timeline.segments()):
        assert float(row[0]) == pytest.approx(s.start_s, abs=1e-4) and float(row[1]) == pytest.approx(s.end_s, abs=1e-4)
        assert row[2:4] == [format_clock(s.start_s), format_clock(s.end_s)]
        assert row[4] == (s.label or "") and (row[5] == "" if s.confidence is None
                                             else float(row[5]) == pytest.approx(s.confidence))
        assert row[6] == "0"
    assert rows[-1][3] == format_clock(timeline.duration_s) and rows[-1][3].count(":") == 2  # h:mm:ss


def summary_of(shares: dict[str, float], speech_s: float = 600.0) -> Summary:
    return Summary("happy", {label: 0.25 for label in LABELS}, shares, speech_s)


def test_the_summary_of_a_mix_names_the_shares_and_never_says_unsure():
    mixed = summary_of({"neutral": 0.2, "happy": 0.18, "sad": 0.21, "angry": 0.41})
    assert mixed.breakdown() == "Most often angry (41%), then sad (21%), neutral (20%)…"
    clear = summary_of({"neutral": 0.0, "happy": 0.7, "sad": 0.3, "angry": 0.0})
    assert clear.breakdown() == "Mostly happy (70%), then sad (30%)"  # all named: no "…"
    assert summary_of({"neutral": 0, "happy": 1.0, "sad": 0, "angry": 0}).breakdown() == "Mostly happy (100%)"
    assert Summary(None, None, {label: 0.0 for label in LABELS}, 0.0).breakdown() == "No speech"
    assert mixed.ranked_shares()[:2] == [("angry", 0.41), ("sad", 0.21)]


def test_top_segments_longest_and_most_confident_of_at_least_two_seconds():
    points = windows(("happy", 20, 0.5), (None, 2, 0), ("sad", 2, 0.99), (None, 2, 0), ("angry", 12, 0.9),
                     (None, 2, 0), ("neutral", 8, 0.8))
    found = timeline_of(points).segments()
    longest = top_segments(found, 2)
    assert [s.label for s in longest] == ["happy", "angry"]
    sure = top_segments(found, 3, SegmentOrder.MOST_CONFIDENT)
    assert [s.label for s in sure] == ["angry", "neutral", "happy"]  # sad, one second long, left out
    assert all(s.is_speech for s in top_segments(found, 10))


# ---- the command line, as a user runs it --------------------------------------------------------
@pytest.fixture
def talk(tmp_path, conversation) -> Path:
    path = tmp_path / "in" / "talk.wav"
    path.parent.mkdir()
    sf.write(path, conversation, RATE)
    return path


def moodline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MOODLINE, *args], capture_output=True, text=True, timeout=120)


def test_analyze_writes_the_segments_csv_beside_the_timeline(talk, tmp_path, model_path):
    out = tmp_path / "out"
    result = moodline("analyze", str(talk), "--model", str(model_path), "--out", str(out), "--segments")
    assert result.returncode == 0, result.stderr
    written = out / "talk.wav.segments.csv"
    assert (out / "talk.wav.csv").is_file() and written.is_file()
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600  # someone's voice: private
    as_json = moodline("analyze", str(talk), "--model", str(model_path), "--format", "json")
    record = json.loads(as_json.stdout)
    timeline = Timeline(tuple(record["labels"]))
    timeline.extend(TimelinePoint.from_dict(d) for d in record["timeline"])
    timeline.duration_s = record["duration_s"]
    found = timeline.segments()
    rows = list(csv.DictReader(written.open()))
    assert [r["label"] or None for r in rows] == [s.label for s in found]
    assert [float(r["start_s"]) for r in rows] == pytest.approx([s.start_s for s in found], abs=1e-3)
    assert float(rows[-1]["end_s"]) == pytest.approx(record["duration_s"], abs=1e-3)
    assert any(s.is_speech for s in found) and any(not s.is_speech for s in found)
    # The terminal summary names the mix and lists the same segments.
    plain = moodline("analyze", str(talk), "--model", str(model_path)).stdout
    assert timeline.summary().breakdown() in plain
    listed = [line for line in plain.splitlines() if " – " in line]
    assert len(listed) == len(found)
    assert listed[0].split()[0] == format_clock(found[0].start_s)


def test_segments_without_an_out_folder_is_one_line_and_exit_2(talk, model_path):
    result = moodline("analyze", str(talk), "--model", str(model_path), "--segments")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "moodline: --segments writes a file per input beside its timeline: give --out DIR"


def test_equal_shares_put_the_summarys_own_label_first():
    """The demo once printed "angry (mean p=0.21 …)" over "Most often happy (20%), then angry (20%)"."""
    probabilities = {label: 0.1 for label in LABELS} | {"angry": 0.21, "happy": 0.15}
    shares = {label: 0.0 for label in LABELS} | {"happy": 0.4, "angry": 0.4, "sad": 0.2}
    summary = Summary("angry", probabilities, shares, 30.0)
    assert summary.breakdown().startswith("Most often angry (40%), then happy (40%)")


def test_one_headline_everywhere_even_where_the_mean_probability_says_otherwise():
    """The demo once printed "angry (mean p=0.20, …)" in the terminal while the window's big
    word said "fearful (20 %)": the headline is the emotion of the largest share of speech."""
    from moodline.engine.timeline import Timeline, TimelinePoint

    def window(t, label, p):
        probs = {k: (1.0 - p) / (len(LABELS) - 1) for k in LABELS} | {label: p}
        return TimelinePoint(t, t + 2.0, probs, label, p, True)

    points = [window(0.5 * i, "sad", 0.35) for i in range(3)] + [window(1.5 + 0.5 * i, "angry", 0.95)
                                                                      for i in range(2)]
    summary = Timeline(LABELS, points, 4.0).summary()
    assert max(summary.probabilities, key=summary.probabilities.get) == "angry"  # the mean says angry
    assert summary.label == "sad" and summary.shares["sad"] == pytest.approx(0.6)
    assert summary.ranked_shares()[0][0] == summary.label  # the window's word and breakdown agree
    assert summary.breakdown().startswith("Mostly sad (60%)")
