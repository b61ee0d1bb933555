"""`moodline analyze --jobs N`: files analysed in worker processes give exactly what one process
gives (stdout, stderr, exit code, the --out folder), in the order of the input, and a worker
that dies or a Ctrl-C never hangs the batch or shows a traceback.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence, syllables
from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine import batch as engine_batch
from moodline.engine.batch import WORKER_DIED, WORKERS_KEEP_DYING, analyze_files
from moodline.engine.model import EmotionModel

MOODLINE = str(Path(sys.executable).with_name("moodline"))
GOOD_FILES = ("speech.wav", "sub/quiet.flac", "sub/speech.flac", "tone0.wav", "tone1.wav", "tone2.wav")
BAD_FILES = ("bad-header.wav", "cut.wav", "junk.mp3", "random.mp3")


def analyze(*args, model: Path, jobs: int) -> subprocess.CompletedProcess:
    """``moodline analyze ARGS --model MODEL --jobs N`` as a process; stdout and stderr as bytes."""
    return subprocess.run([MOODLINE, "analyze", *map(str, args), "--model", str(model), "--jobs", str(jobs)],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60)


def folder_contents(folder: Path) -> dict[str, bytes]:
    """Every file's bytes; the manifest (run ids and times differ from run to run) as its rows."""
    contents = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.name.startswith("manifest.sqlite")}
    if (folder / "manifest.sqlite").exists():
        with sqlite3.connect(folder / "manifest.sqlite") as db:
            rows = db.execute("SELECT path, size_bytes, mtime_ns, status, error, output, duration_s, summary "
                              "FROM files ORDER BY path").fetchall()
        contents["manifest.sqlite"] = repr(rows).encode()
    return contents


