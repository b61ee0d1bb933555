"""Keras → ONNX with the engine's metadata contract, checked before anything is written.

The exported graph takes normalised features ``(batch, frames, features)`` (``frames``
symbolic when the model accepts any window length) and returns probabilities first, then any
other outputs (an encoder model's pooled ``embedding``). The file is written only if
onnxruntime reproduces Keras on a real batch to within ``1e-4`` (every output) and the engine's
own :class:`~moodline.engine.model.EmotionModel` accepts it.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from moodline.engine.fileio import PUBLIC_FILE_MODE, atomic_write
from moodline.engine.model import EmotionModel, ModelInfo

PARITY_TOLERANCE = 1e-4
OPSET = 17


class ExportError(Exception):
    """The exported model does not behave like the trained one; nothing was written."""


def _to_onnx(model, frames: int | None, n_features: int):
    import tensorflow as tf
    import tf2onnx

    signature = (tf.TensorSpec((None, frames, n_features), tf.float32, name="features"),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    except Exception:  # Keras 3 models sometimes trip from_keras; a traced function always works
        function = tf.function(lambda x: model(x, training=False), input_signature=signature)
        proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    return proto


def _name_outputs(proto, names: Sequence[str]) -> None:
    """Give the graph's outputs readable names (``probabilities``, ``embedding``) in order."""
    graph = proto.graph
    for output, name in zip(graph.output, names):
        old = output.name
        if old == name:
            continue
        for node in graph.node:
            node.output[:] = [name if o == old else o for o in node.output]
            node.input[:] = [name if i == old else i for i in node.input]
        output.name = name


OUTPUT_NAMES = ("probabilities", "embedding")


def export_onnx(model, info: ModelInfo, path: str | os.PathLike, check_windows: np.ndarray,
                any_length: bool = True) -> float:
    """Write ``model`` to ``path`` as ONNX carrying ``info.to_metadata()``; return the parity error.

    ``check_windows`` are *normalised* feature windows ``(n, frames, features)``; Keras and
    onnxruntime must agree on them to within :data:`PARITY_TOLERANCE` or :class:`ExportError`
    is raised and ``path`` is left untouched.
    """
    import onnx
    import onnxruntime as ort

    frames = None if any_length else info.window_frames
    proto = _to_onnx(model, frames, info.features.n_features)
    _name_outputs(proto, OUTPUT_NAMES)
    onnx.helper.set_model_props(proto, info.to_metadata())
    data = proto.SerializeToString()

    x = np.asarray(check_windows, dtype=np.float32)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {session.get_inputs()[0].name: x})
    keras_outputs = model(x, training=False)
    keras_outputs = keras_outputs if isinstance(keras_outputs, (list, tuple)) else [keras_outputs]
    # Compare relative to each output's scale: probabilities are within 0..1, an embedding is not.
    diff = max(float(np.max(np.abs(o - np.asarray(k)))) / max(1.0, float(np.max(np.abs(np.asarray(k)))))
               for o, k in zip(onnx_outputs, keras_outputs))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(f"ONNX and Keras disagree by {diff:.2e} (limit {PARITY_TOLERANCE:g}); {path} not written")

    path = Path(path)
    # The engine's own contract check (metadata, signature, probabilities on a probe), on a
    # scratch copy: the file appears at ``path`` only once the engine accepts it.
    with tempfile.TemporaryDirectory() as scratch:
        check = Path(scratch) / path.name
        check.write_bytes(data)
        EmotionModel(check, prefer="cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, PUBLIC_FILE_MODE)  # a model is for everyone on the machine to read
    return diff


def inference_ms_per_window(path: str | os.PathLike, runs: int = 300) -> float:
    """Median milliseconds to classify one window (batch of one) on one CPU core, through the
    engine. A streaming model's window is a hop of a stretch of speech (the cache full), which
    is what nearly every window costs it."""
    model = EmotionModel(path, prefer="cpu", threads=1)
    frames = model.fixed_frames or model.info.window_frames
    window = np.random.default_rng(0).normal(-40, 15, (1, frames, model.info.features.n_features)).astype(np.float32)
    if model.streaming:
        hop_frames = round(model.info.streaming["hop_s"] * model.info.sample_rate_hz / model.info.features.hop_length)
        stream = model.stream(frames, hop_frames)
        index = iter(range(10 ** 9))

        def classify():
            stream.window(next(index), window[0])
    else:
        def classify():
            model.predict(window)
    for _ in range(20):
        classify()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        classify()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))
