"""Running slow work off the GUI thread: a task on Qt's thread pool that reports by signals.

Analysis, model loading, device scanning, starting and stopping a session all run here, so
the GUI thread only draws. A task's function may take ``progress`` (called with 0…1) and
``cancelled`` (returns True once the user pressed Cancel) keyword arguments.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Callable

from PyQt5.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

from moodline.engine.errors import MoodlineError
from moodline.engine.session import Cancelled

_POOL: QThreadPool | None = None
POOL_THREADS = 4  # model loading, device scan, analysis and a session start/stop at once


def pool() -> QThreadPool:
    """Moodline's own thread pool. Never Qt's global one: Qt converts large images on the
    global pool while the GUI thread waits (holding the GIL), so Python tasks there deadlock."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(POOL_THREADS)
    return _POOL


class TaskSignals(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()
    progress = pyqtSignal(float)


class Task(QRunnable):
    """``fn(*args)`` on a pool thread; ``done(result)``, ``failed(message)`` or ``cancelled()``."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it until a signal arrives
        self.fn, self.args = fn, args
        self.signals = TaskSignals()
        self._cancel = threading.Event()
        params = inspect.signature(fn).parameters
        self._kwargs: dict[str, Any] = {}
        if "progress" in params:
            self._kwargs["progress"] = self.signals.progress.emit
        if "cancelled" in params:
            self._kwargs["cancelled"] = self._cancel.is_set

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self._kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except MoodlineError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # anything else still reaches the user as one line
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(result)


def run_task(task: Task, keep: set, on_done: Callable | None = None, on_failed: Callable | None = None,
             on_progress: Callable | None = None, on_cancelled: Callable | None = None) -> Task:
    """Start ``task`` on Moodline's pool; ``keep`` holds it alive until it reports."""
    keep.add(task)
    release = lambda *_: keep.discard(task)  # noqa: E731
    for signal, slot in ((task.signals.done, on_done), (task.signals.failed, on_failed),
                         (task.signals.cancelled, on_cancelled)):
        if slot is not None:
            signal.connect(slot)
        signal.connect(release)
    if on_progress is not None:
        task.signals.progress.connect(on_progress)
    pool().start(task)
    return task
