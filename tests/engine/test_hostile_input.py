"""Hostile input to `moodline analyze`, met the way a user meets it: the real command, run as a
process. Each case builds its input here and asserts one clear line on stderr, exit code 2, no
traceback, and never a wrong-looking-right result with exit 0 (issue 7).
"""
from __future__ import annotations

import contextlib
import csv
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence, tone
from model_factory import make_model
from moodline.engine.audio import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ
from moodline.engine.features import FEATURE_KINDS, REQUIRED_PARAMS, FeatureSpec

MOODLINE = str(Path(sys.executable).with_name("moodline"))


def analyze(*args, model: Path | None, cwd=None, stdout=subprocess.PIPE, preexec_fn=None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """``moodline analyze ARGS [--model MODEL]`` as a process; stdout and stderr as bytes."""
    extra = ["--model", str(model)] if model else []
    return subprocess.run([MOODLINE, "analyze", *map(os.fsdecode, args), *extra], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec_fn=preexec_fn,
                          timeout=timeout)


def text(data: bytes) -> str:
    """Output as Python sees file names: bytes that are not UTF-8 as lone surrogates."""
    return data.decode("utf-8", "surrogateescape")


def err_lines(result: subprocess.CompletedProcess) -> list[str]:
    err = text(result.stderr)
    assert "Traceback" not in err, err
    return err.strip().splitlines()


def assert_one_line(result: subprocess.CompletedProcess, line: str) -> None:
    """Exit 2, nothing on stdout, and exactly ``line`` on stderr."""
    assert err_lines(result) == [line]
    assert result.returncode == 2
    assert result.stdout in (b"", None)


def without_permission_override() -> None:
    """preexec_fn: run the child as root without root's power to ignore file permissions.

    CI runs as root, where a mode-000 file is readable and a permission test means nothing.
    Dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set leaves the child
    root by name but bound by permission bits like any user; not root, nothing to drop.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            os._exit(99)  # the test then fails on the exit code: never a silent pass


@pytest.fixture
def talk(tmp_path, speech) -> Path:
    path = tmp_path / "talk.wav"
    sf.write(path, np.concatenate([silence(0.5), speech, silence(0.5)]), RATE)
    return path


# ---- truncated files ------------------------------------------------------------------------
def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_a_wav_cut_mid_data_is_reported_as_truncated(tmp_path, talk, model_path):
    seconds = sf.info(talk).duration
    _cut(talk, 0.5)
    held = sf.info(talk).frames / RATE  # what libsndfile would quietly have analysed
    assert_one_line(analyze(talk, "--format", "json", model=model_path),
                    f"moodline: {talk}: truncated (header says {seconds:.2f} s, file holds {held:.2f} s)")


def test_truncation_is_found_in_every_header_that_gives_a_length(tmp_path, speech, model_path):
    """WAV, RF64 and AIFF cut short are refused; complete files, and a WAV streamed through a pipe
    (its header says 'length unknown'), are analysed."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, fmt in (("cut.wav", "WAV"), ("cut-rf64.wav", "RF64"), ("cut.aiff", "AIFF"), ("whole.wav", "WAV")):
        sf.write(folder / name, speech, RATE, format=fmt)
    for name in ("cut.wav", "cut-rf64.wav", "cut.aiff"):
        _cut(folder / name, 0.6)
    streamed = subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(folder / "whole.wav"),
                               "-f", "wav", "pipe:1"], capture_output=True, check=True).stdout
    assert b"data\xff\xff\xff\xff" in streamed[:200]  # "length unknown": ffmpeg could not go back
    (folder / "streamed.wav").write_bytes(streamed)

    result = analyze(folder, "--format", "json", model=model_path)
    assert result.returncode == 2
    assert sorted(Path(json.loads(line)["file"]).name for line in result.stdout.splitlines()) == \
        ["streamed.wav", "whole.wav"]
    lines = err_lines(result)
    truncated = [line for line in lines if line.startswith("moodline: ") and ": truncated (header says " in line]
    assert sorted(Path(line.split(": ")[1]).name for line in truncated) == ["cut-rf64.wav", "cut.aiff", "cut.wav"]
    assert lines[3] == "moodline: 3 failed, 2 analysed:" and len(lines) == 7


