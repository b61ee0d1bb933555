"""Two voices in one conversation: the shipped speaker encoder tells an enrolled voice ("me")
from others, each voice keeps its own adaptation, timelines say whose each window is, and the
aid shows the other person's emotion."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, another_voice, espeak, silence
from model_factory import make_model
from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine.features import FeatureSpec
from moodline.engine.readout import EMOTION, LabelStabilizer, Pause, ShownVoices, StabilizerSettings
from moodline.engine.speakers import ME, ME_AT, OTHER, OTHER_BELOW, UNKNOWN, VoiceSeparation, shipped_encoder
from moodline.engine.timeline import Timeline, TimelinePoint, segments_to_csv
from moodline.engine.voices import enrolment_from

MOODLINE = str(Path(sys.executable).with_name("moodline"))
HOP = round(0.5 * RATE)


def padded(audio: np.ndarray) -> np.ndarray:
    """``audio`` padded with silence to whole hops (so that two files' window grids align)."""
    return np.concatenate([audio, np.zeros(-len(audio) % HOP, np.float32)])


TEXTS = ("Yesterday we walked to the market and bought some bread and cheese for lunch.",
         "The train was late again, so I read a book on the platform for half an hour.",
         "Hello there, I am talking about the weather today, it is lovely and warm.")


@pytest.fixture(scope="module")
def voices_audio(tmp_path_factory):
    """Two voices (espeak-ng's default and another, see audio_fixtures), three sentences each."""
    folder = tmp_path_factory.mktemp("espeak")
    return {"a": [padded(espeak(t, folder)) for t in TEXTS], "b": [padded(another_voice(t, folder)) for t in TEXTS]}


@pytest.fixture(scope="module")
def adapting(tmp_path_factory):
    spec = FeatureSpec(n_fft=400)
    return make_model(tmp_path_factory.mktemp("model") / "adapting.onnx", window_s=2.0, spec=spec,
                      prior_windows=4.0, weights=np.random.default_rng(1).normal(0, 0.3, (spec.n_features, 8)))


GAP_S = 3.0  # longer than a window: no window hears both voices


def conversation(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """a, b, a, b ... with pauses between turns; the turns as (start_s, end_s, who)."""
    parts, turns, t = [], [], 0.0
    for clip_a, clip_b in zip(a, b):
        for clip, who in ((clip_a, "a"), (clip_b, "b")):
            parts += [silence(GAP_S), clip]
            turns.append((t + GAP_S, t + GAP_S + len(clip) / RATE, who))
            t += GAP_S + len(clip) / RATE
    parts.append(silence(GAP_S))
    return np.concatenate(parts), turns


def inside(point: TimelinePoint, turns, who: str) -> bool:
    return any(start <= point.start_s and point.end_s <= end for start, end, w in turns if w == who)


def test_the_speaker_encoder_tells_two_voices_apart(voices_audio):
    encoder = shipped_encoder()
    reference = encoder.embed_recording(voices_audio["a"][0])
    assert abs(np.linalg.norm(reference) - 1) < 1e-5
    separation = VoiceSeparation(reference)

    def windows(audio):
        return [audio[i:i + 2 * RATE] for i in range(0, len(audio) - 2 * RATE, HOP)]

    same, same_sim = separation.voices(windows(voices_audio["a"][1]))
    other, other_sim = separation.voices(windows(voices_audio["b"][1]))
    assert same.count(ME) / len(same) >= 0.6, same_sim
    assert other.count(OTHER) / len(other) >= 0.6, other_sim
    assert ME not in other and OTHER not in same  # never the wrong person, at worst unknown
    assert np.median(same_sim) > ME_AT > OTHER_BELOW > np.median(other_sim)


def test_a_window_with_too_little_voice_is_unknown(voices_audio):
    reference = shipped_encoder().embed_recording(voices_audio["a"][0])
    window = np.concatenate([voices_audio["a"][1][:round(0.3 * RATE)], silence(1.7)])
    voices, similarity = VoiceSeparation(reference).voices([window])
    assert voices == [UNKNOWN] and np.isnan(similarity[0])


def test_each_voice_keeps_its_own_adaptation(tmp_path, voices_audio, adapting):
    """With an enrolled voice, the partner's windows read exactly as the partner alone would: the
    user's voice never moves the partner's baseline. Without one, the two are averaged."""
    from moodline.engine.model import EmotionModel

    model = EmotionModel(adapting)
    sf.write(tmp_path / "enrol.wav", np.concatenate([voices_audio["a"][2], silence(1)] * 3), RATE)
    enrolment, windows = enrolment_from("me", tmp_path / "enrol.wav", model)
    assert windows >= 15
    audio, turns = conversation(voices_audio["a"][:2], voices_audio["b"][:2])
    alone, alone_turns = conversation([np.zeros(0, np.float32)] * 2, voices_audio["b"][:2])
    sf.write(tmp_path / "both.wav", audio, RATE)
    sf.write(tmp_path / "alone.wav", alone, RATE)

    def partner(path, with_enrolment, turns):
        timeline = analyze_file(path, model, AnalysisSettings(), enrolment=enrolment if with_enrolment else None)
        return [p for p in timeline.points if p.is_speech and inside(p, turns, "b")]

    mixed, by_itself = partner(tmp_path / "both.wav", True, turns), partner(tmp_path / "alone.wav", True, alone_turns)
    assert len(mixed) == len(by_itself) >= 6
    assert [p.voice for p in mixed] == [p.voice for p in by_itself] and mixed[0].voice == OTHER
    labels = model.info.labels
    for p, q in zip(mixed, by_itself):
        assert max(abs(p.probabilities[k] - q.probabilities[k]) for k in labels) < 1e-4
    user = [p for p in analyze_file(tmp_path / "both.wav", model, enrolment=enrolment).points
            if p.is_speech and inside(p, turns, "a")]
    assert {p.voice for p in user} == {ME}
    # One shared baseline (no enrolment): the partner is read against the user's voice too.
    shared = partner(tmp_path / "both.wav", False, turns)
    assert all(p.voice is None for p in shared)
    assert max(abs(p.probabilities[k] - q.probabilities[k]) for p, q in zip(shared, by_itself) for k in labels) > 1e-3


def test_the_voice_column_through_the_command_line(tmp_path, voices_audio, adapting):
    """`moodline calibrate --voice me`, then `moodline analyze --voice me` as a user types them."""
    env = {**os.environ, "MOODLINE_VOICES_DIR": str(tmp_path / "voices")}
    sf.write(tmp_path / "me.wav", np.concatenate([voices_audio["a"][2], silence(1)] * 3), RATE)
    audio, turns = conversation(voices_audio["a"][:2], voices_audio["b"][:2])
    sf.write(tmp_path / "talk.wav", audio, RATE)

    def moodline(*args):
        return subprocess.run([MOODLINE, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)

    enrolled = moodline("calibrate", "--voice", "me", "--from", tmp_path / "me.wav", "--model", adapting)
    assert enrolled.returncode == 0, enrolled.stderr
    done = moodline("analyze", tmp_path / "talk.wav", "--voice", "me", "--model", adapting, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0])[-1] == "voice"
    said = {(float(r["start_s"]), float(r["end_s"])): r["voice"] for r in rows if r["is_speech"] == "1"}
    for who, expected in (("a", ME), ("b", OTHER)):
        heard = [v for (s, e), v in said.items() if any(t0 <= s and e <= t1 for t0, t1, w in turns if w == who)]
        assert heard and heard.count(expected) / len(heard) >= 0.8, (who, heard)
    assert not [r for r in rows if r["is_speech"] == "0" and r["voice"]]  # silence is nobody's
    listed = moodline("analyze", tmp_path / "talk.wav", "--voice", "me", "--model", adapting)
    assert listed.returncode == 0, listed.stderr
    assert "(you)" in listed.stdout and "(other)" in listed.stdout  # the segments say whose they are

    out = tmp_path / "out"
    done = moodline("analyze", tmp_path / "talk.wav", "--voice", "me", "--model", adapting, "--out", out,
                    "--format", "json", "--segments")
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "talk.wav.json").read_text())
    assert {p["voice"] for p in record["timeline"] if p["is_speech"]} <= {ME, OTHER, UNKNOWN}
    segments = list(csv.DictReader((out / "talk.wav.segments.csv").open()))
    assert {s["voice"] for s in segments if s["label"]} >= {ME, OTHER}
    done = moodline("analyze", tmp_path / "talk.wav", "--voice", "me", "--model", adapting, "--out", out,
                    "--format", "json", "--segments", "--parquet", "--resume")
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(out / "windows.parquet").to_pydict()
    assert set(v for v, speech in zip(table["voice"], table["is_speech"]) if speech) >= {ME, OTHER}
    manifest = b"".join(p.read_bytes() for p in out.glob("*manifest*"))
    assert b"speaker_model_sha256" in manifest  # another speaker model or threshold is another run


