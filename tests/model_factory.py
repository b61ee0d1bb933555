"""Small, valid Moodline models built with the ``onnx`` helper API (no TensorFlow).

``tiny``: mean of each feature over time → linear layer → softmax. Its weights can be chosen,
so a test can build a model whose answer it knows (e.g. "high" for energy in high mel bands).
``flat``: a linear layer over the whole flattened window; it declares a dynamic time axis
but only runs at its own window length (a broken model, for error tests).
``cnn``: three 3×3 conv layers with pooling, global average pooling and a dense layer —
about as costly per window as the default model is designed to be; for benchmarks.

``output`` breaks the probabilities on purpose, for error tests: ``"times10"`` (softmax × 10),
``"negative"`` (minus softmax), ``"int64"`` (softmax × 10 cast to integers), ``"logits"`` (no
softmax: any real numbers) or ``"nan"`` (softmax × NaN).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from moodline.engine.features import FeatureSpec
from moodline.engine.model import ModelInfo, Normalization

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def _init(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def make_model(
    path: str | Path,
    *,
    labels: Sequence[str] = LABELS,
    window_s: float = 1.0,
    spec: FeatureSpec = FeatureSpec(),
    normalization: Normalization = Normalization(),
    weights: np.ndarray | None = None,
    kind: str = "tiny",
    dynamic_frames: bool = True,
    frames: int | None = None,
    metadata: dict[str, str | None] | None = None,
    seed: int = 0,
    output: str = "softmax",
    prior_windows: float | None = None,
) -> Path:
    """Write a model to ``path``. ``metadata`` entries override (or, as ``None``, delete) keys.

    ``prior_windows`` (tiny only) makes a model that adapts: it also returns its pooled features
    as ``embedding``, and its adaptation head is its own linear layer."""
    info = ModelInfo(tuple(labels), window_s, spec, normalization, provenance="test model")
    n_labels, n_features = len(labels), spec.n_features
    time_dim = "frames" if dynamic_frames else (frames or info.window_frames)
    rng = np.random.default_rng(seed)
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", time_dim, n_features])
    out_type = TensorProto.INT64 if output == "int64" else TensorProto.FLOAT
    y = helper.make_tensor_value_info("probabilities", out_type, ["batch", n_labels])
    if kind == "tiny":
        w = rng.normal(0, 0.05, (n_features, n_labels)) if weights is None else weights
        nodes = [
            helper.make_node("ReduceMean", ["features", "axis1"], ["pooled"], keepdims=0),
            helper.make_node("MatMul", ["pooled", "w"], ["logits0"]),
            helper.make_node("Add", ["logits0", "b"], ["logits"]),
        ]
        inits = [_init("w", w), _init("b", np.zeros(n_labels)),
                 numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
        if prior_windows is not None:
            from moodline.engine.adaptation import Adaptation

            info = replace(info, adaptation=Adaptation(prior_windows, np.asarray(w, np.float32),
                                                       np.zeros(n_labels, np.float32)))
            nodes.append(helper.make_node("Identity", ["pooled"], ["embedding"]))
    elif kind == "cnn":
        nodes = [helper.make_node("Unsqueeze", ["features", "axis1"], ["h0"])]
        inits = [numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
        channels = [1, 16, 32, 64]
        for i in range(3):
            c_in, c_out = channels[i], channels[i + 1]
            inits += [_init(f"k{i}", rng.normal(0, (2 / (9 * c_in)) ** 0.5, (c_out, c_in, 3, 3))),
                      _init(f"c{i}", np.zeros(c_out))]
            nodes += [
                helper.make_node("Conv", [f"h{i}", f"k{i}", f"c{i}"], [f"conv{i}"], pads=[1, 1, 1, 1]),
                helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
                helper.make_node("MaxPool", [f"relu{i}"], [f"h{i + 1}"], kernel_shape=[2, 2], strides=[2, 2]),
            ]
        nodes += [
            helper.make_node("GlobalAveragePool", ["h3"], ["gap"]),
            helper.make_node("Flatten", ["gap"], ["flat"]),
            helper.make_node("Gemm", ["flat", "dw", "db"], ["logits"]),
        ]
        inits += [_init("dw", rng.normal(0, 0.1, (64, n_labels))), _init("db", np.zeros(n_labels))]
    elif kind == "flat":  # flattens the window: claims any length, works only at its own
        n_in = info.window_frames * n_features
        nodes = [
            helper.make_node("Reshape", ["features", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ]
        inits = [_init("w", rng.normal(0, 0.01, (n_in, n_labels)) if weights is None else weights),
                 numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape")]
    else:
        raise ValueError(kind)
    tail_nodes, tail_inits = _output_nodes(output)
    nodes, inits = nodes + tail_nodes, inits + tail_inits
    outputs = [y]
    if prior_windows is not None:
        outputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", n_features]))
    graph = helper.make_graph(nodes, "moodline_test", [x], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    props = info.to_metadata()
    for key, value in (metadata or {}).items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def _output_nodes(output: str) -> tuple[list, list]:
    """``logits`` → ``probabilities``: a softmax, or one of the deliberately broken outputs."""
    if output == "softmax":
        return [helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)], []
    if output == "logits":
        return [helper.make_node("Identity", ["logits"], ["probabilities"])], []
    softmax = helper.make_node("Softmax", ["logits"], ["softmax"], axis=1)
    tails = {
        "times10": [helper.make_node("Mul", ["softmax", "ten"], ["probabilities"])],
        "negative": [helper.make_node("Neg", ["softmax"], ["probabilities"])],
        "int64": [helper.make_node("Mul", ["softmax", "ten"], ["scaled"]),
                  helper.make_node("Cast", ["scaled"], ["probabilities"], to=TensorProto.INT64)],
        "nan": [helper.make_node("Mul", ["softmax", "nan"], ["probabilities"])],
    }
    return [softmax, *tails[output]], [_init("ten", np.array(10.0)), _init("nan", np.array(np.nan))]


def band_weights(spec: FeatureSpec, labels: Sequence[str] = ("low", "high")) -> np.ndarray:
    """Weights for a 2-label tiny model: "low" when energy sits in low bands, "high" in high ones."""
    n = spec.n_features
    ramp = np.linspace(-1.0, 1.0, n)
    return np.stack([-ramp, ramp], axis=1) * 0.5


def make_streaming_model(path: str | Path, *, labels: Sequence[str] = LABELS, window_s: float = 1.0,
                         spec: FeatureSpec = FeatureSpec(), hop_s: float = 0.5, seed: int = 0,
                         metadata: dict[str, str | None] | None = None, prior_windows: float | None = None) -> Path:
    """A small streaming model (format 2, see :mod:`moodline.engine.encoder`) whose states depend
    on the cache, so a stream that lost or mixed up its cache gives other probabilities.

    Each state is the mean of two feature frames of the hop plus half the mean of the cached
    states; the probabilities are a softmax of a linear layer over the mean of the window's
    states (cached and new). ``prior_windows`` makes it adapt (see :func:`make_model`)."""
    from moodline.engine.model import STREAMING_FORMAT_VERSION

    info = ModelInfo(tuple(labels), window_s, spec, Normalization(), provenance="test streaming model",
                     format_version=STREAMING_FORMAT_VERSION, streaming={"frames_per_state": 2, "hop_s": hop_s})
    n_labels, width = len(labels), spec.n_features
    rng = np.random.default_rng(seed)

    def value(name, elem, shape):
        return helper.make_tensor_value_info(name, elem, shape)

    inputs = [value("features", TensorProto.FLOAT, [1, "frames", width]),
              value("new_frames", TensorProto.INT64, []),
              value("position", TensorProto.INT64, []),
              value("past_keys", TensorProto.FLOAT, [1, "past", width]),
              value("past_values", TensorProto.FLOAT, [1, "past", width]),
              value("past_states", TensorProto.FLOAT, [1, "past", width])]
    outputs = [value("probabilities", TensorProto.FLOAT, [1, n_labels]),
               value("new_keys", TensorProto.FLOAT, [1, "new", width]),
               value("new_values", TensorProto.FLOAT, [1, "new", width]),
               value("new_states", TensorProto.FLOAT, [1, "new", width])]
    i64 = lambda name, values: numpy_helper.from_array(np.array(values, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Neg", ["new_frames"], ["minus_new"]),
        helper.make_node("Unsqueeze", ["minus_new", "zero"], ["starts"]),
        helper.make_node("Slice", ["features", "starts", "end", "one"], ["hop"]),  # the last new frames (axis 1)
        helper.make_node("Reshape", ["hop", "pairs"], ["paired"]),  # (1, n / 2, 2, width)
        helper.make_node("ReduceMean", ["paired", "two"], ["hop_states"], keepdims=0),
        # Half the mean of the cached states (0 when the cache is empty), and the unused cache
        # inputs and position times 0, so the graph keeps them as inputs.
        helper.make_node("ReduceSum", ["past_states", "one"], ["past_sum"], keepdims=1),
        helper.make_node("Shape", ["past_states"], ["past_shape"], start=1, end=2),
        helper.make_node("Cast", ["past_shape"], ["past_count"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["past_count", "onef"], ["past_count1"]),
        helper.make_node("Div", ["past_sum", "past_count1"], ["past_mean"]),
        helper.make_node("ReduceSum", ["past_keys", "one"], ["keys_sum"], keepdims=1),
        helper.make_node("ReduceSum", ["past_values", "one"], ["values_sum"], keepdims=1),
        helper.make_node("Cast", ["position"], ["position_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["keys_sum", "values_sum"], ["unused0"]),
        helper.make_node("Add", ["unused0", "position_f"], ["unused1"]),
        helper.make_node("Mul", ["unused1", "zerof"], ["unused"]),
        helper.make_node("Mul", ["past_mean", "half"], ["context"]),
        helper.make_node("Add", ["hop_states", "context"], ["with_context"]),
        helper.make_node("Add", ["with_context", "unused"], ["new_states"]),
        helper.make_node("Identity", ["new_states"], ["new_keys"]),
        helper.make_node("Identity", ["new_states"], ["new_values"]),
        helper.make_node("Concat", ["past_states", "new_states"], ["window_states"], axis=1),
        helper.make_node("ReduceMean", ["window_states", "one"], ["pooled"], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inits = [i64("zero", [0]), i64("one", [1]), i64("end", [2 ** 62]), i64("two", [2]), i64("pairs", [1, -1, 2, width]),
             _init("onef", np.array([1.0])), _init("zerof", np.array(0.0)), _init("half", np.array(0.5)),
             _init("w", rng.normal(0, 0.002, (width, n_labels)))]
    if prior_windows is not None:
        from moodline.engine.adaptation import Adaptation

        head = numpy_helper.to_array(inits[-1])
        info = replace(info, adaptation=Adaptation(prior_windows, head, np.zeros(n_labels, np.float32)))
        nodes.append(helper.make_node("Identity", ["pooled"], ["embedding"]))
        outputs.insert(1, value("embedding", TensorProto.FLOAT, [1, width]))
    graph = helper.make_graph(nodes, "moodline_test_streaming", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    props = info.to_metadata()
    for key, value_ in (metadata or {}).items():
        if value_ is None:
            props.pop(key, None)
        else:
            props[key] = value_
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path
