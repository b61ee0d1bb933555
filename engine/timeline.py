"""The emotion timeline: one point per analysed window, its summary, and its exports."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import MoodlineError
from .fileio import atomic_write


def format_clock(seconds: float) -> str:
    """A time as a person reads it: ``m:ss`` under an hour, ``h:mm:ss`` from an hour on.

    Rounded to the nearest whole second, halves up (59.5 s → ``1:00``, 59.4 s → ``0:59``): never
    more than half a second off, and the same moment reads the same on the axis, in the readout
    and in the terminal. Negative times get a leading minus.
    """
    total = math.floor(abs(seconds) + 0.5)
    sign = "-" if seconds < 0 and total else ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


@dataclass(frozen=True)
class TimelinePoint:
    """What one window of audio sounded like.

    Windows without speech carry no emotion: ``label``, ``confidence`` and ``probabilities``
    are ``None`` and ``is_speech`` is false.
    """

    start_s: float
    end_s: float
    probabilities: dict[str, float] | None
    label: str | None
    confidence: float | None
    is_speech: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "is_speech": self.is_speech,
            "label": self.label,
            "confidence": None if self.confidence is None else round(self.confidence, 6),
            "probabilities": None if self.probabilities is None
            else {k: round(v, 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TimelinePoint":
        return cls(float(d["start_s"]), float(d["end_s"]), d.get("probabilities"), d.get("label"),
                   d.get("confidence"), bool(d["is_speech"]))


@dataclass(frozen=True)
class Summary:
    """A file's (or session's) emotion in brief.

    ``label`` is the argmax of the mean probabilities over speech windows, or ``None`` when
    nothing was said; ``shares`` is each emotion's share of the speech windows;
    ``speech_s`` is the speech time: one hop per speech window.
    """

    label: str | None
    probabilities: dict[str, float] | None
    shares: dict[str, float]
    speech_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": None if self.probabilities is None
            else {k: round(v, 6) for k, v in self.probabilities.items()},
            "shares": {k: round(v, 6) for k, v in self.shares.items()},
            "speech_s": round(self.speech_s, 3),
        }


@dataclass
class Timeline:
    """Points in time order for one recording or live session."""

    labels: tuple[str, ...]
    points: list[TimelinePoint] = field(default_factory=list)
    duration_s: float = 0.0

    def extend(self, points: Iterable[TimelinePoint]) -> None:
        for point in points:
            self.points.append(point)
            self.duration_s = max(self.duration_s, point.end_s)

    def summary(self) -> Summary:
        speech = [p for p in self.points if p.is_speech and p.probabilities is not None]
        if not speech:
            return Summary(None, None, {label: 0.0 for label in self.labels}, 0.0)
        probs = np.array([[p.probabilities[label] for label in self.labels] for p in speech])
        mean = probs.mean(axis=0)
        counts = {label: 0 for label in self.labels}
        for p in speech:
            counts[p.label] += 1
        return Summary(
            label=self.labels[int(np.argmax(mean))],
            probabilities={label: float(m) for label, m in zip(self.labels, mean)},
            shares={label: counts[label] / len(speech) for label in self.labels},
            # Windows overlap; each stands for one hop of time, so speech time is hops, not
            # the union of windows (which would count the silence around every utterance).
            speech_s=min(len(speech) * _hop_s(self.points), self.duration_s),
        )

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
        """One row per window: times, speech flag, label, confidence, one column per emotion."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start_s", "end_s", "is_speech", "label", "confidence", *self.labels])
        for p in self.points:
            probs = [""] * len(self.labels) if p.probabilities is None \
                else [f"{p.probabilities[label]:.6f}" for label in self.labels]
            confidence = "" if p.confidence is None else f"{p.confidence:.6f}"
            writer.writerow([f"{p.start_s:.4f}", f"{p.end_s:.4f}", int(p.is_speech), p.label or "",
                             confidence, *probs])
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

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Timeline":
        """Read a timeline saved as JSON."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            timeline = cls(tuple(data["labels"]))
            timeline.extend(TimelinePoint.from_dict(d) for d in data["timeline"])
            timeline.duration_s = float(data.get("duration_s", timeline.duration_s))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MoodlineError(f"{path}: not a Moodline timeline ({exc})") from None
        return timeline


def _hop_s(points: Sequence[TimelinePoint]) -> float:
    """The time between consecutive windows (a lone window's own length)."""
    steps = [b.start_s - a.start_s for a, b in zip(points, points[1:]) if b.start_s > a.start_s]
    return min(steps) if steps else points[0].end_s - points[0].start_s