def test_timelines_without_voices_still_load(tmp_path):
    old = "start_s,end_s,is_speech,label,confidence,happy,sad,clipped\n0.0,2.0,1,happy,0.9,0.9,0.1,0\n"
    (tmp_path / "old.csv").write_text(old)
    point = Timeline.load(tmp_path / "old.csv").points[0]
    assert point.voice is None and point.label == "happy" and not point.clipped
    older = "start_s,end_s,is_speech,label,confidence,happy,sad\n0.0,2.0,1,sad,0.8,0.2,0.8\n"
    (tmp_path / "older.csv").write_text(older)
    assert Timeline.load(tmp_path / "older.csv").points[0].probabilities == {"happy": 0.2, "sad": 0.8}
    timeline = Timeline(("happy", "sad"))
    timeline.extend([TimelinePoint(0.0, 2.0, {"happy": 0.9, "sad": 0.1}, "happy", 0.9, True, voice=OTHER),
                     TimelinePoint(0.5, 2.5, {"happy": 0.9, "sad": 0.1}, "happy", 0.9, True, voice=ME)])
    for suffix in (".csv", ".json"):
        timeline.save(tmp_path / f"new{suffix}")
        assert [p.voice for p in Timeline.load(tmp_path / f"new{suffix}").points] == [OTHER, ME]
    rows = list(csv.DictReader(io.StringIO(segments_to_csv(timeline.segments()))))
    assert [r["voice"] for r in rows] == [OTHER, ME]  # a change of voice is a new segment