# ---- file names ------------------------------------------------------------------------------
def test_names_that_are_not_utf8_round_trip_and_never_stop_a_batch(tmp_path, talk, model_path):
    folder = tmp_path / "names"
    folder.mkdir()
    mueller = os.fsencode(folder) + b"/M\xfcller.wav"  # Latin-1 from an old system: not UTF-8
    broken = os.fsencode(folder) + b"/kaputt\xff.wav"
    shutil.copy(talk, mueller)
    shutil.copy(talk, folder / "ok.wav")
    with open(broken, "wb") as handle:
        handle.write(b"RIFF" + bytes(200))

    # JSON Lines: the name as \udcXX escapes, which os.fsencode turns back into the bytes
    result = analyze(folder, "--format", "json", model=model_path)
    assert result.returncode == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(os.fsencode(r["file"]) for r in records) == sorted([mueller, os.fsencode(folder / "ok.wav")])
    assert b"\\udcfc" in result.stdout
    lines = err_lines(result)
    assert lines[0] == f"moodline: {os.fsdecode(broken)}: not a readable audio file (format not recognised)"
    assert lines[1:] == ["moodline: 1 failed, 2 analysed:", f"  {lines[0][len('moodline: '):]}"]
    assert os.fsencode(lines[0]).startswith(b"moodline: " + broken)  # stderr has the name's own bytes

    # --out: a timeline per file and summary.csv, both with the original bytes
    out = tmp_path / "out"
    result = analyze(folder, "--out", out, model=model_path)
    assert result.returncode == 2 and len(err_lines(result)) == 3
    assert os.path.exists(os.fsencode(out) + b"/M\xfcller.wav.csv")
    with open(out / "summary.csv", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(os.fsencode(r["file"]) for r in rows) == sorted([mueller, os.fsencode(folder / "ok.wav")])
    assert mueller + b"  " in result.stdout  # the terminal summary names it as it is on disk

    # CSV on stdout
    result = analyze(os.fsdecode(mueller), "--format", "csv", model=model_path)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].startswith(b"file,start_s") and all(row.startswith(mueller + b",") for row in rows[1:])


