"""Archives: `moodline analyze --out` keeps a manifest, so a run killed half-way resumes to the
same results as one that never stopped; --parquet writes every window and file of the folder
as two tables; a long batch reports its progress in logs."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from audio_fixtures import RATE, syllables
from test_jobs import folder_contents

MOODLINE = str(Path(sys.executable).with_name("moodline"))


def analyze(*args, model: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MOODLINE, "analyze", *map(str, args), "--model", str(model), "--jobs", "1"],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def make_batch(folder: Path, count: int, seconds: float, name: str = "clip") -> Path:
    """``count`` tones of ``seconds`` each and one WAV cut short."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        sf.write(folder / f"{name}{i:03d}.wav", syllables(150 + 7 * i, seconds) + 0.01 * rng.standard_normal(
            int(seconds * RATE)).astype(np.float32), RATE)
    whole = (folder / f"{name}000.wav").read_bytes()
    (folder / "cut.wav").write_bytes(whole[: len(whole) // 2])
    return folder


def done_rows(out: Path) -> int:
    try:
        with sqlite3.connect(out / "manifest.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM files WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:  # not made yet
        return 0


def table(path: Path) -> list[dict]:
    """A Parquet table's rows, without the run id (which names the run that wrote a row)."""
    return [{k: v for k, v in row.items() if k != "run_id"} for row in pq.read_table(path).to_pylist()]


def test_a_run_killed_half_way_resumes_to_what_an_uninterrupted_run_gives(tmp_path, model_path):
    batch = make_batch(tmp_path / "in", 40, 6.0)
    whole = tmp_path / "whole"
    first = analyze(batch, "--out", whole, "--segments", "--parquet", model=model_path)
    assert first.returncode == 2 and b"1 failed, 40 analysed" in first.stderr

    out = tmp_path / "killed"
    run = subprocess.Popen([MOODLINE, "analyze", str(batch), "--out", str(out), "--segments", "--parquet",
                            "--model", str(model_path), "--jobs", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while done_rows(out) < 10 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(10)
    killed_after = done_rows(out)
    assert 10 <= killed_after < 40, killed_after  # killed half-way, not at the end
    assert not (out / "windows.parquet").exists()

    resumed = analyze(batch, "--out", out, "--segments", "--parquet", "--resume", model=model_path)
    err = resumed.stderr.decode()
    assert f"resuming: {killed_after} of 41 files already done with this model and settings" in err
    assert resumed.returncode == 2 and err.rstrip().endswith("truncated (header says 6.00 s, file holds 3.00 s)")
    assert "cut.wav" in err  # a failed file is tried again

    mine, theirs = folder_contents(out), folder_contents(whole)
    for name in ("manifest.sqlite", "windows.parquet", "files.parquet"):
        mine.pop(name), theirs.pop(name)
    assert mine == theirs  # every timeline, segments file and summary.csv, byte for byte
    for name in ("windows.parquet", "files.parquet"):
        assert table(out / name) == table(whole / name)
    assert len(table(out / "files.parquet")) == 40
    assert len(table(out / "windows.parquet")) == sum(
        (whole / f"clip{i:03d}.wav.csv").read_text().count("\n") - 1 for i in range(40))

    again = analyze(batch, "--out", out, "--resume", "--segments", "--parquet", model=model_path)
    assert b"resuming: 40 of 41 files already done" in again.stderr  # only the bad file is left
    assert "moodline: 1 failed, 0 analysed, 40 done before:" in again.stderr.decode().splitlines()


def test_several_runs_into_one_folder_all_reach_the_tables(tmp_path, model_path):
    a = make_batch(tmp_path / "a", 2, 3.0)
    b = make_batch(tmp_path / "b", 3, 3.0, name="take")  # names of its own: one output file each
    out = tmp_path / "out"
    analyze(a, "--out", out, "--parquet", model=model_path)
    analyze(b, "--out", out, "--parquet", model=model_path)
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert sorted(Path(f["file"]).parent.name + "/" + Path(f["file"]).name for f in files) == [
        "a/clip000.wav", "a/clip001.wav", "b/take000.wav", "b/take001.wav", "b/take002.wav"]
    assert len({f["run_id"] for f in files}) == 2  # each row says which run made it
    windows = pq.read_table(out / "windows.parquet")
    assert set(windows.column_names) >= {"file", "run_id", "start_s", "end_s", "is_speech", "label",
                                         "confidence", "p_neutral", "p_angry"}
    assert len({Path(f).name for f in windows.column("file").to_pylist()}) == 5


def test_resume_and_parquet_need_an_out_folder(tmp_path, model_path):
    clip = make_batch(tmp_path / "in", 1, 1.0) / "clip000.wav"
    for option in ("--resume", "--parquet"):
        result = analyze(clip, option, model=model_path)
        assert result.returncode == 2
        assert result.stderr.decode().splitlines() == [f"moodline: {option} works on the --out folder: give --out DIR"]


def test_a_long_batch_reports_progress_in_logs(tmp_path, model_path):
    batch = make_batch(tmp_path / "in", 249, 0.3)
    result = analyze(batch, "--out", tmp_path / "out", model=model_path)
    lines = result.stderr.decode().splitlines()
    progress = [line for line in lines if " files, " in line]
    assert [line.split(" files, ")[0] for line in progress] == ["moodline: 100/250", "moodline: 200/250"]
    assert all("x real time, about " in line and line.endswith(" left") for line in progress)


def test_a_closed_stderr_does_not_stop_the_analysis(tmp_path, model_path):
    clip = make_batch(tmp_path / "in", 1, 2.0) / "clip000.wav"
    result = subprocess.run([MOODLINE, "analyze", str(clip), "--format", "json", "--model", str(model_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            timeout=60, preexec_fn=lambda: os.close(2))  # as `moodline analyze … 2>&-`
    assert result.returncode == 0
    assert json.loads(result.stdout)["file"] == str(clip)


def test_resume_analyses_again_what_an_older_moodline_did_under_other_speech_rules(tmp_path, model_path):
    batch = make_batch(tmp_path / "in", 3, 3.0)  # and one damaged file
    out = tmp_path / "out"
    first = analyze(batch, "--out", out, model=model_path)
    assert b"resuming" not in first.stderr and b"1 failed, 3 analysed" in first.stderr
    with sqlite3.connect(out / "manifest.sqlite") as db:  # as a run before the steadiness and clipping rules
        for run_id, settings in db.execute("SELECT run_id, settings FROM runs").fetchall():
            old = {k: v for k, v in json.loads(settings).items() if k not in ("speech_gate_db", "clipped_share")}
            db.execute("UPDATE runs SET settings = ? WHERE run_id = ?", (json.dumps(old, sort_keys=True), run_id))
    again = analyze(batch, "--out", out, "--resume", model=model_path)
    assert b"resuming" not in again.stderr and b"done before" not in again.stderr
    assert b"1 failed, 3 analysed:" in again.stderr  # all analysed again
    settled = analyze(batch, "--out", out, "--resume", model=model_path)
    assert b"resuming: 3 of 4 files already done" in settled.stderr


def test_the_archive_is_driven_from_python_as_the_command_drives_it(tmp_path, model_path, conversation):
    """An archive run without the command line: write, resume past what is done, merge the summary."""
    import csv

    from moodline.engine.analysis import AnalysisSettings, analyze_file
    from moodline.engine.archive import SUMMARY_FILE, Archive, find_inputs, run_settings
    from moodline.engine.model import EmotionModel

    inputs_dir = tmp_path / "talks"
    (inputs_dir / "monday").mkdir(parents=True)
    sf.write(inputs_dir / "a.wav", conversation, RATE)
    sf.write(inputs_dir / "monday" / "b.wav", conversation[: 5 * RATE], RATE)
    model, settings = EmotionModel(model_path), AnalysisSettings()
    inputs, failures = find_inputs([str(inputs_dir), str(tmp_path / "missing")])
    assert [f.name for f, _ in inputs] == ["a.wav", "b.wav"]
    assert failures == [f"{tmp_path / 'missing'}: no such file or folder"]

    def run(todo_expected: int) -> list[list[str]]:
        archive = Archive(tmp_path / "out", model, run_settings(settings, model, "csv", segments=False))
        todo = archive.not_done_yet(inputs)
        assert len(todo) == todo_expected
        summaries = []
        for file, root in todo:
            timeline = analyze_file(file, model, settings)
            archive.keep(file, root, timeline, "csv")
            summaries.append(timeline.to_json_dict(str(file)))
        archive.finish(summaries, "csv", parquet=False)
        with open(tmp_path / "out" / SUMMARY_FILE, newline="") as handle:
            return list(csv.reader(handle))

    first = run(todo_expected=2)
    assert (tmp_path / "out" / "monday" / "b.wav.csv").is_file()  # sub-folders kept
    assert [row[0] for row in first[1:]] == sorted(str(f) for f, _ in inputs)
    assert run(todo_expected=0) == first  # nothing to do again; the summary keeps both rows
    sf.write(inputs_dir / "a.wav", conversation[: 8 * RATE], RATE)  # changed since: analysed again
    again = run(todo_expected=1)
    assert len(again) == 3 and again[1] != first[1] and again[2] == first[2]


def test_tables_are_written_into_a_folder_whose_name_is_not_utf8(tmp_path, model_path, conversation):
    """pyarrow cannot take such a path; the tables are written all the same."""
    sf.write(tmp_path / "talk.wav", conversation, RATE)
    out = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9")
    result = subprocess.run([MOODLINE, "analyze", str(tmp_path / "talk.wav"), "--out", out, "--parquet",
                             "--model", str(model_path)], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(out, "files.parquet"), "rb") as handle:
        assert pq.read_table(handle).column("file").to_pylist() == [str(tmp_path / "talk.wav")]


def test_inputs_with_one_name_never_overwrite_each_others_results(tmp_path, model_path, conversation, speech):
    """Two talk.wav from two folders used to write one talk.wav.csv (and one Parquet row), exit 0."""
    for folder, audio in (("x", conversation), ("y", speech)):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "talk.wav", audio, RATE)
    sf.write(tmp_path / "summary", speech, RATE, format="WAV")  # named like the folder's own summary
    out = tmp_path / "out"

    def analyze(*inputs):
        return subprocess.run([MOODLINE, "analyze", *map(str, inputs), "--out", str(out), "--segments", "--parquet",
                               "--model", str(model_path)], capture_output=True, text=True, timeout=120)

    first = analyze(tmp_path / "x" / "talk.wav", tmp_path / "y" / "talk.wav", tmp_path / "summary")
    assert first.returncode == 2
    assert (f"moodline: {tmp_path / 'y' / 'talk.wav'}: not analysed: its results would be written over "
            f"{out / 'talk.wav.csv'}, which is {tmp_path / 'x' / 'talk.wav'}'s (give it another --out folder)"
            ) in first.stderr.splitlines()
    assert f"moodline: {tmp_path / 'summary'}: not analysed: its results would be written as {out / 'summary.csv'}, " \
           "the folder's own file (give it another --out folder)" in first.stderr.splitlines()
    kept = (out / "talk.wav.csv").read_text()
    assert len(kept.splitlines()) > 20  # x's timeline (its conversation is four times y's speech)
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("file,duration_s,label") and len(summary) == 2  # x's row, and the header
    assert pq.read_table(out / "files.parquet").column("file").to_pylist() == [str(tmp_path / "x" / "talk.wav")]

    # A later run, or folders holding files of one name, may not write over it either.
    later = analyze(tmp_path / "y")
    assert later.returncode == 2 and "which is" in later.stderr and (out / "talk.wav.csv").read_text() == kept
    again = analyze(tmp_path / "x" / "talk.wav")  # the file that owns the name may be analysed again
    assert again.returncode == 0, again.stderr
