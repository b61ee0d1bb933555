"""Sessions on disk: written as they go, private whatever the umask, readable after a crash."""
from __future__ import annotations

import json
import os
import stat
import time

import numpy as np
import pytest
import soundfile as sf

from moodline.engine.errors import MoodlineError
from moodline.engine.ringbuffer import RingBuffer
from moodline.engine.session import (AUDIO_FILE, FLUSH_S, POINTS_FILE, SESSION_FILE, TIMELINE_FILE,
                                     Recording, SessionInfo, SessionRecorder, export_wav, new_session_dir,
                                     open_session, prepare_session_dir, save_as_session, save_session_copy)
from moodline.engine.timeline import Timeline, TimelinePoint

RATE = 16000


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def tone(seconds: float) -> np.ndarray:
    return (0.3 * np.sin(np.arange(int(seconds * RATE)) / 10)).astype(np.float32)


def point(k: int) -> TimelinePoint:
    return TimelinePoint(k * 0.5, k * 0.5 + 2, {"a": 0.7, "b": 0.3}, "a", 0.7, True)


def feed(ring: RingBuffer, audio: np.ndarray) -> None:
    for i in range(0, len(audio), 320):  # 20 ms blocks, as PortAudio delivers them
        ring.write(audio[i:i + 320])


def test_a_crash_loses_at_most_the_last_flush(tmp_path):
    ring = RingBuffer(10 * RATE)
    recorder = SessionRecorder(tmp_path, SessionInfo("input: test", "model.onnx", ["a", "b"], RATE),
                               ring, ring.written)
    recorder.start()
    audio = tone(3)
    feed(ring, audio)
    for k in range(4):
        recorder.add_point(point(k))
    time.sleep(FLUSH_S * 2.5)
    # "Crash": the recorder is never stopped; read what is on disk as it is.
    on_disk, rate = sf.read(tmp_path / AUDIO_FILE, dtype="float32")
    assert rate == RATE and len(on_disk) == len(audio)
    assert np.allclose(on_disk, audio, atol=1e-4)
    lines = (tmp_path / POINTS_FILE).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["label"] == "a"

    reopened = open_session(tmp_path)  # no timeline.json: rebuilt from the journal
    assert [p.to_dict() for p in reopened.timeline.points] == [point(k).to_dict() for k in range(4)]
    assert reopened.timeline.labels == ("a", "b") and len(reopened.audio) == len(audio)
    recorder.stop()


def test_a_journal_line_cut_by_a_crash_is_ignored(tmp_path):
    SessionInfo("input: test", "model.onnx", ["a", "b"], RATE).save(tmp_path)
    whole = "\n".join(json.dumps(point(k).to_dict()) for k in range(3))
    (tmp_path / POINTS_FILE).write_text(whole + "\n" + json.dumps(point(3).to_dict())[:25])
    reopened = open_session(tmp_path)
    assert len(reopened.timeline.points) == 3 and reopened.audio is None


def test_a_stopped_session_has_every_file_and_reopens_the_same(tmp_path):
    ring = RingBuffer(10 * RATE)
    recorder = SessionRecorder(tmp_path, SessionInfo("input: test", "m.onnx", ["a", "b"], RATE), ring, 0)
    recorder.start()
    feed(ring, tone(1.3))
    timeline = Timeline(("a", "b"))
    timeline.extend(point(k) for k in range(3))
    for p in timeline.points:
        recorder.add_point(p)
    assert recorder.stop(timeline) == tmp_path
    assert recorder.stop(timeline) == tmp_path  # a second stop (Ctrl-C twice) changes nothing
    assert sf.info(tmp_path / AUDIO_FILE).duration == pytest.approx(1.3, abs=1e-3)
    assert len((tmp_path / POINTS_FILE).read_text().splitlines()) == 3
    saved = json.loads((tmp_path / TIMELINE_FILE).read_text())
    assert saved["file"] == "input: test" and len(saved["timeline"]) == 3
    assert [p.to_dict() for p in open_session(tmp_path).timeline.points] == saved["timeline"]


