"""Emotional-speech corpora: clips with their emotion and speaker, parsed from each corpus's layout.

Every loader returns a :class:`Corpus`: the clips it could label on Moodline's vocabulary
(:data:`EMOTIONS`) and a count of the files it dropped because their label has no place in it
(EmoDB's boredom, MSP-IMPROV's "other", ...). Nothing is ever mislabelled to fit.

Speaker ids are prefixed with the corpus name (``ravdess:07``, ``tess:OAF``) so two corpora
can never share a speaker by accident. Only file names are read here; audio is decoded later.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from moodline.engine.audio import find_audio_files

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
GENDERS = ("female", "male")

# Label spellings seen in the wild, for the generic loaders (folder names, CSV manifests).
_ALIASES = {
    "neutral": "neutral", "neu": "neutral", "n": "neutral",
    "calm": "calm",
    "happy": "happy", "happiness": "happy", "hap": "happy", "joy": "happy", "h": "happy",
    "sad": "sad", "sadness": "sad",
    "angry": "angry", "anger": "angry", "ang": "angry", "mad": "angry", "a": "angry",
    "fearful": "fearful", "fear": "fearful", "fea": "fearful", "afraid": "fearful", "f": "fearful",
    "disgust": "disgust", "disgusted": "disgust", "dis": "disgust", "d": "disgust",
    "surprised": "surprised", "surprise": "surprised", "sur": "surprised", "ps": "surprised",
    "pleasant_surprise": "surprised", "pleasant_surprised": "surprised",
}


class CorpusError(Exception):
    """A corpus path or name a user gave that cannot be used (message is one line)."""


@dataclass(frozen=True)
class Clip:
    """One labelled recording. ``key`` identifies it (and every augmented copy made from it)."""

    path: Path
    label: str
    speaker: str
    corpus: str

    @property
    def key(self) -> str:
        return f"{self.corpus}:{self.path}"


@dataclass
class Corpus:
    """The clips of one corpus and what was dropped while reading it."""

    name: str
    clips: list[Clip]
    dropped: Counter = field(default_factory=Counter)  # unmappable label -> files

    @property
    def speakers(self) -> list[str]:
        return sorted({c.speaker for c in self.clips})

    def summary(self) -> str:
        """One line for the console: clips, speakers, labels, and what was dropped."""
        counts = Counter(c.label for c in self.clips)
        text = (f"{self.name}: {len(self.clips)} clips, {len(self.speakers)} speakers, "
                + ", ".join(f"{label} {counts[label]}" for label in sorted(counts)))
        if self.dropped:
            text += "; dropped " + ", ".join(f"{n} '{lab}'" for lab, n in sorted(self.dropped.items()))
        return text


def map_label(name: str) -> str | None:
    """Moodline's name for a free-form emotion label, or None when it has none."""
    return _ALIASES.get(name.strip().lower().replace(" ", "_").replace("-", "_"))


def _files(root: Path) -> list[Path]:
    if not root.exists():
        raise CorpusError(f"{root}: no such folder")
    if not root.is_dir():
        raise CorpusError(f"{root}: not a folder")
    return find_audio_files(root)


def _build(name: str, items: list[tuple[Path, str | None, str, str]]) -> Corpus:
    """Corpus from (path, label or None, raw label, speaker) rows; None labels are counted as dropped."""
    corpus = Corpus(name, [])
    for path, label, raw, speaker in items:
        if label is None:
            corpus.dropped[raw] += 1
        else:
            corpus.clips.append(Clip(path, label, f"{name}:{speaker}", name))
    return corpus


# --- RAVDESS --------------------------------------------------------------------------------
# 03-01-05-02-01-01-12.flac: modality, channel (01 speech, 02 song), emotion, intensity,
# statement, repetition, actor (odd male, even female).
_RAVDESS_EMOTIONS = dict(zip(("01", "02", "03", "04", "05", "06", "07", "08"), EMOTIONS))
_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def load_ravdess(root: str | os.PathLike, channels: tuple[str, ...] = ("speech", "song"),
                 gender_labels: bool = False) -> Corpus:
    """RAVDESS audio (``Actor_NN/03-CC-EE-II-SS-RR-NN.wav``), speech and/or song.

    ``gender_labels`` gives the 16-class labelling ``female_angry``, ``male_calm``, ...
    Video-only files (modality 02) and unparseable names are skipped.
    """
    wanted = {"speech": "01", "song": "02"}
    codes = {wanted[c] for c in channels}
    items = []
    for path in _files(Path(root)):
        match = _RAVDESS_NAME.match(path.stem)
        if not match or match[1] == "02" or match[2] not in codes:
            continue
        emotion, actor = _RAVDESS_EMOTIONS.get(match[3]), match[7]
        if emotion and gender_labels:
            emotion = f"{GENDERS[int(actor) % 2]}_{emotion}"
        items.append((path, emotion, match[3], actor))
    return _build("ravdess", items)


