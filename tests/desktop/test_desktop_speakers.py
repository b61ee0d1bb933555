"""A conversation has two people: the window with the user's own voice enrolled ("My voice" in
Settings) shows the other person's emotion, one timeline row per voice, and whose each segment is."""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import soundfile as sf
from PyQt5.QtCore import QSettings, Qt

from audio_fixtures import RATE, another_voice, espeak, silence
from desktop_fakes import FakeSource, wait_idle
from long_recording import LABELS, synthetic_points
from moodline.desktop.palette import Palette
from moodline.desktop.settings import DesktopSettings, load_settings
from moodline.desktop.whose import VOICE_ORDER
from moodline.desktop.widgets.emotion_panel import EmotionPanel
from moodline.desktop.widgets.enrol_dialog import EnrolVoiceDialog
from moodline.desktop.widgets.segments_list import WHOSE, SegmentsList
from moodline.desktop.widgets.settings_dialog import SettingsDialog
from moodline.desktop.widgets.timeline_view import voice_row_extent
from moodline.engine.readout import ShownVoices, StabilizerSettings
from moodline.engine.timeline import TimelinePoint, segments
from test_desktop_live import run_session
from test_desktop_timeline import colours_near, render, show

HOP_S, WINDOW_S = 0.5, 2.0


def said(k: int, label: str | None, voice: str | None = None, p: float = 0.85) -> TimelinePoint:
    """The ``k``-th window: ``label`` winning with ``p`` in ``voice`` (None label: silence)."""
    start = k * HOP_S
    if label is None:
        return TimelinePoint(start, start + WINDOW_S, None, None, None, False)
    rest = (1 - p) / (len(LABELS) - 1)
    probs = {name: (p if name == label else rest) for name in LABELS}
    return TimelinePoint(start, start + WINDOW_S, probs, label, p, True, False, voice)


def turns(*spec: tuple[str | None, str | None, int]) -> list[TimelinePoint]:
    """Points from turns of (label or None, voice, number of windows)."""
    flat = [(label, voice) for label, voice, n in spec for _ in range(n)]
    return [said(k, label, voice) for k, (label, voice) in enumerate(flat)]


CONVERSATION = turns(("angry", "other", 12), (None, None, 4), ("happy", "me", 12), ("sad", "unknown", 4),
                     ("calm", "other", 12))


# ---- the aid and the panel show the other person ----------------------------------------------
def test_the_aid_holds_the_partners_emotion_while_i_speak(qtbot, window):
    assert window.settings.aid.shown_voices is ShownVoices.OTHER  # by default
    window.toggle_aid()
    aid = window.aid
    shown = []
    for i in range(8):  # the partner, angry
        aid.feed(said(i, "angry", "other"))
    assert aid.word.text() == "Angry"
    for i in range(8, 40):  # then I speak, happily, for 16 s: never shown
        aid.feed(said(i, "happy", "me"))
        shown.append(aid.word.text())
    assert set(shown) == {"Angry"}  # held, as through a pause
    assert aid.stabilizer.shown.pause.value != "none"  # ... and dimmed like one
    for i in range(40, 44):  # a voice unsure whose is not the partner's either
        aid.feed(said(i, "sad", "unknown"))
    assert aid.word.text() == "Angry"
    for i in range(44, 52):  # the partner again, now calm: shown
        aid.feed(said(i, "calm", "other"))
    assert aid.word.text() == "Calm"
    aid.close()


def test_with_everyone_shown_the_aid_shows_my_emotion_too(qtbot, window):
    window.apply_settings(replace(window.settings, aid=replace(window.settings.aid, shown_voices=ShownVoices.ALL)))
    window.toggle_aid()
    aid = window.aid
    assert aid.stabilizer.settings.shown_voices is ShownVoices.ALL  # the window's settings reach the aid
    for i in range(8):
        aid.feed(said(i, "angry", "other"))
    assert aid.word.text() == "Angry"
    for i in range(8, 20):
        aid.feed(said(i, "happy", "me"))
    assert aid.word.text() == "Happy"
    # Changed while the aid is open, the choice applies at once.
    window.apply_settings(replace(window.settings, aid=replace(window.settings.aid, shown_voices=ShownVoices.OTHER)))
    assert aid.stabilizer.settings.shown_voices is ShownVoices.OTHER
    aid.close()


