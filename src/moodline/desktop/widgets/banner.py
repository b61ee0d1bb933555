"""An in-window message (error or notice) with optional action buttons and a close button."""
from __future__ import annotations

from enum import Enum
from typing import Callable, Sequence

from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

STYLES = {
    "error": "background:#4a1f22; border:1px solid #e5484d; color:#fbe9ea;",
    "info": "background:#1f3a4a; border:1px solid #56b4e9; color:#e8f4fb;",
}


class Topic(Enum):
    """What a message is about: the window takes a message back when its topic is put right
    (a model loads, a device is found), whatever the message's words."""

    MODEL = "model"
    DEVICE = "device"
    SESSION = "session"
    RECORDING = "recording"
    PLAYBACK = "playback"
    EXPORT = "export"
    SETTINGS = "settings"


class MessageBanner(QFrame):
    """Hidden until there is something to say; says one thing at a time."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.topic: Topic | None = None  # what the shown message is about
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._layout.addWidget(self._label, 1)
        self._buttons: list[QPushButton] = []
        self._close = QPushButton("✕")
        self._close.setFlat(True)
        self._close.setFixedWidth(28)
        self._close.setToolTip("Dismiss")
        self._close.clicked.connect(lambda: self.clear())
        self._layout.addWidget(self._close)
        self.hide()

    def text(self) -> str:
        return self._label.text() if self.kind else ""

    def show_message(self, topic: Topic, text: str, kind: str = "error",
                     actions: Sequence[tuple[str, Callable[[], None]]] = ()) -> None:
        """Show ``text`` about ``topic`` in place of any earlier message."""
        self.kind, self.topic = kind, topic
        self.setStyleSheet(f"MessageBanner {{{STYLES[kind]} border-radius:4px;}} QLabel {{border:none;}}")
        self._label.setText(text)
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        for label, callback in actions:
            button = QPushButton(label)
            button.clicked.connect(callback)
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
        self.show()

    def clear(self, topic: Topic | None = None) -> None:
        """Take the message away: any message, or only one about ``topic``."""
        if topic is not None and topic != self.topic:
            return
        self.kind, self.topic = "", None
        self._label.setText("")
        self.hide()
