"""Model builders: plain functions returning a ``keras.Model``, selectable by name.

Every model takes normalised features shaped ``(batch, frames, features)`` and returns softmax
probabilities ``(batch, labels)``, the engine's model contract. ``frames`` is ``None``
(any window length) where the architecture pools globally over time, and fixed otherwise.

:data:`MODELS` pairs each builder with the features it reads, so a name is all a user picks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
from keras import layers

from moodline.engine.features import FeatureSpec

# 64 mel bands at a 20 ms hop: a 2 s window is 99 x 64. Halving the engine's default frame
# rate halves every convolution's cost; emotion cues (pitch contour, energy, voice quality)
# change slowly enough that 20 ms frames keep them.
LOG_MEL = FeatureSpec(kind="log_mel", n_fft=512, win_length=400, hop_length=320, n_mels=64,
                      fmin_hz=50.0, fmax_hz=8000.0)
# Whisper's front end: 80 Slaney mel bands of a 25 ms window every 10 ms, as log10 power; the
# per-window clamp and scaling happen inside the model (training/whisper.py).
WHISPER_LOG_MEL = FeatureSpec(kind="whisper_log_mel", n_fft=400, win_length=400, hop_length=160, n_mels=80,
                              fmin_hz=0.0, fmax_hz=8000.0)
MFCC = FeatureSpec(kind="mfcc", n_fft=512, win_length=400, hop_length=320, n_mels=64,
                   fmin_hz=50.0, fmax_hz=8000.0, n_mfcc=40)


def _replicas() -> int:
    """Replicas of the distribution strategy a model is being built under (1 outside one)."""
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _conv_block(x, channels: int, pool: bool = True):
    x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
    # Under a distribution strategy, normalise by the whole batch's statistics, as on one device
    # (each replica's share alone is a different, noisier model); one device keeps the plain layer.
    x = layers.BatchNormalization(synchronized=_replicas() > 1)(x)
    x = layers.ReLU()(x)
    return layers.MaxPooling2D(2)(x) if pool else x


def cnn2d(frames: int | None, n_features: int, n_labels: int, weights: str | None = None,
          widths: tuple[int, ...] = (16, 32, 64, 128, 256)) -> keras.Model:
    """The default: a small 2-D CNN over the log-mel image, pooled over time.

    3x3 conv blocks of ``widths`` channels with 2x2 max-pooling between them: each halving of
    the resolution is paid for by doubling the channels, so every block costs about the same
    (~7 M multiply-adds for a 2 s window). Averaging over frequency and then taking mean and max
    over time makes it accept any window of at least 16 frames. About 400k parameters (1.6 MB) and
    30 M multiply-adds per 2 s window: a fraction of a millisecond on one CPU core.

    Consecutive windows share three quarters of their frames, so a streaming design could
    reuse convolutions between them; at about 0.3 ms per window every 0.5 s hop (well under 0.1%
    of a core) recomputing each window is cheaper than the complexity, and keeps windows
    independent, as the engine's batch analysis needs.
    """
    inputs = keras.Input((frames, n_features), name="features")
    x = layers.Reshape((-1, n_features, 1))(inputs)
    for channels in widths[:-1]:
        x = _conv_block(x, channels)
    x = _conv_block(x, widths[-1], pool=False)
    x = keras.ops.mean(x, axis=2)  # over frequency: (batch, frames / 2^(blocks-1), channels)
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_labels, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn2d")


def cnn1d(frames: int | None, n_features: int, n_labels: int, weights: str | None = None) -> keras.Model:
    """The seeds' 1-D CNN over MFCC frames: Conv1D 256→128→128→128, kernel 5, then a dense layer.

    As published it flattens the time axis, so it needs a fixed window length.
    """
    inputs = keras.Input((frames, n_features), name="features")
    x = layers.Conv1D(256, 5, padding="same", activation="relu")(inputs)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    x = layers.MaxPooling1D(8)(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(n_labels, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn1d")


def cnn_lstm(frames: int | None, n_features: int, n_labels: int, weights: str | None = None) -> keras.Model:
    """A CNN-LSTM: two conv blocks over the log-mel image, then an LSTM over the frame sequence."""
    inputs = keras.Input((frames, n_features), name="features")
    x = layers.Reshape((-1, n_features, 1))(inputs)
    x = _conv_block(x, 32)
    x = _conv_block(x, 64)
    x = layers.Reshape((-1, (n_features // 4) * 64))(x)
    x = layers.LSTM(64)(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_labels, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")


class Standardize(layers.Layer):
    """``(x - mean) / std`` with fixed statistics from the training side, kept in the graph."""

    def __init__(self, mean, std, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mean_values = np.asarray(mean, dtype=np.float32)
        self.std_values = np.asarray(std, dtype=np.float32)

    def build(self, input_shape) -> None:
        self.mean = self.add_weight(shape=self.mean_values.shape, initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=self.std_values.shape, initializer="ones", trainable=False, name="std")
        self.mean.assign(self.mean_values)
        self.std.assign(self.std_values)

    def call(self, x):
        return (x - self.mean) / self.std

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean_values.tolist(), "std": self.std_values.tolist()}


class LayerWeights(layers.Layer):
    """A learnt softmax-weighted sum over the encoder's states (axis 1)."""

    def build(self, input_shape) -> None:
        self.logits = self.add_weight(shape=(input_shape[1],), initializer="zeros", name="logits")

    def call(self, x):
        return keras.ops.sum(x * keras.ops.softmax(self.logits)[None, :, None], axis=1)


