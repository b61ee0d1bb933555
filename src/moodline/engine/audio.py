"""Decoding audio files into mono float32 at the model's sample rate, block by block.

WAV, FLAC, OGG/Vorbis, MP3 and the other formats libsndfile knows are read through soundfile;
anything else (M4A/AAC, Opus, WMA, ...) goes through the ``ffmpeg`` program when it is
installed. Channels are averaged to mono and the rate converted with soxr's high-quality
streaming resampler, so a file of any length is decoded in bounded memory.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import AudioError, first_line
from .fileio import native_stderr_silenced, os_error_text

# Extensions we offer when walking folders; anything libsndfile or FFmpeg decodes is accepted
# when named directly.
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64",
    ".m4a", ".mp4", ".aac", ".opus", ".wma", ".webm", ".mka",
})
_LIBSNDFILE_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64"})
BLOCK_S = 10.0  # decode this many seconds at a time
# Files whose header gives a sample rate outside this range are refused before decoding: a
# "1 Hz" header on a small file would otherwise cost a minute of resampling and hundreds of MB.
MIN_SAMPLE_RATE_HZ = 2_000
MAX_SAMPLE_RATE_HZ = 768_000
# Float files may go past full scale a little (headroom kept by an editor); 60 dB past it is not
# audio but garbage read as samples, and its squares overflow float32 in the features.
MAX_SAMPLE = 1000.0
MAX_BLOCK_SAMPLES = 8_000_000  # samples of all channels in one decoded block (32 MB of float32)
# Data sizes that streaming writers put in a header they cannot go back and fix (ffmpeg to a
# pipe writes 0xFFFFFFFF, arecord 0x7FFFFFFF, a writer killed before closing leaves 0): they
# mean "unknown", not "this much audio", so they never make a file count as truncated.
_UNKNOWN_DATA_SIZES = frozenset({0, 0x7FFFF000, 0x7FFFFFFF, 0xFFFFFFFF})
_PCM_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4,
                     "DOUBLE": 8, "ULAW": 1, "ALAW": 1}


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


class _NotLibsndfileAudio(AudioError):
    """libsndfile could not open the file: damaged, or a format only FFmpeg knows."""


def _checked_regular_file(path: Path) -> int:
    """The size of ``path`` after making sure it is a regular file we may read.

    Checked before any library opens it: opening a FIFO would wait for a writer forever, and
    libsndfile reports a missing permission as "system error".
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read ({os_error_text(exc)})") from None
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not stat.S_ISREG(status.st_mode):
        what = ("a named pipe" if stat.S_ISFIFO(status.st_mode) else "a socket" if stat.S_ISSOCK(status.st_mode)
                else "a device")
        raise AudioError(f"{path}: not a regular file ({what})")
    if status.st_size == 0:
        raise AudioError(f"{path}: empty file (zero length)")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AudioError(f"{path}: cannot read ({os_error_text(exc)})") from None
    return status.st_size


def _library_path(path: Path) -> str | bytes:
    """``path`` for a C library: bytes on POSIX, so names that are not valid UTF-8 still open."""
    return str(path) if os.name == "nt" else os.fsencode(path)


