"""Settings and the remembered device survive a restart; the dialog edits every setting."""
from __future__ import annotations

import re
from dataclasses import replace

from PyQt5.QtCore import QPoint, QSettings, Qt
from PyQt5.QtWidgets import (QAbstractButton, QAbstractSpinBox, QComboBox, QDialogButtonBox,
                             QLineEdit)

from moodline.desktop.settings import AidDisplay, DesktopSettings, load_settings
from moodline.engine.analysis import AnalysisSettings
from moodline.engine.readout import Grouping, StabilizerSettings
from moodline.desktop.widgets.settings_dialog import SettingsDialog

from desktop_fakes import OTHER_MIC, wait_idle
from model_factory import make_model


def test_settings_persist_across_restarts(qtbot, make_window):
    window = make_window()
    changed = DesktopSettings(
        analysis=AnalysisSettings(hop_s=0.25, smoothing_windows=3, vad_aggressiveness=1, gate="both", adapt=False),
        aid=StabilizerSettings(unsure_threshold=0.55, grouping=Grouping.VALENCE, min_dwell_s=3.5),
        aid_display=AidDisplay(large_text=True), high_contrast=True)
    window.apply_settings(changed)
    assert window.panel.palette_.high_contrast
    window.close()

    again = make_window()
    assert again.settings == changed
    assert again.settings.analysis.hop_s == 0.25 and again.settings.analysis.gate == "both"
    assert again.settings.analysis.adapt is False  # what a session and an opened file are analysed with


def test_the_dialog_reads_and_writes_every_field(qtbot):
    start = DesktopSettings(analysis=AnalysisSettings(window_s=1.5, hop_s=0.75), model_path="/tmp/m.onnx")
    dialog = SettingsDialog(start)
    qtbot.addWidget(dialog)
    assert dialog.settings() == start  # nothing changed: the same settings come back
    dialog.hop.setValue(1.0)
    dialog.vad.setCurrentIndex(0)
    dialog.gate.setCurrentIndex(dialog.gate.findData("webrtc"))
    dialog.grouping.setCurrentIndex(dialog.grouping.findData("valence"))
    dialog.high_contrast.setChecked(True)
    dialog.show_percentages.setChecked(True)
    dialog.adapt.setChecked(False)
    dialog.unsure_own.setChecked(False)
    dialog.unsure.setValue(30)
    result = dialog.settings()
    assert (result.analysis.hop_s, result.analysis.vad_aggressiveness, result.analysis.gate, result.aid.grouping,
            result.high_contrast, result.aid_display.show_percentages, result.analysis.adapt,
            result.aid.unsure_threshold) == (1.0, 0, "webrtc", Grouping.VALENCE, True, True, False, 0.3)
    dialog._defaults()
    assert dialog.settings() == DesktopSettings()


def test_the_chosen_device_is_remembered(qtbot, make_window):
    window = make_window()
    assert window.devices.current_name() == "Test microphone"  # the system default first
    window.devices.combo.setCurrentIndex(1)
    window.start()
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    window.stop()
    wait_idle(qtbot, window)
    window.close()
    assert make_window().devices.current_name() == OTHER_MIC.name


def test_the_dialog_offers_the_shipped_models_by_name_and_any_file(qtbot):
    dialog = SettingsDialog(DesktopSettings())
    qtbot.addWidget(dialog)
    choices = [dialog.model_choice.itemData(i) for i in range(dialog.model_choice.count())]
    assert choices == ["default", "fast", "other"]
    assert not dialog.model_row.isEnabled()  # the file field is for "another model file" only
    dialog.model_choice.setCurrentIndex(choices.index("fast"))
    assert dialog.settings().model_path == "fast"
    dialog.model_choice.setCurrentIndex(choices.index("other"))
    assert dialog.model_row.isEnabled()
    dialog.model.setText("/models/mine.onnx")
    assert dialog.settings().model_path == "/models/mine.onnx"
    reopened = SettingsDialog(replace(DesktopSettings(), model_path="fast"))
    qtbot.addWidget(reopened)
    assert reopened.model_choice.currentData() == "fast" and reopened.settings().model_path == "fast"


