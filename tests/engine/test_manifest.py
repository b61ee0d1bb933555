"""The manifest of an --out folder and the Parquet tables built from it."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from moodline.engine.fileio import remove_stale_parts
from moodline.engine.manifest import MANIFEST_FILE, FileStatus, Manifest
from moodline.engine.tables import FILES_TABLE, WINDOWS_TABLE, write_tables
from moodline.engine.timeline import Timeline, TimelinePoint

LABELS = ("calm", "angry")
SETTINGS = {"window_s": 2.0, "hop_s": 0.5}


def _timeline(angry: float) -> Timeline:
    timeline = Timeline(LABELS)
    timeline.extend([
        TimelinePoint(0.0, 2.0, None, None, None, False),
        TimelinePoint(0.5, 2.5, {"calm": 1 - angry, "angry": angry}, "angry" if angry > 0.5 else "calm",
                      max(angry, 1 - angry), True),
    ])
    return timeline


def _analysed(folder, manifest: Manifest, name: str, angry: float) -> None:
    source = folder / "in" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(b"audio")
    timeline = _timeline(angry)
    timeline.save(folder / f"{name}.csv")
    manifest.record(source, FileStatus.DONE, output=f"{name}.csv", duration_s=2.5,
                    summary=timeline.summary().to_dict())


def _first_run(folder) -> str:
    """A run in which a.wav and b.wav were analysed (angry) and bad.wav failed: its run id."""
    with Manifest(folder, "m.onnx", "sha-a", LABELS, SETTINGS) as first:
        _analysed(folder, first, "a.wav", 0.9)
        _analysed(folder, first, "b.wav", 0.9)
        first.record(folder / "in" / "bad.wav", FileStatus.FAILED, error="bad.wav: truncated")
    return first.run_id


def test_runs_into_one_folder_keep_every_file_and_the_latest_result_wins(tmp_path):
    first_run = _first_run(tmp_path)
    with Manifest(tmp_path, "m.onnx", "sha-a", LABELS, SETTINGS) as second:
        assert second.run_id != first_run
        _analysed(tmp_path, second, "a.wav", 0.1)  # analysed again: this run's result counts
        latest = {os.path.basename(r.path): r for r in second.latest()}
    assert sorted(latest) == ["a.wav", "b.wav", "bad.wav"]
    assert latest["a.wav"].run_id == second.run_id and latest["a.wav"].summary["label"] == "calm"
    assert latest["b.wav"].run_id == first_run and latest["b.wav"].summary["label"] == "angry"
    assert latest["bad.wav"].status is FileStatus.FAILED and latest["bad.wav"].error == "bad.wav: truncated"
    assert stat.S_IMODE(os.stat(tmp_path / MANIFEST_FILE).st_mode) == 0o600


def test_only_done_files_with_the_same_model_and_settings_and_unchanged_inputs_may_be_skipped(tmp_path):
    _first_run(tmp_path)
    with Manifest(tmp_path, "m.onnx", "sha-a", LABELS, SETTINGS) as same:
        done = same.done_already()
        assert sorted(os.path.basename(p) for p in done) == ["a.wav", "b.wav"]  # the failure is retried
        (tmp_path / "in" / "b.wav").write_bytes(b"longer audio")  # changed since: analysed again
        assert same.is_current(done[str(tmp_path / "in" / "a.wav")], tmp_path / "in" / "a.wav")
        assert not same.is_current(done[str(tmp_path / "in" / "b.wav")], tmp_path / "in" / "b.wav")
    with Manifest(tmp_path, "m.onnx", "sha-b", LABELS, SETTINGS) as other_model:
        assert other_model.done_already() == {}
    with Manifest(tmp_path, "m.onnx", "sha-a", LABELS, {**SETTINGS, "hop_s": 1.0}) as other_settings:
        assert other_settings.done_already() == {}


def test_a_name_that_is_not_utf8_round_trips(tmp_path):
    name = os.fsdecode(b"M\xfcller.wav")
    with Manifest(tmp_path, "m.onnx", "sha-a", LABELS, SETTINGS) as run:
        run.record(tmp_path / name, FileStatus.FAILED, error="gone")
        assert [r.path for r in run.latest()] == [str(tmp_path / name)]


def test_the_tables_hold_every_window_and_file_of_the_folder(tmp_path):
    with Manifest(tmp_path, "m.onnx", "sha-a", LABELS, SETTINGS) as run:
        _analysed(tmp_path, run, "a.wav", 0.9)
        _analysed(tmp_path, run, "b.wav", 0.2)
        run.record(tmp_path / "in" / "bad.wav", FileStatus.FAILED, error="truncated")
        write_tables(tmp_path, run.latest(), LABELS)
    windows = pq.read_table(tmp_path / WINDOWS_TABLE).to_pylist()
    assert [(os.path.basename(w["file"]), w["start_s"], w["is_speech"], w["label"]) for w in windows] == [
        ("a.wav", 0.0, False, None), ("a.wav", 0.5, True, "angry"),
        ("b.wav", 0.0, False, None), ("b.wav", 0.5, True, "calm")]
    assert windows[1]["p_angry"] == pytest.approx(0.9) and windows[0]["p_calm"] is None
    files = pq.read_table(tmp_path / FILES_TABLE).to_pylist()
    assert [(os.path.basename(f["file"]), f["label"], f["duration_s"]) for f in files] == [
        ("a.wav", "angry", 2.5), ("b.wav", "calm", 2.5)]
    assert files[0]["share_angry"] == pytest.approx(1.0) and files[0]["run_id"] == run.run_id
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_csv_and_json_timelines_load_back_alike(tmp_path):
    timeline = _timeline(0.7)
    for suffix in (".csv", ".json"):
        loaded = Timeline.load(timeline.save(tmp_path / f"t{suffix}"))
        assert [p.to_dict() for p in loaded.points] == [p.to_dict() for p in timeline.points]


def test_resume_clears_what_a_killed_writer_left_and_nothing_a_live_one_is_writing(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    (tmp_path / "sub").mkdir()
    left = tmp_path / "sub" / f".talk.wav.csv.{dead_pid}.k2x9q.part"  # as atomic_output names them
    writing = tmp_path / f".other.wav.csv.{os.getpid()}.a1b2c.part"
    for part in (left, writing):
        part.write_text("start_s,end_s\n0.0")
    assert remove_stale_parts(tmp_path) == 1
    assert not left.exists() and writing.exists()
