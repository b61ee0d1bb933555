"""Speaker-independent splits: k folds by speaker, a fixed list of held-out speakers, or whole
corpora held out (leave-one-corpus-out: voices, languages and studios never heard).

A split names speakers, never clips: every clip of a speaker (and every augmented copy of it)
lands on one side. :func:`check_split` is run on the windows actually used for training and
testing, and refuses a split that would let a test speaker, or any copy of a test clip, into
training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np


class SplitLeakError(Exception):
    """A split puts the same speaker, or a copy of a test clip, on both sides."""


@dataclass(frozen=True)
class Split:
    """One train/test division by speaker. ``name`` is shown in reports (``fold 2``, ``holdout``)."""

    name: str
    train_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]


def _corpus_of(speaker: str) -> str:
    return speaker.split(":", 1)[0] if ":" in speaker else ""


def speaker_folds(speakers: Iterable[str], k: int = 5, seed: int = 0, train_only: Iterable[str] = ()) -> list[Split]:
    """``k`` folds over ``speakers``, each tested once; ``train_only`` speakers are always trained on.

    Speakers are shuffled with ``seed`` within each corpus (the ``corpus:`` prefix of their id)
    and dealt round-robin, corpus after corpus, so every fold tests about as many speakers of
    each corpus and fold sizes differ by at most one.
    """
    speakers = sorted(set(speakers))
    extra = tuple(sorted(set(train_only) - set(speakers)))
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if len(speakers) < k:
        raise ValueError(f"{k} folds need at least {k} speakers to test on, found {len(speakers)}")
    rng = np.random.default_rng(seed)
    order = []
    for corpus in sorted({_corpus_of(s) for s in speakers}):
        group = [s for s in speakers if _corpus_of(s) == corpus]
        order += [group[i] for i in rng.permutation(len(group))]
    folds = []
    for i in range(k):
        test = tuple(sorted(order[i::k]))
        train = tuple(s for s in speakers if s not in test) + extra
        folds.append(Split(f"fold {i + 1}", train, test))
    return folds


def corpus_folds(speakers: Iterable[str], held_out: Iterable[str] | None = None) -> list[Split]:
    """Leave-one-corpus-out: for each corpus (or each of ``held_out``), test on all its speakers
    and train on every other corpus's. Needs speakers of at least two corpora."""
    speakers = sorted(set(speakers))
    corpora = sorted({_corpus_of(s) for s in speakers})
    if len(corpora) < 2:
        raise ValueError("leave-one-corpus-out needs at least two corpora")
    folds = []
    for corpus in (corpora if held_out is None else sorted(held_out)):
        test = tuple(s for s in speakers if _corpus_of(s) == corpus)
        if not test:
            raise ValueError(f"no speakers of corpus '{corpus}' to hold out")
        folds.append(Split(f"without {corpus}", tuple(s for s in speakers if _corpus_of(s) != corpus), test))
    return folds


def holdout_split(speakers: Iterable[str], held_out: Sequence[str]) -> Split:
    """Train on every speaker except ``held_out``, test on those.

    A held-out name may omit the corpus prefix (``07`` matches ``ravdess:07``) when that is
    unambiguous.
    """
    speakers = sorted(set(speakers))
    chosen = []
    for name in held_out:
        matches = [s for s in speakers if s == name or s.split(":", 1)[-1] == name]
        if len(matches) != 1:
            why = "no speaker" if not matches else f"{len(matches)} speakers ({', '.join(matches)})"
            raise ValueError(f"held-out speaker '{name}' matches {why}")
        chosen.append(matches[0])
    test = tuple(sorted(set(chosen)))
    return Split("holdout", tuple(s for s in speakers if s not in test), test)


def check_split(train_speakers: Iterable[str], train_sources: Iterable[str],
                test_speakers: Iterable[str], test_sources: Iterable[str]) -> None:
    """Raise :class:`SplitLeakError` if a speaker or a source clip is on both sides.

    ``*_sources`` are the source-clip keys of the windows each side really holds: an augmented
    copy carries the key of the clip it was made from.
    """
    speakers = set(train_speakers) & set(test_speakers)
    if speakers:
        raise SplitLeakError(f"speaker(s) on both sides of the split: {', '.join(sorted(speakers))}")
    clips = set(train_sources) & set(test_sources)
    if clips:
        example = sorted(clips)[0]
        raise SplitLeakError(f"{len(clips)} test clip(s) or copies of them are in training, e.g. {example}")
