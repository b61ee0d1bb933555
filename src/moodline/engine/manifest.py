"""The record of ``moodline analyze --out DIR``: which file was analysed, how, and how it went.

``DIR/manifest.sqlite`` gets one row per input file per run, written as each file finishes
(an SQLite transaction: after a crash or kill -9 every row is either there whole or not at all). A row holds the input's path, size and modification time, the model's SHA-256 and
the analysis settings, the status (done or failed), the error, the per-file output and the
file's summary. From it:

- ``--resume`` skips files already done with the same model and settings (and unchanged since),
  and retries failed ones;
- the folder's ``summary.csv`` and Parquet tables are built from every run's latest row per
  file, so several runs into one folder, one after another or at the same time, never lose
  each other's files.

Paths are stored as the bytes the system gave (a name that is not UTF-8 round-trips).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from .errors import MoodlineError
from .fileio import PRIVATE_FILE_MODE, os_error_text

MANIFEST_FILE = "manifest.sqlite"
BUSY_TIMEOUT_S = 60.0  # another run writing into the same folder holds the lock this long at most

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_unix_s REAL NOT NULL,
    model BLOB NOT NULL,            -- os.fsencode of the model file's path
    model_sha256 TEXT NOT NULL,
    labels TEXT NOT NULL,           -- JSON list
    settings TEXT NOT NULL          -- JSON object, keys sorted
);
CREATE TABLE IF NOT EXISTS files (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    path BLOB NOT NULL,             -- os.fsencode of the input path as given
    size_bytes INTEGER,
    mtime_ns INTEGER,
    status TEXT NOT NULL,           -- 'done' or 'failed'
    error BLOB,                     -- UTF-8, a name's bytes that are not kept as they were
    output BLOB,                    -- os.fsencode of the timeline file, relative to the folder
    duration_s REAL,
    summary TEXT,                   -- JSON: the file's summary (Timeline.summary().to_dict())
    finished_unix_s REAL NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT
);
CREATE INDEX IF NOT EXISTS files_by_path ON files (path);
"""


class FileStatus(str, Enum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class FileRecord:
    """One file's latest row in the manifest."""

    run_id: str
    path: str
    size_bytes: int | None
    mtime_ns: int | None
    status: FileStatus
    error: str | None
    output: str | None
    duration_s: float | None
    summary: dict[str, Any] | None
    model_sha256: str
    labels: tuple[str, ...]
    settings: dict[str, Any]


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (a model file: which model made a result)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_stat(path: str | os.PathLike) -> tuple[int | None, int | None]:
    """(size in bytes, modification time in ns) of an input, or (None, None) if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


class Manifest:
    """The manifest of one ``--out`` folder, opened for one run (a new run id)."""

    def __init__(self, folder: str | os.PathLike, model: str, model_sha256: str,
                 labels: tuple[str, ...], settings: dict[str, Any]) -> None:
        self.path = Path(folder) / MANIFEST_FILE
        self.model_sha256 = model_sha256
        self.labels = tuple(labels)
        self.settings = settings
        self._settings_json = json.dumps(settings, sort_keys=True)
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.problem: str | None = None  # why the manifest stopped being written, if it did
        created = not self.path.exists()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            if created:
                os.chmod(self.path, PRIVATE_FILE_MODE)  # what was analysed, and where, is private too
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            # With WAL, a committed row survives the process's crash or kill -9; a power cut may
            # lose the last few rows (those files are analysed again), never corrupt the rest.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                             (self.run_id, time.time(), os.fsencode(model), model_sha256, json.dumps(list(labels)),
                              self._settings_json))
        except (sqlite3.Error, OSError) as exc:
            if self._db is not None:
                self._db.close()
            if created:  # leave no half-made manifest (on a full disk, room for the results)
                for leftover in (self.path, self.path.with_name(MANIFEST_FILE + "-wal"),
                                 self.path.with_name(MANIFEST_FILE + "-shm")):
                    try:
                        leftover.unlink()
                    except OSError:
                        pass
            raise MoodlineError(f"{self.path}: cannot keep the run's manifest ({_cause(exc)})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- writing, as each file finishes -------------------------------------------------
    def record(self, path: str | os.PathLike, status: FileStatus, *, error: str | None = None,
               output: str | os.PathLike | None = None, duration_s: float | None = None,
               summary: dict[str, Any] | None = None, stat: tuple[int | None, int | None] | None = None) -> None:
        """Add ``path``'s row for this run (one transaction). ``stat`` is the input's (size,
        mtime) when it was read; by default it is taken now. If the manifest cannot be written
        (a full disk), :attr:`problem` says so from then on and the batch goes on without it."""
        if self.problem is not None:
            return
        size, mtime = stat if stat is not None else input_stat(path)
        try:
            self._db.execute(
                "INSERT INTO files (run_id, path, size_bytes, mtime_ns, status, error, output, duration_s, "
                "summary, finished_unix_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run_id, os.fsencode(path), size, mtime, FileStatus(status).value,
                 None if error is None else error.encode("utf-8", "surrogateescape"),
                 None if output is None else os.fsencode(output), duration_s,
                 None if summary is None else json.dumps(summary), time.time()))
        except sqlite3.Error as exc:
            self.problem = f"{self.path}: cannot keep the run's manifest ({_cause(exc)})"

    # ---- reading ----------------------------------------------------------------------
    def latest(self) -> list[FileRecord]:
        """Every file's latest row, over all runs into this folder, in path order."""
        try:
            rows = self._db.execute(
                "SELECT f.run_id, f.path, f.size_bytes, f.mtime_ns, f.status, f.error, f.output, f.duration_s, "
                "f.summary, r.model_sha256, r.labels, r.settings FROM files f JOIN runs r USING (run_id) "
                "WHERE f.seq = (SELECT MAX(seq) FROM files g WHERE g.path = f.path) ORDER BY f.path").fetchall()
        except sqlite3.Error as exc:
            raise MoodlineError(f"{self.path}: cannot read the manifest ({_cause(exc)})") from None
        return [FileRecord(run_id, os.fsdecode(path), size, mtime, FileStatus(status),
                           None if error is None else error.decode("utf-8", "surrogateescape"),
                           None if output is None else os.fsdecode(output), duration_s,
                           None if summary is None else json.loads(summary), sha, tuple(json.loads(labels)),
                           json.loads(settings))
                for run_id, path, size, mtime, status, error, output, duration_s, summary, sha, labels, settings
                in rows]

    def done_already(self) -> dict[str, FileRecord]:
        """Files whose latest row is done with this run's model and settings, by path: what
        ``--resume`` may skip (if the input is unchanged, see :meth:`is_current`)."""
        return {r.path: r for r in self.latest()
                if r.status is FileStatus.DONE and r.model_sha256 == self.model_sha256
                and json.dumps(r.settings, sort_keys=True) == self._settings_json}

    @staticmethod
    def is_current(record: FileRecord, path: str | os.PathLike) -> bool:
        """Whether ``path`` is still the file ``record`` describes (same size and mtime)."""
        return (record.size_bytes, record.mtime_ns) == input_stat(path)


def _cause(exc: Exception) -> str:
    return os_error_text(exc) if isinstance(exc, OSError) else str(exc)
