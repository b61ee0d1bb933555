"""Opening recordings: analysis with progress and cancel, playback, exports, saved sessions."""
from __future__ import annotations

import csv
import json

import numpy as np
import soundfile as sf
from PyQt5.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PyQt5.QtGui import QDropEvent, QImage

from moodline.engine.timeline import Timeline

from desktop_fakes import RATE, wait_idle


def open_and_wait(qtbot, window, path):
    window.open_path(path)
    wait_idle(qtbot, window)
    assert window.recording is not None, window.banner.text()


def test_open_file_shows_the_whole_timeline(qtbot, window, conversation_wav, conversation, conversation_speech_s):
    open_and_wait(qtbot, window, conversation_wav)
    view = window.timeline_view
    duration = len(conversation) / RATE
    assert abs(view.end_s - duration) < 0.1
    assert view.series.times_s[-1] > duration - 2.5  # points cover the whole file
    speech = view.series.times_s[view.series.speech]
    for start, end in conversation_speech_s:
        assert any(start <= t <= end for t in speech)
    x0, x1 = view.plot.viewRange()[0]
    assert x0 <= 0.5 and x1 >= duration  # the whole recording is in view
    assert len(view.wave_curve.getData()[0]) > 0  # the waveform strip is drawn
    assert window.panel.caption.text() == "Whole recording"
    assert not window.progress_box.isVisible()


def test_analysis_shows_progress_and_can_be_cancelled(qtbot, window, tmp_path, speech):
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(speech, 150), RATE)  # about 10 minutes
    seen = []
    window.progress.valueChanged.connect(seen.append)
    window.open_path(long)
    assert window.progress_box.isVisible() and not window.start_button.isEnabled()
    qtbot.waitUntil(lambda: seen and seen[-1] > 0, timeout=10000)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    wait_idle(qtbot, window)
    assert window.recording is None
    assert "cancelled" in window.status_session.text().lower()
    assert not window.progress_box.isVisible() and window.start_button.isEnabled()


def test_a_broken_file_gives_a_message_in_the_window(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    window.open_path(bad)
    wait_idle(qtbot, window)
    assert window.banner.kind == "error" and "broken.wav" in window.banner.text()
    assert window.start_button.isEnabled()


def test_drag_and_drop_opens_a_file(qtbot, window, conversation_wav):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(conversation_wav))])
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_idle(qtbot, window)
    assert window.recording is not None and window.recording.source == str(conversation_wav)


def test_clicking_the_timeline_plays_from_there_with_a_moving_cursor(qtbot, window, conversation_wav):
    open_and_wait(qtbot, window, conversation_wav)
    view = window.timeline_view
    view.redraw()
    qtbot.wait(50)
    scene_point = view.plot.getViewBox().mapViewToScene(QPointF(5.0, 0.5))
    widget_point = view.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(view.graphics.viewport(), Qt.LeftButton, pos=QPoint(int(widget_point.x()), int(widget_point.y())))
    qtbot.waitUntil(lambda: window.player.playing, timeout=3000)
    start = view.cursor_s
    assert abs(start - 5.0) < 0.5
    qtbot.waitUntil(lambda: view.cursor_s > start + 0.3, timeout=5000)
    assert window.panel.caption.text().startswith("At 0:0")
    assert window.stop_button.isEnabled()
    qtbot.mouseClick(window.stop_button, Qt.LeftButton)
    assert not window.player.playing


def test_exports_csv_json_png_and_wav(qtbot, window, conversation_wav, conversation, tmp_path):
    open_and_wait(qtbot, window, conversation_wav)
    points = window.recording.timeline.points

    rows = list(csv.reader((window.export(tmp_path / "t.csv")).open()))
    assert rows[0][:5] == ["start_s", "end_s", "is_speech", "label", "confidence"]
    assert len(rows) == len(points) + 1

    loaded = Timeline.load(window.export(tmp_path / "t.json"))
    assert [p.to_dict() for p in loaded.points] == [p.to_dict() for p in points]
    assert json.loads((tmp_path / "t.json").read_text())["file"] == str(conversation_wav)

    image = QImage(str(window.export(tmp_path / "t.png")))
    assert image.width() > 300 and image.height() > 150
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 5  # a picture of lines, not a blank rectangle

    audio, rate = sf.read(window.export(tmp_path / "t.wav"))
    assert rate == RATE and abs(len(audio) - len(conversation)) < RATE // 10


def test_a_saved_session_reopens_with_audio_and_timeline(qtbot, make_window, conversation_wav, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, conversation_wav)
    saved = window.save_session(tmp_path / "saved")
    original = window.recording

    other = make_window()
    open_and_wait(qtbot, other, saved / "session.json")
    assert [p.to_dict() for p in other.recording.timeline.points] == \
        [p.to_dict() for p in original.timeline.points]
    assert len(other.recording.audio) == len(original.audio)
    assert len(other.timeline_view.series) == len(original.timeline.points)
    assert other.recording.folder == saved
