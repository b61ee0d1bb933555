"""The emotion timeline: one point per analysed window, its summary (in numbers and in words),
its segments (runs of one emotion), and its exports."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import MoodlineError
from .fileio import atomic_write


def format_clock(seconds: float, tenths: bool = False) -> str:
    """A time as a person reads it: ``m:ss`` under an hour, ``h:mm:ss`` from an hour on, and
    with ``tenths`` a tenth of a second more (``0:03.2``), for lists of stretches shorter than
    a second.

    Rounded to the nearest whole second (or tenth), halves up (59.5 s → ``1:00``, 59.4 s →
    ``0:59``): never more than half a unit off, and the same moment reads the same on the axis,
    in the readout and in the terminal. Negative times get a leading minus.
    """
    scale = 10 if tenths else 1
    total = math.floor(abs(seconds) * scale + 0.5)
    sign = "-" if seconds < 0 and total else ""
    whole, tenth = divmod(total, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if tenths else text


@dataclass(frozen=True)
class TimelinePoint:
    """What one window of audio sounded like.

    Windows without speech carry no emotion: ``label``, ``confidence`` and ``probabilities``
    are ``None`` and ``is_speech`` is false. A speech window recorded too loud (``clipped``:
    its peaks flattened at full scale) keeps what the model said, but no view shows that as
    the emotion heard and summaries leave it out: distortion moves labels (see
    :data:`~moodline.engine.analysis.CLIPPED_SHARE`). ``voice`` is whose voice a speech window
    is ("me", "other" or "unknown", see :mod:`~moodline.engine.speakers`) when the session told
    an enrolled voice from others, else ``None``.
    """

    start_s: float
    end_s: float
    probabilities: dict[str, float] | None
    label: str | None
    confidence: float | None
    is_speech: bool
    clipped: bool = False
    voice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "is_speech": self.is_speech,
            "clipped": self.clipped,
            "voice": self.voice,
            "label": self.label,
            "confidence": None if self.confidence is None else round(self.confidence, 6),
            "probabilities": None if self.probabilities is None
            else {k: round(v, 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TimelinePoint":
        return cls(float(d["start_s"]), float(d["end_s"]), d.get("probabilities"), d.get("label"),
                   d.get("confidence"), bool(d["is_speech"]), bool(d.get("clipped", False)), d.get("voice"))


def ranked(shares: Mapping[str, float], probabilities: Mapping[str, float] | None) -> list[tuple[str, float]]:
    """(label, share) of the emotions heard, the largest share of speech first; equal shares go
    by mean probability."""
    probabilities = probabilities or {}
    return sorted(((label, share) for label, share in shares.items() if share > 0),
                  key=lambda item: (-item[1], -probabilities.get(item[0], 0.0)))


def headline(shares: Mapping[str, float], probabilities: Mapping[str, float] | None) -> str | None:
    """A recording's one emotion, by one rule everywhere (the terminal, the window, the
    summary files): the one heard in the largest share of its speech, equal shares going by
    mean probability. ``None`` without speech."""
    found = ranked(shares, probabilities)
    return found[0][0] if found else None


@dataclass(frozen=True)
class Summary:
    """A file's (or session's) emotion in brief.

    ``label`` is its :func:`headline`: the emotion heard in the largest share of the speech
    windows that are not ``clipped``, or ``None`` when there are none; ``probabilities`` are
    the mean probabilities over those windows; ``shares`` is each emotion's share of them; ``speech_s`` is the speech time (one hop per speech window) and
    ``clipped_s`` the part of it recorded too loud to judge.
    """

    label: str | None
    probabilities: dict[str, float] | None
    shares: dict[str, float]
    speech_s: float
    clipped_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": None if self.probabilities is None
            else {k: round(v, 6) for k, v in self.probabilities.items()},
            "shares": {k: round(v, 6) for k, v in self.shares.items()},
            "speech_s": round(self.speech_s, 3),
            "clipped_s": round(self.clipped_s, 3),
        }

    def ranked_shares(self) -> list[tuple[str, float]]:
        """(label, share) of the emotions heard, the largest share first (see :func:`ranked`):
        the first is the summary's own label."""
        return ranked(self.shares, self.probabilities)

    def breakdown(self, named: int = 3) -> str:
        """The mix of emotions in words: "Mostly angry (64%), then calm (20%), happy (9%)".

        A recording is a mix, so its summary names the shares of speech time rather than one
        label: "Mostly" when one emotion holds at least half of the speech, else "Most often".
        Never "unsure": being unsure describes a moment, not an hour. The ``named`` largest
        shares are named; "…" says there are more.
        """
        ranked = self.ranked_shares()
        if not ranked:
            return "No speech"
        (first, share), rest = ranked[0], ranked[1:named]
        text = f"{'Mostly' if share >= 0.5 else 'Most often'} {first} ({share:.0%})"
        if rest:
            text += ", then " + ", ".join(f"{label} ({s:.0%})" for label, s in rest)
        return text + ("…" if len(ranked) > named else "")


