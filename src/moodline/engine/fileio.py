"""Writing files so that a reader never sees half of one, and recordings stay private.

Every file Moodline writes goes through :func:`atomic_write`: the bytes go to a temporary file
with a unique name beside the target, are flushed to disk, and only then replace the target in
one rename. A failure (full disk, no permission, a folder where the file should be) removes the
temporary file, leaves any earlier version of the target untouched, and is raised as one
:class:`~moodline.engine.errors.MoodlineError` line naming the file and the cause.
"""
from __future__ import annotations

import errno
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import MoodlineError

PRIVATE_FILE_MODE = 0o600  # recordings, timelines, settings: personal data
PRIVATE_DIR_MODE = 0o700
PUBLIC_FILE_MODE = 0o644  # files meant for everyone on the machine (a trained model)
PART_SUFFIX = ".part"  # a write in progress (atomic_output)


def os_error_text(exc: OSError) -> str:
    """The true cause of an OS error in a few words (``no space left on device``, ...)."""
    if exc.errno == errno.EACCES or exc.errno == errno.EPERM:
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a file is in the way of a folder in this path"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    if exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


def atomic_write(path: str | os.PathLike, data: bytes | str, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically with permissions ``mode``."""
    # surrogateescape: a file name that is not valid UTF-8 (kept by Python as lone surrogates)
    # is written back as its original bytes instead of failing the whole write.
    payload = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    with atomic_output(path, mode) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(payload)
    return Path(path)


@contextmanager
def atomic_output(path: str | os.PathLike, mode: int = PRIVATE_FILE_MODE) -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write (a library that wants a file
    name, such as a Parquet writer); it replaces ``path`` only if the block finishes. It is
    flushed to disk first; any failure removes it and is one :class:`MoodlineError` line."""
    path = Path(path)
    tmp = None
    try:
        # The writer's process id in the name: litter of a writer killed mid-write is told
        # from a write in progress (remove_stale_parts).
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=PART_SUFFIX, dir=path.parent or ".")
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise MoodlineError(f"{path}: cannot write ({os_error_text(exc)})") from None
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass


def remove_stale_parts(folder: str | os.PathLike) -> int:
    """Remove the temporary files (``.NAME.PID.XXXX.part``) that writers killed mid-write (kill -9,
    a power cut) left anywhere under ``folder``; returns how many. A file whose writer is still
    running is left alone, and so is every file where this system cannot tell (Windows)."""
    removed = 0
    for part in Path(folder).rglob(f".*{PART_SUFFIX}"):
        pieces = part.name.split(".")
        if len(pieces) >= 4 and pieces[-3].isdigit() and not _process_alive(int(pieces[-3])):
            try:
                part.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill there would end the process, not ask about it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def make_private_dir(path: str | os.PathLike, exist_ok: bool = True) -> Path:
    """Create ``path`` and any missing parents readable by their owner only, whatever the umask.

    Folders that already exist are left as they are (``--out /tmp`` must not lock others out
    of ``/tmp``). With ``exist_ok=False`` an existing ``path`` raises :class:`FileExistsError`,
    so a caller can pick another name; a file in the way is a :class:`MoodlineError`.
    """
    path = Path(path)
    missing = []
    folder = path
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    if not missing and not exist_ok and path.is_dir():
        raise FileExistsError(errno.EEXIST, "folder exists", str(path))
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                if folder == path and not exist_ok:
                    raise
                continue  # made by another process meanwhile; its owner chose its mode
            os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
        if not path.is_dir():
            raise MoodlineError(f"{path}: cannot create the folder (a file is in the way)")
    except FileExistsError:
        raise
    except OSError as exc:
        raise MoodlineError(f"{path}: cannot create the folder ({os_error_text(exc)})") from None
    return path


