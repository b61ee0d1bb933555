"""Starting the desktop app: ``moodline`` with no subcommand calls :func:`main`."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Sequence

DARK = {
    "Window": "#1f2328", "WindowText": "#e8eaed", "Base": "#15181c", "AlternateBase": "#1f2328",
    "ToolTipBase": "#2b3036", "ToolTipText": "#e8eaed", "Text": "#e8eaed", "Button": "#2b3036",
    "ButtonText": "#e8eaed", "BrightText": "#ffffff", "Highlight": "#4fb3bf",
    "HighlightedText": "#0e1013", "Link": "#56b4e9", "PlaceholderText": "#7a838c",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="moodline", description="Moodline: a live emotion timeline of a voice.")
    p.add_argument("--model", help="ONNX model file (default: the shipped model, or the one chosen in Settings)")
    p.add_argument("--device", help="input device name or part of it (default: the remembered one)")
    p.add_argument("--start", action="store_true", help="start listening at once")
    p.add_argument("--open", metavar="PATH", help="open an audio file or a session folder")
    p.add_argument("--aid", action="store_true", help="open the conversation-aid view")
    p.add_argument("--sessions-dir", metavar="DIR", help="where live sessions are saved")
    p.add_argument("--settings-file", metavar="INI", help=argparse.SUPPRESS)  # tests: private settings
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    return p


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


def main(argv: Sequence[str] | None = None) -> int:
    """Open the Moodline window; returns the exit code when it closes."""
    args = _parser().parse_args(argv)
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
    if args.open:
        QTimer.singleShot(0, lambda: window.open_path(args.open))
    if args.start:
        QTimer.singleShot(0, window.start)
    if args.aid:
        QTimer.singleShot(0, window.toggle_aid)
    if args.quit_after:
        QTimer.singleShot(round(args.quit_after * 1000), window.close)
    # Ctrl-C in the terminal (or SIGTERM) closes the window properly, finishing the session.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # lets Python run signal handlers during Qt's loop
    wake.start(200)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
