"""Analysing many files: one after another in this process, or in parallel worker processes.

Either way the results come back in the order of the files, one :class:`FileResult` each, so
the caller prints and writes exactly the same whatever the number of jobs. With workers:

- each is a process of its own (the *spawn* start method, as on Windows and macOS) that loads
  the model once, with one onnxruntime thread, so N workers keep N cores busy without
  fighting over them;
- only :data:`IN_FLIGHT_PER_JOB` files per worker are out at a time (handed to a worker, or
  done and waiting for the files before them to be done): a batch of 100,000 files never
  queues them all, and memory stays bounded;
- workers ignore SIGINT: Ctrl-C reaches the whole process group, and only this process
  decides what it means (it stops the workers and ends the batch); a worker whose parent is
  gone (SIGTERM, a closed terminal, kill -9) exits at once;
- a worker that dies (killed, out of memory) takes the files it had with it: those are
  analysed again, one at a time, and a file in hand when a worker dies a second time is
  reported as failed, in one line. If workers keep dying before any file comes back, the
  rest of the batch is reported failed rather than tried file by file. A crash never hangs
  the batch or shows a traceback.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .analysis import AnalysisSettings, analyze_file
from .errors import MoodlineError
from .fileio import native_stderr_silenced
from .model import EmotionModel
from .speakers import Enrolment
from .timeline import Timeline


def usable_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than the
    machine has); os.cpu_count() where the system cannot say (macOS, Windows)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


DEFAULT_JOBS = usable_cores()  # `analyze --jobs`: one worker per core
IN_FLIGHT_PER_JOB = 2  # files out at a time, per worker: one running, one ready for it
WORKER_DIED = "not analysed: the worker process analysing it stopped (killed, or out of memory?)"
# Pools started in a row that broke before a single file came back: workers that cannot even
# start (or keep being killed) would otherwise cost a pool start per file of a long batch.
MAX_FRUITLESS_RESTARTS = 3
WATCH_S = 1.0  # how often a batch waiting for its workers checks that they are all alive
WORKERS_KEEP_DYING = "not analysed: worker processes keep stopping before they finish a file (try --jobs 1)"


def about_file(file: Path | str, exc: MoodlineError) -> MoodlineError:
    """``exc`` as the line of a batch: it names the file first (a model that fails on one
    file's windows says so about the model; the user needs to know which file)."""
    message = str(exc)
    return exc if message.startswith(str(file)) else MoodlineError(f"{file}: {message}")


@dataclass(frozen=True)
class FileResult:
    """One file's outcome: its timeline, or the one-line error that says why there is none."""

    timeline: Timeline | None = None
    error: MoodlineError | None = None

    def get(self) -> Timeline:
        """The timeline; raises the file's :class:`MoodlineError` if it could not be analysed."""
        if self.error is not None:
            raise self.error
        return self.timeline


def analyze_files(files: Sequence[Path], model: EmotionModel, settings: AnalysisSettings, jobs: int = 1,
                  progress: Callable[[float], None] | None = None, threads: int = 1,
                  enrolment: Enrolment | None = None) -> Iterator[FileResult]:
    """Yield each of ``files``' result in order, analysed with up to ``jobs`` worker processes.

    One file, or ``jobs=1``, is analysed here, in this process, with ``threads`` threads running
    ``model`` on its stretches of speech (see :func:`analyze_file`), each file only when the
    caller asks for its result; ``progress`` is called with the seconds done of the file being
    analysed. Each file is a session that starts from ``enrolment`` (an enrolled voice) if given. Close the iterator (or let it finish) to stop the workers.
    """
    if jobs < 1:
        raise MoodlineError(f"jobs must be at least 1, not {jobs}")
    if min(jobs, len(files)) <= 1:
        return _analyze_here(files, model, settings, progress, threads, enrolment)
    return _analyze_in_workers(files, model.path, settings, jobs, enrolment)


def _analyze_here(files: Sequence[Path], model: EmotionModel, settings: AnalysisSettings,
                  progress: Callable[[float], None] | None, threads: int,
                  enrolment: Enrolment | None) -> Iterator[FileResult]:
    for file in files:
        try:
            yield FileResult(timeline=analyze_file(file, model, settings, progress=progress, workers=threads,
                                                   enrolment=enrolment))
        except MoodlineError as exc:
            yield FileResult(error=about_file(file, exc))


# ---- the worker processes ---------------------------------------------------------------
_worker_model: EmotionModel | None = None
_worker_settings: AnalysisSettings | None = None
_worker_enrolment: Enrolment | None = None


def _start_worker(model_path: Path, settings: AnalysisSettings, enrolment: Enrolment | None) -> None:
    """Runs once in each worker process, before its first file."""
    global _worker_model, _worker_settings, _worker_enrolment
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_exit_with_parent, name="moodline-parent-watch", daemon=True).start()
    _worker_model = EmotionModel(model_path, threads=1)  # one core each: the workers share them out
    _worker_settings, _worker_enrolment = settings, enrolment


