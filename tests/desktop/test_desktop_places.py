"""File dialogs start where the user's files are (never the launch directory), and File ▸
Open Recent brings back recordings and sessions, across restarts, pruning ones that went."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PyQt5.QtWidgets import QFileDialog

from moodline.desktop.places import RECENT_MAX, DialogKind, Places

from desktop_fakes import wait_idle


class Dialogs:
    """QFileDialog's static calls, answered by the test; records where each dialog opened."""

    def __init__(self, monkeypatch) -> None:
        self.asked: list[tuple[str, str]] = []  # (caption, directory or suggested path)
        self.answers: list[str] = []
        for name in ("getOpenFileName", "getSaveFileName"):
            monkeypatch.setattr(QFileDialog, name, staticmethod(self._answer))

    def _answer(self, parent, caption, directory="", filter="", *args, **kwargs):
        self.asked.append((caption, directory))
        return (self.answers.pop(0) if self.answers else ""), ""

    @property
    def last(self) -> str:
        return self.asked[-1][1]


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs(monkeypatch)


@pytest.fixture
def places(tmp_path, monkeypatch, conversation_wav):
    """A home folder, a launch directory elsewhere, and a recording in a folder of its own."""
    home, launched, talks = tmp_path / "home", tmp_path / "launched-from", tmp_path / "talks"
    for folder in (home, launched, talks):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(launched)
    shutil.copy(conversation_wav, talks / "talk.wav")
    return home, talks


def test_dialogs_start_in_the_last_used_folder_else_where_the_files_are(
        qtbot, make_window, dialogs, places, tmp_path, store):
    home, talks = places
    window = make_window()
    sessions = window.sessions_root
    window.open_dialog()  # nothing opened yet: home, not the launch directory
    assert dialogs.last == str(home)
    window.open_session_dialog()  # no sessions folder yet either
    assert dialogs.last == str(home)
    sessions.mkdir()
    window.open_session_dialog()
    assert dialogs.last == str(sessions)

    dialogs.answers = [str(talks / "talk.wav")]
    window.open_dialog()
    wait_idle(qtbot, window)
    assert window.recording.source == str(talks / "talk.wav")
    window.open_dialog()
    assert dialogs.last == str(talks)  # the last used folder

    window.export_dialog(".csv")  # no export yet: beside the recording, named after it
    assert dialogs.last == str(talks / "talk.csv")
    exports = tmp_path / "figures"
    exports.mkdir()
    dialogs.answers = [str(exports / "first.csv")]
    window.export_dialog(".csv")
    assert (exports / "first.csv").is_file()
    window.export_dialog(".json")
    assert dialogs.last == str(exports / "talk.json")

    window.save_session_dialog()  # a session is saved among the sessions
    assert dialogs.last == str(sessions / "moodline-session")
    window.choose_model_dialog()
    assert dialogs.last == str(home)
    assert all(not directory.startswith(str(Path.cwd())) for _, directory in dialogs.asked)

    window.close()  # remembered across restarts
    again = make_window()
    again.open_dialog()
    assert dialogs.last == str(talks)


def recent_entries(window) -> list[str]:
    return [a.data() for a in window.recent_menu.actions() if a.data()]


def test_recent_lists_recordings_and_sessions_and_prunes_what_is_gone(
        qtbot, make_window, dialogs, places, inputs):
    home, talks = places
    window = make_window()
    assert recent_entries(window) == []
    window.open_path(talks / "talk.wav")
    wait_idle(qtbot, window)
    window.start()  # a recorded session joins the list when it stops
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    window.stop()
    wait_idle(qtbot, window)
    session = window.recording.folder
    assert recent_entries(window) == [str(session), str(talks / "talk.wav")]
    labels = [a.text() for a in window.recent_menu.actions() if a.data()]
    assert labels[0].startswith("&1  Session ") and "talk.wav" in labels[1]

    window.close()
    window = make_window()  # the list is in the settings
    assert recent_entries(window) == [str(session), str(talks / "talk.wav")]
    recent = [a for a in window.recent_menu.actions() if a.data()]
    recent[1].trigger()  # reopening moves it to the top
    wait_idle(qtbot, window)
    assert window.recording.source == str(talks / "talk.wav")
    assert recent_entries(window) == [str(talks / "talk.wav"), str(session)]

    shutil.rmtree(session)  # gone since: clicking it says so and takes it off the list
    shown = window.recording
    [a for a in window.recent_menu.actions() if a.data() == str(session)][0].trigger()
    assert window.banner.kind == "info" and "no longer there" in window.banner.text()
    assert session.name in window.banner.text()
    assert recent_entries(window) == [str(talks / "talk.wav")]
    assert window.recording is shown  # nothing else changed


def test_recent_keeps_the_newest_ten_without_repeats(store, tmp_path):
    places = Places(store, tmp_path)
    for n in range(RECENT_MAX + 3):
        places.add_recent(tmp_path / f"{n}.wav")
    places.add_recent(tmp_path / "5.wav")
    names = [p.name for p in places.recent()]
    assert len(names) == RECENT_MAX and names[:3] == ["5.wav", "12.wav", "11.wav"]
    assert len(set(names)) == RECENT_MAX
    store.setValue("recent/paths", "not json [")  # a damaged entry is no crash
    assert places.recent() == []
    assert places.start_folder(DialogKind.EXPORT) == Path.home()
