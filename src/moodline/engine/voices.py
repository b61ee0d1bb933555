"""Enrolled voices: a person speaking normally for about 20 s, kept privately: the voice a
session tells from others (:mod:`.speakers`) and the reference its adaptation starts from.

A listener reads emotion against a person's ordinary voice. Without enrolment a session learns
that voice as it listens (see :mod:`.adaptation`); with it, the session starts from the
statistics of the person's ordinary speech and so reads the first minutes the way it reads the
rest. A voice is kept as its recording (``NAME.wav``, mode 0600, in :func:`voices_dir`), not
as statistics or embeddings: every model has an embedding space of its own, and the recording
serves any model, now or later, at the cost of encoding about 40 windows when a session starts
(0.2–0.5 s).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from .analysis import CLIPPED_SHARE, AnalysisSettings, WindowClassifier, new_slicer
from .audio import audio_blocks
from .errors import MoodlineError
from .fileio import atomic_output, make_private_dir
from .model import EmotionModel
from .sources import FIRST_AUDIO_WAIT_S
from .speakers import EMBEDDING_DIMS, OTHER, Enrolment, VoiceSeparation, shipped_encoder

ENROL_S = 20.0  # "speak normally for 20 s"
MIN_SPEECH_S = 8.0  # less ordinary speech than this is too little to be a reference
MAX_ENROL_S = 120.0  # a longer file gives its first two minutes
VOICE_SUFFIX = ".wav"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,39}")
# Names Windows keeps for devices, whatever the suffix: a voice named so could not be stored.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def voices_dir() -> Path:
    """Where enrolled voices are kept: ``$MOODLINE_VOICES_DIR``, else a ``voices`` folder in
    the user's configuration folder for Moodline (beside the window's settings on Linux)."""
    given = os.environ.get("MOODLINE_VOICES_DIR")
    if given:
        return Path(given)
    from platformdirs import user_config_dir

    return Path(user_config_dir("Moodline", appauthor=False, roaming=True)) / "voices"


def check_voice_name(name: str) -> str:
    """``name`` if it can name a voice (and its file on every system), else :class:`MoodlineError`."""
    if not _NAME.fullmatch(name) or name.rstrip() != name or name.lower() in _RESERVED:
        raise MoodlineError(f"voice name {name!r}: use 1 to 40 letters, digits, spaces, '-' or '_', "
                            "starting with a letter or digit")
    return name


def voice_path(name: str, folder: Path | None = None) -> Path:
    return (folder or voices_dir()) / (check_voice_name(name) + VOICE_SUFFIX)


def voice_names(folder: Path | None = None) -> list[str]:
    """The enrolled voices, by name."""
    folder = folder or voices_dir()
    try:
        files = sorted(folder.iterdir())
    except OSError:
        return []
    return [f.stem for f in files if f.suffix == VOICE_SUFFIX and _NAME.fullmatch(f.stem) and f.is_file()]


def find_voice(name: str, folder: Path | None = None) -> Path:
    """The recording of the enrolled voice ``name``; one line naming the known ones if none."""
    path = voice_path(name, folder)
    if not path.is_file():
        known = voice_names(folder)
        listed = ", ".join(known) if known else "none yet: moodline enrol --voice NAME"
        raise MoodlineError(f"no voice named {name!r} (enrolled: {listed})")
    return path


def enrolment_from(name: str, path: str | os.PathLike, model: EmotionModel,
                   settings: AnalysisSettings = AnalysisSettings()) -> tuple[Enrolment, int]:
    """The enrolled voice in the recording at ``path`` as a session with ``model`` uses it, and
    how many speech windows it was learnt from, found by the same voice gate and windows a
    session uses: its speaker embedding (the mean of its speech windows', see
    :mod:`.speakers`) and, for a model that adapts (and ``settings.adapt``), the statistics of
    the model's embeddings. Windows recorded too loud are left out of both."""
    settings = settings.check()
    session = WindowClassifier(model, settings)
    slicer = new_slicer(model, settings, keep_audio=True)
    encoder = shipped_encoder()
    total, count = np.zeros(EMBEDDING_DIMS), 0

    def take(windows) -> None:
        nonlocal total, count
        heard = [w for w in windows if session.is_speech(w) and w.clipped_fraction < CLIPPED_SHARE]
        if heard:
            embedded = encoder.embed_windows([w.samples for w in heard])
            embedded = embedded[~np.isnan(embedded).any(axis=1)]  # too little voice to say whose
            total = total + embedded.sum(axis=0)
            count += len(embedded)
        if session.adapters:  # the emotion model's statistics: only for a model that adapts
            session.finish(session.encode(windows))

    for block in audio_blocks(path, model.info.sample_rate_hz):
        take(slicer.push(block))
    take(slicer.flush())
    norm = np.linalg.norm(total)
    reference = (total / norm if norm > 0 else total).astype(np.float32)
    baseline = session.adapters[OTHER].baseline() if session.adapters else None
    return Enrolment(name, VoiceSeparation(reference), baseline), count