def test_a_shipped_model_is_found_by_name_in_the_window_and_the_command_line(qtbot, make_window):
    from moodline.engine.model import bundled_model_path, resolve_model

    assert resolve_model("fast") == bundled_model_path("fast")
    assert resolve_model("") == resolve_model(None) == bundled_model_path("default")
    assert resolve_model("/models/mine.onnx").name == "mine.onnx"
    window = make_window(model=None, wait_model=False)
    window.settings = replace(window.settings, model_path="fast")
    assert window.model_file() == str(bundled_model_path("fast"))


def test_the_dialog_speaks_plain_words(qtbot):
    dialog = SettingsDialog(DesktopSettings())
    qtbot.addWidget(dialog)
    labels = [label.text() for label in dialog.labels()]
    assert "Update every" in labels and "Hold a label at least" in labels
    assert "Change only when clearly ahead by" in labels
    assert dialog.hop.text() == "0.50 s" and dialog.dwell.text() == "2.0 s"
    assert dialog.hysteresis.text() == "15 percentage points" and dialog.unsure.text() == "40 % sure"
    shown = labels + [w.text() for w in dialog.findChildren(QAbstractSpinBox)] + \
        [box.itemText(i) for box in dialog.findChildren(QComboBox) for i in range(box.count())]
    for jargon in ("hop", "hysteresis", "dwell", "window", "vad", "valence"):
        assert not any(jargon in text.lower() for text in shown), (jargon, shown)
    counts = []
    for n in range(1, 21):
        dialog.smoothing.setValue(n)
        counts.append(dialog.smoothing.text())
    assert counts[0] == "1 reading (no averaging)" and counts[2] == "3 readings (1.5 s)"
    assert not any(re.search(r"(^|\D)1 readings", text) for text in counts)
    dialog.hop.setValue(0.25)  # the time the average spans follows the update interval
    assert dialog.smoothing.text() == "20 readings (5 s)"


def test_every_field_of_the_dialog_has_a_tooltip(qtbot):
    dialog = SettingsDialog(DesktopSettings())
    qtbot.addWidget(dialog)
    inputs = [w for w in dialog.findChildren((QAbstractSpinBox, QComboBox, QLineEdit, QAbstractButton))
              if not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))  # a spin box's own editor
              and not (isinstance(w.parent(), QDialogButtonBox)
                       and dialog.findChild(QDialogButtonBox).buttonRole(w) != QDialogButtonBox.ResetRole)]
    assert len(inputs) >= 16
    missing = [w.objectName() or getattr(w, "text", lambda: type(w).__name__)() for w in inputs
               if not w.toolTip().strip()]
    assert missing == []
    assert all(label.toolTip() for label in dialog.labels())  # the words beside them explain too