def _exit_with_parent() -> None:
    # A parent ended by SIGTERM, SIGHUP or kill -9 cannot stop its workers, and they would go on
    # with the files handed to them and then wait for more forever: leave when it is gone.
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


def _analyze_in_worker(file: Path) -> FileResult:
    try:
        return FileResult(timeline=analyze_file(file, _worker_model, _worker_settings, enrolment=_worker_enrolment))
    except MoodlineError as exc:  # the file's own problem; anything else is a bug and is raised
        return FileResult(error=about_file(file, exc))


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT here while worker processes start: a spawned process inherits the setting,
    so a Ctrl-C before its initializer ran cannot end it with a traceback. (Windows has no such
    inheritance; there the initializer alone covers it.)"""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_resource_tracker_quietly() -> None:
    # multiprocessing's resource tracker (POSIX) removes the pool's semaphores if this process
    # is killed, and then warns about "leaked semaphore objects" on stderr, which the user can
    # do nothing about and `--jobs 1` would not print: started with stderr silenced, it cleans
    # up without a word. Started once; later calls find it running.
    if os.name == "posix":
        from multiprocessing import resource_tracker

        with native_stderr_silenced():
            resource_tracker.ensure_running()


def _ready() -> None:
    """A task that only makes the executor start a worker."""


class _Pool:
    """A ProcessPoolExecutor whose ``workers`` processes are all started at once, with SIGINT
    ignored. Starting them up front also means no submit ever starts a process, which in
    Python 3.11 races with the executor's own clean-up when a worker dies (a traceback on
    stderr, "dictionary changed size during iteration")."""

    def __init__(self, workers: int, model_path: Path, settings: AnalysisSettings,
                 enrolment: Enrolment | None) -> None:
        _start_resource_tracker_quietly()
        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_worker, initargs=(model_path, settings, enrolment))
        try:
            with _sigint_ignored():
                for _ in range(workers):  # with spawn, each submit starts a worker until there are enough
                    self.executor.submit(_ready)
        except (BrokenProcessPool, OSError, RuntimeError):
            pass  # a worker died already: the next submit says so
        # The executor lists its processes only privately; kept to notice one that died.
        self.processes = list((getattr(self.executor, "_processes", None) or {}).values())

    def submit(self, file: Path) -> Future:
        """Hand ``file`` to a worker; raises :class:`BrokenProcessPool` once a worker has died."""
        try:
            return self.executor.submit(_analyze_in_worker, file)
        except (OSError, RuntimeError) as exc:
            # A worker dying while we submit can surface as these too: the executor closes its
            # queues ("handle is closed") or marks itself shut down before it marks itself broken.
            raise BrokenProcessPool(str(exc)) from exc

    def lost_a_worker(self) -> bool:
        """Whether a worker process has ended (the executor normally says so within moments)."""
        return any(process.exitcode is not None for process in self.processes)

    def close(self, finished: bool) -> None:
        """Shut the pool down: let the workers exit, or, if the batch was cut short, stop them."""
        if finished:
            self.executor.shutdown(wait=True)
            return
        # A worker may be minutes into a long file: stop it rather than wait. (The executor
        # has no public way to do that before Python 3.14's terminate_workers().)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        # Then wait for the executor's own thread to see them gone: shutdown(wait=False) would
        # leave it to Python's exit, which then writes to a pipe already closed ("OSError: Bad
        # file descriptor" on stderr).
        self.executor.shutdown(wait=True, cancel_futures=True)


def _analyze_in_workers(files: Sequence[Path], model_path: Path, settings: AnalysisSettings,
                        jobs: int, enrolment: Enrolment | None) -> Iterator[FileResult]:
    workers = min(jobs, len(files))
    limit = IN_FLIGHT_PER_JOB * workers
    handed_out = 0  # files[:handed_out] have been given to a pool
    running: dict[Future, int] = {}  # index in files of each file out
    suspects: deque[int] = deque()  # files that were out when a worker died: run again, alone
    alone: int | None = None  # the suspect running on its own, if one is
    done: dict[int, FileResult] = {}  # results that came before their turn
    fruitless = 0  # pools in a row that broke before a file came back
    pool: _Pool | None = _Pool(workers, model_path, settings, enrolment)
    finished = False

    def restart() -> None:
        """A dead worker breaks the whole pool, and every file out with it: start afresh."""
        nonlocal pool, suspects, alone, fruitless
        suspects = deque(sorted([*suspects, *running.values()]))
        running.clear()
        alone = None
        pool.close(finished=False)
        fruitless += 1
        pool = _Pool(workers, model_path, settings, enrolment) if fruitless < MAX_FRUITLESS_RESTARTS else None

    try:
        for index in range(len(files)):
            while index not in done:
                if pool is None:  # given up on workers: the rest of the batch is not analysed
                    done[index] = FileResult(error=MoodlineError(f"{files[index]}: {WORKERS_KEEP_DYING}"))
                    break
                try:
                    if suspects and not running:
                        alone = suspects[0]
                        running[pool.submit(files[alone])] = suspects.popleft()
                    # Results waiting for their turn count too: memory stays bounded even when
                    # one long file holds up the output of all the short ones after it.
                    while not suspects and len(running) + len(done) < limit and handed_out < len(files):
                        running[pool.submit(files[handed_out])] = handed_out
                        handed_out += 1
                except BrokenProcessPool:  # a worker died since the last look
                    restart()
                    continue
                finished_now = wait(running, timeout=WATCH_S, return_when=FIRST_COMPLETED).done
                if not finished_now and pool.lost_a_worker():
                    # The executor should have failed the files out by now; in Python 3.11 its
                    # clean-up can itself fail when a worker dies during a submit, leaving them
                    # pending forever. Give it one more look, then take it as broken.
                    finished_now = wait(running, timeout=WATCH_S, return_when=FIRST_COMPLETED).done
                    if not finished_now:
                        for future, i in list(running.items()):
                            if i == alone:  # it was the only file out: it is the one
                                del running[future]
                                done[i] = FileResult(error=MoodlineError(f"{files[i]}: {WORKER_DIED}"))
                        restart()
                        continue
                broken = False
                for future in finished_now:
                    i = running.pop(future)
                    try:
                        done[i] = future.result()
                        fruitless = 0
                    except BrokenProcessPool:
                        broken = True
                        if i == alone:  # it was the only file out: it is the one
                            done[i] = FileResult(error=MoodlineError(f"{files[i]}: {WORKER_DIED}"))
                        else:
                            suspects.append(i)
                if broken:
                    restart()
                elif alone in done:
                    alone = None
            yield done.pop(index)
        finished = True
    finally:
        if pool is not None:
            pool.close(finished)
