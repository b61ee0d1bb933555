"""The input device picker: the devices the engine lists (by the names the system gives them),
the remembered or asked-for one chosen, else the system default."""
from __future__ import annotations

from typing import Sequence

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from moodline.engine.sources import InputDevice, pick_device


class DevicePicker(QWidget):
    refreshRequested = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Input:"))
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Audio input device")
        layout.addWidget(self.combo)
        self.refresh = QToolButton()
        self.refresh.setText("⟳")
        self.refresh.setToolTip("Look for input devices again")
        self.refresh.clicked.connect(self.refreshRequested)
        layout.addWidget(self.refresh)
        self.devices: list[InputDevice] = []

    def set_devices(self, devices: Sequence[InputDevice], remembered: str | None) -> None:
        """Offer ``devices``; choose ``remembered`` (a name, or part of one, as ``--device``
        takes) if present, else the system default."""
        self.devices = list(devices)
        self.combo.clear()
        for d in self.devices:
            self.combo.addItem(f"{d.name}  ({d.host_api})" + ("  · default" if d.is_default else ""), d.name)
            self.combo.setItemData(self.combo.count() - 1, d.pulse_source or d.name, Qt.ToolTipRole)
        chosen = pick_device(self.devices, remembered) if remembered else None
        if chosen is not None:
            self.combo.setCurrentIndex(self.devices.index(chosen))
        else:
            defaults = [i for i, d in enumerate(self.devices) if d.is_default]
            self.combo.setCurrentIndex(defaults[0] if defaults else 0)

    def current_name(self) -> str | None:
        return self.combo.currentData() if self.devices else None