def test_the_forms_line_up(qtbot):
    dialog = SettingsDialog(DesktopSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    labels = dialog.labels()
    assert len(labels) >= 14
    rights = {label.mapTo(dialog, QPoint(label.width(), 0)).x() for label in labels}
    fields = {field.mapTo(dialog, QPoint(0, 0)).x()
              for field in (dialog.hop, dialog.window, dialog.vad, dialog.model_row, dialog.high_contrast,
                            dialog.follow, dialog.grouping, dialog.dwell, dialog.hysteresis, dialog.large_text)}
    assert len(rights) == 1 and len(fields) == 1, (rights, fields)
    assert all(label.alignment() & Qt.AlignRight for label in labels)


def test_a_settings_file_from_before_reads_the_same(tmp_path):
    # Written by the previous version (keys unchanged since): the dialog shows new words only.
    ini = tmp_path / "old.ini"
    ini.write_text("[settings]\nhop_s=0.25\nsmoothing_windows=3\nunsure_threshold=0.55\n"
                   "aid_min_dwell_s=3.5\naid_hysteresis=0.2\naid_grouping=valence\nhigh_contrast=true\n")
    loaded = load_settings(QSettings(str(ini), QSettings.IniFormat))
    assert (loaded.analysis.hop_s, loaded.analysis.smoothing_windows, loaded.aid.unsure_threshold,
            loaded.aid.min_dwell_s, loaded.aid.hysteresis, loaded.aid.grouping, loaded.high_contrast) == \
        (0.25, 3, 0.55, 3.5, 0.2, Grouping.VALENCE, True)
    assert loaded.analysis.window_s is None  # the model's own, as the engine says it
    assert SettingsDialog(loaded).settings() == loaded


def test_the_unsure_line_of_a_file_from_before_follows_the_model_unless_it_was_changed(tmp_path):
    # Before models had their own line, every save wrote 0.4 (the default) whether chosen or not.
    def load(text):
        ini = tmp_path / f"{len(list(tmp_path.iterdir()))}.ini"  # a new file each: Qt caches what it read
        ini.write_text("[settings]\n" + text)
        return load_settings(QSettings(str(ini), QSettings.IniFormat))

    assert load("hop_s=0.25\nunsure_threshold=0.4\n").aid.unsure_threshold is None
    assert load("hop_s=0.25\nunsure_threshold=0.3\n").aid.unsure_threshold == 0.3
    assert load("adapt=true\nunsure_threshold=0.4\n").aid.unsure_threshold == 0.4  # saved since: a choice
    assert load("window_s=0\n").analysis.window_s is None  # how files said "the model's own" before


def test_the_unsure_line_is_the_models_own_unless_one_is_chosen(qtbot, make_window, tmp_path, store):
    own_line = make_model(tmp_path / "own_line.onnx", window_s=2.0, metadata={"unsure_threshold": "0.55"})
    window = make_window(model=own_line)
    assert window.settings.aid.unsure_threshold is None
    assert window.unsure_threshold() == window.timeline_view.unsure_threshold == 0.55
    assert window.segments_list.model.unsure_threshold == 0.55
    dialog = SettingsDialog(window.settings, model_unsure=0.55)
    qtbot.addWidget(dialog)
    assert dialog.unsure_own.isChecked() and not dialog.unsure.isEnabled() and dialog.unsure.text() == "55 % sure"
    dialog.unsure_own.setChecked(False)
    dialog.unsure.setValue(30)
    window.apply_settings(dialog.settings())
    assert window.unsure_threshold() == window.timeline_view.unsure_threshold == 0.3
    assert window.segments_list.model.unsure_threshold == 0.3
    window.close()
    again = make_window(model=own_line)
    assert again.settings.aid.unsure_threshold == 0.3 and again.unsure_threshold() == 0.3
    again.apply_settings(replace(again.settings, aid=replace(again.settings.aid, unsure_threshold=None)))
    assert again.unsure_threshold() == 0.55
    assert store.value("settings/unsure_threshold") is None
    again.close()
    none = make_window(model=tmp_path / "missing.onnx", wait_model=False)
    qtbot.waitUntil(lambda: none.status_model.text() == "model: none", timeout=10000)
    assert none.unsure_threshold() == none.timeline_view.unsure_threshold == 0.40  # the engine's default


def test_the_windows_defaults_are_the_engines():
    """The window, `moodline analyze` and `moodline listen` start from the same settings."""
    assert DesktopSettings().analysis == AnalysisSettings()
    assert DesktopSettings().aid == StabilizerSettings()
    assert DesktopSettings().stabilizer() == StabilizerSettings().for_model(None)


def test_a_speech_gate_this_moodline_lacks_falls_back_to_the_default():
    class Store:  # a settings file edited by hand, or written by a newer Moodline
        def value(self, key):
            return {"settings/speech_gate": "loudness", "settings/hop_s": "0.25"}.get(key)

    loaded = load_settings(Store())
    assert loaded.analysis.gate == DesktopSettings().analysis.gate and loaded.analysis.hop_s == 0.25
    loaded.analysis.check()  # the window can analyse with what it loaded
