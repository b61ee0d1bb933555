"""The model file contract and the onnxruntime session that runs it.

A Moodline model is one ONNX file. Its ``metadata_props`` carry everything the engine needs,
so nothing about a model is hard-coded here:

==================  =====================================================================
key                 value (all strings; JSON where structured)
==================  =====================================================================
format_version      ``"1"``
labels              JSON list of emotion names, in the order of the output's last axis
sample_rate_hz      integer sample rate the features are computed at
window_s            seconds of audio the model was trained to classify at once
features            JSON object: ``kind`` and every parameter that kind needs, none
                    defaulted (:data:`~moodline.engine.features.REQUIRED_PARAMS`): ``n_fft``,
                    ``win_length``, ``hop_length``, ``n_mels``, ``fmin_hz``, ``fmax_hz``
                    (+ ``n_mfcc`` for mfcc)
normalization       JSON object: ``{"in_graph": true}``, or ``{"mean": [...], "std": [...]}``
                    with one value per feature (or one each for all), applied as
                    ``(x - mean) / std``
provenance          short free text: training data, date, command, metrics
streaming           (format 2 only) JSON object: ``frames_per_state`` (feature frames per
                    encoder state) and ``hop_s`` (the hop it was trained with): the file is
                    a streaming encoder, run a hop at a time (:mod:`.encoder`)
adaptation          (optional) JSON object: the graph also returns ``embedding``, and the
                    engine adapts it to the session before applying the head given here
                    (``prior_windows``, ``scale``, ``head``: see :mod:`.adaptation`). Files
                    without it run as before.
unsure_threshold    (optional) the lowest confidence at which this model's shown labels were
                    right often enough on held-out corpora: the default "unsure" line
==================  =====================================================================

The graph takes float32 features shaped ``(batch, frames, features)`` and returns, as its first
output, probabilities shaped ``(batch, len(labels))``: floating point, non-negative, each row
summing to 1 (within :data:`PROBABILITY_TOLERANCE`). This is checked when the model is loaded,
on a probe batch of silence and noise, and again on every batch it classifies. ``frames`` may
be a fixed number (the frames in ``window_s``) or symbolic, in which case the model accepts
other window lengths too.

A format 2 file is a streaming encoder: its graph takes the inputs of
:data:`~moodline.engine.encoder.STREAM_INPUTS` (one window at a time) and returns, after the
probabilities, the cache outputs that :class:`~moodline.engine.encoder.EncoderStream` keeps
between hops. Format 1 files run as before.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .adaptation import Adaptation
from .encoder import CACHE_INPUTS, STREAM_CACHE_OUTPUTS, STREAM_INPUTS, EncoderStream, StreamShape
from .errors import ModelError, first_line
from .features import REQUIRED_PARAMS, FeatureSpec, features

FORMAT_VERSION = 1  # a model that classifies each window on its own
STREAMING_FORMAT_VERSION = 2  # a streaming encoder (the ``streaming`` key says how)
METADATA_KEYS = (
    "format_version", "labels", "sample_rate_hz", "window_s", "features", "normalization",
    "provenance",
)
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PROBABILITY_TOLERANCE = 1e-3  # rows must sum to 1 within this (a float32 softmax: ~1e-6)
_FLOAT_TENSORS = ("tensor(float)", "tensor(double)", "tensor(float16)")
# "int", "float" or "str" for each FeatureSpec field (annotations may be strings or types)
_FEATURE_FIELD_TYPES = {f.name: getattr(f.type, "__name__", f.type) for f in dataclasses.fields(FeatureSpec)}


def probability_problem(probs: np.ndarray) -> str | None:
    """Why ``probs`` (batch, labels) are not rows of probabilities, or ``None`` when they are."""
    if not np.issubdtype(probs.dtype, np.floating):
        return f"it returned {probs.dtype} values, not floating-point probabilities"
    if not np.all(np.isfinite(probs)):
        return "it returned non-finite probabilities"
    if probs.size and probs.min() < 0:
        return f"it returned negative probabilities (as low as {float(probs.min()):.3g})"
    sums = probs.sum(axis=-1, dtype=np.float64)
    worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))]) if sums.size else 1.0
    if abs(worst - 1.0) > PROBABILITY_TOLERANCE:
        return f"its probabilities sum to {worst:.4g}, not 1"
    return None


def _feature_params_problem(params: dict[str, Any]) -> str | None:
    """What is missing or mistyped in a ``features`` metadata object, or ``None``."""
    kind = params.get("kind")
    required = REQUIRED_PARAMS.get(kind) if isinstance(kind, str) else None
    if required is None:
        return f"'kind' must be one of {', '.join(REQUIRED_PARAMS)}, not {kind!r}"
    missing = [key for key in required if key not in params]
    if missing:
        return f"{kind} features need {', '.join(missing)} (no parameter has a default)"
    for key, value in params.items():
        wanted = _FEATURE_FIELD_TYPES.get(key)
        if wanted == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"'{key}' must be a whole number, not {value!r}"
        if wanted == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            return f"'{key}' must be a finite number, not {value!r}"
    return None


@dataclass(frozen=True)
class Normalization:
    """Per-feature standardisation applied before the model, or none when it is in the graph."""

    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @property
    def in_graph(self) -> bool:
        return self.mean is None

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x if self.mean is None else (x - self.mean) / self.std

    def to_dict(self) -> dict[str, Any]:
        if self.mean is None:
            return {"in_graph": True}
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself (its metadata), checked and typed."""

    labels: tuple[str, ...]
    window_s: float
    features: FeatureSpec
    normalization: Normalization = field(default_factory=Normalization)
    provenance: str = ""
    format_version: int = FORMAT_VERSION
    streaming: dict[str, Any] | None = None  # format 2: {"frames_per_state": int, "hop_s": float}
    adaptation: Adaptation | None = None  # the graph returns ``embedding`` and the engine adapts it
    unsure_threshold: float | None = None  # the model's own "unsure" line (None: the engine's default)

    @property
    def sample_rate_hz(self) -> int:
        return self.features.sample_rate_hz

    @property
    def window_frames(self) -> int:
        """Feature frames in one ``window_s`` window (for a streaming encoder, in whole steps)."""
        frames = self.features.frames_in(round(self.window_s * self.sample_rate_hz))
        if self.streaming is None:
            return frames
        step = self.streaming["frames_per_state"]
        return max(step, step * round(frames / step))

    def to_metadata(self) -> dict[str, str]:
        """The ``metadata_props`` that describe this model (what export writes)."""
        return {
            "format_version": str(self.format_version),
            "labels": json.dumps(list(self.labels)),
            "sample_rate_hz": str(self.sample_rate_hz),
            "window_s": repr(float(self.window_s)),
            "features": json.dumps(self.features.to_dict()),
            "normalization": json.dumps(self.normalization.to_dict()),
            "provenance": self.provenance,
            **({"streaming": json.dumps(self.streaming)} if self.streaming is not None else {}),
            **({"adaptation": self.adaptation.to_metadata()} if self.adaptation is not None else {}),
            **({"unsure_threshold": repr(float(self.unsure_threshold))}
               if self.unsure_threshold is not None else {}),
        }

    @classmethod
    def from_metadata(cls, props: dict[str, str], source: str = "model") -> "ModelInfo":
        """Parse and check metadata; raise :class:`ModelError` naming the first bad key."""
        for key in METADATA_KEYS:
            if key not in props:
                raise ModelError(f"{source}: metadata key '{key}' is missing")

        def bad(key: str, why: str) -> ModelError:
            return ModelError(f"{source}: metadata key '{key}' is malformed: {why}")

        def parse(key: str, convert):
            try:
                return convert(props[key])
            except (ValueError, TypeError) as exc:
                raise bad(key, str(exc) or type(exc).__name__) from None

        version = parse("format_version", int)
        if version not in (FORMAT_VERSION, STREAMING_FORMAT_VERSION):
            raise bad("format_version", f"version {version}, this Moodline reads "
                                        f"{FORMAT_VERSION} and {STREAMING_FORMAT_VERSION}")
        streaming = None
        if version == STREAMING_FORMAT_VERSION:
            if "streaming" not in props:
                raise ModelError(f"{source}: metadata key 'streaming' is missing (format {version})")
            streaming = parse("streaming", json.loads)
            per, hop_s = (streaming.get("frames_per_state"), streaming.get("hop_s")) \
                if isinstance(streaming, dict) else (None, None)
            if (isinstance(per, bool) or not isinstance(per, int) or not 1 <= per <= 64
                    or isinstance(hop_s, bool) or not isinstance(hop_s, (int, float))
                    or not (math.isfinite(hop_s) and 0 < hop_s <= 60)):
                raise bad("streaming", 'expected {"frames_per_state": 1-64, "hop_s": seconds}')
        labels = parse("labels", json.loads)
        if (not isinstance(labels, list) or len(labels) < 2
                or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels)):
            raise bad("labels", "expected a JSON list of two or more distinct names")
        rate = parse("sample_rate_hz", int)
        if not 1000 <= rate <= 192000:
            raise bad("sample_rate_hz", f"{rate} Hz is out of range")
        window_s = parse("window_s", float)
        if not (math.isfinite(window_s) and 0 < window_s <= 60):
            raise bad("window_s", f"{window_s} s is out of range")

        params = parse("features", json.loads)
        if not isinstance(params, dict):
            raise bad("features", "expected a JSON object")
        problem = _feature_params_problem(params)
        if problem:
            raise bad("features", problem)
        if "sample_rate_hz" in params:  # the model's own key says it, once
            raise bad("features", "holds sample_rate_hz, which is the model's own key 'sample_rate_hz'")
        try:
            spec = FeatureSpec(sample_rate_hz=rate, **params)
        except TypeError as exc:  # unknown or missing parameter
            raise bad("features", str(exc).replace("__init__() ", "")) from None
        except ValueError as exc:
            raise bad("features", str(exc)) from None
        if spec.frames_in(round(window_s * rate)) < 1:
            raise bad("window_s", "shorter than one feature frame")

        norm = parse("normalization", json.loads)
        if not isinstance(norm, dict):
            raise bad("normalization", "expected a JSON object")
        if norm.get("in_graph") is True:
            normalization = Normalization()
        else:
            try:
                mean = np.asarray(norm["mean"], dtype=np.float32)
                std = np.asarray(norm["std"], dtype=np.float32)
            except (KeyError, ValueError, TypeError):
                raise bad("normalization", 'expected {"in_graph": true} or numeric "mean" and "std"') from None
            for name, stats in (("mean", mean), ("std", std)):
                if stats.shape not in ((), (spec.n_features,)) or not np.all(np.isfinite(stats)):
                    raise bad("normalization", f"'{name}' needs 1 or {spec.n_features} finite values")
            if np.any(std <= 0):
                raise bad("normalization", "'std' must be positive")
            normalization = Normalization(mean, std)
        adaptation = (Adaptation.from_metadata(props["adaptation"], len(labels), source)
                      if "adaptation" in props else None)
        unsure = None
        if "unsure_threshold" in props:
            unsure = parse("unsure_threshold", float)
            if not (math.isfinite(unsure) and 0.0 <= unsure <= 1.0):
                raise bad("unsure_threshold", f"{unsure} is not a probability")
        return cls(tuple(labels), window_s, spec, normalization, props["provenance"], version, streaming,
                   adaptation, unsure)


