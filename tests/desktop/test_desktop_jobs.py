"""What the window is doing is one JobState, and what the user can press follows from it:
through loading, a session's start, listening, stopping, an analysis, and a model reloaded
while a session listens."""
from __future__ import annotations

from moodline.desktop.jobs import JobState

from desktop_fakes import wait_idle


def pressable(window) -> set[str]:
    controls = {"start": window.start_button, "stop": window.stop_button, "devices": window.devices,
                "open": window.open_action, "save": window.save_action}
    return {name for name, control in controls.items() if control.isEnabled()}


def test_the_controls_follow_the_job_state(qtbot, make_window, conversation_wav, model_path):
    window = make_window(wait_model=False)
    assert JobState.LOADING_MODEL in window.jobs and window.busy
    assert pressable(window) <= {"devices"}  # nothing to start or open with yet
    qtbot.waitUntil(lambda: window.jobs == JobState.IDLE, timeout=10000)
    assert pressable(window) == {"start", "devices", "open"} and window.ready

    window.start()
    assert window.jobs == JobState.STARTING and window.busy
    assert pressable(window) == set()  # not twice, and not another device under it
    qtbot.waitUntil(lambda: window.jobs == JobState.LISTENING, timeout=5000)
    assert pressable(window) == {"stop"} and not window.busy and window.ready

    window.apply_settings(window.settings.__class__(model_path=str(model_path) + "?"))  # another model
    assert window.jobs == JobState.LISTENING | JobState.LOADING_MODEL
    assert pressable(window) == {"stop"}  # the session goes on, and can be stopped
    qtbot.waitUntil(lambda: JobState.LOADING_MODEL not in window.jobs, timeout=10000)

    window.apply_settings(window.settings.__class__(model_path=str(model_path)))
    qtbot.waitUntil(lambda: window.model is not None, timeout=10000)
    window.stop()
    assert window.jobs == JobState.FINISHING and window.busy
    assert pressable(window) == set()
    wait_idle(qtbot, window)
    assert window.jobs == JobState.IDLE
    assert pressable(window) == {"start", "devices", "open", "save"}

    window.open_path(conversation_wav)
    assert window.jobs == JobState.ANALYSING
    assert not pressable(window) & {"start", "stop", "open"}  # one job at a time
    wait_idle(qtbot, window)
    assert window.jobs == JobState.IDLE and pressable(window) == {"start", "devices", "open", "save"}
