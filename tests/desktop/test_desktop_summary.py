"""Reading a whole recording: the summary (the numbers of `moodline analyze`), the segments
list to jump from, and exports for papers (a figure of the whole recording, a segments CSV)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QImage
from PyQt5.QtWidgets import QFileDialog

from moodline.desktop.exports import Export
from moodline.desktop.main_window import prepare
from moodline.engine.timeline import Timeline, TimelinePoint, format_clock

from desktop_fakes import wait_idle
from long_recording import synthetic_recording

MOODLINE = str(Path(sys.executable).with_name("moodline"))
SVG = "{http://www.w3.org/2000/svg}"


def open_and_wait(qtbot, window, path):
    window.open_path(path)
    wait_idle(qtbot, window)
    assert window.recording is not None, window.banner.text()


def cli_json(path, model_path) -> dict:
    """What `moodline analyze FILE --format json` says, run as a user runs it."""
    result = subprocess.run([MOODLINE, "analyze", str(path), "--model", str(model_path), "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def timeline_from(record: dict) -> Timeline:
    timeline = Timeline(tuple(record["labels"]))
    timeline.extend(TimelinePoint.from_dict(d) for d in record["timeline"])
    timeline.duration_s = record["duration_s"]
    return timeline


def test_the_summary_shows_the_numbers_of_the_command_line(qtbot, window, conversation_wav, model_path):
    open_and_wait(qtbot, window, conversation_wav)
    record = cli_json(conversation_wav, model_path)
    summary = record["summary"]
    panel = window.summary_panel
    assert panel.summary.to_dict() == summary  # label, probabilities, shares, speech time
    assert panel.isVisible() and window.segments_list.isVisible()
    cli_summary = timeline_from(record).summary()
    assert panel.headline.text() == cli_summary.breakdown()
    assert panel.speech.text() == f"Speech {format_clock(summary['speech_s'])} of {format_clock(record['duration_s'])}"
    shown = panel.shares.text()
    heard = [(label, share) for label, share in summary["shares"].items() if share > 0]
    for label, share in heard:
        assert f"{label}</td><td align=\"right\">&nbsp;{share:.0%}" in shown
    # The bar: one part per emotion heard, as wide as its share.
    spans = {label: right - left for label, left, right in panel.bar.spans()}
    assert set(spans) == {label for label, _ in heard}
    for label, share in heard:
        assert spans[label] == pytest.approx(share * panel.bar.width(), abs=1.0)
    # The readout beside the timeline says the same, never "Unsure".
    top = max(summary["shares"], key=summary["shares"].get)
    assert window.panel.word.text() == top.capitalize() and window.panel.caption.text() == "Whole recording"
    assert cli_summary.breakdown() in window.panel.detail.text()


def test_an_hour_of_mixed_speech_is_summarised_as_a_mix_not_as_unsure(qtbot, window):
    recording = synthetic_recording(62, with_audio=False)
    summary = recording.timeline.summary()
    # The old rule ("unsure" when the mean probability of the winner is low) would say unsure here.
    assert summary.probabilities[summary.label] < window.unsure_threshold()
    window.show_recording(prepare(recording))
    panel = window.panel
    assert panel.word.text() != "Unsure" and "clear" not in panel.detail.text()
    best, share = summary.ranked_shares()[0]
    assert panel.word.text() == best.capitalize()
    assert panel.detail.text().startswith(f"Most often {best} ({share:.0%}), then ")
    assert panel.confidence.value() == round(100 * share)
    assert window.summary_panel.headline.text().startswith("Most often")
    # The list holds every stretch of speech of the hour; the summary names the longest.
    speech = [s for s in recording.timeline.segments() if s.is_speech]
    assert window.segments_list.model.rows == speech and len(speech) > 500
    longest = max(speech, key=lambda s: s.duration_s)
    first = window.summary_panel.top.item(0).text()
    assert first.startswith(f"{format_clock(longest.start_s)}–{format_clock(longest.end_s)}  {longest.label}")


def row_centre(table, row: int):
    return table.visualRect(table.model().index(row, 2)).center()


def test_clicking_a_segment_plays_it_and_the_playing_segment_is_highlighted(qtbot, window, conversation_wav):
    open_and_wait(qtbot, window, conversation_wav)
    segments = window.segments_list
    rows = segments.model.rows
    assert rows == [s for s in window.recording.timeline.segments() if s.is_speech] and len(rows) >= 2
    for row, segment in enumerate(rows):  # what a reader sees in each row
        shown = [segments.model.index(row, c).data() for c in range(4)]
        assert shown == [format_clock(segment.start_s), format_clock(segment.end_s), segment.label,
                         f"{segment.confidence:.0%}"]
    target = rows[1]
    qtbot.mouseClick(segments.table.viewport(), Qt.LeftButton, pos=row_centre(segments.table, 1))
    qtbot.waitUntil(lambda: window.player.playing, timeout=3000)
    assert abs(window.player.position_s - target.start_s) < 0.3
    assert window.timeline_view.cursor_s == pytest.approx(target.start_s, abs=0.3)
    assert window.panel.caption.text() == f"At {format_clock(target.start_s)}"
    assert segments.current_segment == target  # highlighted while it plays
    highlighted = segments.model.index(1, 0).data(Qt.BackgroundRole)
    assert highlighted is not None and segments.model.index(0, 0).data(Qt.BackgroundRole) is None
    window.stop()
    # Playing on from a moment in the first segment highlights that one instead.
    window.playback.play_from((rows[0].start_s + rows[0].end_s) / 2)
    assert segments.current_segment == rows[0]
    window.stop()


def test_a_top_stretch_in_the_summary_plays_on_click(qtbot, window, conversation_wav):
    open_and_wait(qtbot, window, conversation_wav)
    top = window.summary_panel.top
    assert top.count() >= 1
    item = top.item(0)
    qtbot.mouseClick(top.viewport(), Qt.LeftButton, pos=top.visualItemRect(item).center())
    qtbot.waitUntil(lambda: window.player.playing, timeout=3000)
    assert abs(window.player.position_s - item.data(Qt.UserRole)) < 0.3
    window.stop()


def test_live_the_summary_and_segments_grow_with_the_session(qtbot, window, inputs):
    qtbot.mouseClick(window.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.live is not None, timeout=5000)
    assert window.summary_panel.caption.text() == "This session so far"
    qtbot.waitUntil(lambda: len(window.segments_list.model.rows) > 0, timeout=20000)
    qtbot.waitUntil(lambda: window.summary_panel.summary is not None, timeout=5000)
    qtbot.waitUntil(lambda: inputs.sources[-1].done, timeout=20000)
    qtbot.wait(1500)  # one more catch-up of the live summary
    series = window.timeline_view.series
    so_far = Timeline(series.labels, list(series.points), series.points[-1].end_s)
    assert window.summary_panel.summary.speech_s == pytest.approx(so_far.summary().speech_s, abs=1.1)
    assert window.segments_list.model.rows[0] == [s for s in series.segments() if s.is_speech][0]
    qtbot.mouseClick(window.stop_button, Qt.LeftButton)
    wait_idle(qtbot, window)
    timeline = window.recording.timeline
    assert window.summary_panel.caption.text() == "This session"
    assert window.summary_panel.summary == timeline.summary()
    assert window.segments_list.model.rows == [s for s in timeline.segments() if s.is_speech]


# ---- exports for papers ---------------------------------------------------------------------------
def test_the_figure_is_the_whole_recording_whatever_the_zoom_and_without_the_playhead(qtbot, window,
                                                                                     conversation_wav, tmp_path):
    open_and_wait(qtbot, window, conversation_wav)
    fitted = QImage(str(window.export(tmp_path / "fitted.png")))
    view = window.timeline_view
    for _ in range(4):
        view.zoom_in()
    view.set_playhead(6.0)
    view.redraw()
    window.resize(1300, 800)
    qtbot.wait(50)
    zoomed = QImage(str(window.export(tmp_path / "zoomed.png")))
    assert (zoomed.width(), zoomed.height()) == (fitted.width(), fitted.height())
    assert zoomed.width() >= 2000  # print resolution
    assert zoomed == fitted  # not one pixel of zoom or playhead in it
    # Export View, by contrast, shows only the zoomed stretch.
    view_png = QImage(str(window.export_view(tmp_path / "view.png")))
    assert view_png != fitted
    # The strip in the figure carries the palette's colour of an emotion heard.
    top = window.recording.timeline.summary().ranked_shares()[0][0]
    colour = QColor(window.palette_.colour(top)).rgb()
    assert any(fitted.pixel(x, y) == colour for x in range(0, fitted.width(), 3) for y in range(300, 500, 10))


def test_the_svg_figure_is_xml_with_title_file_axis_and_legend(qtbot, window, conversation_wav, tmp_path,
                                                               monkeypatch):
    open_and_wait(qtbot, window, conversation_wav)
    target = tmp_path / "figure.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_actions[Export.FIGURE_SVG].trigger()  # File ▸ Export ▸ Figure (SVG)…
    root = ET.parse(target).getroot()
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Speech emotion over time" in texts and root.find(f"{SVG}title").text == "Speech emotion over time"
    assert any(text.startswith(conversation_wav.name) for text in texts)
    assert "Whole recording: " + window.recording.timeline.summary().breakdown() in texts
    for label in window.recording.timeline.labels:
        assert label in texts  # the legend
    assert "0:00" in texts and "0:10" in texts and "time (m:ss)" in texts  # a clock, not seconds
    assert "Exported" in window.status_session.text()


def test_the_segments_csv_matches_the_segments_and_the_command_line(qtbot, window, conversation_wav, model_path,
                                                                    tmp_path, monkeypatch):
    open_and_wait(qtbot, window, conversation_wav)
    target = tmp_path / "talk.segments.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_actions[Export.SEGMENTS_CSV].trigger()
    rows = list(csv.DictReader(target.open()))
    found = window.recording.timeline.segments()
    assert [(r["label"] or None, r["start"], r["end"]) for r in rows] == \
        [(s.label, format_clock(s.start_s), format_clock(s.end_s)) for s in found]
    assert [float(r["end_s"]) for r in rows] == pytest.approx([s.end_s for s in found], abs=1e-4)
    out = tmp_path / "cli"
    result = subprocess.run([MOODLINE, "analyze", str(conversation_wav), "--model", str(model_path),
                             "--out", str(out), "--segments"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / f"{conversation_wav.name}.segments.csv").read_text() == target.read_text()
    # The per-window timeline CSV is still there beside it.
    assert window.export(tmp_path / "t.csv").read_text().startswith("start_s,end_s,is_speech,label")


def test_the_side_panels_give_way_in_a_narrow_window_and_come_back(qtbot, window):
    docks = (window.summary_dock, window.segments_dock)
    assert window.width() >= 1100 and all(d.isVisible() for d in docks)
    window.resize(900, 640)
    qtbot.wait(20)
    assert not any(d.isVisible() for d in docks)  # the timeline keeps its room
    window.summary_dock.toggleViewAction().trigger()  # View ▸ Summary: the user's word wins
    assert window.summary_dock.isVisible() and not window.segments_dock.isVisible()
    window.resize(1300, 760)
    qtbot.wait(20)
    assert all(d.isVisible() for d in docks)
    window.segments_dock.close()  # its close button: stays closed when the window grows again
    window.resize(900, 640)
    qtbot.wait(20)
    window.resize(1300, 760)
    qtbot.wait(20)
    assert window.summary_dock.isVisible() and not window.segments_dock.isVisible()


def test_a_recording_made_too_loud_says_so_instead_of_naming_an_emotion(qtbot, window, conversation, tmp_path,
                                                                       model_path):
    import numpy as np
    import soundfile as sf

    from audio_fixtures import RATE

    path = tmp_path / "too loud.wav"
    sf.write(path, np.clip(conversation * 10.0, -1.0, 1.0), RATE)  # +20 dB: the voice's peaks flattened
    open_and_wait(qtbot, window, path)
    summary = window.recording.timeline.summary()
    assert summary.to_dict() == cli_json(path, model_path)["summary"]  # the window and the CLI agree
    assert summary.clipped_s > 0 and "too loud to judge" in window.summary_panel.speech.text()
    model = window.segments_list.model
    clipped = [row for row, s in enumerate(model.rows) if s.clipped]
    assert clipped
    for row in clipped:  # named as what it is, not as the emotion the distortion sounded like
        assert model.index(row, 2).data() == "too loud" and model.index(row, 3).data() == "–"
    # The strip draws clipped speech faint, as it does doubtful speech.
    series = window.timeline_view.series
    bands = series.dominant_bands(0.0, window.recording.timeline.duration_s, 10_000, 0.0)
    loud = [p for p in window.recording.timeline.points if p.clipped]
    for start, end, sure in zip(bands.starts_s, bands.ends_s, bands.sure):
        if any(start <= (p.start_s + p.end_s) / 2 <= end for p in loud):
            assert not sure
    # Played, a clipped moment reads "Too loud" beside the timeline.
    moment = loud[len(loud) // 2]
    window.playback.play_from((moment.start_s + moment.end_s) / 2)
    qtbot.waitUntil(lambda: window.panel.word.text() == "Too loud", timeout=3000)
    assert "move the microphone away" in window.panel.detail.text()  # what to do about it
    window.stop()