def speech_seconds(windows: int, settings: AnalysisSettings) -> float:
    """About how much speech ``windows`` speech windows hold (one hop each)."""
    return windows * settings.hop_s


def save_voice(name: str, audio: np.ndarray, sample_rate_hz: int, model: EmotionModel,
               settings: AnalysisSettings = AnalysisSettings(), folder: Path | None = None) -> float:
    """Keep ``audio`` (mono) as the voice ``name`` if it holds enough speech to be a reference;
    returns the seconds of speech found. Nothing is kept (and :class:`MoodlineError` says why)
    when it holds too little. Replaces an earlier enrolment of the same name."""
    target = voice_path(name, folder)
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)[: round(MAX_ENROL_S * sample_rate_hz)]
    make_private_dir(target.parent)
    trial = target.with_name(f".{target.stem}.{os.getpid()}.trial{VOICE_SUFFIX}")
    try:
        with atomic_output(trial) as tmp:  # soundfile: a file's 16-bit samples are kept exactly
            sf.write(tmp, audio, sample_rate_hz, format="WAV", subtype="PCM_16")
        heard = speech_seconds(enrolment_from(name, trial, model, settings)[1], settings)
        if heard < MIN_SPEECH_S:
            raise MoodlineError(
                f"voice {name!r}: heard {heard:.1f} s of speech in {len(audio) / sample_rate_hz:.1f} s, "
                f"fewer than the {MIN_SPEECH_S:g} s a reference needs; nothing saved (speak for longer, "
                "nearer the microphone)")
        os.replace(trial, target)
    finally:
        trial.unlink(missing_ok=True)
    return heard


def enrolled_voice(name: str | None, model: EmotionModel,
                   settings: AnalysisSettings = AnalysisSettings()) -> Enrolment | None:
    """The enrolled voice ``name`` as a session with ``model`` uses it (``None`` when no voice
    is named): told apart from other voices always, and the start of its adaptation when the
    model adapts and adaptation is on."""
    if not name:
        return None
    return enrolment_from(name, find_voice(name), model, settings)[0]


class VoiceRecording:
    """``seconds`` of an input source (a :class:`~.sources.MicrophoneSource`, or anything with
    its ``ring``, ``sample_rate_hz``, ``device``, ``active``, ``start()`` and ``stop()``) for an
    enrolment. Poll :attr:`done` and :meth:`problem`; :meth:`stop` gives the audio."""

    def __init__(self, source, seconds: float = ENROL_S) -> None:
        self.source = source
        self.wanted = round(seconds * source.sample_rate_hz)
        if source.ring.capacity < self.wanted:
            raise MoodlineError(f"cannot record {seconds:g} s: the input keeps only "
                                f"{source.ring.capacity / source.sample_rate_hz:g} s")
        self.seconds = seconds
        self._started = 0.0

    def start(self) -> None:
        self.source.start()
        self._started = time.monotonic()

    @property
    def seconds_recorded(self) -> float:
        return min(self.source.ring.written, self.wanted) / self.source.sample_rate_hz

    @property
    def done(self) -> bool:
        return self.source.ring.written >= self.wanted

    def problem(self) -> str | None:
        """Why the recording cannot finish (the device stopped delivering), or ``None``."""
        late = time.monotonic() - self._started > self.seconds + FIRST_AUDIO_WAIT_S
        if not self.done and (not self.source.active or late):
            return f"audio input '{self.source.device.name}': stopped delivering audio"
        return None

    def stop(self) -> np.ndarray:
        """Close the input; the audio recorded (at ``source.sample_rate_hz``)."""
        self.source.stop()
        return self.source.ring.read(0, self.wanted)[1]


def forget_voice(name: str, folder: Path | None = None) -> None:
    path = find_voice(name, folder)
    try:
        path.unlink()
    except OSError as exc:
        raise MoodlineError(f"{path}: cannot remove ({exc.strerror or exc})") from None
