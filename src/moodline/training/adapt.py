"""Training and scoring a head that adapts to each voice (see :mod:`moodline.engine.adaptation`).

At run time the engine takes each window's embedding relative to the running statistics of the
session's speech, shrunk towards a prior. Training matches that: each training speaker's
windows are taken relative to that speaker's own statistics, computed separately for each
variant (the clips as recorded, each augmented copy), since a session is one voice in one room.

The reference a speaker's windows are taken relative to is one of:

- ``session``: the mean of all their speech (and, with ``scale``, its standard deviation);
- ``mixed``: the statistics of a session of theirs drawn at random for each variant, with a
  share of neutral clips drawn between what all their clips hold and all neutral: sessions
  range from acted emotion in equal shares to someone just talking, and the head learns to read
  a voice relative to either;
- ``neutral``: the mean of their neutral clips only, so that a voice at its ordinary sound sits
  at the origin. Cross-fitted: a neutral clip is never part of its own reference (its clips
  are split in two halves, each taken relative to the other's mean), or else the head would
  learn that neutral windows sit exactly at the reference, which no new clip does.

The graph standardises the embedding with the training population's reference (the mean over
speakers of their references) and the pooled within-speaker standard deviation, so the engine's
prior is mean 0 and standard deviation 1 in the embedding it receives.

Scoring in sessions: a test speaker's clips are played one after another as one session
(:func:`session_orders`) and every window is classified with the statistics of what came before
it, exactly as the engine does (the engine's own :class:`SessionAdapter`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from moodline.engine.adaptation import Adaptation, SessionAdapter

from .dataset import WindowSet

REFERENCES = ("session", "neutral", "mixed")
SESSION_KINDS = ("clip", "balanced", "conversation", "two_voices")
CONVERSATION_NEUTRAL_SHARE = 0.7  # a conversation-like session: about this share of neutral clips


@dataclass(frozen=True)
class AdaptSettings:
    reference: str = "session"
    scale: bool = True
    prior_windows: float = 20.0


def _groups(windows: WindowSet) -> np.ndarray:
    """A group id per window: one per (speaker, variant)."""
    speakers = np.array([c.speaker for c in windows.clips])[windows.clip_index]
    _, speaker_id = np.unique(speakers, return_inverse=True)
    return speaker_id.astype(np.int64) * 100_000 + windows.variant


def adapted_features(windows: WindowSet, labels: np.ndarray, neutral: int | None, settings: AdaptSettings,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training windows taken relative to their speaker's reference, mapped back into the raw
    embedding space the graph standardises: ``prior_mean + within_std * z``. Returns those
    features (float32, shaped like ``windows.features``), ``prior_mean`` and ``within_std``
    (shaped like one window: what the graph's ``Standardize`` uses)."""
    rng = np.random.default_rng(seed)
    shape = windows.features.shape[1:]
    x = windows.features.reshape(len(windows.features), -1)
    groups = _groups(windows)
    out = np.empty(x.shape, dtype=np.float32)
    references, variances = [], []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        g = x[members].astype(np.float32)
        mean = g.mean(axis=0)
        spread = np.sqrt(g.var(axis=0))  # the session's spread (its standard deviation)
        variances.append(g.var(axis=0))
        if settings.reference == "neutral" and neutral is not None and np.any(labels[members] == neutral):
            clips = windows.clip_index[members]
            neutral_clips = rng.permutation(np.unique(clips[labels[members] == neutral]))
            halves = [neutral_clips[: len(neutral_clips) // 2], neutral_clips[len(neutral_clips) // 2:]]
            halves = [h for h in halves if len(h)]
            refs = [g[np.isin(clips, h)].mean(axis=0) for h in halves]
            reference = g[labels[members] == neutral].mean(axis=0)
            # Each clip against a reference it is not part of: neutral clips against the other half.
            which = rng.integers(0, len(refs), size=clips.max() + 1)
            for i, half in enumerate(halves):
                which[half] = (i + 1) % len(refs)
            ref_per_window = np.stack(refs)[which[clips]]
            if len(refs) == 1:  # one neutral clip: it stays against its own mean (nothing else to use)
                ref_per_window = np.broadcast_to(reference, g.shape)
        elif settings.reference == "mixed" and neutral is not None and np.any(labels[members] == neutral):
            clips = windows.clip_index[members]
            calm = np.unique(clips[labels[members] == neutral])
            other = np.unique(clips[labels[members] != neutral])
            share = rng.uniform(len(calm) / (len(calm) + len(other)), 1.0)
            keep = rng.choice(other, size=min(len(other), round(len(calm) * (1 - share) / share)), replace=False)
            session = np.isin(clips, np.concatenate([calm, keep]))
            reference = mean
            ref_per_window = np.broadcast_to(g[session].mean(axis=0), g.shape)
            spread = g[session].std(axis=0)
        else:
            reference = mean
            ref_per_window = np.broadcast_to(mean, g.shape)
        references.append(reference)
        out[members] = g - ref_per_window
        if settings.scale:
            out[members] /= spread + 1e-3
    prior_mean = np.mean(references, axis=0)
    within_std = np.sqrt(np.mean(variances, axis=0)) + 1e-3
    if not settings.scale:
        out /= within_std
    out = prior_mean + within_std * out
    return out.reshape(len(out), *shape), prior_mean.reshape(shape), within_std.reshape(shape)


def session_orders(windows: WindowSet, labels: np.ndarray, kind: str, neutral: int | None,
                   seed: int) -> list[np.ndarray]:
    """Sessions of the clips in ``windows`` (clip indices, in the order they are played).

    ``clip``: each clip alone (a file analysed on its own); ``balanced``: all of a speaker's
    clips in random order; ``conversation``: about 70% neutral clips, the rest emotional, in
    random order: all of a speaker's neutral clips with a different share of their emotional
    ones in each session, until every emotional clip has been in one; ``two_voices``: two
    speakers' clips taking turns, one clip each (speakers paired in order; an odd one out talks
    alone), what adaptation meets when a conversation's two voices share one session."""
    rng = np.random.default_rng(seed)
    clips = np.unique(windows.clip_index)
    if kind == "clip":
        return [np.array([c]) for c in clips]
    clip_label = {c: labels[np.flatnonzero(windows.clip_index == c)[0]] for c in clips}
    speakers = np.array([windows.clips[c].speaker for c in clips])
    sessions = []
    if kind == "two_voices":
        names = sorted(set(speakers))
        for a, b in zip(names[0::2], names[1::2] + [None]):
            first = rng.permutation(clips[speakers == a])
            second = rng.permutation(clips[speakers == b]) if b is not None else np.array([], dtype=clips.dtype)
            turns = [c for pair in zip(first, second) for c in pair]
            n = min(len(first), len(second))
            sessions.append(np.array(turns + list(first[n:]) + list(second[n:])))
        return sessions
    for speaker in sorted(set(speakers)):
        own = clips[speakers == speaker]
        if kind == "balanced" or neutral is None:
            sessions.append(rng.permutation(own))
            continue
        calm = np.array([c for c in own if clip_label[c] == neutral])
        other = rng.permutation(np.array([c for c in own if clip_label[c] != neutral]))
        if not len(calm):
            continue
        per = max(1, round(len(calm) * (1 - CONVERSATION_NEUTRAL_SHARE) / CONVERSATION_NEUTRAL_SHARE))
        for start in range(0, len(other), per):
            sessions.append(rng.permutation(np.concatenate([calm, other[start:start + per]])))
    return sessions


def session_probabilities(embeddings: np.ndarray, windows: WindowSet, order: Sequence[np.ndarray],
                          adaptation: Adaptation, speech: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window probabilities of each session in ``order`` through the engine's adapter (the
    windows with ``speech``); returns them, the index of each window in ``windows`` and the
    number of its session (clips may repeat across sessions)."""
    by_clip = {}
    for i, c in enumerate(windows.clip_index):
        by_clip.setdefault(int(c), []).append(i)
    probs, index, number = [], [], []
    for n, session in enumerate(order):
        rows = np.array([i for c in session for i in by_clip[int(c)] if speech[i]], dtype=np.int64)
        probs.append(SessionAdapter(adaptation)(embeddings[rows]))
        index.append(rows)
        number.append(np.full(len(rows), n))
    return np.concatenate(probs), np.concatenate(index), np.concatenate(number)


# --- Calibration ------------------------------------------------------------------------------
SHOWN_RIGHT = 0.7  # the unsure threshold: the lowest confidence at which shown labels are right this often
MIN_SHOWN_SHARE = 0.01  # ... over at least this share of the windows (fewer says nothing)
THRESHOLDS = np.round(np.arange(0.20, 0.991, 0.01), 2)


def with_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / temperature)``: what dividing the head's logits by it gives."""
    logits = np.log(np.maximum(probs, 1e-30)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits) * (probs > 0)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (golden section
    on log T between 0.05 and 20)."""
    def nll(log_t: float) -> float:
        p = with_temperature(probs, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-12))))

    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error (confidence of the shown label against how often it is right,
    in ``bins`` equal-width bins, weighted by windows) and the bins themselves."""
    confidence = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if not inside.any():
            continue
        gap = abs(float(confidence[inside].mean()) - float(right[inside].mean()))
        ece += gap * inside.mean()
        rows.append({"from": float(lo), "to": float(hi), "windows": int(inside.sum()),
                     "confidence": float(confidence[inside].mean()), "right": float(right[inside].mean())})
    return {"ece": float(ece), "windows": int(len(labels)), "accuracy": float(right.mean()), "bins": rows}


def shown_right(probs: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """How often labels shown at or above ``threshold`` are right, and the share of windows shown."""
    shown = probs.max(axis=1) >= threshold
    if not shown.any():
        return float("nan"), 0.0
    return float(np.mean(probs[shown].argmax(axis=1) == labels[shown])), float(shown.mean())


def choose_unsure_threshold(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """The lowest threshold at which shown labels are right :data:`SHOWN_RIGHT` of the time
    (over at least :data:`MIN_SHOWN_SHARE` of the windows), or ``None`` if none is."""
    for threshold in THRESHOLDS:
        right, share = shown_right(probs, labels, float(threshold))
        if share >= MIN_SHOWN_SHARE and right >= SHOWN_RIGHT:
            return float(threshold)
    return None


def calibrate(held_out: dict[str, tuple[np.ndarray, np.ndarray]],
              within: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """Temperature and unsure threshold from window probabilities of corpora held out of training
    (``held_out``: corpus → (probabilities, labels)), each scored honestly: for each corpus, the
    temperature and threshold are fitted on the *other* corpora and applied to it. The shipped
    values are fitted on all of them. ``within`` (window probabilities of the speaker folds:
    test speakers unheard, their corpora heard) is scored with the shipped temperature."""
    report: dict[str, Any] = {"per_corpus": {}}
    nested_probs, nested_labels = [], []
    for corpus, (probs, labels) in sorted(held_out.items()):
        others = [v for k, v in held_out.items() if k != corpus]
        temperature = fit_temperature(np.concatenate([p for p, _ in others]), np.concatenate([y for _, y in others]))
        threshold = choose_unsure_threshold(
            np.concatenate([with_temperature(p, temperature) for p, _ in others]), np.concatenate([y for _, y in others]))
        calibrated = with_temperature(probs, temperature)
        right, share = shown_right(calibrated, labels, threshold) if threshold is not None else (float("nan"), 0.0)
        report["per_corpus"][corpus] = {
            "temperature": temperature, "ece_before": reliability(probs, labels)["ece"],
            "ece": reliability(calibrated, labels)["ece"], "unsure_threshold": threshold,
            "shown_right": right, "shown_share": share}
        nested_probs.append(calibrated)
        nested_labels.append(labels)
    every_probs = np.concatenate([p for p, _ in held_out.values()])
    every_labels = np.concatenate([y for _, y in held_out.values()])
    temperature = fit_temperature(every_probs, every_labels)
    report["temperature"] = temperature
    report["unsure_threshold"] = choose_unsure_threshold(with_temperature(every_probs, temperature), every_labels)
    report["across"] = reliability(np.concatenate(nested_probs), np.concatenate(nested_labels))
    report["across_before"] = reliability(every_probs, every_labels)
    if within is not None:
        report["within"] = reliability(with_temperature(within[0], temperature), within[1])
        report["within_before"] = reliability(*within)
    return report