# --- TESS -----------------------------------------------------------------------------------
# OAF_Fear/OAF_back_fear.wav: speaker, word, emotion (last field). One file says "OA".
def load_tess(root: str | os.PathLike) -> Corpus:
    """Toronto Emotional Speech Set: ``<SPK>_<word>_<emotion>.wav``, speakers OAF and YAF."""
    items = []
    for path in _files(Path(root)):
        parts = path.stem.split("_")
        if len(parts) < 3:
            continue
        speaker = {"OA": "OAF", "YA": "YAF"}.get(parts[0].upper(), parts[0].upper())
        raw = parts[-1].lower()
        items.append((path, map_label(raw), raw, speaker))
    return _build("tess", items)


# --- SAVEE ----------------------------------------------------------------------------------
# AudioData/DC/sa03.wav (original release) or DC_sa03.wav (common flattened copies).
_SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fearful", "h": "happy", "n": "neutral",
                   "sa": "sad", "su": "surprised"}
_SAVEE_NAME = re.compile(r"^(?:([A-Za-z]{2})_)?([a-z]+)(\d+)$")


def load_savee(root: str | os.PathLike) -> Corpus:
    """Surrey Audio-Visual Expressed Emotion: speakers DC, JE, JK, KL; emotion code + number."""
    items = []
    for path in _files(Path(root)):
        match = _SAVEE_NAME.match(path.stem)
        if not match:
            continue
        speaker = (match[1] or path.parent.name).upper()
        items.append((path, _SAVEE_EMOTIONS.get(match[2]), match[2], speaker))
    return _build("savee", items)


# --- CREMA-D --------------------------------------------------------------------------------
# AudioWAV/1001_DFA_ANG_XX.wav: actor, sentence, emotion, intensity.
_CREMA_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy",
                   "NEU": "neutral", "SAD": "sad"}


def load_crema_d(root: str | os.PathLike) -> Corpus:
    """CREMA-D: ``<actor>_<sentence>_<EMO>_<intensity>.wav``, 91 actors."""
    items = []
    for path in _files(Path(root)):
        parts = path.stem.split("_")
        if len(parts) != 4 or not parts[0].isdigit():
            continue
        items.append((path, _CREMA_EMOTIONS.get(parts[2].upper()), parts[2], parts[0]))
    return _build("crema_d", items)


# --- EmoDB ----------------------------------------------------------------------------------
# wav/03a01Fa.wav: speaker (2 digits), text (3), emotion letter (German), version.
_EMODB_EMOTIONS = {"W": "angry", "E": "disgust", "A": "fearful", "F": "happy", "T": "sad",
                   "N": "neutral", "L": None}  # L = Langeweile (boredom): not in the vocabulary
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])$")


def load_emodb(root: str | os.PathLike) -> Corpus:
    """Berlin EmoDB: ``<speaker><text><emotion><version>.wav``; boredom is dropped."""
    items = []
    for path in _files(Path(root)):
        match = _EMODB_NAME.match(path.stem)
        if not match:
            continue
        raw = {"L": "boredom"}.get(match[3], match[3])
        items.append((path, _EMODB_EMOTIONS.get(match[3]), raw, match[1]))
    return _build("emodb", items)


# --- MSP-IMPROV -----------------------------------------------------------------------------
# Audio/session1/S01A/R/MSP-IMPROV-S01A-F01-R-FM01.wav: sentence + target emotion (S01A),
# speaker as gender + session (F01), scenario type (R read, S improvised, T target, P natural).
# The perceptual labels are in Evaluation.txt ("UTD-IMPROV-S01A-F01-R-FM01.avi; A; ..."):
# A angry, H happy, S sad, N neutral, O other (dropped). Without that file, the target emotion
# of the scenario in the name is used.
_MSP_EMOTIONS = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral", "O": None, "X": None}
_MSP_NAME = re.compile(r"^(?:MSP|UTD)-IMPROV-S\d\d([AHSN])-([FM]\d\d)-([A-Z])-([A-Z]{2}\d\d)$")