def test_the_panel_says_whose_voice_it_reads(qtbot):
    panel = EmotionPanel(Palette())
    qtbot.addWidget(panel)
    panel.show_point(said(0, "angry", "other"), 0.4, ShownVoices.OTHER)
    assert (panel.caption.text(), panel.word.text()) == ("Now · Other", "Angry")
    panel.show_point(said(1, "happy", "me"), 0.4, ShownVoices.OTHER)
    assert (panel.caption.text(), panel.word.text()) == ("Now · You", "You")  # not my emotion
    assert "only the other person's emotion" in panel.detail.text()
    panel.show_point(said(2, "happy", "unknown"), 0.4, ShownVoices.OTHER)
    assert panel.caption.text() == "Now · Unsure whose" and "Happy" not in panel.word.text()
    panel.show_point(said(3, "happy", "me"), 0.4, ShownVoices.ALL)
    assert (panel.caption.text(), panel.word.text()) == ("Now · You", "Happy")
    panel.show_point(said(4, "happy"), 0.4, ShownVoices.OTHER)  # no voice enrolled: as ever
    assert (panel.caption.text(), panel.word.text()) == ("Now", "Happy")


# ---- one row per voice ------------------------------------------------------------------------
def row_y(voice: str) -> float:
    y0, y1 = voice_row_extent(VOICE_ORDER.index(voice))
    return (y0 + y1) / 2


def test_the_timeline_draws_one_row_per_voice(qtbot, window):
    view = window.timeline_view
    view.resize(1000, 500)
    view.set_voice_rows(True)
    show(qtbot, view, CONVERSATION)
    assert view.rows_per_voice and not len(view.strip_bands)  # no mixed row beside the rows
    ticks = [text for _, text in view.plot.getAxis("left")._tickLevels[0]]
    assert ticks == ["You", "Other", "Unsure whose"]
    palette = window.palette_
    image = render(view)
    at = {"other": (3.0, "angry"), "me": (10.0, "happy"), "unknown": (15.0, "sad")}
    for voice, (t_s, label) in at.items():
        assert palette.colour(label).lower() in colours_near(view, image, t_s, row_y(voice)), voice
        for elsewhere in set(VOICE_ORDER) - {voice}:  # the other rows are empty there
            assert palette.colour(label).lower() not in colours_near(view, image, t_s, row_y(elsewhere))
    assert [view.series.labels[c] for c in view.voice_bands["other"].codes] == ["angry", "calm"]
    assert view.describe(10.0).split("  ·  ")[1] == "You"  # hovering says whose voice too


def test_without_voices_or_the_option_the_strip_is_one_row(qtbot, window):
    view = window.timeline_view
    view.set_voice_rows(True)
    plain = [replace(p, voice=None) for p in CONVERSATION]
    show(qtbot, view, plain)  # no voice enrolled: nothing to put on rows
    assert not view.rows_per_voice and not view.voice_bands
    one_row = view.strip_bands
    assert [view.series.labels[c] for c in one_row.codes] == ["angry", "happy", "sad", "calm"]
    view.set_voice_rows(False)
    show(qtbot, view, CONVERSATION)  # voices, but one row chosen: the strip as it always was
    assert not view.rows_per_voice and not view.voice_bands
    assert np.allclose(view.strip_bands.starts_s, one_row.starts_s)
    assert view.plot.getAxis("left").labelText == "emotion"


def test_rows_per_voice_keep_every_utterance_of_an_hour_and_cost_little(qtbot, window):
    rng = np.random.default_rng(1)
    points = [replace(p, voice=str(rng.choice(["me", "other"]))) if p.is_speech else p
              for p in synthetic_points(60)]
    k = next(i for i in range(3000, 4000) if points[i].is_speech)
    points[k] = replace(points[k], voice="unknown")  # one lone window unsure whose, in an hour
    view = window.timeline_view
    view.set_voice_rows(True)
    show(qtbot, view, points)
    unknown = view.voice_bands["unknown"]
    centre = (points[k].start_s + points[k].end_s) / 2
    assert len(unknown) >= 1 and any(s <= centre <= e for s, e in zip(unknown.starts_s, unknown.ends_s))
    for voice in ("me", "other"):
        assert len(view.voice_bands[voice]) <= view._pixels()  # never more bands than pixels
    started = time.perf_counter()
    for _ in range(5):
        view._dirty = True
        view.redraw()
    assert (time.perf_counter() - started) / 5 < 0.25  # an hour's three rows redraw in a frame or few


def test_one_row_per_voice_is_in_the_view_menu_and_kept(qtbot, make_window, store):
    window = make_window()
    action = window.timeline_view.voice_rows_action
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view_menu.actions() and action in window.timeline_view.context_menu.actions()
    assert not action.isChecked()
    action.trigger()
    assert window.settings.voice_rows and window.timeline_view.voice_rows
    window.close()
    again = make_window()
    assert again.settings.voice_rows and again.timeline_view.voice_rows_action.isChecked()