def _declared_data_bytes(path: Path, file_size: int) -> tuple[int, int] | None:
    """(audio bytes the header declares, audio bytes the file holds) for WAV/RF64, AIFF, AU and W64.

    libsndfile quietly reads what is there when a header promises more, so a file cut short
    (a copy interrupted, a download stopped) would pass as complete; the header says how much
    audio there should be. ``None`` for other formats and for sizes a writer left unknown.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12:
            return None
        kind, form = head[:4], head[8:12]

        def chunks(order: str):  # (id, size, offset of the chunk's body)
            pos = 12
            while pos + 8 <= file_size:
                handle.seek(pos)
                header = handle.read(8)
                size = int.from_bytes(header[4:], order)
                yield header[:4], size, pos + 8
                pos += 8 + size + (size & 1)  # chunks are padded to an even length

        if kind in (b"RIFF", b"RIFX", b"RF64", b"BW64") and form == b"WAVE":
            ds64_data = None
            for cid, size, body in chunks("big" if kind == b"RIFX" else "little"):
                if cid == b"ds64":  # RF64 keeps the real 64-bit data size here
                    ds64_data = int.from_bytes(handle.read(16)[8:16], "little")
                if cid == b"data":
                    declared = ds64_data if size == 0xFFFFFFFF and ds64_data else size
                    return declared, file_size - body
            return None
        if kind == b"FORM" and form in (b"AIFF", b"AIFC"):
            for cid, size, body in chunks("big"):
                if cid == b"SSND":  # 8 bytes of offset and block size come before the audio
                    return size - 8, file_size - body - 8
            return None
        if kind == b".snd":
            offset, declared = int.from_bytes(head[4:8], "big"), int.from_bytes(head[8:12], "big")
            return declared, file_size - offset
        handle.seek(0)
        head = handle.read(40)
        if head[:16] == _W64_RIFF and head[24:40] == _W64_WAVE:
            # Sony Wave64: 16-byte GUIDs for chunk ids, 64-bit sizes that count the 24-byte
            # chunk header, chunks aligned to 8 bytes.
            pos = 40
            while pos + 24 <= file_size:
                handle.seek(pos)
                header = handle.read(24)
                size = int.from_bytes(header[16:], "little")
                if header[:16] == _W64_DATA:
                    return size - 24, file_size - pos - 24
                if size < 24:
                    return None
                pos += (size + 7) // 8 * 8
    return None


_W64_RIFF = bytes.fromhex("726966662e91cf11a5d628db04c10000")  # "riff" and the rest of its GUID
_W64_WAVE = bytes.fromhex("77617665f3acd3118cd100c04f8edb8a")
_W64_DATA = bytes.fromhex("64617461f3acd3118cd100c04f8edb8a")
_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no initial or final
    XOR) through zlib's reflected CRC-32, so at C speed: reflect each byte in, the result out,
    and undo zlib's initial and final XOR (by linearity, the CRC of as many zero bytes)."""
    import zlib

    reflected = zlib.crc32(page.translate(_BIT_REVERSED)) ^ zlib.crc32(bytes(len(page)))
    return int(f"{reflected:032b}"[::-1], 2)


def _ogg_damage(path: Path, file_size: int) -> str | None:
    """What is wrong with the Ogg container of ``path`` (Vorbis, Opus, FLAC in Ogg), or ``None``.

    libsndfile (and libvorbisfile under it) skips a page that fails its checksum and stops
    quietly where a file was cut, so a damaged or truncated Ogg file would be analysed as
    good, with a stretch of it missing. Every page's checksum is checked, that the pages follow
    each other with no bytes between them and no page of a stream missing, and that every stream
    ends with its end-of-stream page. Bytes after every stream has ended (a tag some tools
    append) are not Ogg's business and are left alone.
    """
    open_streams: dict[int, int] = {}  # serial number → the sequence number of its last page
    pos = 0
    with open(path, "rb") as handle:
        while pos < file_size:
            handle.seek(pos)
            header = handle.read(27)
            if header[:4] != b"OggS":
                if not open_streams and not _ogg_page_after(handle, pos):
                    return None  # trailing bytes after the last stream ended
                return f"damaged: the Ogg data breaks off at byte {pos} (no page starts there)"
            if len(header) < 27:
                break
            segments = handle.read(header[26])
            body_size = sum(segments)
            body = handle.read(body_size)
            if len(segments) < header[26] or len(body) < body_size:
                break
            page = header[:22] + b"\0\0\0\0" + header[26:] + segments + body
            if _ogg_crc(page) != int.from_bytes(header[22:26], "little"):
                return f"damaged: the Ogg page at byte {pos} fails its checksum"
            flags = header[5]
            serial = int.from_bytes(header[14:18], "little")
            sequence = int.from_bytes(header[18:22], "little")
            if serial in open_streams and sequence != open_streams[serial] + 1:
                return f"damaged: Ogg pages are missing before byte {pos}"
            open_streams[serial] = sequence
            if flags & 4:  # end of stream
                del open_streams[serial]
            pos += 27 + len(segments) + body_size
        else:
            if not open_streams:
                return None
            return "truncated (the Ogg stream stops before its end-of-stream page)"
    return f"truncated (the file ends inside the Ogg page at byte {pos})"


