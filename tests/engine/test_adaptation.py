"""Adapting to the voice being heard: the session's statistics of the model's embedding."""
import json

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE
from model_factory import make_model, make_streaming_model
from moodline.engine.adaptation import Adaptation, SessionAdapter
from moodline.engine.analysis import AnalysisSettings, analyze_file
from moodline.engine.errors import ModelError
from moodline.engine.features import FeatureSpec
from moodline.engine.model import EmotionModel

LABELS = ("neutral", "sad", "angry")


def head(dims=4, seed=0, prior=10.0, scale=True):
    rng = np.random.default_rng(seed)
    return Adaptation(prior, rng.normal(0, 1, (dims, len(LABELS))).astype(np.float32),
                      np.array([0.5, 0.0, 0.0], np.float32), scale)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("scale", [True, False])
def test_a_voice_that_always_sounds_one_way_is_read_as_its_ordinary_self(scale):
    # A voice whose every window leans the same way (say, a low voice the model hears as sad)
    # is "sad" at first; once the session has heard it, the lean is its ordinary sound.
    # Each label reads one value of the embedding; "neutral" leads a little at the centre.
    adaptation = Adaptation(10.0, np.eye(4, len(LABELS), dtype=np.float32), np.array([0.5, 0, 0], np.float32), scale)
    lean = 3.0 * np.eye(4)[1]
    rng = np.random.default_rng(1)
    voice = lean + rng.normal(0, 0.05, (400, adaptation.dims))
    probs = SessionAdapter(adaptation)(voice)
    assert LABELS[int(np.argmax(probs[0]))] == "sad"
    assert LABELS[int(np.argmax(probs[-1]))] == "neutral"  # the head's own choice at the voice's centre


def test_before_any_speech_the_adapted_head_is_the_plain_head():
    adaptation = head(prior=1e5)
    e = np.random.default_rng(2).normal(0, 1, (3, adaptation.dims))
    np.testing.assert_allclose(SessionAdapter(adaptation)(e), softmax(e @ adaptation.weights + adaptation.bias),
                               atol=1e-3)


def test_windows_one_at_a_time_or_in_a_batch_give_the_same_probabilities():
    adaptation = head()
    e = np.random.default_rng(3).normal(0.5, 1, (50, adaptation.dims))
    learn = np.random.default_rng(4).random(50) > 0.2
    batch = SessionAdapter(adaptation)(e, learn)
    one = SessionAdapter(adaptation)
    single = np.concatenate([one(e[i:i + 1], learn[i:i + 1]) for i in range(len(e))])
    np.testing.assert_allclose(batch, single, atol=1e-6)
    assert one.windows == int(learn.sum())


def test_a_session_can_start_from_an_enrolled_voice():
    adaptation = head()
    rng = np.random.default_rng(5)
    ordinary = rng.normal(2.0, 0.3, (80, adaptation.dims))
    enrolled = SessionAdapter(adaptation)
    enrolled(ordinary)
    later = rng.normal(2.0, 0.3, (5, adaptation.dims))
    np.testing.assert_allclose(SessionAdapter(adaptation, enrolled.baseline())(later),
                               SessionAdapter(adaptation)(np.concatenate([ordinary, later]))[-5:], atol=1e-6)


def test_the_adaptation_key_round_trips_and_bad_values_are_refused():
    adaptation = head()
    back = Adaptation.from_metadata(adaptation.to_metadata(), len(LABELS))
    np.testing.assert_array_equal(back.weights, adaptation.weights)
    assert (back.prior_windows, back.scale) == (adaptation.prior_windows, adaptation.scale)
    good = json.loads(adaptation.to_metadata())
    for broken in ({**good, "prior_windows": -1}, {**good, "prior_windows": float("inf")},
                   {**good, "scale": "yes"}, {**good, "head": {**good["head"], "dims": 5}},
                   {**good, "head": {**good["head"], "bias": [0, 0]}},
                   {**good, "head": {**good["head"], "weights": "not base64!"}}, [1, 2]):
        with pytest.raises(ModelError, match="metadata key 'adaptation'"):
            Adaptation.from_metadata(json.dumps(broken), len(LABELS))


@pytest.fixture(scope="module")
def adapting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapting")
    spec = FeatureSpec(n_fft=400)
    return {
        "windowed": EmotionModel(make_model(folder / "w.onnx", window_s=2.0, spec=spec, prior_windows=4.0,
                                            weights=np.random.default_rng(0).normal(0, 0.3, (spec.n_features, 8)))),
        "streaming": EmotionModel(make_streaming_model(folder / "s.onnx", window_s=2.0, spec=spec,
                                                       prior_windows=4.0)),
    }


def test_a_model_file_that_adapts_needs_its_embedding_output(tmp_path):
    adaptation = Adaptation(4.0, np.zeros((FeatureSpec().n_features, 8), np.float32), np.zeros(8, np.float32))
    path = make_model(tmp_path / "m.onnx", metadata={"adaptation": adaptation.to_metadata()})
    with pytest.raises(ModelError, match="'embedding'"):
        EmotionModel(path)


@pytest.mark.parametrize("which", ["windowed", "streaming"])
def test_adaptation_changes_what_the_engine_says_and_no_adapt_gives_the_models_own(tmp_path, adapting, which,
                                                                                   conversation):
    from moodline.engine.analysis import WindowClassifier, new_slicer
    from moodline.engine.audio import load_audio

    model = adapting[which]
    path = tmp_path / "talk.wav"
    sf.write(path, np.concatenate([conversation, conversation]), RATE)
    adapted = analyze_file(path, model, AnalysisSettings())
    plain = analyze_file(path, model, AnalysisSettings(adapt=False))
    slicer = new_slicer(model, AnalysisSettings())
    windows = slicer.push(load_audio(path, RATE)) + slicer.flush()
    own = WindowClassifier(model, AnalysisSettings(adapt=False)).encode(windows)
    speech = [(a, b, e) for a, b, e in zip(adapted.points, plain.points, own) if a.is_speech]
    assert len(speech) >= 16
    labels = model.info.labels
    for _, b, e in speech:  # without adaptation: exactly what the graph returns
        np.testing.assert_allclose([b.probabilities[k] for k in labels], e.probabilities, atol=1e-6)
    differs = [max(abs(a.probabilities[k] - b.probabilities[k]) for k in labels) for a, b, _ in speech]
    assert differs[-1] > 1e-3  # by the end the session has been heard


@pytest.mark.parametrize("which", ["windowed", "streaming"])
def test_an_adapting_model_gives_one_timeline_live_offline_and_on_any_number_of_threads(
        tmp_path, monkeypatch, adapting, which, conversation):
    from moodline.engine import analysis
    from test_analysis import stream_file

    model = adapting[which]
    path = tmp_path / "talk.wav"
    sf.write(path, np.concatenate([conversation, conversation]), RATE)
    settings = AnalysisSettings(smoothing_windows=2)
    offline = analyze_file(path, model, settings)
    live = stream_file(model, path, RATE, settings)
    monkeypatch.setattr(analysis, "OFFLINE_BATCH", 2)
    monkeypatch.setattr(analysis, "MAX_OFFLINE_BATCH", 3)
    threads = analyze_file(path, model, settings, workers=3)
    for other in (live, threads):
        assert [(p.start_s, p.is_speech, p.label) for p in other.points] == \
               [(p.start_s, p.is_speech, p.label) for p in offline.points]
        for a, b in zip(other.points, offline.points):
            if a.is_speech:
                assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) <= 1e-5