# ---- the segments say whose -------------------------------------------------------------------
def test_the_segments_list_says_whose_stretch_each_is(qtbot):
    found = segments(CONVERSATION)
    segments_list = SegmentsList(Palette())
    qtbot.addWidget(segments_list)
    segments_list.set_segments(found)
    model = segments_list.model
    shown = [(model.index(r, 2).data(), model.index(r, WHOSE).data()) for r in range(model.rowCount())]
    assert shown == [("angry", "Other"), ("happy", "You"), ("sad", "Unsure whose"), ("calm", "Other")]
    assert not segments_list.table.isColumnHidden(WHOSE)
    assert "your voice" in model.index(1, 0).data(Qt.ToolTipRole)  # the row's tooltip says so too
    segments_list.set_segments(segments([replace(p, voice=None) for p in CONVERSATION]))
    assert segments_list.table.isColumnHidden(WHOSE)  # without voices, the list as it always was
    assert [model.index(r, WHOSE).data() for r in range(model.rowCount())] == [""] * 4


# ---- settings ---------------------------------------------------------------------------------
def test_my_voice_whose_emotion_and_the_rows_are_kept(qtbot, make_window, store):
    window = make_window()
    chosen = replace(window.settings, voice="Sam", voice_rows=True,
                     aid=StabilizerSettings(shown_voices=ShownVoices.ALL))
    window.apply_settings(chosen)
    assert store.value("settings/aid_shown_voices") == "all"
    assert store.value("settings/timeline_voice_rows") in (True, "true")
    assert window.settings.to_record()["aid_shown_voices"] == "all"  # as a session folder records it
    window.close()
    again = make_window()
    assert again.settings == chosen and again.timeline_view.voice_rows


def test_a_settings_file_from_before_voices_still_loads(tmp_path):
    old = QSettings(str(tmp_path / "old.ini"), QSettings.IniFormat)
    for key, value in (("voice", "Sam"), ("aid_min_dwell_s", 3.0), ("high_contrast", True)):
        old.setValue(f"settings/{key}", value)
    old.sync()
    loaded = load_settings(QSettings(str(tmp_path / "old.ini"), QSettings.IniFormat))
    assert (loaded.voice, loaded.aid.min_dwell_s, loaded.high_contrast) == ("Sam", 3.0, True)
    assert loaded.aid.shown_voices is ShownVoices.OTHER and loaded.voice_rows is False  # the defaults
    odd = QSettings(str(tmp_path / "odd.ini"), QSettings.IniFormat)
    odd.setValue("settings/aid_shown_voices", "nobody")  # an edited or newer file: the default
    odd.sync()
    assert load_settings(QSettings(str(tmp_path / "odd.ini"), QSettings.IniFormat)).aid.shown_voices \
        is ShownVoices.OTHER


def test_the_dialog_names_my_voice_and_whose_emotion_to_show(qtbot, private_voices):
    sf.write(private_voices / "Sam.wav", np.zeros(RATE, np.float32), RATE)
    dialog = SettingsDialog(DesktopSettings(voice="Sam"), enrol=lambda: None)
    qtbot.addWidget(dialog)
    labels = [label.text() for label in dialog.labels()]
    assert "My voice" in labels and "Show the emotion of" in labels and "Timeline" in labels
    assert dialog.enrol_button.text() == "Enrol a voice…" and dialog.enrol_button.isEnabled()
    assert [dialog.voice.itemText(i) for i in range(dialog.voice.count())] == ["None", "Sam"]
    assert dialog.settings() == DesktopSettings(voice="Sam")  # nothing changed: the same back
    dialog.shown_voices.setCurrentIndex(dialog.shown_voices.findData("all"))
    dialog.voice_rows.setChecked(True)
    result = dialog.settings()
    assert (result.aid.shown_voices, result.voice_rows) == (ShownVoices.ALL, True)
    dialog.voice.setCurrentIndex(0)
    assert not dialog.shown_voices.isEnabled()  # without my voice every voice is one
    dialog._defaults()
    assert dialog.settings() == DesktopSettings()


# ---- through the window: enrol my voice, open a conversation ------------------------------------
MINE = ("I went to the market this morning and bought some bread, a few apples and a bunch of flowers. "
        "Then I walked home along the river, where the boats were coming in.")
MINE_LATER = ("On Sunday we could go to the coast, if the weather holds, and have lunch by the harbour "
              "before the long drive back.")
THEIRS = ("The meeting on Thursday was moved to the afternoon, because the room was booked. "
          "Please bring the report and the numbers from last month.")