def test_session_folders_and_files_are_private_whatever_the_umask(tmp_path, umask):
    root = tmp_path / "new" / "sessions"
    folder = new_session_dir(root)
    ring = RingBuffer(RATE)
    recorder = SessionRecorder(folder, SessionInfo("input: test", "m.onnx", ["a", "b"], RATE), ring, 0)
    recorder.start()
    feed(ring, tone(0.2))
    recorder.stop(Timeline(("a", "b")))
    assert mode(tmp_path / "new") == mode(root) == mode(folder) == 0o700
    assert sorted(os.listdir(folder)) == sorted([SESSION_FILE, AUDIO_FILE, POINTS_FILE, TIMELINE_FILE])
    assert {name: mode(folder / name) for name in os.listdir(folder)} == \
        {name: 0o600 for name in os.listdir(folder)}

    recording = open_session(folder)
    saved = save_as_session(recording, tmp_path / "saved")
    copied = save_session_copy(folder, tmp_path / "copies" / "copy")
    exported = export_wav(recording, tmp_path / "exported.wav")
    for made in (saved, copied, tmp_path / "copies"):
        assert mode(made) == 0o700, made
    for made in [*saved.iterdir(), *copied.iterdir(), exported]:
        assert mode(made) == 0o600, made
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries left


def test_sessions_started_in_one_second_get_their_own_folders(tmp_path):
    folders = {new_session_dir(tmp_path) for _ in range(3)}
    assert len(folders) == 3 and all(f.parent == tmp_path for f in folders)


def test_a_session_folder_is_checked_before_recording(tmp_path):
    assert prepare_session_dir(tmp_path / "a" / "b") is True  # created, with its parents
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    assert prepare_session_dir(empty) is False and mode(empty) == 0o700
    (tmp_path / "file").write_text("x")
    cases = {
        tmp_path / "file": "cannot create the folder (a file is in the way)",
        tmp_path / "file" / "session": "cannot create the folder (a file is in the way of a folder in this path)",
        tmp_path / "a": "the folder is not empty",
    }
    for folder, message in cases.items():
        with pytest.raises(MoodlineError) as caught:
            prepare_session_dir(folder)
        assert str(caught.value).startswith(f"{folder}: ") and message in str(caught.value)
    SessionInfo("x", "m", ["a"], RATE).save(tmp_path / "a" / "b")
    with pytest.raises(MoodlineError, match="already holds a session"):
        prepare_session_dir(tmp_path / "a" / "b")


def test_a_recording_saved_as_a_session_reopens_with_its_audio(tmp_path):
    timeline = Timeline(("a", "b"))
    timeline.extend(point(k) for k in range(5))
    audio = (tone(2.0) * 32767).astype(np.int16)
    saved = save_as_session(Recording(timeline, audio, RATE, "talk.wav"), tmp_path / "s")
    reopened = open_session(saved)
    assert np.array_equal(reopened.audio, audio) and reopened.source == "talk.wav"
    assert [p.to_dict() for p in reopened.timeline.points] == [p.to_dict() for p in timeline.points]
    with pytest.raises(MoodlineError, match="already holds a session"):
        save_as_session(reopened, saved)


def test_two_sessions_started_into_one_folder_at_once_never_touch_each_others_files(tmp_path, model_path,
                                                                                      conversation):
    """The hostile battery's race: the loser's clean-up deleted the winner's files (6 of 9 trials)."""
    import threading

    from moodline.engine.analysis import AnalysisSettings
    from moodline.engine.model import EmotionModel
    from moodline.engine.session import AUDIO_FILE, CLAIM_FILE, SESSION_FILE, ListeningSession
    from moodline.engine.sources import FileReplaySource

    model = EmotionModel(model_path)
    for trial in range(8):
        folder = tmp_path / f"same{trial}"
        sessions = [ListeningSession(model, AnalysisSettings(), lambda: FileReplaySource(conversation, speed=20.0),
                                     folder) for _ in range(2)]
        errors: list[str] = []
        barrier = threading.Barrier(2)

        def start(session):
            barrier.wait()
            try:
                session.start()
            except MoodlineError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=start, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 1, errors  # exactly one session has the folder
        assert errors[0].startswith(f"{folder}: ") and "choose a new" in errors[0]
        winner = next(s for s in sessions if s.analyzer is not None and s.recorder is not None)
        assert (folder / SESSION_FILE).is_file() and (folder / AUDIO_FILE).is_file()  # nothing of it removed
        winner.stop()
        assert (folder / SESSION_FILE).is_file() and not (folder / CLAIM_FILE).exists()