def cell_edges(centres_s: np.ndarray, lone_width_s: float) -> np.ndarray:
    """The ``len + 1`` edges of the *cells* that windows stand for: halfway between neighbouring
    window centres, and half a hop before the first and after the last (the hop is the
    smallest step between centres; a lone window's cell is ``lone_width_s`` wide)."""
    centres_s = np.asarray(centres_s, dtype=np.float64)
    if len(centres_s) == 0:
        return np.zeros(1)
    steps = np.diff(centres_s)
    steps = steps[steps > 0]
    half = (float(steps.min()) if len(steps) else lone_width_s) / 2
    return np.concatenate([[centres_s[0] - half], (centres_s[:-1] + centres_s[1:]) / 2,
                           [centres_s[-1] + half]])


@dataclass(frozen=True)
class Segment:
    """A stretch of one emotion (``label``), or of no speech (``label`` is ``None``).

    ``confidence`` is the mean of its windows' winning probabilities (``None`` without speech);
    ``windows`` how many analysis windows it merges. A ``clipped`` stretch was recorded too
    loud: ``label`` is what the model said, not an emotion to show as heard. ``voice`` is whose
    stretch it is, when the session told voices apart.
    """

    start_s: float
    end_s: float
    label: str | None
    confidence: float | None
    windows: int
    clipped: bool = False
    voice: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_speech(self) -> bool:
        return self.label is not None


def segments(points: Sequence[TimelinePoint], duration_s: float | None = None) -> list[Segment]:
    """The timeline as segments: maximal runs of consecutive windows with one label.

    Boundary rule: each window stands for the hop of time around its centre, reaching halfway
    to the centres of its neighbours (2 s windows every 0.5 s: the window starting at 10.0 s
    stands for 10.75–11.25 s). A window's label describes all of its audio, so its centre is
    the best single estimate of when; window starts would put every change half a window
    early. A segment begins where its first window's share begins and ends where the next
    segment begins. The first segment begins at the first window's start (0:00) and the last
    ends at ``duration_s`` (default: the last window's end), so the segments tile the
    recording without gaps or overlaps. Windows without speech make segments with ``label``
    ``None``. Speech time per segment is therefore hops, as in :meth:`Timeline.summary`. A
    change of voice (when the session told voices apart) also starts a segment.
    """
    if not points:
        return []
    edges = cell_edges([(p.start_s + p.end_s) / 2 for p in points], points[0].end_s - points[0].start_s)
    edges[0] = min(edges[0], points[0].start_s)
    end_s = points[-1].end_s if duration_s is None else duration_s
    edges[-1] = end_s
    edges = np.minimum(edges, end_s).tolist()
    found: list[Segment] = []
    first, key, total = 0, (points[0].label, points[0].clipped, points[0].voice), 0.0
    for i, point in enumerate(points):
        if (point.label, point.clipped, point.voice) != key:
            found.append(_segment(edges[first], edges[i], key, total, i - first))
            first, key, total = i, (point.label, point.clipped, point.voice), 0.0
        total += point.confidence or 0.0
    found.append(_segment(edges[first], edges[len(points)], key, total, len(points) - first))
    return found


def _segment(start_s: float, end_s: float, key: tuple[str | None, bool, str | None], confidence_sum: float,
             windows: int) -> Segment:
    label, clipped, voice = key
    return Segment(start_s, end_s, label, confidence_sum / windows if label is not None else None, windows, clipped,
                   voice)


