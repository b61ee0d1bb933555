import time

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence, tone
from model_factory import band_weights, make_model, make_streaming_model
from moodline.engine.analysis import AnalysisSettings, WindowClassifier, analyze_file
from moodline.engine.audio import audio_blocks
from moodline.engine.errors import MoodlineError
from moodline.engine.features import FeatureSpec
from moodline.engine.model import EmotionModel
from moodline.engine.ringbuffer import RingBuffer
from moodline.engine.streaming import StreamingAnalyzer

NO_GATE = AnalysisSettings(min_speech_fraction=0.0)


@pytest.fixture(scope="module")
def model(model_path):
    return EmotionModel(model_path)


@pytest.fixture(scope="module")
def band_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("band") / "band.onnx"
    return EmotionModel(make_model(path, labels=("low", "high"), window_s=1.0,
                                   weights=band_weights(FeatureSpec())))


def write(tmp_path, samples, rate=RATE, name="a.wav"):
    path = tmp_path / name
    sf.write(path, samples, rate)
    return path


def test_the_model_decides_what_each_window_sounds_like(tmp_path, band_model):
    audio = np.concatenate([tone(200, 3.0), tone(5000, 3.0)])
    timeline = analyze_file(write(tmp_path, audio), band_model, NO_GATE)
    labels = [(p.start_s, p.label) for p in timeline.points]
    assert all(label == "low" for start, label in labels if start + 1.0 <= 3.0)
    assert all(label == "high" for start, label in labels if start >= 3.0)


def test_windows_cover_the_whole_file_every_hop(tmp_path, model):
    timeline = analyze_file(write(tmp_path, tone(300, 10.25)), model, NO_GATE)
    starts = [p.start_s for p in timeline.points]
    np.testing.assert_allclose(np.diff(starts), 0.5)
    assert starts[0] == 0.0
    assert timeline.points[-1].end_s == pytest.approx(10.25)
    assert timeline.duration_s == pytest.approx(10.25)


def test_a_clip_shorter_than_a_window_is_still_analysed(tmp_path, model, speech):
    timeline = analyze_file(write(tmp_path, speech[: int(0.8 * RATE)]), model)
    assert len(timeline.points) == 1
    point = timeline.points[0]
    assert point.end_s == pytest.approx(0.8) and point.is_speech and point.label in model.info.labels


def test_silence_and_room_noise_are_not_classified(tmp_path, model, conversation, conversation_speech_s):
    # Quiet-room noise (-46 dBFS) all through, as in a real recording. WebRTC's VAD does pass
    # loud broadband noise (about -35 dBFS and up) as speech; that limit is in docs/architecture.md.
    noise = np.random.default_rng(0).standard_normal(len(conversation)).astype(np.float32) * 0.005
    timeline = analyze_file(write(tmp_path, conversation + noise), model)
    (a0, a1), (b0, b1) = conversation_speech_s
    for p in timeline.points:
        if p.end_s <= a0 or a1 <= p.start_s <= b0 - 2 or p.start_s >= b1:  # clear of any speech
            assert not p.is_speech and p.label is None and p.probabilities is None, p
        if p.start_s >= a0 and p.end_s <= a1:  # wholly inside speech
            assert p.is_speech and p.label in model.info.labels, p
    assert sum(p.is_speech for p in timeline.points) >= 8


