"""Starting the desktop app: ``moodline`` with no subcommand (or window options) calls :func:`main`."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Sequence

from .display import display_problem

EXIT_FAILED = 2

DARK = {
    "Window": "#1f2328", "WindowText": "#e8eaed", "Base": "#15181c", "AlternateBase": "#1f2328",
    "ToolTipBase": "#2b3036", "ToolTipText": "#e8eaed", "Text": "#e8eaed", "Button": "#2b3036",
    "ButtonText": "#e8eaed", "BrightText": "#ffffff", "Highlight": "#4fb3bf",
    "HighlightedText": "#0e1013", "Link": "#56b4e9", "PlaceholderText": "#7a838c",
}


def options_help() -> str:
    """The window's options as ``moodline --help`` lists them."""
    text = _parser().format_help()
    options = text[text.index("options:"):] if "options:" in text else text
    lines = [line for line in options.splitlines()[1:] if not line.lstrip().startswith("-h, --help")
             and not (line.startswith("                ") and "show this help" in line)]
    return "window options (moodline [OPTIONS], no command: the window):\n" + "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="moodline", description="Moodline: a live emotion timeline of a voice.")
    p.add_argument("--model", metavar="NAME|FILE",
                   help="a shipped model (default, fast) or an ONNX model file (default: the one chosen in Settings)")
    p.add_argument("--device", help="input device name or part of it (default: the remembered one)")
    p.add_argument("--start", action="store_true", help="start listening at once")
    p.add_argument("--open", metavar="PATH", nargs="?",
                   help="open an audio file or a session folder (with none: just the window, as the menu opens it)")
    p.add_argument("--aid", action="store_true", help="open the conversation-aid view")
    p.add_argument("--sessions-dir", metavar="DIR", help="where live sessions are saved")
    p.add_argument("--settings-file", metavar="INI", help=argparse.SUPPRESS)  # tests: private settings
    # Hidden, for tests and CI: quit once every --open/--start request is carried out (exit 2
    # if the window then shows an error), and write what the window shows on quitting.
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.add_argument("--quit-when-ready", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dump-timeline", metavar="FILE", help=argparse.SUPPRESS)
    return p


def write_shown(window, path: str) -> None:
    """Write what ``window`` shows as JSON: the timeline (as ``moodline analyze --format json``
    prints it) with its source, session folder and seconds of audio held for playback, the
    aid's word, and any error message."""
    from moodline.engine.errors import MoodlineError
    from moodline.engine.fileio import atomic_write

    timeline = window.current_timeline()
    recording = window.recording
    data = timeline.to_json_dict(recording.source if recording else None) if timeline else {"timeline": None}
    data["folder"] = str(recording.folder) if recording and recording.folder else None
    data["audio_s"] = len(recording.audio) / recording.sample_rate_hz \
        if recording and recording.audio is not None else None
    data["aid"] = window.aid.word.text() if window.aid is not None else None
    data["error"] = window.banner.text() if window.banner.kind == "error" else None
    try:
        atomic_write(path, json.dumps(data, indent=1) + "\n")
    except MoodlineError as exc:  # called from a Qt slot: report, never raise
        print(f"moodline: {exc}", file=sys.stderr)


def apply_theme(app) -> None:
    """Fusion with a dark palette: the plots are dark, so the window around them is too."""
    from PyQt5.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(getattr(QPalette, role), QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6b737b"))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#6b737b"))
    palette.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#6b737b"))
    app.setPalette(palette)


def tune_gc() -> None:
    """Keep Python's full garbage collections short: the objects alive once the window is up
    (Qt, pyqtgraph, numpy, the model) are frozen out of them, so a collection that happens to
    run on the GUI thread scans only what was made since. Without this one takes 25–45 ms."""
    import gc

    gc.collect()
    gc.freeze()


def _tear_down(window) -> None:
    """Destroy the window while Qt is still whole. Left to the interpreter's exit, the widgets,
    the worker threads and the QApplication go in no fixed order, and the process could crash
    (SIGSEGV) after the session had been saved."""
    from PyQt5 import sip

    from .workers import pool

    pool().waitForDone(10_000)  # a task still running would report to a window that is gone
    sip.delete(window)


def main(argv: Sequence[str] | None = None) -> int:
    """Open the Moodline window; returns the exit code when it closes."""
    args = _parser().parse_args(argv)
    problem = display_problem()  # before Qt, whose answer would be to abort
    if problem is not None:
        print(f"moodline: {problem}", file=sys.stderr)
        return EXIT_FAILED
    from PyQt5.QtCore import QTimer
    from PyQt5.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "moodline"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_theme(app)
    from PyQt5.QtCore import QSettings

    store = QSettings(args.settings_file, QSettings.IniFormat) if args.settings_file else QSettings()
    window = MainWindow(store, model_path=args.model, device=args.device,
                        sessions_root=Path(args.sessions_dir) if args.sessions_dir else None)
    window.show()
    tune_gc()
    # Requests made while the model loads wait for it (the status bar says so).
    if args.open:
        window.request_open(args.open)
    if args.start:
        window.request_start()
    if args.aid:
        QTimer.singleShot(0, window.toggle_aid)
    if args.quit_after:
        QTimer.singleShot(round(args.quit_after * 1000), window.close)
    if args.dump_timeline:
        window.closing.connect(lambda: write_shown(window, args.dump_timeline))
    failed: list[str] = []
    if args.quit_when_ready:
        def quit_if_ready() -> None:
            if window.ready and window.isVisible():
                if window.banner.kind == "error":
                    failed.append(window.banner.text())
                window.close()

        ready_timer = QTimer(window)
        ready_timer.timeout.connect(quit_if_ready)
        ready_timer.start(100)
    # Ctrl-C in the terminal, SIGTERM (kill, logout) and SIGHUP (the terminal closed) close the
    # window properly, finishing the session. Windows has no SIGHUP.
    handled = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    for number in handled:
        signal.signal(number, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # lets Python run signal handlers during Qt's loop
    wake.start(200)
    code = app.exec_()
    wake.stop()
    for number in handled:
        signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
    _tear_down(window)
    if failed:
        print(f"moodline: {failed[0]}", file=sys.stderr)
        return code or EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
