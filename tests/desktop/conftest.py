"""Fixtures for the desktop tests: a window on a private settings file, fed by fake inputs."""
from __future__ import annotations

import pytest
from PyQt5.QtCore import QSettings

from moodline.desktop.workers import pool

from desktop_fakes import FakeInputs


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "moodline.ini"), QSettings.IniFormat)


@pytest.fixture
def inputs(conversation):
    return FakeInputs(conversation)


@pytest.fixture
def make_window(qtbot, store, tmp_path, model_path, inputs):
    """Build main windows on the test's settings file; waits until the model is loaded."""
    from moodline.desktop.main_window import MainWindow

    made = []

    def make(model=model_path, wait_model=True, **kwargs):
        kwargs.setdefault("sessions_root", tmp_path / "sessions")
        kwargs.setdefault("source_factory", inputs.make)
        kwargs.setdefault("device_scanner", inputs.scan)
        window = MainWindow(store, model_path=str(model) if model else None, **kwargs)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        if wait_model:
            qtbot.waitUntil(lambda: window.model is not None and window.devices.current_name() is not None, timeout=10000)
        return window

    yield make
    for window in made:
        window.close()
    pool().waitForDone(10000)


@pytest.fixture
def window(make_window):
    return make_window()