def steady_noise(kind: str, seconds: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    """A minute-long kind of noise a room or a device makes, at ``level_dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    if kind == "hum":  # mains at 50 Hz with its harmonics and a fan's broadband hiss
        t = np.arange(n) / RATE
        x = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 8)) + 0.1 * rng.standard_normal(n)
    else:
        f = np.fft.rfftfreq(n, 1 / RATE)
        power = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]
        x = np.fft.irfft((rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) / np.maximum(f, 20) ** (power / 2), n)
    return (x / np.std(x) * 10 ** (level_dbfs / 20)).astype(np.float32)


@pytest.mark.parametrize("kind, level", [("white", -20), ("pink", -30), ("pink", -20), ("brown", -20), ("hum", -25)])
def test_steady_noise_loud_enough_for_webrtcs_vad_is_still_not_speech(tmp_path, model, kind, level):
    # WebRTC's VAD alone passes every window of these; a model then named an emotion for pink
    # noise ("calm, 0.83"). Speech rises and falls with its syllables; steady noise does not.
    timeline = analyze_file(write(tmp_path, steady_noise(kind, 20, level)), model)
    assert not any(p.is_speech for p in timeline.points)
    assert timeline.summary().label is None


def test_speech_in_steady_noise_is_still_heard(tmp_path, model, conversation):
    clean = analyze_file(write(tmp_path, conversation, name="clean.wav"), model)
    speech_rms = float(np.sqrt(np.mean(conversation[np.abs(conversation) > 0.01] ** 2)))
    noise = steady_noise("pink", len(conversation) / RATE, 20 * np.log10(speech_rms) - 10, seed=1)  # 10 dB SNR
    noisy = analyze_file(write(tmp_path, conversation + noise[: len(conversation)], name="noisy.wav"), model)
    heard = [p.start_s for p in clean.points if p.is_speech]
    assert len(heard) >= 8
    assert sum(p.is_speech for p in noisy.points if p.start_s in heard) >= 0.8 * len(heard)


def test_a_file_without_speech_has_no_label(tmp_path, model):
    timeline = analyze_file(write(tmp_path, silence(5)), model)
    summary = timeline.summary()
    assert summary.label is None and summary.probabilities is None and summary.speech_s == 0
    assert not any(p.is_speech for p in timeline.points)


def test_summary_is_the_emotion_of_most_speech_with_mean_probabilities_beside(tmp_path, model, conversation,
                                                                                conversation_speech_s):
    timeline = analyze_file(write(tmp_path, conversation), model)
    speech = [p for p in timeline.points if p.is_speech]
    mean = {k: np.mean([p.probabilities[k] for p in speech]) for k in model.info.labels}
    shares = {k: sum(p.label == k for p in speech) / len(speech) for k in model.info.labels}
    summary = timeline.summary()
    assert summary.label == max(shares, key=lambda k: (shares[k], mean[k]))
    assert summary.probabilities == pytest.approx(mean)
    assert sum(summary.shares.values()) == pytest.approx(1.0)
    assert summary.shares == pytest.approx(shares)
    said_s = sum(end - start for start, end in conversation_speech_s)
    assert said_s - 1.0 <= summary.speech_s <= said_s + 2.5  # windows straddling speech count too


def test_smoothing_averages_recent_speech_windows(tmp_path, model, conversation):
    path = write(tmp_path, conversation)
    raw = analyze_file(path, model, AnalysisSettings(smoothing_windows=1)).points
    smooth = analyze_file(path, model, AnalysisSettings(smoothing_windows=3)).points
    labels = model.info.labels
    for i, point in enumerate(smooth):
        if not point.is_speech:
            continue
        run = []
        for earlier in reversed(raw[: i + 1]):
            if not earlier.is_speech or len(run) == 3:
                break
            run.append([earlier.probabilities[k] for k in labels])
        np.testing.assert_allclose([point.probabilities[k] for k in labels], np.mean(run, axis=0), atol=1e-6)


def test_window_length_a_fixed_model_cannot_take_is_refused(tmp_path):
    fixed = EmotionModel(make_model(tmp_path / "f.onnx", window_s=2.0, dynamic_frames=False))
    with pytest.raises(MoodlineError, match="only takes 2 s windows"):
        analyze_file(write(tmp_path, tone(300, 3)), fixed, AnalysisSettings(window_s=3.0))


def stream_file(model, path, input_rate, settings, chunk=320, ring_s=5.0):
    """Play a file into a ring buffer in small blocks, like a sound card, through the engine thread."""
    ring = RingBuffer(int(ring_s * input_rate))
    analyzer = StreamingAnalyzer(model, ring, input_rate, settings)
    received = []
    analyzer.subscribe(received.append)
    analyzer.start()
    for block in audio_blocks(path, input_rate):
        for i in range(0, len(block), chunk):
            while ring.written - analyzer.reader.position > ring.capacity - 2 * chunk:
                time.sleep(0.001)  # a sound card plays in real time; here we only avoid lapping
            ring.write(block[i:i + chunk])
    timeline = analyzer.stop()
    assert analyzer.error is None and analyzer.lost_samples == 0
    assert received == timeline.points
    return timeline


@pytest.mark.parametrize("input_rate", [16000, 44100])
def test_live_streaming_gives_the_same_timeline_as_offline_analysis(tmp_path, model, conversation, input_rate):
    # A microphone at 44.1 kHz is resampled on the engine thread; the file is resampled when decoded.
    import soxr

    audio = conversation if input_rate == RATE else soxr.resample(conversation, RATE, input_rate).astype(np.float32)
    path = write(tmp_path, audio, input_rate)
    settings = AnalysisSettings(smoothing_windows=2)
    offline = analyze_file(path, model, settings)
    live = stream_file(model, path, input_rate, settings)
    assert [(p.start_s, p.end_s, p.is_speech, p.label) for p in live.points] == \
           [(p.start_s, p.end_s, p.is_speech, p.label) for p in offline.points]
    for a, b in zip(live.points, offline.points):
        if a.is_speech:
            assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in model.info.labels) <= 1e-5
    assert sum(p.is_speech for p in live.points) >= 8


@pytest.fixture(scope="module")
def streaming_model(tmp_path_factory):
    return EmotionModel(make_streaming_model(tmp_path_factory.mktemp("stream") / "stream.onnx", window_s=2.0,
                                             spec=FeatureSpec(n_fft=400)))


@pytest.mark.parametrize("input_rate", [16000, 44100])
def test_a_streaming_encoder_gives_the_same_timeline_live_and_offline(tmp_path, streaming_model, conversation,
                                                                       input_rate):
    # Live, windows reach the model a hop or two at a time; offline, in batches of eight: the
    # stream of hops, and so every probability, must be the same.
    import soxr

    audio = conversation if input_rate == RATE else soxr.resample(conversation, RATE, input_rate).astype(np.float32)
    path = write(tmp_path, audio, input_rate)
    offline = analyze_file(path, streaming_model, AnalysisSettings())
    live = stream_file(streaming_model, path, input_rate, AnalysisSettings())
    assert [(p.start_s, p.is_speech, p.label) for p in live.points] == \
           [(p.start_s, p.is_speech, p.label) for p in offline.points]
    speech = [(a, b) for a, b in zip(live.points, offline.points) if a.is_speech]
    assert len(speech) >= 8
    assert max(abs(a.probabilities[k] - b.probabilities[k]) for a, b in speech for k in a.probabilities) <= 1e-5


def test_a_streaming_encoder_carries_each_stretch_of_speech_from_hop_to_hop(tmp_path, streaming_model,
                                                                             conversation):
    """A stretch's first window is the window on its own; later windows build on the hops cached
    before them (so they differ from the window on its own), and silence starts a new stretch."""
    from moodline.engine.analysis import new_slicer
    from moodline.engine.audio import load_audio

    path = write(tmp_path, conversation)
    timeline = analyze_file(path, streaming_model, AnalysisSettings())
    slicer = new_slicer(streaming_model, AnalysisSettings())
    windows = slicer.push(load_audio(path, RATE)) + slicer.flush()
    alone = streaming_model.predict(np.stack([w.features for w in windows]))
    labels = streaming_model.info.labels
    points = timeline.points
    firsts = [i for i, p in enumerate(points) if p.is_speech and (i == 0 or not points[i - 1].is_speech)]
    later = [i for i, p in enumerate(points) if p.is_speech and i not in firsts]
    assert len(firsts) >= 2 and later  # the conversation has pauses between its sentences
    for i in firsts:
        np.testing.assert_allclose([points[i].probabilities[k] for k in labels], alone[i], atol=1e-6)
    differs = [np.max(np.abs(np.array([points[i].probabilities[k] for k in labels]) - alone[i])) for i in later]
    assert min(differs) > 1e-4


@pytest.mark.parametrize("which", ["streaming", "windowed"])
def test_a_file_gets_the_same_timeline_from_any_number_of_model_threads(tmp_path, monkeypatch, which, model,
                                                                        streaming_model, conversation):
    # Offline, threads take whole stretches of speech (or, in talk without a pause, batches that
    # wait for the one before): tiny batches make both happen many times in one conversation.
    from moodline.engine import analysis

    chosen = streaming_model if which == "streaming" else model
    path = write(tmp_path, np.concatenate([conversation, conversation]))
    settings = AnalysisSettings(smoothing_windows=3)
    one = analyze_file(path, chosen, settings)
    monkeypatch.setattr(analysis, "OFFLINE_BATCH", 2)
    monkeypatch.setattr(analysis, "MAX_OFFLINE_BATCH", 3)
    many = analyze_file(path, chosen, settings, workers=3)
    assert [(p.start_s, p.is_speech, p.label) for p in many.points] == [(p.start_s, p.is_speech, p.label) for p in one.points]
    for a, b in zip(many.points, one.points):  # other batch sizes round a model's sums otherwise
        if a.is_speech:
            assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) <= 1e-6
    speech = [p.is_speech for p in one.points]
    assert sum(a and not b for a, b in zip(speech[1:], speech)) >= 4  # several stretches, each ...
    assert max(len(run) for run in "".join("s" if s else " " for s in speech).split()) > 3  # ... some long


def test_a_streaming_encoder_takes_other_windows_in_whole_steps(tmp_path, streaming_model, speech):
    # 1.25 s windows every 0.25 s would be 123 and 25 feature frames; the grid takes the nearest
    # whole two-frame encoder steps, 124 and 24 (0.24 s).
    timeline = analyze_file(write(tmp_path, speech), streaming_model, AnalysisSettings(window_s=1.25, hop_s=0.25))
    assert any(p.is_speech for p in timeline.points)
    np.testing.assert_allclose(np.diff([p.start_s for p in timeline.points]), 0.24)
    np.testing.assert_allclose(timeline.points[0].end_s - timeline.points[0].start_s, (123 * 160 + 400) / RATE)


def test_an_engine_too_slow_for_the_audio_drops_the_oldest_and_keeps_time(tmp_path, model_path, conversation):
    model = EmotionModel(model_path)
    real_predict = model.predict

    def slow_predict(x):
        time.sleep(0.4)
        return real_predict(x)

    model.predict = slow_predict
    ring = RingBuffer(RATE)  # one second: the slow engine will be lapped
    analyzer = StreamingAnalyzer(model, ring, RATE, AnalysisSettings())
    analyzer.start()
    for i in range(0, len(conversation), 1600):
        ring.write(conversation[i:i + 1600])
        time.sleep(0.01)
    timeline = analyzer.stop()
    assert analyzer.error is None
    assert analyzer.lost_samples > 0
    assert timeline.duration_s == pytest.approx(len(conversation) / RATE, abs=0.01)
    starts = [p.start_s for p in timeline.points]
    np.testing.assert_allclose(np.diff(starts), 0.5)  # no window skipped or repeated


@pytest.mark.parametrize("settings", [
    AnalysisSettings(window_s=float("nan")), AnalysisSettings(window_s=0.05), AnalysisSettings(window_s=31.0),
    AnalysisSettings(hop_s=float("inf")), AnalysisSettings(hop_s=61.0), AnalysisSettings(hop_s=0.0),
])
def test_the_live_engine_refuses_the_same_settings_as_the_command_line(model, settings):
    # The GUI builds AnalysisSettings itself; the engine's own check is what protects it.
    with pytest.raises(MoodlineError, match=r"(window|hop) must be"):
        StreamingAnalyzer(model, RingBuffer(RATE), RATE, settings)
