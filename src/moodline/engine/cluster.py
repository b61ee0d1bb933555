"""``moodline analyze --ray [ADDRESS]``: the same per-file analysis, as Ray tasks on a cluster.

What travels where: the driver (the machine running ``moodline analyze``) puts the model
file's bytes into Ray's object store once; each worker process loads it once (a private
temporary copy, one onnxruntime thread) and keeps it for every file it is given. A task gets a
file's *path* — every node must see the inputs at the same path (a shared or mounted folder) —
and returns the file's timeline, or its one-line error. Everything is written by the driver,
with the same code as a local run, so the outputs do not depend on where a file was analysed.

At most :data:`IN_FLIGHT_PER_CPU` files per cluster CPU are in flight; results come back in
input order. A worker that dies (killed, out of memory, its node lost) has its task retried by
Ray up to :data:`MAX_RETRIES` times; a file still unfinished after that is reported as failed,
never dropped or counted twice.
"""
from __future__ import annotations

import itertools
import logging
import os
import shutil
import socket
import tempfile
from collections import deque
from pathlib import Path
from typing import Iterator, Sequence

from .analysis import AnalysisSettings, analyze_file
from .batch import FileResult, about_file
from .errors import MoodlineError
from .fileio import os_error_text
from .manifest import file_sha256
from .model import EmotionModel
from .speakers import Enrolment

MAX_RETRIES = 2  # a task whose worker died is run again this many times
IN_FLIGHT_PER_CPU = 2  # enough to keep every core busy while results travel back
CONNECT_TIMEOUT_S = 10.0

_models: dict[str, EmotionModel] = {}  # in a worker process: the model, by SHA-256, loaded once


def _worker_model(sha256: str, model_bytes: bytes) -> EmotionModel:
    model = _models.get(sha256)
    if model is None:
        # onnxruntime reads the whole file when the session starts: the copy (in a private
        # folder) is removed at once, so no worker leaves a model behind on its node.
        with tempfile.TemporaryDirectory(prefix="moodline-model-") as folder:
            path = Path(folder) / f"{sha256[:16]}.onnx"
            path.write_bytes(model_bytes)
            model = _models[sha256] = EmotionModel(path, threads=1)
    return model


def analyse_one(path: str, given: str, sha256: str, model_bytes: bytes, settings: AnalysisSettings,
                enrolment: Enrolment | None = None) -> FileResult:
    """One file on a worker (``path`` absolute, ``given`` as the user wrote it, which is what
    messages name, as in a local run)."""
    try:
        return FileResult(timeline=analyze_file(Path(path), _worker_model(sha256, model_bytes), settings,
                                                   enrolment=enrolment))
    except MoodlineError as exc:
        message = str(exc)
        if message.startswith(path):
            message = given + message[len(path):]
        return FileResult(error=about_file(given, MoodlineError(message)))


def analyze_on_ray(files: Sequence[Path], model_path: Path, settings: AnalysisSettings,
                   address: str | None, enrolment: Enrolment | None = None) -> Iterator[FileResult]:
    """Connect to the Ray cluster at ``address`` (``None``: the one ``RAY_ADDRESS`` names, else a
    new local one on this machine's cores) now, then yield each file's result in input order.
    Closing the iterator (or its end) disconnects. No files (all resumed past): no cluster."""
    if not files:
        return iter(())
    session_dir = _local_session_dir() if not (address or os.environ.get("RAY_ADDRESS")) else None
    try:
        cpus = _connect(address, session_dir)
    except BaseException:
        _remove(session_dir)
        raise
    return _results(files, model_path, settings, cpus, enrolment, session_dir)


def _local_session_dir() -> Path:
    """A short, private folder for a local cluster's sockets and logs. Ray puts its sockets
    there, and a Unix socket's path may not exceed 107 bytes: under a long TMPDIR (macOS's
    /var/folders/..., a CI runner's, pytest's) Ray's own default fails. /tmp is short where it
    exists; elsewhere (Windows: no such sockets) the system's temporary folder."""
    root = "/tmp" if os.name == "posix" and os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="mlray-", dir=root))  # mode 0700


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _connect(address: str | None, session_dir: Path | None = None) -> int:
    try:
        import ray
    except ImportError:
        raise MoodlineError("--ray needs Ray: pip install 'moodline[cluster]'") from None
    if address:
        _check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=True,
                 **({"_temp_dir": str(session_dir)} if session_dir is not None else {}))
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError… for a bad address
        where = address or os.environ.get("RAY_ADDRESS") or "a new local cluster"
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MoodlineError(f"Ray: cannot connect to {where} ({cause})") from None
    _quiet_raylet_messages()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _check_reachable(address: str) -> None:
    """One line at once when nothing listens at ``address`` (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not (host and port.isdigit()):
        return  # "auto", "local" and the like: Ray knows what they mean
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise MoodlineError(f"Ray: cannot connect to {address} ({os_error_text(exc)})") from None


def _quiet_raylet_messages() -> None:
    # The driver prints the raylet's own messages ("A worker died or was killed while executing
    # a task…", "…the task will be retried") on stdout, where they would mix with the results;
    # log_to_driver=False does not cover them. A retried task needs no word, and a file that
    # still fails is reported in Moodline's one line. Ray has no public switch for this: if the
    # private name is gone in some Ray version, the messages simply show again.
    from ray._private import worker

    if hasattr(worker, "print_to_stdstream"):
        worker.print_to_stdstream = lambda *args, **kwargs: None


def _results(files: Sequence[Path], model_path: Path, settings: AnalysisSettings, cpus: int,
             enrolment: Enrolment | None, session_dir: Path | None) -> Iterator[FileResult]:
    import ray
    from ray.exceptions import RayError

    try:
        sha256 = file_sha256(model_path)
        model_ref = ray.put(model_path.read_bytes())  # once: workers fetch it from the object store
        task = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(analyse_one)
        pending = iter(files)

        def submit(file: Path):
            return file, task.remote(os.fsdecode(file.absolute()), os.fsdecode(file), sha256, model_ref, settings, enrolment)

        in_flight = deque(submit(file) for _, file in zip(range(IN_FLIGHT_PER_CPU * cpus), pending))
        while in_flight:
            file, ref = in_flight.popleft()
            try:
                result = ray.get(ref)
            except RayError as exc:  # the worker died MAX_RETRIES + 1 times, or the task itself broke
                cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                result = FileResult(error=MoodlineError(f"{file}: not analysed: the cluster worker failed ({cause})"))
            in_flight.extend(submit(file) for file in itertools.islice(pending, 1))
            yield result
    finally:
        ray.shutdown()
        _remove(session_dir)  # the local cluster's sockets and logs: nothing left behind
