"""Fuzzing `moodline analyze` with damaged audio: valid WAV, FLAC, OGG and MP3 files of speech,
mutated a few hundred ways (seeded), analysed as one batch by the real command.

Whatever the damage, a file is either analysed into probabilities that are finite,
non-negative and sum to 1, or listed as failed with one line; never a traceback, never a
library's own chatter, and exit 0 only when nothing failed.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence

MOODLINE = str(Path(sys.executable).with_name("moodline"))
FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", None)}
CASES_PER_FORMAT = 100
SEED = 7
# Values that break size, rate and channel fields when written over a header's 2 or 4 bytes.
EXTREMES = [0, 1, 2, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000]


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random kind of damage: flipped bytes (often in the header), an extreme value over a
    header field, a cut, a stretch inserted, removed or repeated."""
    buf = bytearray(data)
    kind = rng.integers(7)
    if kind == 0:  # a few flipped bytes anywhere
        for pos in rng.integers(0, len(buf), rng.integers(1, 20)):
            buf[pos] ^= int(rng.integers(1, 256))
    elif kind == 1:  # flipped bytes in the header, where sizes, rates and channels live
        for pos in rng.integers(0, min(len(buf), 96), rng.integers(1, 6)):
            buf[pos] ^= int(rng.integers(1, 256))
    elif kind == 2:  # an extreme value over a header field
        pos = int(rng.integers(0, min(len(buf), 96) - 4))
        width = int(rng.choice([2, 4]))
        value = int(rng.choice(EXTREMES)) & ((1 << (8 * width)) - 1)
        buf[pos:pos + width] = value.to_bytes(width, str(rng.choice(["little", "big"])))
    elif kind == 3:  # cut anywhere
        del buf[int(rng.integers(1, len(buf))):]
    elif kind == 4:  # random bytes inserted
        pos = int(rng.integers(0, len(buf)))
        buf[pos:pos] = rng.bytes(int(rng.integers(1, 4000)))
    elif kind == 5:  # a stretch removed
        pos = int(rng.integers(0, len(buf)))
        del buf[pos:pos + int(rng.integers(1, 4000))]
    else:  # a stretch repeated
        pos = int(rng.integers(0, len(buf)))
        piece = buf[pos:pos + int(rng.integers(1, 4000))]
        buf[pos:pos] = piece
    return bytes(buf)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, speech) -> Path:
    """A folder of CASES_PER_FORMAT damaged copies of each format (plus one intact each)."""
    folder = tmp_path_factory.mktemp("fuzz")
    clip = np.concatenate([silence(0.3), speech[: int(2.5 * RATE)], silence(0.2)])
    rng = np.random.default_rng(SEED)
    for ext, (fmt, subtype) in FORMATS.items():
        intact = folder / f"intact.{ext}"
        sf.write(intact, clip, RATE, format=fmt, subtype=subtype)
        data = intact.read_bytes()
        for i in range(CASES_PER_FORMAT):
            (folder / f"{ext}-{i:03d}.{ext}").write_bytes(mutate(data, rng))
    return folder


def check_probabilities(probabilities: dict[str, float], labels: list[str], where: str) -> None:
    values = [probabilities[label] for label in labels]
    assert all(math.isfinite(v) and v >= 0.0 for v in values), f"{where}: {probabilities}"
    assert abs(sum(values) - 1.0) <= 1e-3 + 1e-6 * len(values), f"{where}: sums to {sum(values)}"


def test_damaged_audio_is_analysed_or_refused_never_a_traceback(damaged, model_path):
    files = sorted(str(p) for p in damaged.iterdir())
    assert len(files) == len(FORMATS) * (CASES_PER_FORMAT + 1)
    result = subprocess.run([MOODLINE, "analyze", str(damaged), "--format", "json", "--model", str(model_path)],
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr
    # progress in a log: a line per 100 files (tests/engine/test_archive.py); the rest are errors
    err = [line for line in result.stderr.splitlines() if not re.match(r"moodline: \d+/\d+ files, ", line)]
    assert len(err) < len(result.stderr.splitlines()) == len(err) + len(files) // 100
    # Only Moodline's own lines: one per failed file, the count, the list (no libmpg123 notes)
    assert all(line.startswith("moodline: ") or line.startswith("  ") for line in err), result.stderr[:2000]

    analysed = {}
    for line in result.stdout.splitlines():
        record = json.loads(line)
        analysed[record["file"]] = record
        labels, where = record["labels"], record["file"]
        assert math.isfinite(record["duration_s"]) and record["duration_s"] > 0, where
        for point in record["timeline"]:
            if point["is_speech"]:
                check_probabilities(point["probabilities"], labels, where)
                assert point["label"] == max(labels, key=point["probabilities"].get), where
        if record["summary"]["probabilities"] is not None:
            check_probabilities(record["summary"]["probabilities"], labels, where)
    assert {f"{damaged}/intact.{ext}" for ext in FORMATS} <= set(analysed)

    listed = [line[2:] for line in err if line.startswith("  ")]
    failed = {line.split(": ")[0] for line in listed}
    assert not failed & set(analysed), "a file both analysed and failed"
    assert failed | set(analysed) == set(files), "a file neither analysed nor listed as failed"
    assert len(failed) == len(listed)  # one entry each
    if failed:
        assert result.returncode == 2
        assert f"moodline: {len(failed)} failed, {len(analysed)} analysed:" in err
        # while analysing, exactly one line per failed file, the same as its entry in the list
        assert [line[len("moodline: "):] for line in err[: len(listed)]] == listed
    else:
        assert result.returncode == 0 and result.stderr == ""
    # the damage must really exercise both outcomes for every format
    for ext in FORMATS:
        assert any(f.endswith(f".{ext}") and f in failed for f in files), ext
        assert sum(f.endswith(f".{ext}") and f in analysed for f in files) > 1, ext


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_a_damaged_file_alone_is_one_line_or_a_clean_result(damaged, model_path, ext):
    rng = np.random.default_rng(SEED + len(ext))
    for name in rng.choice(sorted(p.name for p in damaged.glob(f"{ext}-*")), 2, replace=False):
        path = damaged / name
        result = subprocess.run([MOODLINE, "analyze", str(path), "--format", "json", "--model", str(model_path)],
                                capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            assert result.stderr == "" and json.loads(result.stdout)["file"] == str(path)
        else:
            assert result.returncode == 2 and result.stdout == ""
            assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"moodline: {path}: ")