class SegmentOrder(Enum):
    """How :func:`top_segments` ranks the segments of speech."""

    LONGEST = "longest"
    MOST_CONFIDENT = "most confident"


def top_segments(found: Sequence[Segment], count: int = 5, order: SegmentOrder = SegmentOrder.LONGEST,
                 min_confident_s: float = 2.0) -> list[Segment]:
    """The ``count`` longest, or most confident, segments of speech (earliest first on ties).

    The most confident are chosen among segments of at least ``min_confident_s``: a lone
    window is often very sure, and a moment is not what a reader of an hour looks for.
    """
    speech = [s for s in found if s.is_speech and not s.clipped]
    if order is SegmentOrder.LONGEST:
        ranked = sorted(speech, key=lambda s: (-s.duration_s, s.start_s))
    else:
        ranked = sorted((s for s in speech if s.duration_s >= min_confident_s - 1e-9),
                        key=lambda s: (-s.confidence, s.start_s))
    return ranked[:count]


SEGMENTS_CSV_HEADER = ("start_s", "end_s", "start", "end", "label", "confidence", "clipped", "voice")
SEGMENTS_SUFFIX = ".segments.csv"  # a recording's segments beside it: talk.wav → talk.wav.segments.csv


def segments_to_csv(found: Sequence[Segment]) -> str:
    """One row per segment: times in seconds and as a clock (m:ss / h:mm:ss), label and mean
    confidence (both empty for a segment without speech), whether it was clipped (too loud), and
    whose voice it is (empty when voices were not told apart)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SEGMENTS_CSV_HEADER)
    for s in found:
        writer.writerow([f"{s.start_s:.4f}", f"{s.end_s:.4f}", format_clock(s.start_s), format_clock(s.end_s),
                         s.label or "", "" if s.confidence is None else f"{s.confidence:.6f}", int(s.clipped),
                         s.voice or ""])
    return out.getvalue()


@dataclass
class Timeline:
    """Points in time order for one recording or live session."""

    labels: tuple[str, ...]
    points: list[TimelinePoint] = field(default_factory=list)
    duration_s: float = 0.0
    # The last summary and segments, with the (points, end) they were computed for: an hour's
    # take about 8 ms, which a worker can spend so that the window's thread need not.
    _computed: dict[str, tuple[tuple[int, float], Any]] = field(default_factory=dict, init=False, repr=False,
                                                               compare=False)

    def extend(self, points: Iterable[TimelinePoint]) -> None:
        for point in points:
            self.points.append(point)
            self.duration_s = max(self.duration_s, point.end_s)

    def _once(self, what: str, compute):
        """``compute()``, or what it gave for the same points and end (points are only appended)."""
        key = (len(self.points), self.duration_s)
        known = self._computed.get(what)
        if known is None or known[0] != key:
            known = self._computed[what] = (key, compute())
        return known[1]

    def summary(self) -> Summary:
        """The :class:`Summary` of the speech windows (computed once per new point)."""
        return self._once("summary", self._summarise)

    def _summarise(self) -> Summary:
        speech = [p for p in self.points if p.is_speech and p.probabilities is not None]
        judged = [p for p in speech if not p.clipped]
        # Windows overlap; each stands for one hop of time, so speech time is hops, not
        # the union of windows (which would count the silence around every utterance).
        hop_s = _hop_s(self.points) if self.points else 0.0
        speech_s = min(len(speech) * hop_s, self.duration_s)
        clipped_s = min((len(speech) - len(judged)) * hop_s, speech_s)
        if not judged:
            return Summary(None, None, {label: 0.0 for label in self.labels}, speech_s, clipped_s)
        probs = np.array([[p.probabilities[label] for label in self.labels] for p in judged])
        mean = probs.mean(axis=0)
        counts = {label: 0 for label in self.labels}
        for p in judged:
            counts[p.label] += 1
        probabilities = {label: float(m) for label, m in zip(self.labels, mean)}
        shares = {label: counts[label] / len(judged) for label in self.labels}
        return Summary(label=headline(shares, probabilities), probabilities=probabilities, shares=shares,
                       speech_s=speech_s, clipped_s=clipped_s)

    def segments(self) -> list[Segment]:
        """The runs of one label, tiling ``0 … duration_s`` (see :func:`segments`; computed once
        per new point)."""
        return list(self._once("segments", lambda: segments(self.points, self.duration_s if self.points else None)))

    # ---- exports -------------------------------------------------------------------------
    def to_json_dict(self, file: str | None = None) -> dict[str, Any]:
        """The stable JSON form: ``{file, duration_s, labels, summary, timeline}``."""
        return {
            "file": file,
            "duration_s": round(self.duration_s, 4),
            "labels": list(self.labels),
            "summary": self.summary().to_dict(),
            "timeline": [p.to_dict() for p in self.points],
        }

    def to_csv(self) -> str:
        """One row per window: times, speech flag, label, confidence, one column per emotion,
        whether the window was clipped (recorded too loud) and whose voice it is (empty when
        voices were not told apart)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start_s", "end_s", "is_speech", "label", "confidence", *self.labels, "clipped", "voice"])
        for p in self.points:
            probs = [""] * len(self.labels) if p.probabilities is None \
                else [f"{p.probabilities[label]:.6f}" for label in self.labels]
            confidence = "" if p.confidence is None else f"{p.confidence:.6f}"
            writer.writerow([f"{p.start_s:.4f}", f"{p.end_s:.4f}", int(p.is_speech), p.label or "",
                             confidence, *probs, int(p.clipped), p.voice or ""])
        return out.getvalue()

    def save(self, path: str | os.PathLike, file: str | None = None) -> Path:
        """Write CSV or JSON, chosen by the extension of ``path`` (``.csv`` or ``.json``).

        The write is atomic (:func:`~moodline.engine.fileio.atomic_write`): an existing export
        is never left half-written, and a failure is one :class:`MoodlineError` line. ``file``
        (the recording's name) goes into JSON with non-UTF-8 bytes as ``\\udcXX`` escapes.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            text = self.to_csv()
        elif suffix == ".json":
            text = json.dumps(self.to_json_dict(file), indent=1) + "\n"
        else:
            raise MoodlineError(f"{path}: unknown timeline format '{suffix}' (use .csv or .json)")
        return atomic_write(path, text)

    def save_segments(self, path: str | os.PathLike) -> Path:
        """Write the segments as CSV (:func:`segments_to_csv`), atomically and privately."""
        return atomic_write(Path(path), segments_to_csv(self.segments()))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Timeline":
        """Read a timeline saved by :meth:`save` (JSON, or CSV by the ``.csv`` ending)."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".csv":
                return cls._from_csv(path.read_text(encoding="utf-8", errors="surrogateescape"))
            return cls._from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise MoodlineError(f"{path}: not a Moodline timeline ({exc})") from None

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> "Timeline":
        timeline = cls(tuple(data["labels"]))
        timeline.extend(TimelinePoint.from_dict(d) for d in data["timeline"])
        timeline.duration_s = float(data.get("duration_s", timeline.duration_s))
        return timeline

    @classmethod
    def _from_csv(cls, text: str) -> "Timeline":
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        if header[:5] != ["start_s", "end_s", "is_speech", "label", "confidence"]:
            raise ValueError("unknown columns")
        # Files written before Moodline told voices apart lack "voice"; before it flagged clipping,
        # "clipped" too.
        voiced = header[-1] == "voice"
        flags = header[:-1] if voiced else header
        flagged = flags[-1] == "clipped"
        labels = tuple(flags[5:-1] if flagged else flags[5:])
        timeline = cls(labels)
        timeline.extend(TimelinePoint(
            float(row[0]), float(row[1]),
            None if row[5] == "" else {label: float(v) for label, v in zip(labels, row[5:5 + len(labels)])},
            row[3] or None, None if row[4] == "" else float(row[4]), row[2] == "1",
            flagged and row[5 + len(labels)] == "1", (row[-1] or None) if voiced else None) for row in rows[1:])
        return timeline


def _hop_s(points: Sequence[TimelinePoint]) -> float:
    """The time between consecutive windows (a lone window's own length)."""
    steps = [b.start_s - a.start_s for a, b in zip(points, points[1:]) if b.start_s > a.start_s]
    return min(steps) if steps else points[0].end_s - points[0].start_s
