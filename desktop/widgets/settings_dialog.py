"""The Settings dialog: analysis, display and conversation-aid settings, with their defaults."""
from __future__ import annotations

from dataclasses import replace

from PyQt5.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                             QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit,
                             QPushButton, QSpinBox, QVBoxLayout, QWidget)

from moodline.engine.model import BUNDLED_MODELS

from ..readout import GROUPINGS
from ..settings import DesktopSettings

VAD_CHOICES = ("0 — hears the most as speech", "1", "2", "3 — strictest about noise")
OTHER_MODEL = "other"


class SettingsDialog(QDialog):
    def __init__(self, settings: DesktopSettings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Moodline settings")
        self._base = settings
        layout = QVBoxLayout(self)

        analysis = QGroupBox("Analysis")
        form = QFormLayout(analysis)
        self.window = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=30.0, singleStep=0.25)
        self.window.setSpecialValueText("model's own window")
        self.window.setSuffix(" s")
        self.window.setValue(settings.window_s)
        form.addRow("Window", self.window)
        self.hop = QDoubleSpinBox(decimals=2, minimum=0.1, maximum=10.0, singleStep=0.1)
        self.hop.setSuffix(" s")
        self.hop.setValue(settings.hop_s)
        form.addRow("Hop", self.hop)
        self.smoothing = QSpinBox(minimum=1, maximum=20)
        self.smoothing.setSuffix(" windows")
        self.smoothing.setValue(settings.smoothing_windows)
        form.addRow("Smoothing", self.smoothing)
        self.vad = QComboBox()
        self.vad.addItems(VAD_CHOICES)
        self.vad.setCurrentIndex(settings.vad_aggressiveness)
        form.addRow("Voice-activity sensitivity", self.vad)
        self.unsure = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05)
        self.unsure.setValue(settings.unsure_threshold)
        self.unsure.setToolTip("Below this confidence the emotion is shown as 'Unsure'")
        form.addRow("Unsure below", self.unsure)
        self.model_choice = QComboBox()
        for name, what in BUNDLED_MODELS.items():
            self.model_choice.addItem(f"{name.capitalize()}: {what}", name)
        self.model_choice.addItem("Another model file…", OTHER_MODEL)
        self.model_choice.setToolTip("Default listens best; Fast uses a tenth of the processor time")
        form.addRow("Model", self.model_choice)
        model_row = QWidget()
        row = QHBoxLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.model = QLineEdit("" if settings.model_path in BUNDLED_MODELS else settings.model_path)
        self.model.setPlaceholderText("an ONNX model file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        self.model_row = model_row
        form.addRow("Model file", model_row)
        self.model_choice.currentIndexChanged.connect(self._model_choice_changed)
        chosen = settings.model_path or "default"
        self.model_choice.setCurrentIndex(self.model_choice.findData(chosen if chosen in BUNDLED_MODELS else OTHER_MODEL))
        self._model_choice_changed()
        layout.addWidget(analysis)

        display = QGroupBox("Display")
        form = QFormLayout(display)
        self.high_contrast = QCheckBox("High contrast")
        self.high_contrast.setChecked(settings.high_contrast)
        self.high_contrast.setToolTip("Brighter emotion colours in every view, and a black background "
                                      "in the conversation aid: for bright rooms and low vision")
        form.addRow("Colours", self.high_contrast)
        self.follow = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=60.0)
        self.follow.setSuffix(" min")
        self.follow.setValue(settings.follow_minutes)
        form.addRow("Live timeline shows the last", self.follow)
        layout.addWidget(display)

        aid = QGroupBox("Conversation aid")
        form = QFormLayout(aid)
        self.large_text = QCheckBox("Large text")
        self.large_text.setChecked(settings.aid_large_text)
        self.large_text.setToolTip("The word and the hints half as large again (a word is only "
                                   "made smaller where it would not fit on the screen)")
        form.addRow("Text", self.large_text)
        self.show_percentages = QCheckBox("Show percentages")
        self.show_percentages.setChecked(settings.aid_show_percentages)
        self.show_percentages.setToolTip("Show how sure the model is, as a number, under the word. Off "
                                         "by default: the number is a guess's, and invites reading too much into it")
        form.addRow("Certainty", self.show_percentages)
        self.intensity_bar = QCheckBox("Show a calm–intense bar")
        self.intensity_bar.setChecked(settings.aid_intensity_bar)
        self.intensity_bar.setToolTip("A bar under the word: how calm or intense the voice sounds. "
                                      "Always shown when emotions are grouped")
        form.addRow("Intensity", self.intensity_bar)
        self.grouping = QComboBox()
        self.grouping.addItems(list(GROUPINGS))
        self.grouping.setCurrentText(settings.aid_grouping)
        self.grouping.setToolTip("'valence' shows positive / neutral / negative with a calm–intense bar")
        form.addRow("Grouping", self.grouping)
        self.dwell = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=30.0)
        self.dwell.setSuffix(" s")
        self.dwell.setValue(settings.aid_min_dwell_s)
        form.addRow("Minimum dwell", self.dwell)
        self.hysteresis = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.hysteresis.setValue(settings.aid_hysteresis)
        form.addRow("Hysteresis", self.hysteresis)
        layout.addWidget(aid)

        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel
                                   | QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(self._defaults)
        layout.addWidget(buttons)

    def _model_choice_changed(self) -> None:
        self.model_row.setEnabled(self.model_choice.currentData() == OTHER_MODEL)

    def _model_setting(self) -> str:
        choice = self.model_choice.currentData()
        if choice == OTHER_MODEL:
            return self.model.text().strip()
        return "" if choice == "default" else choice

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file", "", "ONNX models (*.onnx)")
        if path:
            self.model.setText(path)

    def _defaults(self) -> None:
        fresh = SettingsDialog(DesktopSettings())
        for name in ("window", "hop", "smoothing", "unsure", "follow", "dwell", "hysteresis"):
            getattr(self, name).setValue(getattr(fresh, name).value())
        for name in ("vad", "grouping"):
            getattr(self, name).setCurrentIndex(getattr(fresh, name).currentIndex())
        for name in ("high_contrast", "large_text", "show_percentages", "intensity_bar"):
            getattr(self, name).setChecked(getattr(fresh, name).isChecked())
        self.model.setText("")
        self.model_choice.setCurrentIndex(self.model_choice.findData("default"))
        fresh.deleteLater()

    def settings(self) -> DesktopSettings:
        return replace(
            self._base, window_s=self.window.value(), hop_s=self.hop.value(),
            smoothing_windows=self.smoothing.value(), vad_aggressiveness=self.vad.currentIndex(),
            unsure_threshold=self.unsure.value(), model_path=self._model_setting(),
            high_contrast=self.high_contrast.isChecked(), follow_minutes=self.follow.value(),
            aid_grouping=self.grouping.currentText(),
            aid_min_dwell_s=self.dwell.value(), aid_hysteresis=self.hysteresis.value(),
            aid_large_text=self.large_text.isChecked(),
            aid_show_percentages=self.show_percentages.isChecked(),
            aid_intensity_bar=self.intensity_bar.isChecked())
