"""The results of an ``--out`` folder as two Parquet tables that data tools load at once.

``windows.parquet``: one row per window of every analysed file (``file, run_id, start_s, end_s,
is_speech, label, confidence, clipped, voice, p_<label>…``). ``files.parquet``: one row per file (``file,
run_id, duration_s, label, speech_s, clipped_s, p_<label>…, share_<label>…``). Both are rebuilt from the
folder's manifest (every run's latest result per file) and the per-file timelines at the end
of each run, and replace the old ones atomically, so ``pandas.read_parquet``, DuckDB or Spark
read a whole archive's run in one call and never half a table.

Files go in one at a time (one row group each), so memory stays at one file's windows
whatever the archive's size.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from .fileio import atomic_output
from .manifest import FileRecord, FileStatus
from .timeline import Timeline, headline

WINDOWS_TABLE = "windows.parquet"
FILES_TABLE = "files.parquet"


def _schemas(labels: Sequence[str]):
    import pyarrow as pa

    probs = [pa.field(f"p_{label}", pa.float32()) for label in labels]
    windows = pa.schema([pa.field("file", pa.string()), pa.field("run_id", pa.string()),
                         pa.field("start_s", pa.float64()), pa.field("end_s", pa.float64()),
                         pa.field("is_speech", pa.bool_()), pa.field("label", pa.string()),
                         pa.field("confidence", pa.float32()), pa.field("clipped", pa.bool_()),
                         pa.field("voice", pa.string()), *probs])
    files = pa.schema([pa.field("file", pa.string()), pa.field("run_id", pa.string()),
                       pa.field("duration_s", pa.float64()), pa.field("label", pa.string()),
                       pa.field("speech_s", pa.float64()), pa.field("clipped_s", pa.float64()), *probs,
                       *(pa.field(f"share_{label}", pa.float32()) for label in labels)])
    return windows, files


def _name(path: str) -> str:
    # Parquet strings are UTF-8: a name that is not keeps its odd bytes as \xNN escapes.
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_tables(folder: str | os.PathLike, records: Sequence[FileRecord], labels: Sequence[str]) -> list[Path]:
    """Write ``windows.parquet`` and ``files.parquet`` into ``folder`` from the done ``records``
    that have ``labels`` (a folder that also holds another model's results keeps those in the
    manifest and per-file outputs only). Returns the tables written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    labels = tuple(labels)
    done = [r for r in records if r.status is FileStatus.DONE and r.labels == labels and r.output]
    window_schema, file_schema = _schemas(labels)
    # Written through Python file objects: pyarrow cannot take a path that is not valid UTF-8
    # (an --out folder named in another encoding), Python's own files can.
    with atomic_output(folder / WINDOWS_TABLE) as tmp, open(tmp, "wb") as sink:
        with pq.ParquetWriter(sink, window_schema, compression="zstd") as writer:
            for record in done:
                timeline = Timeline.load(folder / record.output)
                points = timeline.points
                probs = {label: [None if p.probabilities is None else p.probabilities[label] for p in points]
                         for label in labels}
                writer.write_table(pa.table({
                    "file": [_name(record.path)] * len(points), "run_id": [record.run_id] * len(points),
                    "start_s": [p.start_s for p in points], "end_s": [p.end_s for p in points],
                    "is_speech": [p.is_speech for p in points], "label": [p.label for p in points],
                    "confidence": [p.confidence for p in points], "clipped": [p.clipped for p in points],
                    "voice": [p.voice for p in points],
                    **{f"p_{label}": probs[label] for label in labels}}, schema=window_schema))
    columns: dict[str, list] = {field.name: [] for field in file_schema}
    for record in done:
        s = record.summary or {}
        columns["file"].append(_name(record.path))
        columns["run_id"].append(record.run_id)
        columns["duration_s"].append(record.duration_s)
        columns["label"].append(headline(s.get("shares") or {}, s.get("probabilities")))  # one rule for all
        columns["speech_s"].append(s.get("speech_s"))
        columns["clipped_s"].append(s.get("clipped_s"))  # None: analysed before clipping was measured
        for label in labels:
            columns[f"p_{label}"].append((s.get("probabilities") or {}).get(label))
            columns[f"share_{label}"].append((s.get("shares") or {}).get(label))
    with atomic_output(folder / FILES_TABLE) as tmp, open(tmp, "wb") as sink:
        pq.write_table(pa.table(columns, schema=file_schema), sink, compression="zstd")
    return [folder / WINDOWS_TABLE, folder / FILES_TABLE]