def choose_providers(available: Sequence[str], prefer: str = "auto") -> list[str]:
    """Execution providers to ask onnxruntime for, best first.

    ``prefer`` is ``"auto"`` (CUDA when the installed onnxruntime offers it, then CPU),
    ``"cpu"`` or ``"cuda"`` (CUDA only if offered, still with the CPU behind it).
    """
    if prefer not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown provider preference {prefer!r}")
    wanted = [CPU] if prefer == "cpu" else [CUDA, CPU]
    return [p for p in wanted if p in available] or [CPU]


# The models shipped with Moodline, by the name ``--model`` and Settings accept for them.
BUNDLED_MODELS = {
    "default": "Whisper tiny.en's speech encoder with an emotion head (the more accurate)",
    "fast": "a small CNN taught by the default model (several times cheaper, less accurate)",
}


def bundled_model_path(name: str = "default") -> Path:
    """The file of the shipped model ``name`` (``models/<name>.onnx``)."""
    from importlib.resources import files

    return Path(str(files("moodline.models") / f"{name}.onnx"))


def default_model_path() -> Path:
    """The model shipped with Moodline as its default (``models/default.onnx``)."""
    return bundled_model_path("default")


def resolve_model(spec: str | os.PathLike | None) -> Path:
    """A model given as a shipped model's name (``default``, ``fast``), a file, or nothing (the default)."""
    if spec is None or str(spec) == "":
        return default_model_path()
    if str(spec) in BUNDLED_MODELS and not Path(spec).is_file():  # a folder named "fast" is not a model
        return bundled_model_path(str(spec))
    return Path(spec)