def enrol_me(qtbot, window, tmp_path, speech) -> None:
    """Enrol espeak-ng's default voice as "Me" through the window's dialog."""
    mine = espeak(MINE, tmp_path)
    enrolment = np.concatenate([speech, silence(0.5), mine, silence(0.5), speech])
    dialog = EnrolVoiceDialog(window.model, lambda device, rate: FakeSource(enrolment, speed=8.0),
                              "Test microphone", window)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.name, "Me")
    qtbot.mouseClick(dialog.record, 1)
    qtbot.waitUntil(lambda: dialog.enrolled == "Me", timeout=30000)


def two_people(tmp_path) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """I speak (espeak-ng's default voice, words not enrolled), then the other person (another_voice):
    the audio, and when each of us speaks."""
    mine = espeak(MINE_LATER, tmp_path)
    theirs = another_voice(THEIRS, tmp_path)  # another person to the speaker encoder
    talk = np.concatenate([silence(1.0), mine, silence(2.0), theirs, silence(1.0)])
    mine_s = (1.0, 1.0 + len(mine) / RATE)
    return talk, mine_s, (mine_s[1] + 2.0, mine_s[1] + 2.0 + len(theirs) / RATE)


def test_a_recording_opened_with_my_voice_enrolled_knows_whose_each_window_is(qtbot, make_window, tmp_path,
                                                                              speech):
    window = make_window()
    enrol_me(qtbot, window, tmp_path, speech)
    talk, mine_s, theirs_s = two_people(tmp_path)
    path = tmp_path / "talk.wav"
    sf.write(path, talk, RATE)

    window.apply_settings(replace(window.settings, voice="Me", voice_rows=True))
    window.open_path(path)
    wait_idle(qtbot, window, timeout=60000)
    assert window.recording is not None, window.banner.text()
    points = window.recording.timeline.points
    speech_points = [p for p in points if p.is_speech]
    assert speech_points and all(p.voice in VOICE_ORDER for p in speech_points)
    assert all(p.voice is None for p in points if not p.is_speech)

    def voices_within(span):
        return [p.voice for p in speech_points if span[0] <= p.start_s and p.end_s <= span[1]]

    in_mine, in_theirs = voices_within(mine_s), voices_within(theirs_s)
    assert in_mine and in_mine.count("me") >= 0.8 * len(in_mine), in_mine
    # Theirs: never taken for mine; at worst "unsure whose" (the thresholds are set to be wrong
    # rarely, at the cost of leaving many windows undecided: docs/benchmark-figures.md).
    assert in_theirs and "me" not in in_theirs and in_theirs.count("other") >= 0.4 * len(in_theirs), in_theirs
    # The window shows it: a row per voice, and whose each segment is.
    assert window.timeline_view.rows_per_voice
    assert len(window.timeline_view.voice_bands["me"]) and len(window.timeline_view.voice_bands["other"])
    model = window.segments_list.model
    whose = {model.index(r, WHOSE).data() for r in range(model.rowCount())}
    assert {"You", "Other"} <= whose and not window.segments_list.table.isColumnHidden(WHOSE)
    # The exports carry the voice the engine gives them.
    exported = window.export(tmp_path / "talk.csv")
    header = exported.read_text().splitlines()[0].split(",")
    assert header[-1] == "voice"


def test_live_the_aid_waits_for_the_other_person(qtbot, make_window, inputs, tmp_path, speech):
    window = make_window()
    enrol_me(qtbot, window, tmp_path, speech)
    inputs.audio, mine_s, theirs_s = two_people(tmp_path)
    window.apply_settings(replace(window.settings, voice="Me"))
    window.toggle_aid()
    aid = window.aid
    seen = []  # (the point fed, the word the aid shows after it, the panel's caption)
    feed = aid.feed

    def watched(point):
        feed(point)
        seen.append((point, aid.word.text(), window.panel.caption.text()))

    aid.feed = watched
    run_session(qtbot, window, inputs)
    assert window.recording is not None and window.recording.timeline.points
    speech_seen = [(p, word, caption) for p, word, caption in seen if p.is_speech]
    assert {p.voice for p, _, _ in speech_seen} >= {"me", "other"}
    first_other = next(k for k, (p, _, _) in enumerate(speech_seen) if p.voice == "other")
    mine = [(word, caption) for p, word, caption in speech_seen[:first_other] if p.voice == "me"]
    assert mine and {word for word, _ in mine} == {"Listening…"}  # my own turn shows no emotion
    assert {caption for _, caption in mine} == {"Now · You"}
    partner = [word for p, word, _ in speech_seen[first_other:] if p.voice == "other"]
    assert partner[-1] != "Listening…"  # the other person's emotion is shown
    window.aid.close()