def point(t: float, voice: str | None, **probs) -> TimelinePoint:
    probs = {"happy": 0.0, "sad": 0.0, "neutral": 0.0, **probs}
    best = max(probs, key=probs.get)
    return TimelinePoint(t, t + 2.0, probs, best, probs[best], True, voice=voice)


def test_the_aid_shows_the_partner_and_holds_it_while_the_user_talks():
    aid = LabelStabilizer(StabilizerSettings())
    for t in np.arange(0, 3, 0.5):
        shown = aid.update(point(t, OTHER, sad=0.9, happy=0.1))
    assert shown.state is EMOTION and shown.label == "sad"
    for t in np.arange(3, 6, 0.5):  # the user speaks, happily: the partner's sadness stays
        shown = aid.update(point(t, ME, happy=0.95, sad=0.05))
    assert shown.label == "sad" and shown.pause is not Pause.NONE
    shown = aid.update(point(6.0, UNKNOWN, happy=0.95, sad=0.05))
    assert shown.label == "sad"  # not sure whose: not shown as the partner's

    everyone = LabelStabilizer(StabilizerSettings(shown_voices=ShownVoices.ALL))
    for t in np.arange(0, 3, 0.5):
        everyone.update(point(t, OTHER, sad=0.9, happy=0.1))
    for t in np.arange(3, 6.5, 0.5):
        shown = everyone.update(point(t, ME, happy=0.95, sad=0.05))
    assert shown.label == "happy" and shown.pause is Pause.NONE


def test_listen_shows_the_other_person_and_records_whose_voice(tmp_path, voices_audio, adapting):
    """`moodline listen --voice me` on PulseAudio's null sink (scripts/test starts it): until the
    other person speaks there is no emotion to show, whatever the user says."""
    from test_listen import SINK, pulse  # noqa: F401  (the fixture checks the sink is there)

    assert shutil.which("paplay"), "PulseAudio tools are needed (scripts/system-packages --test)"
    env = {**os.environ, "MOODLINE_VOICES_DIR": str(tmp_path / "voices")}
    sf.write(tmp_path / "me.wav", np.concatenate([voices_audio["a"][2], silence(1)] * 3), RATE)
    enrolled = subprocess.run([MOODLINE, "enrol", "--voice", "me", "--from", str(tmp_path / "me.wav"),
                               "--model", str(adapting)], capture_output=True, text=True, env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    audio, turns = conversation(voices_audio["a"][:1], voices_audio["b"][:1])
    sf.write(tmp_path / "talk.wav", audio, RATE)
    out = tmp_path / "live.json"
    proc = subprocess.Popen([MOODLINE, "listen", "--device", "pulse", "--model", str(adapting), "--voice", "me",
                             "--out", str(out), "--seconds", f"{len(audio) / RATE + 4:.1f}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()
    assert line.startswith("Listening to 'pulse'"), line + proc.stderr.read()
    subprocess.run(["paplay", f"--device={SINK}", str(tmp_path / "talk.wav")], check=True)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr
    lines = [l for l in stdout.splitlines() if "speaking)" in l]
    assert any("(you speaking)" in l for l in lines) and any("(other speaking)" in l for l in lines), stdout
    before_other = lines[:next(i for i, l in enumerate(lines) if "(other speaking)" in l)]
    assert before_other and all("(listening)" in l for l in before_other), before_other
    points = json.loads(out.read_text())["timeline"]
    assert {p["voice"] for p in points if p["is_speech"]} >= {ME, OTHER}
