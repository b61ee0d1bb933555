"""Adapting to the voice being heard: the model's ``embedding`` taken relative to the session.

A person's ordinary voice is the reference a listener reads emotion against. A model file that
adapts (its ``adaptation`` metadata key, see :mod:`.model`) returns, beside its probabilities,
the ``embedding`` its softmax head reads, and carries that head's weights. The engine then keeps
running statistics of the embeddings of the session's speech windows, takes each new embedding
relative to them (``(e - mean) / std``, or ``e - mean`` when the file says ``"scale": false``)
and applies the head itself: a few vector operations per window.

Until enough speech is heard the statistics are shrunk towards the training speakers' own: the
file's graph standardises the embedding with the pooled statistics of the training speakers,
each about their own mean, so the prior is mean 0 and standard deviation 1, counted as
``prior_windows`` windows of speech. After ``n`` speech windows the estimate is
``(sum + prior_windows * prior) / (n + prior_windows)``: at ``n = prior_windows`` the session
and the prior weigh the same. Before any speech the adapted head gives what the graph gives.

One :class:`SessionAdapter` per session: offline a file is a session, live a recording is, and
both feed it the same speech windows in the same order, so live and offline agree. Windows
flagged too loud (clipped) are classified but not learnt from. A session can start from an
enrolled voice's statistics (:class:`VoiceBaseline`) instead of the prior.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
import numpy as np

from .errors import ModelError

MAX_PRIOR_WINDOWS = 100_000.0


def _floats_from_b64(text: str, count: int) -> np.ndarray:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) != 4 * count:
        raise ValueError(f"expected {count} float32 values, found {len(raw) / 4:g}")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def floats_to_b64(values: np.ndarray) -> str:
    """Float32 values, little-endian, as base64 text (how a model file stores the head)."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


@dataclass(frozen=True)
class Adaptation:
    """What a model file says about adapting: the prior's weight and the head to apply."""

    prior_windows: float
    weights: np.ndarray  # (embedding dims, labels)
    bias: np.ndarray  # (labels,)
    scale: bool = True  # divide by the running standard deviation (else only subtract the mean)

    @property
    def dims(self) -> int:
        return int(self.weights.shape[0])

    def to_metadata(self) -> str:
        return json.dumps({"prior_windows": self.prior_windows, "scale": self.scale,
                           "head": {"dims": self.dims, "weights": floats_to_b64(self.weights),
                                    "bias": [float(b) for b in self.bias]}})

    @classmethod
    def from_metadata(cls, value: str, n_labels: int, source: str = "model") -> "Adaptation":
        """Parse the ``adaptation`` key; :class:`ModelError` naming what is wrong."""
        def bad(why: str) -> ModelError:
            return ModelError(f"{source}: metadata key 'adaptation' is malformed: {why}")

        try:
            data = json.loads(value)
        except ValueError as exc:
            raise bad(str(exc)) from None
        head = data.get("head") if isinstance(data, dict) else None
        if not isinstance(head, dict):
            raise bad('expected {"prior_windows": n, "scale": true|false, "head": {"dims", "weights", "bias"}}')
        prior, scale, dims, bias = data.get("prior_windows"), data.get("scale", True), head.get("dims"), head.get("bias")
        if (isinstance(prior, bool) or not isinstance(prior, (int, float)) or not math.isfinite(prior)
                or not 0 <= prior <= MAX_PRIOR_WINDOWS):
            raise bad(f"'prior_windows' must be a number from 0 to {MAX_PRIOR_WINDOWS:g}, not {prior!r}")
        if not isinstance(scale, bool):
            raise bad(f"'scale' must be true or false, not {scale!r}")
        if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= 1_000_000:
            raise bad(f"'dims' must be a whole number from 1 to 1000000, not {dims!r}")
        if (not isinstance(bias, list) or len(bias) != n_labels
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bias)):
            raise bad(f"'bias' must be {n_labels} finite numbers, one per label")
        try:
            weights = _floats_from_b64(str(head.get("weights", "")), dims * n_labels).reshape(dims, n_labels)
        except ValueError as exc:
            raise bad(f"'weights': {exc}") from None
        if not np.all(np.isfinite(weights)):
            raise bad("'weights' are not all finite")
        return cls(float(prior), weights, np.asarray(bias, dtype=np.float32), scale)


@dataclass(frozen=True)
class VoiceBaseline:
    """Sums over the speech windows of an enrolled voice (embedding space of one model)."""

    windows: int
    total: np.ndarray  # (dims,) float64 sum of embeddings
    total_sq: np.ndarray  # (dims,) float64 sum of squares


class SessionAdapter:
    """Running statistics of one session's speech embeddings and the head applied to them."""

    def __init__(self, adaptation: Adaptation, baseline: VoiceBaseline | None = None) -> None:
        self.adaptation = adaptation
        dims = adaptation.dims
        self.windows = 0
        self._total = np.zeros(dims)
        self._total_sq = np.zeros(dims)
        if baseline is not None:
            self.windows = baseline.windows
            self._total, self._total_sq = baseline.total.astype(np.float64), baseline.total_sq.astype(np.float64)

    def baseline(self) -> VoiceBaseline:
        """What this session has heard, as an enrolled voice's statistics."""
        return VoiceBaseline(self.windows, self._total.copy(), self._total_sq.copy())

    def __call__(self, embeddings: np.ndarray, learn: np.ndarray | None = None) -> np.ndarray:
        """Probabilities ``(n, labels)`` of ``n`` consecutive speech windows' embeddings, each
        taken relative to the statistics of every window learnt from up to and including it;
        ``learn`` (a boolean per window, default all) says which windows the statistics take in."""
        e = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)
        if e.shape[1] != self.adaptation.dims:
            raise ModelError(f"the model's embedding has {e.shape[1]} values, its adaptation head "
                             f"{self.adaptation.dims}")
        learn = np.ones(len(e), dtype=bool) if learn is None else np.asarray(learn, dtype=bool)
        counts = self.windows + np.cumsum(learn)
        sums = self._total + np.cumsum(e * learn[:, None], axis=0)
        prior = self.adaptation.prior_windows
        weight = (counts + prior)[:, None]
        mean = sums / weight  # the prior's mean is 0
        z = e - mean
        if self.adaptation.scale:
            squares = self._total_sq + np.cumsum(e * e * learn[:, None], axis=0)
            variance = (squares + prior) / weight - mean * mean  # the prior's variance is 1
            z /= np.sqrt(np.maximum(variance, 1e-6))
        if len(e):
            self.windows, self._total = int(counts[-1]), sums[-1]
            if self.adaptation.scale:
                self._total_sq = squares[-1]
            else:
                self._total_sq = self._total_sq + np.sum(e * e * learn[:, None], axis=0)
        logits = z @ self.adaptation.weights + self.adaptation.bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)

