"""An archive of analyses: the ``--out`` folder of ``moodline analyze``, drivable from Python.

A folder holds one timeline file per input (``talk.wav`` → ``talk.wav.csv``, sub-folders of an
analysed folder kept), optionally its segments, a manifest of every run (:mod:`.manifest`: what
was analysed with which model and settings, so a run can resume), ``summary.csv`` (one row per
analysed file, kept across runs and merged under a lock) and, on request, two Parquet tables
(:mod:`.tables`). Runs into one folder, one after another or at the same time, add to it;
nothing a run did not write is removed, and every write is atomic.

    inputs, failures = find_inputs(["recordings/"])
    archive = Archive(Path("results"), model, run_settings(settings, model, "csv", False))
    for file, root in archive.not_done_yet(inputs):   # --resume
        archive.keep(file, root, analyze_file(file, model, settings), "csv")
    archive.finish(summaries, "csv", parquet=False)

The command line (:mod:`.cli`) parses options and prints; everything about the folder is here.
"""
from __future__ import annotations

import csv
import os
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from .analysis import JUDGING_RULES, AnalysisSettings
from .audio import find_audio_files
from .errors import AudioError, MoodlineError
from .fileio import atomic_write, check_writable_dir, exclusive_lock, make_private_dir, os_error_text, remove_stale_parts
from .manifest import MANIFEST_FILE, FileStatus, Manifest, file_sha256
from .model import EmotionModel
from .tables import FILES_TABLE, WINDOWS_TABLE, write_tables
from .speakers import ME_AT, OTHER_BELOW, shipped_speaker_model
from .timeline import SEGMENTS_SUFFIX, Timeline, headline
from .voices import find_voice

SUMMARY_FILE = "summary.csv"  # one row per analysed file, kept across runs
TABLES_LOCK = "tables.lock"  # --parquet: one run at a time rewrites the tables
# The folder's own files: no input's results may be written under these names.
RESERVED_NAMES = {name.lower() for name in (SUMMARY_FILE, WINDOWS_TABLE, FILES_TABLE, MANIFEST_FILE,
                                            f"{MANIFEST_FILE}-journal", f"{MANIFEST_FILE}-wal", f"{MANIFEST_FILE}-shm",
                                            f".{TABLES_LOCK}", f".{SUMMARY_FILE}.lock")}


