import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_factory import LABELS, make_model, make_streaming_model
from moodline.engine.errors import ModelError
from moodline.engine.features import REQUIRED_PARAMS, FeatureSpec
from moodline.engine.model import CPU, CUDA, METADATA_KEYS, EmotionModel, Normalization, choose_providers


def test_engine_configures_itself_from_the_metadata(tmp_path):
    spec = FeatureSpec(sample_rate_hz=22050, kind="mfcc", n_fft=1024, win_length=882,
                       hop_length=441, n_mels=40, fmin_hz=20.0, fmax_hz=11025.0, n_mfcc=13)
    labels = ("calm", "angry", "sad")
    model = EmotionModel(make_model(tmp_path / "m.onnx", labels=labels, window_s=3.0, spec=spec,
                                    dynamic_frames=False))
    assert model.info.labels == labels
    assert model.info.sample_rate_hz == 22050
    assert model.info.window_s == 3.0
    assert model.info.features == spec
    assert model.fixed_frames == model.info.window_frames == spec.frames_in(3 * 22050)
    probs = model.predict(np.zeros((4, model.fixed_frames, 13), np.float32))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_normalisation_from_metadata_is_applied(tmp_path):
    spec = FeatureSpec()
    weights = np.zeros((64, 2)); weights[:, 0] = 1.0
    plain = EmotionModel(make_model(tmp_path / "a.onnx", labels=("a", "b"), weights=weights))
    shifted = EmotionModel(make_model(tmp_path / "b.onnx", labels=("a", "b"), weights=weights,
                                      normalization=Normalization(np.full(64, 0.05, np.float32),
                                                                  np.ones(64, np.float32))))
    x = np.full((1, 10, 64), 0.05, np.float32)
    assert plain.predict(x)[0, 0] > 0.9  # (x · w) = 3.2 → mostly "a"
    np.testing.assert_allclose(shifted.predict(x)[0], [0.5, 0.5], atol=1e-6)  # normalised to 0


@pytest.mark.parametrize("key", METADATA_KEYS)
def test_a_missing_key_is_refused_naming_it(tmp_path, key):
    path = make_model(tmp_path / "m.onnx", metadata={key: None})
    with pytest.raises(ModelError, match=f"'{key}' is missing"):
        EmotionModel(path)


@pytest.mark.parametrize("key, value", [
    ("format_version", "7"),
    ("labels", "happy,sad"),
    ("labels", '["happy"]'),
    ("sample_rate_hz", "fast"),
    ("window_s", "-1"),
    ("features", '{"kind": "log_mel", "n_mels": "many"}'),
    ("features", '{"kind": "log_mel", "colour": 3}'),
    ("normalization", '{"mean": [0, 1], "std": [1, 1]}'),
    ("normalization", '{"mean": 0, "std": 0}'),
])
def test_a_malformed_key_is_refused_naming_it(tmp_path, key, value):
    path = make_model(tmp_path / "m.onnx", metadata={key: value})
    with pytest.raises(ModelError, match=f"'{key}'") as error:
        EmotionModel(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("value", [None, "{}", '{"frames_per_state": 0, "hop_s": 0.5}',
                                   '{"frames_per_state": 2, "hop_s": "half"}', "[2, 0.5]"])
def test_a_streaming_model_must_say_how_it_streams(tmp_path, value):
    path = make_streaming_model(tmp_path / "s.onnx", spec=FeatureSpec(n_fft=400), metadata={"streaming": value})
    with pytest.raises(ModelError, match="'streaming'") as error:
        EmotionModel(path)
    assert "\n" not in str(error.value)


def test_a_per_window_graph_claiming_to_stream_is_refused(tmp_path):
    path = make_model(tmp_path / "m.onnx", metadata={
        "format_version": "2", "streaming": '{"frames_per_state": 2, "hop_s": 0.5}'})
    with pytest.raises(ModelError, match="a streaming model takes the inputs features, new_frames"):
        EmotionModel(path)


def test_a_model_returning_nan_is_refused_rather_than_labelled(tmp_path):
    with pytest.raises(ModelError, match="nan.onnx: the model's output is not probabilities: .*non-finite"):
        EmotionModel(make_model(tmp_path / "nan.onnx", weights=np.full((64, 8), np.nan)))
    # Fine on the load-time probe, but features near float32's limit overflow its logits:
    # the run-time check still refuses to label what comes out.
    model = EmotionModel(make_model(tmp_path / "overflow.onnx", weights=np.full((64, 8), 10.0)))
    with pytest.raises(ModelError, match="overflow.onnx: the model failed on windows of 10 frames .*non-finite"):
        model.predict(np.full((2, 10, 64), 3e38, np.float32))


def test_input_shape_disagreeing_with_metadata_is_refused(tmp_path):
    with pytest.raises(ModelError, match="'window_s'"):
        EmotionModel(make_model(tmp_path / "a.onnx", dynamic_frames=False, frames=50))
    wrong_features = make_model(tmp_path / "b.onnx", metadata={"features": json.dumps(
        FeatureSpec(n_mels=40).to_dict())})
    with pytest.raises(ModelError, match="'features'"):
        EmotionModel(wrong_features)
    with pytest.raises(ModelError, match="'labels'"):
        EmotionModel(make_model(tmp_path / "c.onnx", metadata={"labels": json.dumps(["a", "b", "c"])}))


def test_missing_and_corrupt_model_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        EmotionModel(tmp_path / "nothing.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07this is not protobuf" * 20)
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        EmotionModel(corrupt)


def test_provider_choice():
    assert choose_providers([CPU]) == [CPU]
    assert choose_providers(["TensorrtExecutionProvider", CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers([CUDA, CPU], prefer="cpu") == [CPU]
    assert choose_providers(["CoreMLExecutionProvider", CPU], prefer="cuda") == [CPU]


def test_asking_for_cuda_without_a_gpu_falls_back_to_cpu_quietly(model_path):
    # onnxruntime-gpu logs a red error when CUDA libraries are missing; users must not see it.
    code = ("from moodline.engine.model import EmotionModel;"
            f"m = EmotionModel({str(model_path)!r}, prefer='cuda'); print(m.provider)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    has_gpu = Path("/dev/nvidia0").exists() or Path("/dev/dxg").exists()
    assert result.stdout.strip() == (CUDA if has_gpu else CPU) or has_gpu
    assert result.stderr == ""


@pytest.mark.parametrize("kind, key", [(kind, key) for kind, keys in REQUIRED_PARAMS.items()
                                       for key in keys if key != "kind"])
def test_every_feature_parameter_is_required(tmp_path, kind, key):
    spec = FeatureSpec(kind=kind, n_mfcc=13) if kind == "mfcc" else FeatureSpec(kind=kind)
    params = spec.to_dict()
    del params[key]
    path = make_model(tmp_path / "m.onnx", spec=spec, metadata={"features": json.dumps(params)})
    with pytest.raises(ModelError, match=f"'features' is malformed: {kind} features need {key} "):
        EmotionModel(path)


@pytest.mark.parametrize("key, value", [("hop_length", 320.0), ("n_fft", "512"), ("n_mels", True),
                                        ("fmax_hz", None)])
def test_feature_parameters_of_the_wrong_type_are_refused(tmp_path, key, value):
    params = {**FeatureSpec().to_dict(), key: value}
    with pytest.raises(ModelError, match=f"'features' is malformed: '{key}' must be"):
        EmotionModel(make_model(tmp_path / "m.onnx", metadata={"features": json.dumps(params)}))