class EmotionModel:
    """An ONNX emotion model ready to classify feature windows.

    The session runs on CUDA when it really works on this machine and on the CPU otherwise;
    the choice is quiet (onnxruntime's own log is silenced), and :attr:`provider` says which.
    Set ``MOODLINE_PROVIDER=cpu`` (or pass ``prefer="cpu"``) to keep off the GPU. ``threads``
    is onnxruntime's intra-op thread count (0: one per core).
    """

    def __init__(self, path: str | os.PathLike, prefer: str | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        name = str(self.path)
        if not self.path.is_file():
            raise ModelError(f"{name}: model file not found")
        prefer = prefer or os.environ.get("MOODLINE_PROVIDER", "auto").lower()
        # A missing CUDA library is logged as an error by onnxruntime even though it falls
        # back to the CPU; a user without a GPU must not see that.
        ort.set_default_logger_severity(4)
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.intra_op_num_threads = threads
        # Live use runs one small batch per hop: threads spinning between hops would burn CPU
        # for nothing. Offline, decoding, the voice gate and other model threads run beside
        # each call (analysis.analyze_file), and spinning threads would take their cores: 10 min
        # of speech took 4.17 s spinning, 3.71 s not (encoder model, 2 cores, 2026-12-05).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            providers = choose_providers(ort.get_available_providers(), prefer)
            self.session = ort.InferenceSession(name, options, providers=providers)
        except ValueError:
            raise ModelError(f"{name}: unknown execution provider preference {prefer!r}") from None
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise ModelError(f"{name}: not a loadable ONNX model ({first_line(exc)})") from None
        self.provider = self.session.get_providers()[0]
        props = self.session.get_modelmeta().custom_metadata_map
        self.info = ModelInfo.from_metadata(props, name)
        self._check_signature()
        self._check_probe()

    @property
    def streaming(self) -> bool:
        """Whether this is a streaming encoder (run a hop at a time, see :mod:`.encoder`)."""
        return self.info.streaming is not None

    def _check_stream_signature(self) -> None:
        name, info = str(self.path), self.info
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = self.session.get_outputs()
        if sorted(inputs) != sorted(STREAM_INPUTS):
            raise ModelError(f"{name}: a streaming model takes the inputs {', '.join(STREAM_INPUTS)}, "
                             f"not {', '.join(inputs)}")
        output_names = [o.name for o in outputs]
        missing = [n for n in STREAM_CACHE_OUTPUTS if n not in output_names]
        if missing or output_names[0] in STREAM_CACHE_OUTPUTS:
            raise ModelError(f"{name}: a streaming model returns probabilities first, then "
                             f"{', '.join(STREAM_CACHE_OUTPUTS)}" + (f" (missing {', '.join(missing)})" if missing else ""))
        shape = inputs["features"].shape
        if len(shape) != 3 or shape[2] != info.features.n_features:
            raise ModelError(f"{name}: input 'features' {shape} is not (1, frames, {info.features.n_features})")
        cache_shapes = []
        for cache in CACHE_INPUTS:
            dims = inputs[cache].shape
            if len(dims) != 3 or not isinstance(dims[0], int) or not isinstance(dims[2], int):
                raise ModelError(f"{name}: input '{cache}' {dims} is not (layers, frames, width)")
            cache_shapes.append((dims[0], dims[2]))
        out_shape = outputs[0].shape
        if len(out_shape) != 2 or out_shape[1] != len(info.labels) or outputs[0].type not in _FLOAT_TENSORS:
            raise ModelError(f"{name}: output '{outputs[0].name}' {out_shape} is not probabilities for the "
                             f"{len(info.labels)} labels of metadata key 'labels'")
        self.fixed_frames = None
        self._cache_shapes = tuple(cache_shapes)
        self._output_names = output_names
        self._check_embedding(outputs)

    def stream(self, window_frames: int, hop_frames: int) -> EncoderStream:
        """A stream of windows (``window_frames`` long, ``hop_frames`` apart) through a streaming
        model; :class:`ModelError` if the model cannot stream that grid."""
        shape = StreamShape(window_frames, hop_frames, self.info.streaming["frames_per_state"], self._cache_shapes)
        problem = shape.problem()
        if problem:
            raise ModelError(f"{self.path}: {problem}")
        return EncoderStream(shape, self._run_step)

    def _run_step(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs["features"] = self.info.normalization.apply(inputs["features"]).astype(np.float32, copy=False)
        try:
            outputs = dict(zip(self._output_names, self.session.run(self._output_names, inputs)))
        except Exception as exc:
            raise ModelError(f"{self.path}: the model failed on a window of {inputs['features'].shape[1]} "
                             f"frames ({first_line(exc)})") from None
        problem = probability_problem(outputs[self._output_names[0]])
        if problem:
            raise ModelError(f"{self.path}: the model failed on a window of {inputs['features'].shape[1]} "
                             f"frames ({problem})")
        outputs["probabilities"] = outputs[self._output_names[0]]
        return outputs

    def _check_signature(self) -> None:
        if self.streaming:
            self._check_stream_signature()
            return
        name, info = str(self.path), self.info
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(f"{name}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        shape, out_shape = inputs[0].shape, outputs[0].shape
        if len(shape) != 3:
            raise ModelError(f"{name}: input shape {shape} is not (batch, frames, features)")
        frames, n_features = shape[1], shape[2]
        if n_features != info.features.n_features:
            raise ModelError(
                f"{name}: input has {n_features} features per frame but metadata key 'features' "
                f"gives {info.features.n_features}")
        if isinstance(frames, int) and frames != info.window_frames:
            raise ModelError(
                f"{name}: input takes {frames} frames but metadata key 'window_s' gives "
                f"{info.window_frames} frames ({info.window_s} s)")
        if len(out_shape) != 2 or out_shape[1] != len(info.labels):
            raise ModelError(
                f"{name}: output shape {out_shape} does not match metadata key 'labels' "
                f"({len(info.labels)} labels)")
        if outputs[0].type not in _FLOAT_TENSORS:
            raise ModelError(f"{name}: output '{outputs[0].name}' is a {outputs[0].type}, "
                             "not floating-point probabilities")
        self.fixed_frames = frames if isinstance(frames, int) else None
        self._input, self._output = inputs[0].name, outputs[0].name
        self._check_embedding(outputs)

    def _check_embedding(self, outputs) -> None:
        """A model that adapts must return the ``embedding`` its adaptation head reads."""
        adaptation = self.info.adaptation
        if adaptation is None:
            return
        found = {o.name: o for o in outputs}.get("embedding")
        if found is None:
            raise ModelError(f"{self.path}: metadata key 'adaptation' needs an output named 'embedding'")
        dims = found.shape[-1] if len(found.shape) == 2 else None
        if dims is None or (isinstance(dims, int) and dims != adaptation.dims):
            raise ModelError(f"{self.path}: output 'embedding' {found.shape} is not (batch, {adaptation.dims}) "
                             "as metadata key 'adaptation' gives")

    def _check_probe(self) -> None:
        """Run a window of silence and one of noise; refuse a model whose output is not
        probabilities (no softmax, scaled, negative) before it labels anything."""
        spec = self.info.features
        frames = self.fixed_frames or self.info.window_frames
        n_samples = spec.samples_for(frames)
        noise = np.random.default_rng(0).normal(0.0, 0.1, n_samples).astype(np.float32)
        probe = np.stack([features(audio, spec)[:frames] for audio in (np.zeros(n_samples, np.float32), noise)])
        problem = probability_problem(self._run(probe))
        if problem:
            raise ModelError(f"{self.path}: the model's output is not probabilities: on a probe "
                             f"of silence and noise {problem}")

    def _run(self, windows: np.ndarray) -> np.ndarray:
        if self.streaming:  # each window on its own: a stretch of one window
            windows = np.asarray(windows, dtype=np.float32)
            hop_frames = max(1, round(self.info.streaming["hop_s"] * self.info.sample_rate_hz
                                      / self.info.features.hop_length))
            stream = self.stream(windows.shape[1], hop_frames)
            return np.concatenate([stream.window(-2 * i, w)["probabilities"] for i, w in enumerate(windows)])
        x = self.info.normalization.apply(np.asarray(windows, dtype=np.float32))
        try:
            return self.session.run([self._output], {self._input: x.astype(np.float32, copy=False)})[0]
        except Exception as exc:  # e.g. a window too short for the model's pooling layers
            raise ModelError(
                f"{self.path}: the model failed on windows of {x.shape[1]} frames ({first_line(exc)})") from None

    @property
    def adapts(self) -> bool:
        """Whether this model's embedding is adapted to the session (see :mod:`.adaptation`)."""
        return self.info.adaptation is not None

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """The ``embedding`` output ``(batch, dims)`` of a model that adapts (format 1 files;
        a streaming model returns it from each step)."""
        x = self.info.normalization.apply(np.asarray(windows, dtype=np.float32))
        try:
            return self.session.run(["embedding"], {self._input: x.astype(np.float32, copy=False)})[0]
        except Exception as exc:
            raise ModelError(
                f"{self.path}: the model failed on windows of {x.shape[1]} frames ({first_line(exc)})") from None

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities ``(batch, labels)`` for normalised-on-the-way features ``(batch, frames, features)``."""
        probs = self._run(windows)
        problem = probability_problem(probs)
        if problem:  # never turn NaN or a broken output into a confident-looking label
            raise ModelError(f"{self.path}: the model failed on windows of {np.shape(windows)[1]} frames "
                             f"({problem})")
        return probs