@pytest.fixture
def batch(tmp_path, speech) -> Path:
    """Six files that analyse (speech, tones, silence, in a sub-folder too) and four that cannot:
    a WAV cut short, a WAV whose header has no data chunk, random bytes named .mp3, and an ID3
    tag followed by junk (libmpg123 prints notes about it, which the user must not see)."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    sf.write(folder / "speech.wav", np.concatenate([silence(0.5), speech, silence(0.5)]), RATE)
    sf.write(folder / "sub" / "speech.flac", speech, RATE)
    sf.write(folder / "sub" / "quiet.flac", silence(3), RATE)
    for i, freq in enumerate((220, 440, 880)):
        sf.write(folder / f"tone{i}.wav", syllables(freq, 2.0 + i), RATE)
    whole = (folder / "tone2.wav").read_bytes()
    (folder / "cut.wav").write_bytes(whole[: len(whole) // 2])
    (folder / "random.mp3").write_bytes(np.random.default_rng(1).bytes(20000))
    (folder / "junk.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + np.random.default_rng(2).bytes(5000))
    (folder / "bad-header.wav").write_bytes(whole[:36] + b"junk" + whole[40:])  # the "data" chunk renamed
    return folder


@pytest.mark.parametrize("options", [[], ["--format", "csv"], ["--format", "json"],
                                     ["--out", "{out}", "--segments"], ["--out", "{out}", "--format", "json"]],
                         ids=["text", "csv", "json", "out-csv-segments", "out-json"])
def test_two_jobs_give_exactly_what_one_gives(batch, tmp_path, model_path, options):
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        result = analyze(batch, *[o.format(out=out) for o in options], model=model_path, jobs=jobs)
        err = result.stderr.decode().replace(str(out), "OUT")
        runs[jobs] = (result.returncode, result.stdout.decode(), err, folder_contents(out) if out.exists() else None)
    one, two = runs[1], runs[2]

    code, stdout, stderr, written = one
    assert code == 2 and "Traceback" not in stderr
    lines = stderr.splitlines()
    assert [Path(line.split(": ")[1]).name for line in lines[:4]] == list(BAD_FILES)
    assert "No 'data' chunk marker" in lines[0] and "truncated" in lines[1]
    assert lines[2].endswith("junk.mp3: not a readable audio file (unrecognised or damaged data)")
    assert lines[4] == "moodline: 4 failed, 6 analysed:" and len(lines) == 9
    if written is None:
        assert all(name in stdout for name in GOOD_FILES) and not any(name in stdout for name in BAD_FILES)
    else:
        suffixes = [".json"] if "json" in options else [".csv", ".segments.csv"]
        assert set(written) == {name + suffix for name in GOOD_FILES for suffix in suffixes} \
            | ({"summary.csv", ".summary.csv.lock"} if suffixes == [".csv", ".segments.csv"] else set()) \
            | {"manifest.sqlite"}
        if "summary.csv" in written:
            assert written["summary.csv"].count(b"\n") == 1 + len(GOOD_FILES)
        assert written["manifest.sqlite"].count(b"'done'") == len(GOOD_FILES)
        assert written["manifest.sqlite"].count(b"'failed'") == len(BAD_FILES)
    assert two[0] == code
    assert two[1] == stdout
    assert two[2] == stderr
    assert two[3] == written


def test_results_come_in_the_order_of_the_input_whatever_finishes_first(tmp_path, model_path):
    # A long file first, then short ones: with two workers the short ones finish first.
    names = ["long.wav", "c.wav", "b.wav", "a.wav", "d.wav"]
    for i, name in enumerate(names):
        sf.write(tmp_path / name, syllables(200 + 100 * i, 60.0 if name == "long.wav" else 1.0), RATE)
    result = analyze(*(tmp_path / n for n in names), "--format", "json", model=model_path, jobs=2)
    assert result.returncode == 0, result.stderr
    assert [Path(json.loads(line)["file"]).name for line in result.stdout.splitlines()] == names


def test_only_twice_as_many_files_as_workers_are_out_at_a_time(tmp_path, model_path, monkeypatch):
    """A long file first holds up the output of the short ones after it: they are not all
    analysed and kept meanwhile (a batch of 100,000 files would fill the memory)."""
    files = [tmp_path / f"t{i:02d}.wav" for i in range(12)]
    for i, file in enumerate(files):
        sf.write(file, syllables(300, 120.0 if i == 0 else 1.0), RATE)
    handed_out = []
    submit = engine_batch._Pool.submit
    monkeypatch.setattr(engine_batch._Pool, "submit", lambda pool, file: (handed_out.append(file), submit(pool, file))[1])
    results = analyze_files(files, EmotionModel(model_path), AnalysisSettings(), jobs=2)
    for emitted, result in enumerate(results):
        assert result.error is None
        assert len(handed_out) - emitted <= 2 * 2  # out: handed to a worker and not yet emitted
    assert handed_out == files


def test_a_worker_killed_mid_batch_costs_nothing(tmp_path, model_path):
    """The files a killed worker had are analysed again: the batch ends as if nothing happened."""
    files = []
    for i in range(6):
        files.append(tmp_path / f"t{i}.wav")
        sf.write(files[-1], syllables(150 + 50 * i, 20.0), RATE)
    model, settings = EmotionModel(model_path), AnalysisSettings()
    expected = [analyze_file(f, model, settings).to_csv() for f in files]
    killed = []

    def kill_the_first_workers() -> None:
        deadline = time.monotonic() + 20
        while not killed and time.monotonic() < deadline:
            workers = multiprocessing.active_children()  # the pool's
            if len(workers) == 2:
                for worker in workers:
                    worker.kill()
                    killed.append(worker.pid)
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_first_workers)
    killer.start()
    try:
        got = [result.get().to_csv() for result in analyze_files(files, model, settings, jobs=2)]
    finally:
        killer.join()
    assert killed
    assert got == expected


def test_workers_that_keep_dying_end_the_batch_with_a_line_per_file(tmp_path, model_path):
    """Workers killed as soon as they start: the batch still ends, each file reported failed once."""
    files = []
    for i in range(8):
        files.append(tmp_path / f"t{i}.wav")
        sf.write(files[-1], syllables(300, 1.0), RATE)
    stop = threading.Event()

    def keep_killing() -> None:
        while not stop.is_set():
            workers = multiprocessing.active_children()
            if len(workers) == 2:  # a pool's workers, both started
                for worker in workers:
                    worker.kill()
            time.sleep(0.01)

    killer = threading.Thread(target=keep_killing)
    killer.start()
    try:
        errors = [str(r.error) for r in analyze_files(files, EmotionModel(model_path), AnalysisSettings(), jobs=2)]
    finally:
        stop.set()
        killer.join()
    assert len(errors) == len(files)
    for file, error in zip(files, errors):
        assert error in (f"{file}: {WORKER_DIED}", f"{file}: {WORKERS_KEEP_DYING}")
    assert errors[-1] == f"{files[-1]}: {WORKERS_KEEP_DYING}"  # not a pool started per file


def terminal_signals() -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background (``scripts/test &``)
    has SIGINT ignored, and a child inherits that, so the test would not be one of Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_batch(folder: Path, model_path: Path) -> subprocess.Popen:
    """``moodline analyze FOLDER --jobs 2`` in a session of its own, once its first result is out."""
    for i in range(8):
        sf.write(folder / f"t{i}.wav", syllables(200 + 20 * i, 30.0), RATE)
    proc = subprocess.Popen([MOODLINE, "analyze", str(folder), "--format", "json", "--model", str(model_path),
                             "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=terminal_signals)
    assert json.loads(proc.stdout.readline())["file"].endswith("t0.wav")  # the workers are busy
    return proc


def assert_no_process_left(group: int) -> None:
    """Every process of the group (the workers, multiprocessing's helper) ends within seconds."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("worker processes outlived moodline")


def test_ctrl_c_ends_the_batch_at_once_without_a_traceback(tmp_path, model_path):
    proc = start_batch(tmp_path, model_path)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the parent and its workers
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err == b""
    assert time.monotonic() - started < 5
    assert_no_process_left(proc.pid)


def test_killing_the_main_process_leaves_no_worker_behind(tmp_path, model_path):
    """`kill` (as `timeout` sends it) ends moodline as with --jobs 1: no word on stderr, and its
    workers go too instead of waiting for files forever."""
    proc = start_batch(tmp_path, model_path)
    proc.terminate()  # the main process only
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM and err == b""
    assert_no_process_left(proc.pid)


def test_a_model_failing_on_one_files_windows_names_the_file(tmp_path, model_path, conversation, monkeypatch, capsys):
    """The line named only the model: the user could not tell which file of the batch failed."""
    from moodline.engine import cli
    from moodline.engine.errors import ModelError
    from moodline.engine.model import EmotionModel

    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, conversation, RATE)
    original = EmotionModel.predict

    def predict(self, batch):
        if getattr(predict, "fail", False):
            raise ModelError(f"{self.path}: the model failed on these windows (Reshape)")
        predict.fail = True  # it works once, then fails
        return original(self, batch)

    monkeypatch.setattr(EmotionModel, "predict", predict)
    code = cli.main(["analyze", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "--jobs", "1",
                     "--model", str(model_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"moodline: {tmp_path / 'b.wav'}: {model_path}: the model failed on these windows (Reshape)" in err
