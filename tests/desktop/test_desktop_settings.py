"""Settings and the remembered device survive a restart; the dialog edits every setting."""
from __future__ import annotations

from dataclasses import replace

from moodline.desktop.settings import DesktopSettings
from moodline.desktop.widgets.settings_dialog import SettingsDialog

from desktop_fakes import OTHER_MIC, wait_idle


def test_settings_persist_across_restarts(qtbot, make_window):
    window = make_window()
    changed = replace(DesktopSettings(), hop_s=0.25, smoothing_windows=3, vad_aggressiveness=1,
                      unsure_threshold=0.55, high_contrast=True, aid_grouping="valence",
                      aid_min_dwell_s=3.5, aid_large_text=True)
    window.apply_settings(changed)
    assert window.panel.palette_.high_contrast
    window.close()

    again = make_window()
    assert again.settings == changed
    assert again.settings.analysis().hop_s == 0.25


def test_the_dialog_reads_and_writes_every_field(qtbot):
    start = replace(DesktopSettings(), window_s=1.5, hop_s=0.75, model_path="/tmp/m.onnx")
    dialog = SettingsDialog(start)
    qtbot.addWidget(dialog)
    assert dialog.settings() == start  # nothing changed: the same settings come back
    dialog.hop.setValue(1.0)
    dialog.vad.setCurrentIndex(0)
    dialog.grouping.setCurrentText("valence")
    dialog.high_contrast.setChecked(True)
    dialog.show_percentages.setChecked(True)
    result = dialog.settings()
    assert (result.hop_s, result.vad_aggressiveness, result.aid_grouping, result.high_contrast,
            result.aid_show_percentages) == (1.0, 0, "valence", True, True)
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