def _msp_evaluations(root: Path) -> dict[str, str]:
    labels = {}
    for txt in root.rglob("*.txt"):
        with open(txt, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = [f.strip() for f in line.split(";")]
                if len(fields) >= 2 and "-IMPROV-" in fields[0]:
                    stem = Path(fields[0]).stem.replace("UTD-IMPROV", "MSP-IMPROV")
                    labels[stem] = fields[1][:1].upper()
    return labels


def load_msp_improv(root: str | os.PathLike) -> Corpus:
    """MSP-IMPROV as licensed: consensus labels from ``Evaluation.txt``, else the scenario target."""
    root = Path(root)
    files = _files(root)
    consensus = _msp_evaluations(root)
    items = []
    for path in files:
        match = _MSP_NAME.match(path.stem)
        if not match:
            continue
        code = consensus.get(path.stem.replace("UTD-IMPROV", "MSP-IMPROV"), match[1])
        items.append((path, _MSP_EMOTIONS.get(code), code, match[2]))
    return _build("msp_improv", items)


# --- nEMO -----------------------------------------------------------------------------------
# samples/EB0_anger_1.ogg (the release's .wav names work too): speaker, emotion, sentence number.
# Nine actors (EB0 IC0 KD0 KS0 MK0 MP0 SM0 TP0 WR0); emotions anger, fear, happiness, neutral,
# sadness, surprised.
_NEMO_NAME = re.compile(r"^([A-Z]{2}\d)_([a-z]+)_(\d+)$")


def load_nemo(root: str | os.PathLike) -> Corpus:
    """nEMO (Polish): ``samples/<speaker>_<emotion>_<sentence>.ogg``, nine speakers."""
    items = []
    for path in _files(Path(root)):
        match = _NEMO_NAME.match(path.stem)
        if match:
            items.append((path, map_label(match[2]), match[2], match[1]))
    return _build("nemo", items)


# --- Your own data --------------------------------------------------------------------------
def load_folder(root: str | os.PathLike) -> Corpus:
    """A folder per label (``angry/…``), optionally a folder per speaker inside (``angry/ann/…``).

    Files directly in a label folder get the speaker ``unknown``: such a corpus can be
    training data but cannot carry a speaker-independent evaluation.
    """
    root = Path(root)
    items = []
    for path in _files(root):
        parts = path.relative_to(root).parts
        raw = parts[0] if len(parts) > 1 else ""
        speaker = parts[1] if len(parts) > 2 else "unknown"
        items.append((path, map_label(raw), raw or "(no label folder)", speaker))
    return _build("folder", items)


def load_manifest(csv_path: str | os.PathLike) -> Corpus:
    """A CSV manifest with columns ``path,label,speaker`` (header optional; paths relative to it)."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise CorpusError(f"{csv_path}: no such manifest file")
    items = []
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.reader(handle), 1):
            if not row or row[0].strip().startswith("#"):
                continue
            if line_no == 1 and [c.strip().lower() for c in row[:3]] == ["path", "label", "speaker"]:
                continue
            if len(row) < 3:
                raise CorpusError(f"{csv_path}:{line_no}: expected path,label,speaker")
            path = Path(row[0].strip())
            path = path if path.is_absolute() else csv_path.parent / path
            if not path.is_file():
                raise CorpusError(f"{csv_path}:{line_no}: {path}: no such file")
            raw = row[1].strip()
            items.append((path, map_label(raw), raw, row[2].strip() or "unknown"))
    return _build("csv", items)


UNLABELLED_TRAINING_SPEAKERS = 100  # the first speakers of an unlabelled set; the rest stay unheard


def load_unlabelled(root: str | os.PathLike, max_speakers: int = UNLABELLED_TRAINING_SPEAKERS,
                    held_out: bool = False) -> Corpus:
    """Ordinary speech without emotion labels (e.g. speechocean762's ``WAVE/SPEAKERnnnn/``): the
    first ``max_speakers`` speaker folders in sorted order (for training: babble, distillation),
    or with ``held_out`` the others (never heard in training: for checks).

    Its clips carry the label ``""``: a teacher labels them (distillation); they are never scored
    and never treated as any emotion, "neutral" included.
    """
    root = Path(root)
    folders = sorted({path.parent for path in _files(root)})
    folders = folders[max_speakers:] if held_out else folders[:max_speakers]
    clips = [Clip(path, "", f"unlabelled:{folder.name}", "unlabelled")
             for folder in folders for path in find_audio_files(folder)]
    if not clips:
        raise CorpusError(f"{root}: no audio files found")
    return Corpus("unlabelled", clips)


LOADERS: dict[str, Callable[..., Corpus]] = {
    "ravdess": load_ravdess,
    "ravdess-speech": lambda root: load_ravdess(root, channels=("speech",)),
    "ravdess-song": lambda root: load_ravdess(root, channels=("song",)),
    "ravdess-gender": lambda root: load_ravdess(root, gender_labels=True),
    "tess": load_tess,
    "savee": load_savee,
    "crema-d": load_crema_d,
    "emodb": load_emodb,
    "msp-improv": load_msp_improv,
    "nemo": load_nemo,
    "folder": load_folder,
    "csv": load_manifest,
}


def load_corpus(name: str, path: str | os.PathLike) -> Corpus:
    """Read the corpus ``name`` (a key of :data:`LOADERS`) at ``path``; refuse an empty one."""
    key = name.strip().lower().replace("_", "-")
    if key not in LOADERS:
        raise CorpusError(f"unknown corpus '{name}' (known: {', '.join(LOADERS)})")
    corpus = LOADERS[key](path)
    if not corpus.clips:
        raise CorpusError(f"{path}: no {key} audio files found with a usable label")
    return corpus


def parse_data_arg(text: str) -> tuple[str, Path]:
    """``"ravdess=/data/RAVDESS"`` → ``("ravdess", Path("/data/RAVDESS"))``."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise CorpusError(f"--data {text}: expected NAME=PATH, e.g. ravdess=/data/RAVDESS")
    return name.strip(), Path(path).expanduser()


def label_order(labels: set[str]) -> tuple[str, ...]:
    """The model's output order: the vocabulary order (gender-major for 16-class labels)."""
    order = list(EMOTIONS) + [f"{g}_{e}" for g in GENDERS for e in EMOTIONS]
    known = [x for x in order if x in labels]
    return tuple(known + sorted(labels - set(known)))
