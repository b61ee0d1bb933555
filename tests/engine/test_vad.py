"""The voice gate: speech is heard, music and other sounds are not, however the stream arrives."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from moodline.engine.vad import DEFAULT_GATE, Gate, SileroDetector, speech_detector

RATE = 16000
MIN_SPEECH = 0.2  # the engine's rule: a window is speech when the gate heard speech in 20% of it
MOODLINE = str(Path(sys.executable).with_name("moodline"))


def speech_windows(gate: str, samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    detector = speech_detector(gate, rate)
    detector.push(samples, last=True)
    starts = np.arange(0.0, len(samples) / rate - 2.0 + 1e-9, 0.5)
    return np.array([detector.speech_fraction(s, s + 2.0) >= MIN_SPEECH for s in starts])


def plucked_music(seconds: float, seed: int = 0) -> np.ndarray:
    """Plucked notes and chords, a new one every 0.15-0.6 s, at -20 dBFS RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out, position = np.zeros(n), 0
    while position < n:
        length = int(rng.uniform(0.15, 0.6) * RATE)
        t = np.arange(min(3 * length, n - position)) / RATE
        for semitone in rng.choice(24, size=rng.integers(1, 4), replace=False):
            f0 = 110.0 * 2 ** (semitone / 12)
            out[position:position + len(t)] += sum(np.sin(2 * np.pi * f0 * k * t) / k**1.5 for k in range(1, 8)) \
                * np.exp(-t * rng.uniform(2.0, 6.0))
        position += length
    return (out / np.sqrt(np.mean(out**2)) * 0.1).astype(np.float32)


def sweep(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f = 100 * 40 ** ((t % 10) / 10)  # 100 Hz to 4 kHz every 10 s
    return (0.1 * np.sin(2 * np.pi * np.cumsum(f) / RATE)).astype(np.float32)


def test_silero_is_the_default_gate():
    assert DEFAULT_GATE is Gate.SILERO


def test_a_stream_pushed_in_any_pieces_is_judged_exactly_as_in_one(speech):
    audio = np.concatenate([np.zeros(RATE, np.float32), speech, plucked_music(3), speech])
    whole = SileroDetector(RATE)
    whole.push(audio, last=True)
    pieces = SileroDetector(RATE)
    rng, i = np.random.default_rng(1), 0
    while i < len(audio):
        k = int(rng.integers(1, 3000))
        pieces.push(audio[i:i + k], last=i + k >= len(audio))
        i += k
    assert pieces.frames_done == whole.frames_done == len(audio) // 512
    for start in np.arange(0.0, len(audio) / RATE - 2, 0.5):
        assert pieces.speech_fraction(start, start + 2) == whole.speech_fraction(start, start + 2)


def test_a_gate_run_beside_the_caller_judges_exactly_as_one_run_in_place(speech):
    # Offline analysis runs Silero on a thread of its own while the next block is decoded: a
    # window must wait until its frames are judged, and then be judged the same.
    from concurrent.futures import ThreadPoolExecutor

    audio = np.concatenate([speech, plucked_music(3), np.zeros(RATE, np.float32), speech])
    in_place = SileroDetector(RATE)
    in_place.push(audio, last=True)
    with ThreadPoolExecutor(max_workers=1) as runner:
        beside = SileroDetector(RATE, runner=runner)
        for i in range(0, len(audio), 4000):
            beside.push(audio[i:i + 4000], last=i + 4000 >= len(audio))
        fractions = [beside.speech_fraction(s, s + 2) for s in np.arange(0.0, len(audio) / RATE - 2, 0.5)]
    assert beside.has_heard(len(audio) / RATE) and beside.frames_done == in_place.frames_done
    assert fractions == [in_place.speech_fraction(s, s + 2) for s in np.arange(0.0, len(audio) / RATE - 2, 0.5)]
    assert 0 < sum(f >= MIN_SPEECH for f in fractions) < len(fractions)


@pytest.mark.parametrize("gate", [g.value for g in Gate])
def test_speech_is_heard_by_every_gate_also_at_44_1_khz(speech, gate):
    import soxr

    assert speech_windows(gate, speech).all()
    assert speech_windows(gate, soxr.resample(speech, RATE, 44100).astype(np.float32), 44100).all()


@pytest.mark.parametrize("sound", ["music", "sweep"])
def test_music_and_a_sweep_are_not_speech_to_the_default_gate(sound):
    audio = plucked_music(30) if sound == "music" else sweep(30)
    assert speech_windows(DEFAULT_GATE.value, audio).mean() < 0.02
    # what the old gate did with the same sound: it took it for speech
    assert speech_windows(Gate.WEBRTC.value, audio).mean() > 0.5


def test_moodline_gives_music_no_emotion_but_the_webrtc_gate_would(tmp_path, model_path):
    path = tmp_path / "music.wav"
    sf.write(path, plucked_music(12, seed=3), RATE)
    for gate, expect_speech in (("silero", False), ("webrtc", True)):
        result = subprocess.run([MOODLINE, "analyze", str(path), "--model", str(model_path), "--gate", gate,
                                 "--format", "json"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert any(w["is_speech"] for w in report["timeline"]) is expect_speech, gate
        if not expect_speech:
            assert report["summary"]["label"] is None


def test_an_unknown_gate_is_one_clear_line(tmp_path, model_path):
    path = tmp_path / "music.wav"
    sf.write(path, plucked_music(3), RATE)
    result = subprocess.run([MOODLINE, "analyze", str(path), "--model", str(model_path), "--gate", "loud"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "--gate" in result.stderr