# ---- only local files ------------------------------------------------------------------------
def test_a_name_that_looks_like_a_url_is_a_local_file_and_nothing_goes_to_the_network(tmp_path, talk, model_path):
    """`http:/127.0.0.1:PORT/x.m4a` is a folder `http:` holding `127.0.0.1:PORT/x.m4a`; FFmpeg once
    read it as a URL. A socket listening on that port must see no connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    local = tmp_path / "http:" / f"127.0.0.1:{port}"
    local.mkdir(parents=True)
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(talk), "-c:a", "aac", str(local / "x.m4a")],
                   check=True)
    try:
        result = analyze(f"http:/127.0.0.1:{port}/x.m4a", "--format", "json", model=model_path, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout)
        assert record["file"] == f"http:/127.0.0.1:{port}/x.m4a"
        assert record["duration_s"] == pytest.approx(sf.info(talk).duration, abs=0.1)

        result = analyze(f"http://127.0.0.1:{port}/y.m4a", model=model_path, cwd=tmp_path)
        assert_one_line(result, f"moodline: http:/127.0.0.1:{port}/y.m4a: no such file or folder")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()


# ---- models ----------------------------------------------------------------------------------
@pytest.mark.parametrize("output, problem", [
    ("times10", "on a probe of silence and noise its probabilities sum to 10, not 1"),
    ("negative", "on a probe of silence and noise it returned negative probabilities (as low as -1)"),
    ("logits", "on a probe of silence and noise it returned negative probabilities"),
    ("nan", "on a probe of silence and noise it returned non-finite probabilities"),
])
def test_a_model_whose_output_is_not_probabilities_is_refused_when_it_loads(tmp_path, talk, output, problem):
    model = make_model(tmp_path / f"{output}.onnx", window_s=2.0, output=output)
    result = analyze(talk, model=model)
    lines = err_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"moodline: {model}: the model's output is not probabilities: {problem}")
    assert result.returncode == 2 and result.stdout == b""


def test_a_model_with_integer_output_is_refused(tmp_path, talk):
    model = make_model(tmp_path / "int.onnx", window_s=2.0, output="int64")
    assert_one_line(analyze(talk, model=model),
                    f"moodline: {model}: output 'probabilities' is a tensor(int64), not floating-point probabilities")


def test_a_features_object_missing_a_parameter_is_refused_not_defaulted(tmp_path, talk):
    params = FeatureSpec(hop_length=320).to_dict()
    del params["hop_length"]  # the old reader took 160: a third of the labels changed
    model = make_model(tmp_path / "nohop.onnx", window_s=2.0, metadata={"features": json.dumps(params)})
    assert_one_line(analyze(talk, model=model),
                    f"moodline: {model}: metadata key 'features' is malformed: log_mel features need "
                    "hop_length (no parameter has a default)")


@pytest.mark.parametrize("key, value", [("n_fft", 2_000_001), ("n_fft", 4_000_000), ("n_mels", 200_000),
                                        ("hop_length", 10_000_000)])
def test_feature_sizes_no_model_has_are_refused_when_it_loads(tmp_path, talk, key, value):
    """A model file that would make every window allocate gigabytes is refused in one line."""
    params = FeatureSpec().to_dict() | {key: value}
    if key == "n_fft":
        params["win_length"] = 400
    model = make_model(tmp_path / "huge.onnx", window_s=2.0, metadata={"features": json.dumps(params)})
    result = analyze(talk, model=model)
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"" and err.count("\n") == 1, err
    assert err.startswith(f"moodline: {model}: metadata key 'features' is malformed: {key} must be at most ")


def test_every_feature_kind_lists_its_required_parameters():
    assert set(REQUIRED_PARAMS) == set(FEATURE_KINDS)
    for kind, keys in REQUIRED_PARAMS.items():
        assert "kind" in keys and {"n_fft", "hop_length"} <= set(keys), kind


# ---- analysis settings -----------------------------------------------------------------------
@pytest.mark.parametrize("option, value, message", [
    ("--window", "nan", "window must be between 0.1 and 30 seconds, not nan"),
    ("--window", "inf", "window must be between 0.1 and 30 seconds, not inf"),
    ("--window", "0.01", "window must be between 0.1 and 30 seconds, not 0.01"),
    ("--window", "3600", "window must be between 0.1 and 30 seconds, not 3600"),
    ("--window", "100000", "window must be between 0.1 and 30 seconds, not 100000"),
    ("--hop", "nan", "hop must be more than 0 and at most 30 seconds, not nan"),
    ("--hop", "inf", "hop must be more than 0 and at most 30 seconds, not inf"),
    ("--hop", "0", "hop must be more than 0 and at most 30 seconds, not 0"),
    ("--hop", "-1", "hop must be more than 0 and at most 30 seconds, not -1"),
    ("--hop", "1e300", "hop must be more than 0 and at most 30 seconds, not 1e+300"),
    ("--hop", "2.5", "hop (2.5 s) is longer than the window (2 s): the audio between windows would go unheard"),
    ("--smooth", "0", "smoothing must cover 1 to 1000 windows, not 0"),
    ("--smooth", "1001", "smoothing must cover 1 to 1000 windows, not 1001"),
    ("--smooth", "100000000000000000000", "smoothing must cover 1 to 1000 windows, not 100000000000000000000"),
])
def test_window_hop_and_smoothing_out_of_range_are_one_line(talk, model_path, option, value, message):
    assert_one_line(analyze(talk, option, value, model=model_path), f"moodline: {message}")


def test_worker_counts_and_listening_times_out_of_range_are_one_line(talk, model_path):
    from moodline.engine.batch import usable_cores

    most = 4 * usable_cores()
    for jobs in ("0", "-3", str(most + 1), "1000"):  # --jobs 1000 once started a worker per file
        assert_one_line(analyze(talk, "--jobs", jobs, model=model_path),
                        f"moodline: --jobs must be from 1 to {most} (4 per core here), not {jobs}")
    for seconds, shown in (("-1", "-1"), ("nan", "nan"), ("0", "0"), ("inf", "inf")):
        result = subprocess.run([MOODLINE, "listen", "--seconds", seconds, "--model", str(model_path)],
                                capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        assert_one_line(result, f"moodline: --seconds must be more than 0, not {shown}")


def test_windows_far_from_the_models_own_are_refused(talk, model_path):
    """The default gave 'calm 1.00' for 0.1 s windows and 'fearful 1.000' for 30 s, exit 0."""
    for window in ("0.1", "0.9", "4.5", "30"):
        assert_one_line(analyze(talk, "--window", window, model=model_path),
                        f"moodline: {model_path}: this model was trained on 2 s windows and judges 1 to 4 s; "
                        f"{window} s windows would get answers it never learnt to give")


def test_the_largest_window_and_hop_still_work(tmp_path, talk):
    model_path = make_model(tmp_path / "long.onnx", window_s=15.0)
    result = analyze(talk, "--window", "30", "--hop", "30", "--format", "json", model=model_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["timeline"]) == 1  # one padded window covers the clip


# ---- sample rates ----------------------------------------------------------------------------
def test_a_sample_rate_outside_the_stated_range_is_refused_before_decoding(tmp_path, talk, model_path):
    folder = tmp_path / "rates"
    folder.mkdir()
    sf.write(folder / "one-hz.wav", np.full(60000, 0.01, np.float32), 1, subtype="PCM_16")  # 120 KB, "16 hours"
    sf.write(folder / "too-fast.wav", np.zeros(1000, np.float32), MAX_SAMPLE_RATE_HZ + 1)
    sf.write(folder / "slowest.wav", tone(300, 2.0, MIN_SAMPLE_RATE_HZ), MIN_SAMPLE_RATE_HZ)
    shutil.copy(talk, folder / "talk.wav")
    result = analyze(folder, "--format", "json", model=model_path, timeout=30)
    assert result.returncode == 2
    assert sorted(Path(json.loads(r)["file"]).name for r in result.stdout.splitlines()) == ["slowest.wav", "talk.wav"]
    assert err_lines(result)[:2] == [
        f"moodline: {folder / 'one-hz.wav'}: sample rate 1 Hz is outside the range Moodline reads (2000–768000 Hz)",
        f"moodline: {folder / 'too-fast.wav'}: sample rate 768001 Hz is outside the range Moodline reads "
        "(2000–768000 Hz)",
    ]


# ---- output ----------------------------------------------------------------------------------
@contextlib.contextmanager
def full_disk(folder: Path):
    """A folder that fills up after about 16 KB: (preexec_fn for the writer, the cause it sees).

    A 16 KB tmpfs when this machine lets us mount one (root in CI); otherwise a 1 KB limit on
    the size of any file the child writes (RLIMIT_FSIZE, with SIGXFSZ ignored so the write
    fails with EFBIG instead of killing it).
    """
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    if mounted:
        try:
            yield None, "no space left on device"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    yield limit_file_size, "file too large"


def test_a_full_disk_is_one_line_per_write_and_leaves_no_partial_files(tmp_path, model_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(30):
        sf.write(clips / f"clip{i:02d}.wav", tone(200 + 10 * i, 0.5), RATE)
    with full_disk(tmp_path / "disk") as (preexec_fn, cause):
        out = tmp_path / "disk" / "out"
        result = analyze(clips, "--out", out, model=model_path, preexec_fn=preexec_fn)
        lines = err_lines(result)
        files = {p.name: p.stat().st_size for p in out.rglob("*")}
    assert result.returncode == 2
    assert f"moodline: {out / 'summary.csv'}: cannot write ({cause})" in lines
    for line in lines:  # every line is a failed write (the manifest's too), the count, or the list
        assert line.endswith(f": cannot write ({cause})") or line.startswith("moodline: ") and " failed, " in line \
            or f"{out / 'manifest.sqlite'}: cannot keep the run's manifest (" in line, line
    assert "summary.csv" not in files  # never a 0-byte or half summary under its final name
    assert not [name for name in files if name.endswith(".part")]
    written = [name for name in files if name.endswith(".wav.csv")]
    assert all(files[name] > 0 for name in written)
    assert len(written) + sum(1 for line in lines if line.startswith("moodline: ") and ".wav.csv: cannot write" in line) == 30


def test_stdout_on_a_full_device_is_one_line(talk, model_path):
    with open("/dev/full", "wb") as full:
        result = analyze(talk, "--format", "json", model=model_path, stdout=full)
    assert err_lines(result) == ["moodline: standard output: cannot write (no space left on device)"]
    assert result.returncode == 2


def test_an_output_folder_blocked_by_a_file_is_one_line(tmp_path, talk, model_path):
    (tmp_path / "taken").write_text("not a folder")
    assert_one_line(analyze(talk, "--out", tmp_path / "taken" / "out", model=model_path),
                    f"moodline: {tmp_path / 'taken' / 'out'}: cannot create the folder "
                    "(a file is in the way of a folder in this path)")
    assert_one_line(analyze(talk, "--out", tmp_path / "taken", model=model_path),
                    f"moodline: {tmp_path / 'taken'}: is a file, not a folder for the results")
    # A sub-folder of the results whose name a file already has: that file fails, the rest go on
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(talk, folder / "a.wav")
    shutil.copy(talk, folder / "sub" / "b.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("in the way")
    result = analyze(folder, "--out", out, model=model_path)
    assert err_lines(result) == [
        f"moodline: {out / 'sub'}: is a file, not a folder for the results",
        "moodline: 1 failed, 1 analysed:",
        f"  {out / 'sub'}: is a file, not a folder for the results"]
    assert result.returncode == 2 and (out / "a.wav.csv").exists()
    assert [r["file"] for r in csv.DictReader((out / "summary.csv").open())] == [str(folder / "a.wav")]


def _summary_files(out: Path) -> list[str]:
    return sorted(Path(r["file"]).name for r in csv.DictReader((out / "summary.csv").open()))


def test_runs_into_one_out_folder_keep_each_others_rows(tmp_path, talk, model_path):
    inputs = []
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).mkdir()
        shutil.copy(talk, tmp_path / name / f"{name}.wav")
        inputs.append(tmp_path / name)
    # one after another; a file analysed again replaces its row
    out = tmp_path / "one-after-another"
    for folder in (inputs[0], inputs[1], inputs[0]):
        assert analyze(folder, "--out", out, model=model_path).returncode == 0
    assert _summary_files(out) == ["a.wav", "b.wav"]
    # at the same time
    out = tmp_path / "together"
    runs = [subprocess.Popen([MOODLINE, "analyze", str(folder), "--out", str(out), "--model", str(model_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for folder in inputs]
    assert [run.wait(timeout=60) for run in runs] == [0, 0, 0, 0], [run.stderr.read() for run in runs]
    assert _summary_files(out) == ["a.wav", "b.wav", "c.wav", "d.wav"]
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))


def test_a_summary_from_another_model_is_left_alone(tmp_path, talk, model_path):
    out = tmp_path / "out"
    assert analyze(talk, "--out", out, model=model_path).returncode == 0
    before = (out / "summary.csv").read_bytes()
    other = make_model(tmp_path / "two.onnx", labels=("low", "high"), window_s=2.0)
    result = analyze(talk, "--out", out, model=other)
    assert err_lines(result) == [f"moodline: {out / 'summary.csv'}: holds a summary with other columns "
                                 "(another model?); left as it is: write to another --out folder"]
    assert result.returncode == 2 and (out / "summary.csv").read_bytes() == before


# ---- messages that say the true cause --------------------------------------------------------
def test_a_file_without_read_permission_says_so(tmp_path, talk, model_path):
    locked = tmp_path / "locked.wav"
    shutil.copy(talk, locked)
    locked.chmod(0)
    assert_one_line(analyze(locked, model=model_path, preexec_fn=without_permission_override),
                    f"moodline: {locked}: cannot read (permission denied)")
    inside = tmp_path / "closed" / "talk.wav"  # a folder we may not enter: once a traceback
    inside.parent.mkdir()
    shutil.copy(talk, inside)
    inside.parent.chmod(0)
    try:
        result = analyze(inside, talk, "--format", "json", model=model_path, preexec_fn=without_permission_override)
    finally:
        inside.parent.chmod(0o700)
    assert err_lines(result) == [f"moodline: {inside}: cannot read (permission denied)", "moodline: 1 failed, 1 analysed:",
                                 f"  {inside}: cannot read (permission denied)"]
    assert result.returncode == 2 and len(result.stdout.splitlines()) == 1


def test_an_unreadable_subfolder_is_listed_as_failed_not_skipped(tmp_path, talk, model_path):
    folder = tmp_path / "batch"
    (folder / "locked").mkdir(parents=True)
    shutil.copy(talk, folder / "ok.wav")
    shutil.copy(talk, folder / "locked" / "hidden.wav")
    (folder / "locked").chmod(0)
    try:
        result = analyze(folder, "--format", "json", model=model_path, preexec_fn=without_permission_override)
    finally:
        (folder / "locked").chmod(0o700)
    assert result.returncode == 2
    assert [Path(json.loads(r)["file"]).name for r in result.stdout.splitlines()] == ["ok.wav"]
    problem = f"{folder / 'locked'}: cannot list the folder (permission denied)"
    assert err_lines(result) == [f"moodline: {problem}", "moodline: 1 failed, 1 analysed:", f"  {problem}"]


def test_pipes_and_devices_are_not_regular_files_and_never_hang(tmp_path, talk, model_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # nobody ever writes: opening it to read would wait forever
    assert_one_line(analyze(fifo, model=model_path, timeout=30),
                    f"moodline: {fifo}: not a regular file (a named pipe)")
    assert_one_line(analyze("/dev/zero", model=model_path, timeout=30),
                    "moodline: /dev/zero: not a regular file (a device)")
    folder = tmp_path / "batch"
    folder.mkdir()
    os.mkfifo(folder / "a-pipe.wav")
    shutil.copy(talk, folder / "b.wav")
    result = analyze(folder, "--format", "json", model=model_path, timeout=30)
    assert result.returncode == 2 and len(result.stdout.splitlines()) == 1
    assert err_lines(result)[0] == f"moodline: {folder / 'a-pipe.wav'}: not a regular file (a named pipe)"


def test_random_bytes_named_mp3_are_one_line_without_libmpg123_chatter(tmp_path, talk, model_path):
    noise = tmp_path / "random.mp3"
    noise.write_bytes(np.random.default_rng(1).bytes(20000))
    assert_one_line(analyze(noise, model=model_path),
                    f"moodline: {noise}: not a readable audio file (unrecognised or damaged data)")
    junk = tmp_path / "junk.mp3"  # an ID3 tag and junk: libmpg123 has a lot to say about it
    junk.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + np.random.default_rng(2).bytes(5000))
    result = analyze(junk, talk, "--format", "json", model=model_path)
    problem = f"{junk}: not a readable audio file (unrecognised or damaged data)"
    assert err_lines(result) == [f"moodline: {problem}", "moodline: 1 failed, 1 analysed:", f"  {problem}"]
    assert result.returncode == 2 and len(result.stdout.splitlines()) == 1


def test_libmpg123_chatter_while_decoding_does_not_reach_the_user(tmp_path, talk, model_path):
    mp3 = tmp_path / "spliced.mp3"
    sf.write(mp3, sf.read(talk, dtype="float32")[0], RATE, format="MP3")
    data = mp3.read_bytes()
    mp3.write_bytes(data[: len(data) // 2] + bytes(700) + data[len(data) // 2:])  # a damaged stretch
    probe = subprocess.run([sys.executable, "-c", "import soundfile as sf, sys; sf.read(sys.argv[1])", str(mp3)],
                           capture_output=True, text=True)
    assert "Note:" in probe.stderr or "resync" in probe.stderr.lower(), "the damage no longer makes libmpg123 talk"
    result = analyze(mp3, "--format", "json", model=model_path)
    assert result.stderr == b"" and result.returncode == 0
    assert json.loads(result.stdout)["duration_s"] > 1.0


def test_native_stderr_silencing_restores_python_stderr():
    code = ("import os, sys\n"
            "from moodline.engine.fileio import native_stderr_silenced\n"
            "print('before', file=sys.stderr, flush=True)\n"
            "with native_stderr_silenced():\n"
            "    os.write(2, b'chatter from C\\n')\n"
            "    with native_stderr_silenced():\n"
            "        os.write(2, b'nested chatter\\n')\n"
            "    os.write(2, b'more chatter\\n')\n"
            "print('after', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr == "before\nafter\n"


def test_loud_steady_noise_is_no_speech_not_an_emotion(tmp_path, model_path):
    from test_analysis import steady_noise

    sf.write(tmp_path / "fan.wav", steady_noise("pink", 20, -25), RATE)
    result = analyze(tmp_path / "fan.wav", model=model_path)
    assert result.returncode == 0 and err_lines(result) == []
    assert text(result.stdout).splitlines()[0].endswith("no speech")


def test_control_characters_in_names_are_shown_escaped_never_obeyed(tmp_path, talk, model_path):
    """A name holding ESC sequences or a newline used to reach the terminal raw: colours changed,
    the screen cleared, and the one-line error split in two."""
    evil = tmp_path / "evil\x1b[31mred\nline.wav"
    evil.write_bytes(talk.read_bytes())
    result = analyze(evil, model=model_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "\x1b" not in out and out.splitlines()[0].startswith(f"{tmp_path}/evil\\x1b[31mred\\nline.wav  0:")
    missing = tmp_path / "gone\x1b[2J\r.wav"
    assert_one_line(analyze(missing, model=model_path), f"moodline: {tmp_path}/gone\\x1b[2J\\r.wav: no such file or folder")
    as_json = analyze(evil, "--format", "json", model=model_path)  # data keeps the name exactly, JSON-escaped
    assert json.loads(as_json.stdout.decode().splitlines()[0])["file"] == str(evil)


@pytest.mark.parametrize("args, line", [
    (["", "--format", "json"], "moodline: an empty name is not a file or folder (not the current folder either: give '.')"),
    (["{talk}", "--out", ""], "moodline: --out: an empty name is not a folder"),
    (["{talk}", "--hop", "x"], "moodline analyze: argument --hop: invalid float value: 'x' "
                              "('moodline analyze --help' lists the options)"),
    (["{talk}", "--vad", "9"], "moodline analyze: argument --vad: invalid choice: 9 (choose from 0, 1, 2, 3) "
                              "('moodline analyze --help' lists the options)"),
])
def test_empty_names_and_bad_values_are_one_line(tmp_path, talk, model_path, args, line, monkeypatch):
    """'' walked the current folder and --out '' was ignored; a bad value printed five lines of usage."""
    monkeypatch.chdir(tmp_path)  # '' must not analyse whatever is here
    assert_one_line(analyze(*[a.format(talk=talk) for a in args], model=model_path), line)


def test_a_folder_named_like_a_shipped_model_does_not_hide_it(tmp_path, talk):
    (tmp_path / "fast").mkdir()
    result = analyze(talk, "--model", "fast", "--format", "json", model=None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["timeline"]


def test_a_phase_inverted_stereo_file_is_heard_not_mixed_to_silence(tmp_path, talk, model_path):
    samples, rate = sf.read(talk, dtype="float32")
    inverted = tmp_path / "inverted.wav"
    sf.write(inverted, np.stack([samples, -samples], axis=1), rate)
    heard, as_mono = (json.loads(analyze(p, "--format", "json", model=model_path).stdout) for p in (inverted, talk))
    assert heard["summary"]["speech_s"] == as_mono["summary"]["speech_s"] > 0  # it used to be "no speech"
    assert [p["label"] for p in heard["timeline"]] == [p["label"] for p in as_mono["timeline"]]


def test_results_with_nowhere_to_go_are_one_line_not_success(talk, model_path):
    result = analyze(talk, model=model_path, stdout=None, preexec_fn=lambda: os.close(1))
    assert result.returncode == 2
    assert err_lines(result) == ["moodline: standard output is closed: the results would go nowhere (give --out DIR)"]


def test_damaged_compressed_audio_is_reported_not_analysed_as_good(tmp_path, talk, model_path):
    """FFmpeg decodes past a damaged stretch of AAC and ends well; the file was analysed as good."""
    import random
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "FFmpeg is needed (scripts/system-packages)"
    good = tmp_path / "talk.m4a"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(talk), "-c:a", "aac", "-b:a", "64k", str(good)], check=True)
    data = bytearray(good.read_bytes())
    rng = random.Random(1)
    for i in range(len(data) // 3, len(data) // 3 + 2000, 7):
        data[i] = rng.randrange(256)
    bad = tmp_path / "damaged.m4a"
    bad.write_bytes(bytes(data))
    assert analyze(good, model=model_path).returncode == 0
    result = analyze(bad, model=model_path)
    assert result.returncode == 2 and result.stdout == b""
    lines = err_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"moodline: {bad}: damaged: FFmpeg could not decode all of it (")


# ---- damaged Ogg and Wave64 (libsndfile decodes past them quietly) ----------------------------
def _ogg_page_starts(data: bytes) -> list[int]:
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        segments = data[pos + 27:pos + 27 + data[pos + 26]]
        pos += 27 + len(segments) + sum(segments)
    return starts


@pytest.fixture
def ogg_and_w64(tmp_path, speech) -> dict[str, Path]:
    """The same speech as Ogg Vorbis, Ogg Opus and Wave64 (and FLAC and WAV), each intact."""
    clip = np.concatenate([silence(0.5), speech, silence(0.5)])
    folder = tmp_path / "good"
    folder.mkdir()
    files = {}
    for name, fmt, subtype in (("talk.ogg", "OGG", "VORBIS"), ("talk.opus", "OGG", "OPUS"),
                               ("talk.w64", "W64", "PCM_16"), ("talk.flac", "FLAC", "PCM_16"),
                               ("talk.wav", "WAV", "PCM_16")):
        sf.write(folder / name, clip, RATE, format=fmt, subtype=subtype)
        files[name] = folder / name
    return files


def test_intact_ogg_opus_w64_flac_and_wav_are_analysed(tmp_path, ogg_and_w64, model_path):
    """The checks below reject none of these, nor an Ogg file of two streams one after the other
    (a chained file), nor bytes some taggers append after the last Ogg page."""
    vorbis = ogg_and_w64["talk.ogg"].read_bytes()
    (tmp_path / "good" / "chained.ogg").write_bytes(vorbis + ogg_and_w64["talk.opus"].read_bytes())
    (tmp_path / "good" / "tagged.ogg").write_bytes(vorbis + b"TAG" + bytes(125))
    result = analyze(tmp_path / "good", "--format", "json", model=model_path)
    assert err_lines(result) == [] and result.returncode == 0
    assert sorted(Path(json.loads(line)["file"]).name for line in result.stdout.splitlines()) == \
        ["chained.ogg", "tagged.ogg", "talk.flac", "talk.ogg", "talk.opus", "talk.w64", "talk.wav"]


@pytest.mark.parametrize("name", ["talk.ogg", "talk.opus"])
def test_ogg_with_a_page_failing_its_checksum_is_damaged(tmp_path, ogg_and_w64, model_path, name):
    """libvorbisfile skips the page and libsndfile analysed the rest as good (exit 0)."""
    data = bytearray(ogg_and_w64[name].read_bytes())
    page = _ogg_page_starts(bytes(data))[-2]  # a page of audio, not the headers
    data[page + 60] ^= 0x5A
    bad = tmp_path / f"damaged-{name}"
    bad.write_bytes(bytes(data))
    assert_one_line(analyze(bad, model=model_path),
                    f"moodline: {bad}: damaged: the Ogg page at byte {page} fails its checksum")


@pytest.mark.parametrize("name", ["talk.ogg", "talk.opus"])
def test_ogg_cut_short_is_truncated(tmp_path, ogg_and_w64, model_path, name):
    """Cut inside a page, or exactly between pages (every page whole, the end one gone), or with a
    page taken out of the middle: each was analysed as good."""
    data = ogg_and_w64[name].read_bytes()
    starts = _ogg_page_starts(data)
    mid_page, between, dropped = (tmp_path / f"{kind}-{name}" for kind in ("mid-page", "between", "dropped"))
    mid_page.write_bytes(data[:starts[-1] + 40])
    between.write_bytes(data[:starts[-1]])
    dropped.write_bytes(data[:starts[-3]] + data[starts[-2]:])
    assert_one_line(analyze(mid_page, model=model_path),
                    f"moodline: {mid_page}: truncated (the file ends inside the Ogg page at byte {starts[-1]})")
    assert_one_line(analyze(between, model=model_path),
                    f"moodline: {between}: truncated (the Ogg stream stops before its end-of-stream page)")
    assert_one_line(analyze(dropped, model=model_path),
                    f"moodline: {dropped}: damaged: Ogg pages are missing before byte {starts[-3]}")


def test_a_w64_cut_short_is_truncated(tmp_path, ogg_and_w64, model_path):
    good = ogg_and_w64["talk.w64"]
    seconds = sf.info(good).duration
    cut = tmp_path / "cut.w64"
    cut.write_bytes(good.read_bytes()[: int(good.stat().st_size * 0.6)])
    held = sf.info(cut).frames / RATE  # what libsndfile would quietly have analysed
    assert_one_line(analyze(cut, "--format", "json", model=model_path),
                    f"moodline: {cut}: truncated (header says {seconds:.2f} s, file holds {held:.2f} s)")


def test_a_batch_lists_damaged_ogg_and_w64_at_the_end_and_analyses_the_rest(tmp_path, ogg_and_w64, model_path):
    folder = ogg_and_w64["talk.ogg"].parent
    vorbis = bytearray(ogg_and_w64["talk.ogg"].read_bytes())
    vorbis[_ogg_page_starts(bytes(vorbis))[-2] + 60] ^= 0x5A
    (folder / "a-damaged.ogg").write_bytes(bytes(vorbis))
    (folder / "a-cut.opus").write_bytes(ogg_and_w64["talk.opus"].read_bytes()[:-300])
    (folder / "a-cut.w64").write_bytes(ogg_and_w64["talk.w64"].read_bytes()[:-3000])
    result = analyze(folder, "--format", "json", model=model_path)
    assert result.returncode == 2
    assert sorted(Path(json.loads(line)["file"]).name for line in result.stdout.splitlines()) == \
        ["talk.flac", "talk.ogg", "talk.opus", "talk.w64", "talk.wav"]
    lines = err_lines(result)
    assert lines[3] == "moodline: 3 failed, 5 analysed:" and len(lines) == 7
    assert [Path(line.split(": ")[1]).name for line in lines[:3]] == ["a-cut.opus", "a-cut.w64", "a-damaged.ogg"]


def test_float_samples_far_beyond_full_scale_are_one_line_without_numpy_warnings(tmp_path):
    """A float file whose 'samples' are 1e30 once leaked numpy's overflow warnings and said
    'no speech' (exit 0); a float file with a little headroom past full scale is still audio."""
    import soundfile as sf

    from audio_fixtures import syllables

    sf.write(tmp_path / "garbage.wav", np.full(5 * 16000, 1e30, np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "headroom.wav", syllables(200, 3.0, amplitude=1.5), 16000, subtype="FLOAT")
    moodline = str(Path(sys.executable).with_name("moodline"))
    bad = subprocess.run([moodline, "analyze", str(tmp_path / "garbage.wav")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "garbage.wav: samples far beyond full scale" in bad.stderr
    good = subprocess.run([moodline, "analyze", str(tmp_path / "headroom.wav")], capture_output=True, text=True)
    assert good.returncode == 0 and "Warning" not in good.stderr, good.stderr
