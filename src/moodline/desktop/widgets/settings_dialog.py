"""The Settings dialog: how the voice is read, how it is shown, and the conversation aid.

Every setting is put in plain words ("Update every 0.5 s", "Hold a label at least 2 s") with a
tooltip saying what it changes; the three forms share one label column, right-aligned, so
their fields line up. The settings file keeps its keys (:mod:`..settings`): only the words
on screen are new, and fractions are shown as percentages.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QValidator
from PyQt5.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                             QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                             QPushButton, QSpinBox, QVBoxLayout, QWidget)

from moodline.engine.analysis import MAX_WINDOW_S
from moodline.engine.model import BUNDLED_MODELS
from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD, MAX_DWELL_S, Grouping, ShownVoices, unsure_threshold_for
from moodline.engine.voices import voice_names

from ..settings import DesktopSettings

# Voice-activity sensitivity 0…3, from what lets the most sound through to the strictest.
GATE_CHOICES = {"silero": "Voices only (Silero: not music or noise)",
                "webrtc": "Voice-like sounds (WebRTC: music too)",
                "both": "Only where both detectors hear a voice"}
SPEECH_CHOICES = ("Almost any sound", "Most sounds", "Clear voices", "Only clear speech, not noise")
GROUPING_WORDS = {Grouping.NONE: "Each emotion (happy, sad, angry, …)",
                  Grouping.VALENCE: "Positive, neutral or negative, with a calm–intense bar"}
OTHER_MODEL = "other"
NO_VOICE = "None"
SHOWN_VOICES_WORDS = {ShownVoices.OTHER: "The other person", ShownVoices.ALL: "Everyone"}


def readings(count: int, hop_s: float) -> str:
    """How the averaging spin box names ``count`` readings: '3 readings (1.5 s)', never '1 windows'."""
    if count <= 1:
        return "1 reading (no averaging)"
    return f"{count} readings ({count * hop_s:g} s)"


class SmoothingBox(QSpinBox):
    """A count of readings, shown with its proper number and the time it spans."""

    def __init__(self, hop_s: float) -> None:
        self.hop_s = hop_s  # before the base class asks for the text
        super().__init__()
        self.setRange(1, 20)

    def set_hop_s(self, hop_s: float) -> None:
        self.hop_s = hop_s
        self.lineEdit().setText(self.textFromValue(self.value()))

    def textFromValue(self, value: int) -> str:
        return readings(value, self.hop_s)

    def sizeHint(self) -> QSize:
        # Qt measures only the first 18 characters of the text; room for all of the longest.
        hint = super().sizeHint()
        widest = max((self.textFromValue(v) for v in (self.minimum(), self.maximum())), key=len)
        fm = self.fontMetrics()
        return QSize(hint.width() + fm.horizontalAdvance(widest) - fm.horizontalAdvance(widest[:18]),
                     hint.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def valueFromText(self, text: str) -> int:
        digits = text.strip().split(" ")[0]
        return int(digits) if digits.isdigit() else self.minimum()

    def validate(self, text: str, pos: int):
        digits = text.strip().split(" ")[0]
        ok = digits.isdigit() and self.minimum() <= int(digits) <= self.maximum()
        return (QValidator.Acceptable if ok else QValidator.Intermediate), text, pos


class SettingsDialog(QDialog):
    """``model_unsure`` is the loaded model's own "unsure" line (None: it has none); ``enrol``
    records a new voice and returns its name (None: cancelled, or no way to record here)."""

    def __init__(self, settings: DesktopSettings, parent=None, model_folder: Path | None = None,
                 model_unsure: float | None = None, enrol: Callable[[], str | None] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Moodline settings")
        self._base = settings
        self.model_folder = model_folder  # where Browse… starts when no model file is given yet
        self.model_unsure_line = unsure_threshold_for(None, model_unsure)  # what "the model's own" means now
        self._forms: list[QFormLayout] = []
        layout = QVBoxLayout(self)

        form = self._form(layout, "Reading the voice")
        self.hop = QDoubleSpinBox(decimals=2, minimum=0.1, maximum=10.0, singleStep=0.1, suffix=" s")
        analysis, aid, display = settings.analysis, settings.aid, settings.aid_display
        self.hop.setValue(analysis.hop_s)
        self._row(form, "Update every", self.hop,
                  "How often a new emotion reading is made. Shorter follows the voice more closely "
                  "and uses more processor time.")
        self.window = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=MAX_WINDOW_S, singleStep=0.25,
                                     suffix=" s of audio")
        self.window.setSpecialValueText("the model's own length")
        self.window.setValue(analysis.window_s or 0.0)
        self._row(form, "Each reading hears", self.window,
                  "How much of the latest audio each reading judges. The model's own length is what "
                  "it was trained on; longer is steadier but slower to notice a change.")
        self.smoothing = SmoothingBox(analysis.hop_s)
        self.smoothing.setValue(analysis.smoothing_windows)
        self.hop.valueChanged.connect(self.smoothing.set_hop_s)
        self._row(form, "Average over", self.smoothing,
                  "Average each emotion over this many readings of speech: steadier, but a change "
                  "shows a little later.")
        self.gate = QComboBox()
        for name, words in GATE_CHOICES.items():
            self.gate.addItem(words, name)
        self.gate.setCurrentIndex(max(0, self.gate.findData(analysis.gate)))
        self._row(form, "Listen for", self.gate,
                  "What decides which sounds are a voice. Only a voice gets an emotion. Silero's detector "
                  "tells voices from music, tones and noise; WebRTC's takes most music for speech.")
        self.vad = QComboBox()
        self.vad.addItems(SPEECH_CHOICES)
        self.vad.setCurrentIndex(analysis.vad_aggressiveness)
        self._row(form, "Count as speech", self.vad,
                  "Which sounds count as speech. Only speech gets an emotion; the rest is shown as "
                  "'No speech'. In a noisy room choose a stricter setting. (WebRTC's detector.)")
        self.adapt = QCheckBox("Adapt to the voice")
        self.adapt.setChecked(analysis.adapt)
        self._row(form, "Speaker", self.adapt,
                  "Judge each reading relative to the voice heard so far in this session, so that a "
                  "person's ordinary way of speaking is not taken for an emotion. Off: every reading "
                  "is judged on its own. Only models made to adapt use this; others are unaffected.")
        voice_row = QWidget()
        row = QHBoxLayout(voice_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.voice = QComboBox()
        self._fill_voices(settings.voice)
        self.enrol_button = QPushButton("Enrol a voice…")
        self.enrol_button.setToolTip("Record your own voice, speaking normally for 20 seconds")
        self.enrol_button.clicked.connect(self._enrol)
        self.enrol_button.setEnabled(enrol is not None)
        self._enrol_voice = enrol
        row.addWidget(self.voice, 1)
        row.addWidget(self.enrol_button)
        voice_tip = ("Your own voice, recorded once (Enrol a voice…). Each session then tells your voice from "
                     "everyone else's (the person you are talking with): the conversation aid can show only "
                     "their emotion, the timeline can give each voice its own row, and the segments say "
                     "whose they are. With a model that adapts, your voice is also read against your "
                     "ordinary way of speaking from the first word. None: every voice is taken as one. "
                     "Enrolled voices are kept privately on this computer.")
        self.voice.setToolTip(voice_tip)
        self._row(form, "My voice", voice_row, voice_tip)
        self.shown_voices = QComboBox()
        for shown in ShownVoices:
            self.shown_voices.addItem(SHOWN_VOICES_WORDS[shown], shown.value)
        self.shown_voices.setCurrentIndex(max(0, self.shown_voices.findData(aid.shown_voices.value)))
        self._row(form, "Show the emotion of", self.shown_voices,
                  "When your voice is enrolled: whose emotion the conversation aid and the 'Now' panel "
                  "show. The other person: while you speak (or it is unclear whose voice it is), their "
                  "last emotion stays, as in a pause. Everyone: every voice's, yours too.")
        self.voice.currentIndexChanged.connect(self._voice_changed)
        self._voice_changed()
        unsure_row = QWidget()
        row = QHBoxLayout(unsure_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.unsure = QSpinBox(minimum=0, maximum=100, singleStep=5, suffix=" % sure")
        self.unsure.setValue(round(100 * settings.unsure_line(model_unsure)))
        self.unsure_own = QCheckBox("The model's own")
        self.unsure_own.setChecked(aid.unsure_threshold is None)
        self.unsure_own.toggled.connect(self._unsure_own_toggled)
        self._unsure_own_toggled(self.unsure_own.isChecked())
        row.addWidget(self.unsure)
        row.addWidget(self.unsure_own, 1)
        unsure_tip = ("When the most likely emotion is less sure than this, it is shown as 'Unsure' "
                      "rather than as if it were known. The model's own line is the lowest certainty at "
                      "which its emotions were right often enough on recordings it had not learnt from "
                      f"({round(100 * DEFAULT_UNSURE_THRESHOLD)} % for a model that does not say).")
        for field in (self.unsure, self.unsure_own):
            field.setToolTip(unsure_tip)
        self._row(form, "Say 'Unsure' below", unsure_row, unsure_tip)
        self.model_choice = QComboBox()
        for name, what in BUNDLED_MODELS.items():
            self.model_choice.addItem(f"{name.capitalize()}: {what}", name)
        self.model_choice.addItem("Another model file…", OTHER_MODEL)
        self.model_choice.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_choice.setMinimumContentsLength(36)  # the list shows each model's whole line
        self._row(form, "Emotion model", self.model_choice,
                  "Default listens best; Fast uses a tenth of the processor time. Another model "
                  "file is one you trained or were given.")
        model_row = QWidget()
        row = QHBoxLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.model = QLineEdit("" if settings.model_path in BUNDLED_MODELS else settings.model_path)
        self.model.setPlaceholderText("an ONNX model file")
        model_file_tip = "The model file to use when 'Another model file…' is chosen above."
        self.model.setToolTip(model_file_tip)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose a model file (.onnx)")
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.model, 1)
        row.addWidget(self.browse)
        self.model_row = model_row
        self._row(form, "Model file", model_row, model_file_tip)
        self.model_choice.currentIndexChanged.connect(self._model_choice_changed)
        chosen = settings.model_path or "default"
        self.model_choice.setCurrentIndex(self.model_choice.findData(chosen if chosen in BUNDLED_MODELS else OTHER_MODEL))
        self._model_choice_changed()

        form = self._form(layout, "Display")
        self.high_contrast = QCheckBox("High contrast")
        self.high_contrast.setChecked(settings.high_contrast)
        self._row(form, "Colours", self.high_contrast,
                  "Brighter emotion colours in every view, and a black background in the "
                  "conversation aid: for bright rooms and low vision.")
        self.follow = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=60.0, suffix=" min")
        self.follow.setValue(settings.follow_minutes)
        self._row(form, "Live timeline shows the last", self.follow,
                  "While listening, the timeline scrolls to show this much of the most recent "
                  "audio. Fit (F) shows the whole session.")
        self.voice_rows = QCheckBox("One row per voice")
        self.voice_rows.setChecked(settings.voice_rows)
        self._row(form, "Timeline", self.voice_rows,
                  "When your voice is enrolled: the timeline's emotion strip has a row for you, one for "
                  "the other person and one for stretches unsure whose, instead of one row for all "
                  "(also View ▸ One Row per Voice).")

        form = self._form(layout, "Conversation aid")
        self.grouping = QComboBox()
        for grouping in Grouping:
            self.grouping.addItem(GROUPING_WORDS[grouping], grouping.value)
        self.grouping.setCurrentIndex(max(0, self.grouping.findData(aid.grouping.value)))
        self._row(form, "Show", self.grouping,
                  "Each emotion by name, or only whether the voice sounds positive, neutral or "
                  "negative (fewer, steadier words) with how calm or intense it sounds.")
        self.dwell = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=MAX_DWELL_S, singleStep=0.5, suffix=" s")
        self.dwell.setValue(aid.min_dwell_s)
        self._row(form, "Hold a label at least", self.dwell,
                  "Once shown, a word stays at least this long, so it does not flicker while "
                  "someone speaks.")
        self.hysteresis = QSpinBox(minimum=0, maximum=50, singleStep=5, suffix=" percentage points")
        self.hysteresis.setValue(round(100 * aid.hysteresis))
        self._row(form, "Change only when clearly ahead by", self.hysteresis,
                  "A new emotion replaces the shown one only when it is clearly ahead: more likely "
                  "by at least this many percentage points. Higher changes less often.")
        self.large_text = QCheckBox("Large text")
        self.large_text.setChecked(display.large_text)
        self._row(form, "Text", self.large_text,
                  "The word and the hints half as large again (a word is only made smaller where "
                  "it would not fit on the screen).")
        self.intensity_bar = QCheckBox("Show a calm–intense bar")
        self.intensity_bar.setChecked(display.intensity_bar)
        self._row(form, "Intensity", self.intensity_bar,
                  "A bar under the word: how calm or intense the voice sounds. Always shown when "
                  "emotions are grouped.")
        self.show_percentages = QCheckBox("Show percentages")
        self.show_percentages.setChecked(display.show_percentages)
        self._row(form, "Certainty", self.show_percentages,
                  "Show how sure the model is, as a number, under the word. Off by default: the "
                  "number is a guess's, and invites reading too much into it.")

        self._align_label_columns()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel
                                   | QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        restore = buttons.button(QDialogButtonBox.RestoreDefaults)
        restore.setToolTip("Put every setting back to how Moodline comes")
        restore.clicked.connect(self._defaults)
        layout.addWidget(buttons)

    # ---- building ----------------------------------------------------------------------
    def _form(self, layout: QVBoxLayout, title: str) -> QFormLayout:
        group = QGroupBox(title)
        form = QFormLayout(group)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setFormAlignment(Qt.AlignLeft | Qt.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        layout.addWidget(group)
        self._forms.append(form)
        return form

    @staticmethod
    def _row(form: QFormLayout, label: str, field: QWidget, tooltip: str) -> None:
        """A row of the form: the label, the field, and what it changes as both one's tooltip."""
        field.setToolTip(tooltip)
        form.addRow(label, field)
        form.labelForField(field).setToolTip(tooltip)

    def _align_label_columns(self) -> None:
        # Each group's form sizes its own label column; one width for all lines the fields up.
        labels = self.labels()
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(width)
            label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def labels(self) -> list[QLabel]:
        """The labels of every row, in order (for tests and screenshots)."""
        return [form.itemAt(row, QFormLayout.LabelRole).widget()
                for form in self._forms for row in range(form.rowCount())]

    # ---- behaviour ---------------------------------------------------------------------
    def _model_choice_changed(self) -> None:
        self.model_row.setEnabled(self.model_choice.currentData() == OTHER_MODEL)

    def _model_setting(self) -> str:
        choice = self.model_choice.currentData()
        if choice == OTHER_MODEL:
            return self.model.text().strip()
        return "" if choice == "default" else choice

    def _browse(self) -> None:
        given = Path(self.model.text().strip()).expanduser().parent if self.model.text().strip() else None
        start = next((f for f in (given, self.model_folder) if f is not None and f.is_dir()), Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file", str(start), "ONNX models (*.onnx)")
        if path:
            self.model.setText(path)

    def _fill_voices(self, chosen: str) -> None:
        self.voice.clear()
        self.voice.addItem(NO_VOICE, "")
        names = voice_names()
        if chosen and chosen not in names:
            names.append(chosen)  # chosen once and since removed: kept visible, Start says so
        for name in names:
            self.voice.addItem(name, name)
        self.voice.setCurrentIndex(max(0, self.voice.findData(chosen)))

    def _voice_changed(self) -> None:
        self.shown_voices.setEnabled(bool(self.voice.currentData()))  # without my voice, all are one

    def _enrol(self) -> None:
        name = self._enrol_voice()
        if name:
            self._fill_voices(name)

    def _unsure_own_toggled(self, own: bool) -> None:
        self.unsure.setEnabled(not own)
        if own:
            self.unsure.setValue(round(100 * self.model_unsure_line))

    def _defaults(self) -> None:
        fresh = SettingsDialog(DesktopSettings())
        for name in ("window", "hop", "smoothing", "follow", "dwell", "hysteresis"):
            getattr(self, name).setValue(getattr(fresh, name).value())
        for name in ("vad", "gate", "grouping", "shown_voices"):
            getattr(self, name).setCurrentIndex(getattr(fresh, name).currentIndex())
        for name in ("adapt", "unsure_own", "high_contrast", "large_text", "show_percentages", "intensity_bar",
                     "voice_rows"):
            getattr(self, name).setChecked(getattr(fresh, name).isChecked())
        self.model.setText("")
        self.model_choice.setCurrentIndex(self.model_choice.findData("default"))
        self.voice.setCurrentIndex(0)
        fresh.deleteLater()

    def settings(self) -> DesktopSettings:
        base = self._base
        return replace(
            base,
            analysis=replace(base.analysis, window_s=self.window.value() or None, hop_s=self.hop.value(),
                             smoothing_windows=self.smoothing.value(), vad_aggressiveness=self.vad.currentIndex(),
                             gate=self.gate.currentData(), adapt=self.adapt.isChecked()),
            aid=replace(base.aid, unsure_threshold=None if self.unsure_own.isChecked() else self.unsure.value() / 100,
                        grouping=Grouping(self.grouping.currentData()), min_dwell_s=self.dwell.value(),
                        hysteresis=self.hysteresis.value() / 100,
                        shown_voices=ShownVoices(self.shown_voices.currentData())),
            aid_display=replace(base.aid_display, large_text=self.large_text.isChecked(),
                                show_percentages=self.show_percentages.isChecked(),
                                intensity_bar=self.intensity_bar.isChecked()),
            voice=self.voice.currentData(), model_path=self._model_setting(),
            high_contrast=self.high_contrast.isChecked(), follow_minutes=self.follow.value(),
            voice_rows=self.voice_rows.isChecked())
