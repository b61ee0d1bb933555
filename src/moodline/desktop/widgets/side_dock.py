"""Panels docked beside the timeline (the summary, the segments) that give way in a small window.

Beside the readout panel and the timeline they need about a third of a 1200-pixel window; in
a narrower one they would squeeze the timeline until it cannot be read or clicked. So they
show while the window is wide enough and step aside when it is not, and come back when it
is widened again, unless the user closed them (their close button, or View ▸ the panel's
name, which also brings a panel back in any window).
"""
from __future__ import annotations

from typing import Sequence

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget


class SideDock(QDockWidget):
    """A dock that remembers whether the user closed it (as opposed to the window hiding it)."""

    def __init__(self, title: str, name: str, widget: QWidget, width_px: int, parent=None) -> None:
        super().__init__(title.replace("&", ""), parent)
        self.setObjectName(name)
        scroll = QScrollArea()  # a short window scrolls the panel instead of squashing it
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(scroll)
        self.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        widget.setMinimumWidth(width_px - 40)
        self.closed_by_user = False
        action = self.toggleViewAction()
        action.setText(title)
        action.triggered.connect(self._toggled_by_user)

    def closeEvent(self, event) -> None:  # the dock's own close button
        self.closed_by_user = True
        super().closeEvent(event)

    def _toggled_by_user(self, shown: bool) -> None:
        self.closed_by_user = not shown


def fit_docks(docks: Sequence[SideDock], roomy: bool) -> None:
    """Show the docks the user has not closed when the window is ``roomy``, else hide them."""
    for dock in docks:
        want = roomy and not dock.closed_by_user
        if dock.isFloating():
            continue  # a floating panel is out of the window's way
        if dock.isHidden() == want:  # isHidden: also right before the window first shows
            dock.setVisible(want)