def check_writable_dir(folder: str | os.PathLike) -> None:
    """Raise one :class:`MoodlineError` line unless a file can be created in ``folder``.

    Asked before work whose result must not be lost (a live session) rather than after it.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".moodline-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise MoodlineError(f"{folder}: cannot write in this folder ({os_error_text(exc)})") from None


def create_private_file(path: str | os.PathLike) -> int:
    """Create ``path`` (it must not exist) with mode 0600 whatever the umask; its descriptor.

    For files that grow while Moodline runs (a session's audio and journal) or that another
    library rewrites in place (the settings file), which :func:`atomic_write` cannot serve.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    try:
        os.chmod(path, PRIVATE_FILE_MODE)  # os.open's mode is filtered by the umask
    except OSError:
        os.close(fd)
        raise
    return fd


@contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on the lock file ``path`` (created if missing) for the block.

    Another Moodline process asking for the same lock waits until this one leaves the block,
    so read-modify-write of a shared file (``summary.csv`` of one ``--out`` folder) never
    loses the other's update. The lock file stays behind: removing it would let a waiting
    process lock a file nobody else sees.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise MoodlineError(f"{path}: cannot create the lock file ({os_error_text(exc)})") from None
    try:
        if os.name == "nt":
            import msvcrt

            while True:
                try:  # LK_LOCK retries for about 10 s, then raises; keep waiting
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_stderr_lock = threading.Lock()
_stderr_silencers = 0  # threads inside native_stderr_silenced(); fd 2 is restored by the last
_saved_stderr_fd: int | None = None


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C libraries print on file descriptor 2 to the null device for the block.

    libmpg123 (inside libsndfile) and PortAudio's host APIs print warnings of their own
    ("Note: Illegal Audio-MPEG-Header ...") that would drown Moodline's one line about the
    file. Python's ``sys.stderr`` is flushed first and works again afterwards. Nested and
    concurrent use is safe: the first caller redirects, the last one restores.
    """
    global _stderr_silencers, _saved_stderr_fd
    with _stderr_lock:
        if _stderr_silencers == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):
                pass
            try:
                saved = os.dup(2)
            except OSError:  # no fd 2 at all (a windowed app): nothing to silence
                saved = None
            if saved is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
            _saved_stderr_fd = saved
        _stderr_silencers += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _stderr_silencers -= 1
            if _stderr_silencers == 0 and _saved_stderr_fd is not None:
                os.dup2(_saved_stderr_fd, 2)
                os.close(_saved_stderr_fd)
                _saved_stderr_fd = None


_stdio_lock = threading.Lock()
_stdio_silencers = 0  # callers inside stdio_stderr_silenced(); C's stderr is restored by the last
_stdio_saved: tuple[object, int] | None = None  # (the C variable ``stderr``, the FILE it pointed to)
_stdio_null: int | None = None  # a FILE on the null device, opened once and never closed


@contextmanager
def stdio_stderr_silenced() -> Iterator[None]:
    """Send what C libraries print through C's ``stderr`` (``fprintf(stderr, …)``) to the null
    device for the block, however long, and from any thread, while Python's own ``sys.stderr``
    (which writes to file descriptor 2 itself) keeps working.

    For the lifetime of an input stream: PortAudio's ALSA host API prints "Expression '…' failed
    in 'src/hostapi/alsa/pa_linux_alsa.c'" from its own thread when a device goes away, which
    :func:`native_stderr_silenced` cannot cover without silencing Moodline's own lines too.
    glibc lets a program point ``stderr`` at another stream; elsewhere (musl's ``stderr`` is
    constant, macOS and Windows name it otherwise) this does nothing. Nested use is safe.
    """
    global _stdio_silencers, _stdio_saved, _stdio_null
    with _stdio_lock:
        if _stdio_silencers == 0:
            _stdio_saved = None
            try:
                import ctypes
                import platform

                if platform.libc_ver()[0] == "glibc":
                    libc = ctypes.CDLL(None)
                    if _stdio_null is None:
                        libc.fopen.restype = ctypes.c_void_p
                        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
                        _stdio_null = libc.fopen(os.devnull.encode(), b"w") or None
                    if _stdio_null is not None:
                        variable = ctypes.c_void_p.in_dll(libc, "stderr")
                        _stdio_saved = (variable, variable.value)
                        libc.fflush(ctypes.c_void_p(variable.value))
                        variable.value = _stdio_null
            except (OSError, ValueError, AttributeError):
                _stdio_saved = None  # no glibc to ask: the libraries' messages stay
        _stdio_silencers += 1
    try:
        yield
    finally:
        with _stdio_lock:
            _stdio_silencers -= 1
            if _stdio_silencers == 0 and _stdio_saved is not None:
                variable, original = _stdio_saved
                variable.value = original
                _stdio_saved = None