def find_inputs(paths: Sequence[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """The audio files the PATH arguments name, each with the argument it came from, and the
    arguments (or unreadable sub-folders) that give none, as failure lines."""
    failures: list[str] = []
    inputs: list[tuple[Path, Path]] = []
    for arg in paths:
        root = Path(arg)
        problem = path_problem(root)
        if problem:
            failures.append(f"{root}: {problem}")
            continue
        unreadable: list[AudioError] = []
        files = find_audio_files(root, unreadable)  # walks a folder once
        failures += [str(error) for error in unreadable]
        if not files and not unreadable:
            failures.append(f"{root}: no audio files in this folder")
        inputs += [(f, root) for f in files]
    return inputs, failures


def path_problem(path: Path) -> str | None:
    """Why a PATH argument cannot be analysed at all, or ``None``."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "no such file or folder"
    except OSError as exc:
        return f"cannot read ({os_error_text(exc)})"
    return None


def run_settings(settings: AnalysisSettings, model: EmotionModel, fmt: str, segments: bool,
                  voice: str | None = None) -> dict:
    """What decides a file's results in an --out folder (the manifest keeps it per run)."""
    found = {**asdict(settings), "window_s": settings.window_s or model.info.window_s,
             "format": fmt, "segments": bool(segments), **JUDGING_RULES}
    if voice is not None:  # the recording itself: a voice enrolled again is another run
        found["voice"] = {"name": voice, "sha256": file_sha256(find_voice(voice)),
                          # and what tells it from other voices, and where
                          "speaker_model_sha256": file_sha256(shipped_speaker_model()),
                          "me_at": ME_AT, "other_below": OTHER_BELOW}
    return found


def output_name(file: Path, root: Path, suffix: str) -> Path:
    """``talk.wav`` → ``talk.wav.csv``, keeping sub-folders of an analysed folder."""
    relative = file.relative_to(root) if root.is_dir() else Path(file.name)
    return relative.with_name(relative.name + suffix)


def make_output_folder(folder: Path) -> None:
    """Create an output folder (private: timelines describe someone's voice) unless it exists."""
    if folder.is_dir():
        return  # the user's own folder keeps its permissions
    if folder.exists():
        raise MoodlineError(f"{folder}: is a file, not a folder for the results")
    try:
        make_private_dir(folder)
    except FileExistsError:  # created by a run in parallel: fine if it is a folder
        if not folder.is_dir():
            raise MoodlineError(f"{folder}: is a file, not a folder for the results") from None


def check_pyarrow() -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MoodlineError("--parquet needs pyarrow: pip install 'moodline[tables]'") from None


class Archive:
    """The ``--out`` folder ``folder`` for a run of ``model`` with ``settings_record`` (see
    :func:`run_settings`): created (private) if need be and checked writable at once.

    If its manifest cannot be kept (an unreadable one, a full disk), :attr:`problem` says why;
    timelines are still written, but resuming and the Parquet tables stand on the manifest.
    """

    def __init__(self, folder: Path, model: EmotionModel, settings_record: dict) -> None:
        make_output_folder(folder)
        check_writable_dir(folder)  # before any work: a read-only folder is one line, not one per file
        self.folder = folder
        self.labels = model.info.labels
        self.manifest: Manifest | None = None
        self.problem: str | None = None
        try:
            self.manifest = Manifest(folder, str(model.path), file_sha256(model.path), self.labels, settings_record)
        except MoodlineError as exc:
            self.problem = str(exc)

    def not_done_yet(self, inputs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
        """The inputs still to analyse (new, changed, failed before, or done with another model
        or settings), after clearing what a run that died was writing."""
        if self.manifest is None:
            raise MoodlineError(self.problem)
        remove_stale_parts(self.folder)
        done = self.manifest.done_already()
        return [(file, root) for file, root in inputs
                if not ((record := done.get(str(file))) and self.manifest.is_current(record, file)
                        and (self.folder / record.output).is_file())]

    def claim_outputs(self, inputs: list[tuple[Path, Path]], fmt: str,
                      segments: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
        """The inputs whose results can be written without overwriting anything that is not
        theirs, and a failure line for each other one: an input whose timeline (or segments)
        would take the name of the folder's own files, of another input of this run (two
        ``talk.wav`` from two folders), or of another file an earlier run wrote there. Nothing
        is lost: such an input is not analysed, and says why."""
        owners: dict[str, str] = {}  # output name (lower case: some systems ignore case) -> input
        if self.manifest is not None and self.manifest.problem is None:
            for record in self.manifest.latest():
                if record.output:
                    owners[str(record.output).lower()] = record.path
        kept, failures = [], []
        for file, root in inputs:
            names = [output_name(file, root, "." + fmt)]
            if segments:
                names.append(output_name(file, root, SEGMENTS_SUFFIX))
            problem = None
            for name in names:
                key = str(name).lower()
                if key in RESERVED_NAMES:
                    problem = f"its results would be written as {self.folder / name}, the folder's own file"
                elif owners.get(key, str(file)) != str(file):
                    problem = f"its results would be written over {self.folder / name}, which is {owners[key]}'s"
                if problem:
                    break
            if problem:
                failures.append(f"{file}: not analysed: {problem} (give it another --out folder)")
                continue
            for name in names:
                owners[str(name).lower()] = str(file)
            kept.append((file, root))
        return kept, failures

    def keep(self, file: Path, root: Path, timeline: Timeline, fmt: str, segments: bool = False,
             stat: os.stat_result | None = None) -> Path:
        """Write ``file``'s timeline (and segments) and record it as done; the timeline's path."""
        target = self.folder / output_name(file, root, "." + fmt)
        make_output_folder(target.parent)
        timeline.save(target, str(file))
        if segments:
            timeline.save_segments(self.folder / output_name(file, root, SEGMENTS_SUFFIX))
        if self.manifest is not None:
            self.manifest.record(file, FileStatus.DONE, output=target.relative_to(self.folder), stat=stat,
                                 duration_s=timeline.duration_s, summary=timeline.summary().to_dict())
        return target

    def failed(self, file: Path, error: str, stat: os.stat_result | None = None) -> None:
        if self.manifest is not None:
            self.manifest.record(file, FileStatus.FAILED, error=error, stat=stat)

    def finish(self, summaries: list[dict], fmt: str, parquet: bool) -> None:
        """The folder's summary.csv (CSV output) and Parquet tables, from every run's results in the
        manifest: files resumed past, analysed by earlier runs or by a run at the same time count.
        If the manifest could not be kept, summary.csv still gets this run's ``summaries``."""
        records = None
        if self.manifest is not None:
            with self.manifest:  # closed when read
                if self.manifest.problem is None:
                    records = [r for r in self.manifest.latest()
                               if r.status is FileStatus.DONE and r.labels == tuple(self.labels)]
                    summaries = [{"file": r.path, "duration_s": r.duration_s, "summary": r.summary} for r in records]
        if fmt == "csv" and summaries:
            write_summary_csv(self.folder / SUMMARY_FILE, summaries, self.labels)
        if self.manifest is not None and self.manifest.problem is not None:
            raise MoodlineError(self.manifest.problem)
        if parquet:
            with exclusive_lock(self.folder / f".{TABLES_LOCK}"):
                write_tables(self.folder, records, self.labels)


def csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def write_summary_csv(path: Path, records: list[dict], labels: Sequence[str]) -> None:
    """Write one row per analysed file to ``path``, keeping the rows of earlier runs.

    Runs into one ``--out`` folder, one after another or at the same time, each add their
    files (a file analysed again replaces its row): the read-merge-write happens under an
    exclusive lock, and the write is atomic.
    """
    header = ["file", "duration_s", "label", "speech_s", "clipped_s", *(f"p_{l}" for l in labels),
              *(f"share_{l}" for l in labels)]
    rows: dict[str, list[str]] = {}
    for r in records:
        s = r["summary"]
        probs = [f"{s['probabilities'][l]:.6f}" if s["probabilities"] else "" for l in labels]
        shares = [f"{s['shares'][l]:.6f}" for l in labels]
        label = headline(s["shares"], s["probabilities"])  # one rule, also for files summarised before it
        rows[r["file"]] = [r["file"], f"{r['duration_s']:.3f}", label or "", f"{s['speech_s']:.3f}",
                           "" if s.get("clipped_s") is None else f"{s['clipped_s']:.3f}", *probs, *shares]
    with exclusive_lock(path.with_name(f".{path.name}.lock")):
        earlier = [row for row in read_summary_rows(path, header) if row[0] not in rows]
        table = [header, *sorted(earlier + list(rows.values()), key=lambda row: row[0])]
        atomic_write(path, "".join(",".join(map(csv_cell, row)) + "\n" for row in table))


def read_summary_rows(path: Path, header: list[str]) -> list[list[str]]:
    """The rows of an existing summary with ``header``; none if there is no summary yet."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            table = list(csv.reader(handle))
    except FileNotFoundError:
        return []
    except (OSError, csv.Error) as exc:
        why = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
        raise MoodlineError(f"{path}: cannot read the earlier summary to add to it ({why})") from None
    if not table:
        return []
    before_clipping = [name for name in header if name != "clipped_s"]
    if table[0] == before_clipping and all(len(row) == len(before_clipping) for row in table[1:]):
        # Written before Moodline measured clipping: those files' clipped time is unknown (empty).
        at = header.index("clipped_s")
        table = [header] + [row[:at] + [""] + row[at:] for row in table[1:]]
    if table[0] != header or any(len(row) != len(header) for row in table[1:]):
        raise MoodlineError(f"{path}: holds a summary with other columns (another model?); "
                            "left as it is: write to another --out folder")
    return table[1:]
