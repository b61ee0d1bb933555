"""Enrolling a voice: a name, twenty seconds of the user speaking normally, and it is kept.

The voice enrolled is the user's own ("My voice" in Settings): sessions tell it from the other
person's, whose emotion the aid then shows.

The dialog is a view over the engine's :class:`~moodline.engine.voices.VoiceRecording` (polled
by a timer) and :func:`~moodline.engine.voices.save_voice` (run on a worker: it encodes the
recording with the model to check there is speech enough). A failure says why in the dialog,
which stays open to try again.
"""
from __future__ import annotations

from typing import Callable

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QProgressBar,
                             QPushButton, QVBoxLayout)

from moodline.engine.errors import MoodlineError
from moodline.engine.model import EmotionModel
from moodline.engine.voices import ENROL_S, VoiceRecording, check_voice_name, save_voice, voice_names

from ..workers import Task, run_task

POLL_MS = 100
PROMPT = ("Speak normally for {s:g} seconds, alone: read something aloud, or say what you did today. "
          "Not acted, not whispered: your ordinary voice. Sessions then tell your voice from the "
          "person you talk with.")


class EnrolVoiceDialog(QDialog):
    """``open_source(device, rate)`` opens an input (as the window's live sessions do)."""

    def __init__(self, model: EmotionModel, open_source: Callable[[str | None, int], object],
                 device: str | None, parent=None, seconds: float = ENROL_S) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enrol a voice")
        self.setMinimumWidth(440)
        self.model, self.open_source, self.device, self.seconds = model, open_source, device, seconds
        self.enrolled: str | None = None  # the name kept, once one is
        self.recording: VoiceRecording | None = None
        self._tasks: set = set()
        self._saving = False
        layout = QVBoxLayout(self)
        prompt = QLabel(PROMPT.format(s=seconds))
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("your name, e.g. Sam")
        self.name.textChanged.connect(self._update)
        form.addRow("Name", self.name)
        form.addRow("Input", QLabel(device or "the system's default"))
        layout.addLayout(form)
        self.progress = QProgressBar(maximum=round(10 * seconds), textVisible=False)
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.record = QPushButton("Record")
        buttons.addButton(self.record, QDialogButtonBox.ActionRole)
        self.record.clicked.connect(self.start)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._update()

    def _update(self) -> None:
        self.record.setEnabled(self.recording is None and not self._saving and bool(self.name.text().strip()))

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def start(self) -> None:
        name = self.name.text().strip()
        try:
            check_voice_name(name)
            source = self.open_source(self.device, self.model.info.sample_rate_hz)
            self.recording = VoiceRecording(source, self.seconds)
            self.recording.start()
        except MoodlineError as exc:
            self.recording = None
            self._say(str(exc))
            return
        again = " (replacing the one enrolled before)" if name in voice_names() else ""
        self._say(f"Recording {name}{again}… speak normally.")
        self.timer.start()
        self._update()

    def _poll(self) -> None:
        recording = self.recording
        self.progress.setValue(round(10 * recording.seconds_recorded))
        problem = recording.problem()
        if not (recording.done or problem):
            return
        self.timer.stop()
        audio = recording.stop()
        self.recording = None
        if problem:
            self._say(f"{problem[0].upper()}{problem[1:]}. Nothing was kept.")
            self._update()
            return
        name = self.name.text().strip()
        self._say(f"Checking {name}'s recording…")
        self._saving = True
        run_task(Task(save_voice, name, audio, recording.source.sample_rate_hz, self.model), self._tasks,
                 on_done=lambda heard: self._saved(name, heard), on_failed=self._failed)
        self._update()

    def _saved(self, name: str, heard_s: float) -> None:
        self._saving = False
        self.enrolled = name
        self._say(f"{name}'s voice is enrolled ({heard_s:.0f} s of speech).")
        self.accept()

    def _failed(self, message: str) -> None:
        self._saving = False
        self._say(message)
        self.progress.setValue(0)
        self._update()

    def reject(self) -> None:
        if self.recording is not None:  # cancelled while recording: nothing is kept
            self.timer.stop()
            self.recording.stop()
            self.recording = None
        super().reject()