def encoder_head(states: int, dims: int, n_labels: int, mean=None, std=None, pooling: str = "concat",
                 hidden: int = 0, dropout: float = 0.3, use_states: tuple[int, ...] | None = None) -> keras.Model:
    """A classifier on a frozen encoder's pooled states ``(batch, states, dims)``.

    The states are standardised with the training side's statistics (``mean``, ``std``, shaped
    like one input), then either concatenated (``pooling="concat"``) or mixed by learnt layer
    weights (``"weighted"``); an optional hidden layer of ``hidden`` units follows. The layer
    before the softmax is named ``embedding``: the vector later adaptation builds on.
    """
    inputs = keras.Input((states, dims), name="embeddings")
    x = Standardize(np.zeros((states, dims)) if mean is None else mean,
                    np.ones((states, dims)) if std is None else std, name="standardize")(inputs)
    if use_states is not None:
        x = layers.Lambda(lambda t: keras.ops.take(t, list(use_states), axis=1), name="select_states")(x)
    x = LayerWeights(name="layer_weights")(x) if pooling == "weighted" else layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Identity(name="embedding")(x)
    outputs = layers.Dense(n_labels, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="encoder_head")


def _backbone(application: Callable, min_size: int, name: str) -> Callable[..., keras.Model]:
    def build(frames: int | None, n_features: int, n_labels: int, weights: str | None = None) -> keras.Model:
        if frames is None:
            raise ValueError(f"{name} needs a fixed window length")
        inputs = keras.Input((frames, n_features), name="features")
        x = layers.Reshape((frames, n_features, 1))(inputs)
        size = (max(frames, min_size), max(n_features, min_size))
        if size != (frames, n_features):
            x = layers.Resizing(*size)(x)
        x = layers.Concatenate()([x, x, x])  # the grey spectrogram as the RGB image ImageNet nets expect
        base = application(include_top=False, weights=weights, input_shape=(*size, 3), pooling="avg")
        x = layers.Dropout(0.3)(base(x))
        outputs = layers.Dense(n_labels, activation="softmax", name="probabilities")(x)
        return keras.Model(inputs, outputs, name=name)

    build.__doc__ = (f"keras.applications {name} on the log-mel image (three equal channels); "
                     f"``weights`` is None (from scratch), 'imagenet' or a weights file.")
    return build


@dataclass(frozen=True)
class Recipe:
    """A model name's builder, the features it reads, and whether it takes any window length."""

    build: Callable[..., keras.Model]
    features: FeatureSpec
    any_length: bool
    encoder: str | None = None  # a frozen pretrained encoder in front: build() makes only the head


MODELS: dict[str, Recipe] = {
    "cnn2d": Recipe(cnn2d, LOG_MEL, any_length=True),
    "cnn1d": Recipe(cnn1d, MFCC, any_length=False),
    "whisper_tiny": Recipe(encoder_head, WHISPER_LOG_MEL, any_length=True, encoder="whisper_tiny"),
    "whisper_base": Recipe(encoder_head, WHISPER_LOG_MEL, any_length=True, encoder="whisper_base"),
    "cnn_lstm": Recipe(cnn_lstm, LOG_MEL, any_length=True),
    "vgg19": Recipe(_backbone(keras.applications.VGG19, 32, "vgg19"), LOG_MEL, any_length=False),
    "resnet50": Recipe(_backbone(keras.applications.ResNet50, 32, "resnet50"), LOG_MEL, any_length=False),
    "inceptionv3": Recipe(_backbone(keras.applications.InceptionV3, 75, "inceptionv3"), LOG_MEL, any_length=False),
}
