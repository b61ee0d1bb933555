"""Decoding audio files into mono float32 at the model's sample rate, block by block.

WAV, FLAC, OGG/Vorbis, MP3 and the other formats libsndfile knows are read through soundfile;
anything else (M4A/AAC, Opus, WMA, ...) goes through the ``ffmpeg`` program when it is
installed. Channels are averaged to mono and the rate converted with soxr's high-quality
streaming resampler, so a file of any length is decoded in bounded memory.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import AudioError, first_line

# Extensions we offer when walking folders; anything libsndfile or FFmpeg decodes is accepted
# when named directly.
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64",
    ".m4a", ".mp4", ".aac", ".opus", ".wma", ".webm", ".mka",
})
_LIBSNDFILE_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64"})
BLOCK_S = 10.0  # decode this many seconds at a time


class _Resampler:
    """Stream resampling (soxr HQ) that passes audio through untouched when rates agree."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        self._stream = None
        if in_rate_hz != out_rate_hz:
            import soxr

            self._stream = soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, dtype="float32", quality="HQ")

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        return self._stream.resample_chunk(block, last=last)


def _soundfile_blocks(path: Path, block_s: float) -> tuple[int, Iterator[np.ndarray]]:
    import soundfile as sf

    try:
        handle = sf.SoundFile(str(path))
    except sf.LibsndfileError as exc:
        raise AudioError(f"{path}: not a readable audio file ({first_line(exc).lower()})") from None
    frames = max(1, int(block_s * handle.samplerate))

    def blocks() -> Iterator[np.ndarray]:
        read = 0
        with handle:
            while True:
                try:
                    block = handle.read(frames, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioError(f"{path}: corrupt or truncated ({first_line(exc)})") from None
                if len(block) == 0:
                    break
                read += len(block)
                yield block
        # libsndfile stops quietly at the end of the data it has; a header promising more
        # means the file was cut short.
        if handle.frames > 0 and read < handle.frames and handle.seekable():
            raise AudioError(
                f"{path}: truncated (header says {handle.frames / handle.samplerate:.2f} s, "
                f"file holds {read / handle.samplerate:.2f} s)")

    return handle.samplerate, blocks()


def _ffmpeg_blocks(path: Path, block_s: float) -> tuple[int, Iterator[np.ndarray]]:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    kind = path.suffix.lstrip(".").upper() or "this"
    if not (ffmpeg and ffprobe):
        raise AudioError(f"{path}: cannot decode {kind} audio: it needs FFmpeg, which is not installed")
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=sample_rate,channels", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL)
    fields = probe.stdout.strip().split(",")
    if probe.returncode != 0 or len(fields) < 2 or not all(f.strip().isdigit() for f in fields[:2]):
        raise AudioError(f"{path}: not a supported audio file")
    rate, channels = int(fields[0]), int(fields[1])
    frames = int(block_s * rate)

    def blocks() -> Iterator[np.ndarray]:
        proc = subprocess.Popen(
            [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
             "-f", "f32le", "-acodec", "pcm_f32le", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            while True:
                data = proc.stdout.read(frames * channels * 4)
                if not data:
                    break
                usable = len(data) - len(data) % (channels * 4)
                yield np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
            errors = proc.stderr.read().decode(errors="replace").strip()
            if proc.wait() != 0:
                raise AudioError(f"{path}: corrupt or truncated ({errors.splitlines()[0] if errors else 'ffmpeg failed'})")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    return rate, blocks()


def audio_blocks(path: str | os.PathLike, sample_rate_hz: int, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of ``path`` resampled to ``sample_rate_hz``.

    Raises :class:`AudioError` (naming the file) for a missing, unreadable, corrupt, truncated
    or empty file, or one holding NaN or infinite samples. Errors found part-way through come
    from the generator after the blocks before them.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (zero length)")
    try:
        in_rate, blocks = _soundfile_blocks(path, block_s)
    except AudioError:
        if path.suffix.lower() in _LIBSNDFILE_EXTENSIONS:
            raise  # libsndfile's own format with a header it cannot read: the file is damaged
        in_rate, blocks = _ffmpeg_blocks(path, block_s)
    return _mono_resampled(path, in_rate, sample_rate_hz, blocks)


def _mono_resampled(path: Path, in_rate: int, out_rate: int, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    resample = _Resampler(in_rate, out_rate)
    total = 0
    for block in blocks:
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        if not np.all(np.isfinite(mono)):
            raise AudioError(f"{path}: contains NaN or infinite samples")
        total += len(mono)
        out = resample(np.ascontiguousarray(mono))
        if len(out):
            yield out
    if total == 0:
        raise AudioError(f"{path}: no audio (zero samples)")
    tail = resample(np.zeros(0, dtype=np.float32), last=True)
    if len(tail):
        yield tail


def load_audio(path: str | os.PathLike, sample_rate_hz: int) -> np.ndarray:
    """The whole of ``path`` as one mono float32 array at ``sample_rate_hz`` (short clips)."""
    blocks = list(audio_blocks(path, sample_rate_hz))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def find_audio_files(path: str | os.PathLike) -> list[Path]:
    """``path`` itself if it is a file, else the audio files below it, sorted, recursively."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
