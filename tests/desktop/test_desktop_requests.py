"""Requests made before the window is ready wait for it; quitting finishes a session; what the
window writes (settings, sessions) is private whatever the umask."""
from __future__ import annotations

import os
import stat
from dataclasses import replace

import pytest
from PyQt5.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt5.QtGui import QDropEvent

from moodline.desktop.jobs import JobState
from moodline.engine.analysis import AnalysisSettings

from desktop_fakes import wait_idle


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_an_open_asked_for_while_the_model_loads_waits_for_it(qtbot, make_window, conversation_wav):
    window = make_window(wait_model=False)
    assert window.model is None and JobState.LOADING_MODEL in window.jobs
    window.request_open(conversation_wav)
    assert window.recording is None and not window.ready
    assert window.status_session.text() == "Waiting for the model, then: open conversation.wav…"
    assert window.banner.kind == ""  # no refusal
    qtbot.waitUntil(lambda: window.recording is not None, timeout=20000)
    wait_idle(qtbot, window)
    assert window.recording.source == str(conversation_wav) and window.ready
    assert len(window.timeline_view.series) == len(window.recording.timeline.points) > 20


def test_a_file_dropped_while_the_model_loads_opens_once_it_is_loaded(qtbot, make_window, conversation_wav):
    window = make_window(wait_model=False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(conversation_wav))])
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert "Waiting for the model" in window.status_session.text()
    qtbot.waitUntil(lambda: window.recording is not None, timeout=20000)
    assert window.recording.source == str(conversation_wav)


def test_start_asked_for_while_the_model_loads_starts_once_ready(qtbot, make_window, inputs):
    window = make_window(wait_model=False)
    window.request_start()
    window.request_start()  # asked twice: one session
    assert "start listening" in window.status_session.text()
    qtbot.waitUntil(lambda: window.live is not None, timeout=20000)
    assert len(inputs.sources) == 1
    window.stop()
    wait_idle(qtbot, window)


def test_quitting_while_a_session_stops_waits_and_finishes_it(qtbot, window, inputs):
    window.start()
    qtbot.waitUntil(lambda: len(window.timeline_view.series) >= 4, timeout=10000)
    folder = window.live.folder
    window.stop()
    assert JobState.FINISHING in window.jobs
    assert window.close() is False  # deferred: the session's files are being finished
    assert "Finishing the session" in window.status_session.text()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20000)
    assert (folder / "timeline.json").is_file() and window.recording.folder == folder


def test_quitting_during_a_session_finishes_it(qtbot, window, inputs):
    shown = []
    window.closing.connect(lambda: shown.append(window.recording))
    window.start()
    qtbot.waitUntil(lambda: len(window.timeline_view.series) >= 4, timeout=10000)
    folder = window.live.folder
    assert window.close() is True
    assert shown and shown[0].folder == folder and len(shown[0].timeline.points) >= 4
    assert (folder / "timeline.json").is_file()


def test_settings_and_sessions_are_private_whatever_the_umask(qtbot, make_window, store, inputs, umask, tmp_path):
    settings_file = tmp_path / "moodline.ini"
    window = make_window()
    window.apply_settings(replace(window.settings, analysis=AnalysisSettings(hop_s=0.25)))
    assert mode(settings_file) == 0o600
    window.start()
    qtbot.waitUntil(lambda: len(window.timeline_view.series) >= 2, timeout=10000)
    window.stop()
    wait_idle(qtbot, window)
    window.close()
    assert mode(settings_file) == 0o600  # also after Qt rewrote it on closing
    folder = window.recording.folder
    assert mode(window.sessions_root) == mode(folder) == 0o700
    assert {p.name: mode(p) for p in folder.iterdir()} == {p.name: 0o600 for p in folder.iterdir()}


def test_a_settings_file_readable_by_others_is_made_private(qtbot, make_window, tmp_path, store):
    settings_file = tmp_path / "moodline.ini"
    store.setValue("settings/hop_s", 0.75)  # as an earlier version left it
    store.sync()
    os.chmod(settings_file, 0o644)
    window = make_window()
    assert mode(settings_file) == 0o600 and window.settings.analysis.hop_s == 0.75
