"""The main window as the GUI benchmarks open it: a tiny generated model, a private settings
file and sessions folder, no input devices; returned once the model has loaded."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "desktop"))


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def open_window(app, width: int = 1280, height: int = 800):
    """(window, its scratch folder). ``app`` is the running QApplication."""
    from PyQt5.QtCore import QSettings

    from model_factory import make_model
    from moodline.desktop.main_window import MainWindow

    scratch = Path(tempfile.mkdtemp(prefix="moodline-bench-"))
    model = make_model(scratch / "tiny.onnx", window_s=2.0)
    window = MainWindow(QSettings(str(scratch / "bench.ini"), QSettings.IniFormat), model_path=str(model),
                        sessions_root=scratch / "sessions", device_scanner=lambda: [])
    window.resize(width, height)
    window.show()
    while window.model is None:
        app.processEvents()
        time.sleep(0.01)
    return window, scratch