def _ogg_page_after(handle, pos: int) -> bool:
    """Whether an Ogg page starts anywhere after ``pos`` (read a block at a time)."""
    handle.seek(pos + 1)
    carry = b""
    while block := handle.read(1 << 20):
        if b"OggS" in carry + block:
            return True
        carry = block[-3:]
    return False


def _check_rate(path: Path, rate_hz: int) -> None:
    if not MIN_SAMPLE_RATE_HZ <= rate_hz <= MAX_SAMPLE_RATE_HZ:
        raise AudioError(f"{path}: sample rate {rate_hz} Hz is outside the range Moodline reads "
                         f"({MIN_SAMPLE_RATE_HZ}–{MAX_SAMPLE_RATE_HZ} Hz)")


def _block_frames(block_s: float, rate_hz: int, channels: int) -> int:
    return max(1, min(int(block_s * rate_hz), MAX_BLOCK_SAMPLES // max(1, channels)))


def _soundfile_blocks(path: Path, file_size: int, block_s: float) -> tuple[int, Iterator[np.ndarray]]:
    import soundfile as sf

    try:
        with native_stderr_silenced():  # libmpg123 prints its own notes about broken MP3s
            handle = sf.SoundFile(_library_path(path))
    except sf.LibsndfileError as exc:
        why = first_line(exc)
        # The file exists and is readable (checked above): libsndfile's "does not exist" and
        # "system error" here mean it could not make sense of the data.
        if why.lower().startswith(("file does not exist", "system error")) or not why:
            why = "unrecognised or damaged data"
        raise _NotLibsndfileAudio(f"{path}: not a readable audio file ({why[0].lower() + why[1:]})") from None
    try:
        _check_rate(path, handle.samplerate)
        declared = _declared_data_bytes(path, file_size)
        if declared and declared[0] not in _UNKNOWN_DATA_SIZES and declared[0] > declared[1]:
            wanted, present = declared
            frame_bytes = (_PCM_SAMPLE_BYTES.get(handle.subtype, 0) * handle.channels
                           or (present / handle.frames if handle.frames else 0))
            if not frame_bytes:  # compressed, and not one whole frame left to measure one by
                raise AudioError(f"{path}: truncated (header says {wanted} bytes of audio, file holds {present})")
            if wanted - present >= frame_bytes:  # a partial last frame is no loss
                raise AudioError(f"{path}: truncated (header says {wanted / frame_bytes / handle.samplerate:.2f} s, "
                                 f"file holds {handle.frames / handle.samplerate:.2f} s)")
    except BaseException:
        handle.close()
        raise
    frames = _block_frames(block_s, handle.samplerate, handle.channels)
    quiet = handle.format == "MP3"

    def blocks() -> Iterator[np.ndarray]:
        read = 0
        with handle:
            while True:
                try:
                    if quiet:
                        with native_stderr_silenced():
                            block = handle.read(frames, dtype="float32", always_2d=True)
                    else:
                        block = handle.read(frames, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioError(f"{path}: corrupt or truncated ({first_line(exc)})") from None
                if len(block) == 0:
                    break
                read += len(block)
                yield block
        # FLAC and others take the length from the header and stop quietly at the end of the
        # data they have: a header promising more means the file was cut short.
        if handle.frames > 0 and read < handle.frames and handle.seekable():
            raise AudioError(
                f"{path}: truncated (header says {handle.frames / handle.samplerate:.2f} s, "
                f"file holds {read / handle.samplerate:.2f} s)")

    return handle.samplerate, blocks()


def _ffmpeg_gist(lines: list[str]) -> str:
    """FFmpeg's first complaint, without its "[aac @ 0x…]" prefix."""
    first = next((line for line in lines if line.strip()), lines[0])
    return re.sub(r"^\[[^\]]*\]\s*", "", first).strip()


def _ffmpeg_blocks(path: Path, block_s: float) -> tuple[int, Iterator[np.ndarray]]:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    kind = path.suffix.lstrip(".").upper() or "this"
    if not (ffmpeg and ffprobe):
        raise AudioError(f"{path}: cannot decode {kind} audio: it needs FFmpeg, which is not installed")
    # Only ever a local file: "file:" + the absolute path, so a name such as
    # "http:/host/x.m4a" is never read as a URL, and no other protocol may be opened from
    # inside the file either (playlists, references).
    source = ["-protocol_whitelist", "file", "-i", "file:" + os.path.abspath(path)]
    probe = subprocess.run(
        [ffprobe, "-v", "error", *source, "-select_streams", "a:0", "-show_entries",
         "stream=sample_rate,channels", "-of", "csv=p=0"],
        capture_output=True, stdin=subprocess.DEVNULL)
    fields = probe.stdout.decode(errors="replace").strip().split(",")
    if probe.returncode != 0 or len(fields) < 2 or not all(f.strip().isdigit() for f in fields[:2]):
        raise AudioError(f"{path}: not a supported audio file")
    rate, channels = int(fields[0]), int(fields[1])
    _check_rate(path, rate)
    if channels < 1:
        raise AudioError(f"{path}: not a supported audio file (no audio channels)")
    frames = _block_frames(block_s, rate, channels)

    def blocks() -> Iterator[np.ndarray]:
        # ffmpeg's messages go to a file, not a pipe: a damaged file can make it print more
        # than a pipe holds while we wait on its audio, and both would wait forever.
        with tempfile.TemporaryFile() as messages:
            proc = subprocess.Popen(
                [ffmpeg, "-nostdin", "-v", "error", *source, "-map", "0:a:0",
                 "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"],
                stdout=subprocess.PIPE, stderr=messages, stdin=subprocess.DEVNULL)
            try:
                while True:
                    data = proc.stdout.read(frames * channels * 4)
                    if not data:
                        break
                    usable = len(data) - len(data) % (channels * 4)
                    yield np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
                failed = proc.wait() != 0
                messages.seek(0)
                lines = messages.read().decode(errors="replace").strip().splitlines()
                if failed:
                    raise AudioError(f"{path}: corrupt or truncated ({lines[0] if lines else 'ffmpeg failed'})")
                if lines:
                    # FFmpeg goes on past a damaged stretch (silence, or garbled audio) and still
                    # ends well: a timeline of that would look right and be wrong.
                    raise AudioError(f"{path}: damaged: FFmpeg could not decode all of it ({_ffmpeg_gist(lines)})")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()

    return rate, blocks()


def audio_blocks(path: str | os.PathLike, sample_rate_hz: int, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of ``path`` resampled to ``sample_rate_hz``.

    Raises :class:`AudioError` (naming the file) for a missing, unreadable (permission),
    special (FIFO, device), corrupt, truncated or empty file, a sample rate outside
    :data:`MIN_SAMPLE_RATE_HZ`–:data:`MAX_SAMPLE_RATE_HZ`, or one holding NaN or infinite
    samples or samples beyond ±:data:`MAX_SAMPLE`. Errors found part-way through come from the generator after the blocks before
    them.
    """
    path = Path(path)
    size = _checked_regular_file(path)
    with open(path, "rb") as handle:
        is_ogg = handle.read(4) == b"OggS"
    if is_ogg and (damage := _ogg_damage(path, size)):
        raise AudioError(f"{path}: {damage}")
    try:
        in_rate, blocks = _soundfile_blocks(path, size, block_s)
    except _NotLibsndfileAudio:
        if path.suffix.lower() in _LIBSNDFILE_EXTENSIONS:
            raise  # libsndfile's own format with a header it cannot read: the file is damaged
        in_rate, blocks = _ffmpeg_blocks(path, block_s)
    return _mono_resampled(path, in_rate, sample_rate_hz, blocks)



CANCELLED_DB = 20.0  # a mix this much quieter than its channels is cancellation, not silence
AUDIBLE_RMS = 10 ** (-50 / 20)  # channels quieter than -50 dBFS cannot cancel into a wrong answer


def _mix_down(block: np.ndarray) -> np.ndarray:
    """One channel of ``block`` (frames × channels): the channels' mean, unless they cancel
    each other (a stereo file with one channel phase-inverted mixes to silence, and its speech
    would be read as "no speech"): then the difference of the first two, which restores it."""
    if block.shape[1] == 1:
        return block[:, 0]
    mono = block.mean(axis=1, dtype=np.float32)
    channel_rms = float(np.sqrt(np.mean(np.square(block[:, :2], dtype=np.float64))))
    if channel_rms > AUDIBLE_RMS:
        mono_rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
        if mono_rms < channel_rms * 10 ** (-CANCELLED_DB / 20):
            return ((block[:, 0] - block[:, 1]) * 0.5).astype(np.float32)
    return mono


def _mono_resampled(path: Path, in_rate: int, out_rate: int, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    resample = _Resampler(in_rate, out_rate)
    total = 0
    for block in blocks:
        mono = _mix_down(block)
        if not np.all(np.isfinite(mono)):
            raise AudioError(f"{path}: contains NaN or infinite samples")
        loudest = float(np.max(np.abs(mono))) if len(mono) else 0.0
        if loudest > MAX_SAMPLE:
            raise AudioError(f"{path}: samples far beyond full scale (up to {loudest:.3g}; a file's audio "
                             f"lies within ±1): not audio Moodline can judge")
        total += len(mono)
        out = resample(np.ascontiguousarray(mono))
        if len(out):
            yield out
    if total == 0:
        raise AudioError(f"{path}: no audio (zero samples)")
    tail = resample(np.zeros(0, dtype=np.float32), last=True)
    if len(tail):
        yield tail


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples (-1…1; beyond is clipped) as 16-bit PCM; 16-bit input is returned as is.

    The one conversion behind the voice-activity detector, session audio and WAV exports.
    """
    if samples.dtype == np.int16:
        return samples
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def load_audio(path: str | os.PathLike, sample_rate_hz: int, max_s: float | None = None) -> np.ndarray:
    """``path`` as one mono float32 array at ``sample_rate_hz`` (short clips): the whole of it,
    or its first ``max_s`` seconds (decoding stops there)."""
    wanted = None if max_s is None else round(max_s * sample_rate_hz)
    blocks, have = [], 0
    for block in audio_blocks(path, sample_rate_hz):
        blocks.append(block)
        have += len(block)
        if wanted is not None and have >= wanted:
            break
    return np.concatenate(blocks)[:wanted] if blocks else np.zeros(0, dtype=np.float32)


def find_audio_files(path: str | os.PathLike, unreadable: list[AudioError] | None = None) -> list[Path]:
    """``path`` itself if it is not a folder, else the audio files below it, sorted, recursively.

    A folder below ``path`` that cannot be listed (no permission) is never skipped silently:
    it is added to ``unreadable`` as an :class:`AudioError`, or, without that list, raised.
    Entries with an audio extension that are not regular files are returned too, so that
    analysing them says what they are.
    """
    path = Path(path)
    if not path.is_dir():
        return [path]

    def failed(exc: OSError) -> None:
        error = AudioError(f"{exc.filename or path}: cannot list the folder ({os_error_text(exc)})")
        if unreadable is None:
            raise error
        unreadable.append(error)

    found = []
    for folder, _, names in os.walk(path, onerror=failed):
        found += [Path(folder, name) for name in names if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS]
    return sorted(found)


def audio_duration_s(path: str | os.PathLike) -> float | None:
    """Seconds of audio in ``path`` as its header says, without decoding it.

    ``None`` when the length is unknown: formats only FFmpeg decodes, and files that cannot be
    read (analysing them says why). Never blocks on a FIFO or device.
    """
    import soundfile as sf

    path = Path(path)
    try:
        _checked_regular_file(path)
        with native_stderr_silenced():
            info = sf.info(_library_path(path))
    except (AudioError, RuntimeError, OSError, ValueError):
        return None
    return info.duration or None
