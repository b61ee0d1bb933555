import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import tone
from moodline.engine.audio import audio_blocks, audio_duration_s, find_audio_files, load_audio
from moodline.engine.errors import AudioError


def dominant_hz(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples))
    return np.argmax(spectrum) * rate / len(samples)


@pytest.mark.parametrize("ext, fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_formats_decode_to_mono_at_the_models_rate(tmp_path, ext, fmt):
    stereo = np.stack([tone(440, 2.0, 44100), tone(440, 2.0, 44100)], axis=1)
    path = tmp_path / f"a.{ext}"
    sf.write(path, stereo, 44100, format=fmt)
    out = load_audio(path, 16000)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) / 16000 - 2.0) < 0.1  # MP3 adds encoder padding
    assert abs(dominant_hz(out, 16000) - 440) < 3


def test_m4a_decodes_through_ffmpeg(tmp_path):
    wav, m4a = tmp_path / "a.wav", tmp_path / "a.m4a"
    sf.write(wav, tone(300, 2.0, 48000), 48000)
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    out = load_audio(m4a, 16000)
    assert abs(len(out) / 16000 - 2.0) < 0.1
    assert abs(dominant_hz(out, 16000) - 300) < 3


def test_m4a_without_ffmpeg_says_what_is_missing(tmp_path, monkeypatch):
    m4a = tmp_path / "talk.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(100))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match=r"talk\.m4a: cannot decode M4A audio: it needs FFmpeg"):
        load_audio(m4a, 16000)


def test_channels_are_averaged(tmp_path):
    left, right = tone(440, 1.0), np.zeros(16000, np.float32)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000)
    np.testing.assert_allclose(load_audio(tmp_path / "s.wav", 16000), left / 2, atol=1e-4)


def test_long_files_are_decoded_in_bounded_blocks(tmp_path):
    path = tmp_path / "long.flac"
    with sf.SoundFile(path, "w", 48000, 1) as f:
        for _ in range(6):
            f.write(tone(200, 10.0, 48000))
    sizes = [len(b) for b in audio_blocks(path, 16000, block_s=5.0)]
    assert sum(sizes) == pytest.approx(60 * 16000, abs=16)
    assert max(sizes) <= 5.0 * 16000 * 1.02  # the resampler holds back a few ms at a time


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00garbage" * 50), "not a readable audio file"),
])
def test_unreadable_files_name_the_file_and_the_problem(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=f"bad.wav: {message}"):
        load_audio(path, 16000)


def test_truncated_file_is_reported(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, tone(440, 5.0), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="cut.flac: (corrupt or )?truncated"):
        load_audio(path, 16000)


def test_nan_samples_are_reported(tmp_path):
    samples = tone(440, 1.0)
    samples[100] = np.nan
    sf.write(tmp_path / "nan.wav", samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains NaN or infinite samples"):
        load_audio(tmp_path / "nan.wav", 16000)


def test_zero_samples_are_reported(tmp_path):
    sf.write(tmp_path / "none.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="none.wav: no audio"):
        load_audio(tmp_path / "none.wav", 16000)


def test_unsupported_format_is_reported(tmp_path):
    path = tmp_path / "notes.xyz"
    path.write_text("not audio at all\n" * 10)
    with pytest.raises(AudioError, match="notes.xyz: not a supported audio file"):
        load_audio(path, 16000)


def test_folders_are_searched_recursively_for_audio(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.wav", "a/b/y.FLAC", "a/readme.txt", "z.mp3"):
        (tmp_path / name).write_bytes(b"0")
    assert [p.relative_to(tmp_path).as_posix() for p in find_audio_files(tmp_path)] == ["a/b/y.FLAC", "a/x.wav", "z.mp3"]


def test_audio_duration_is_read_from_the_header_without_decoding_or_waiting(tmp_path):
    sf.write(tmp_path / "a.flac", tone(440, 2.5), 16000)
    assert audio_duration_s(tmp_path / "a.flac") == pytest.approx(2.5)
    m4a = tmp_path / "a.m4a"
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(tmp_path / "a.flac"), str(m4a)], check=True)
    assert audio_duration_s(m4a) is None  # only FFmpeg knows: counted when analysed
    os.mkfifo(tmp_path / "pipe.wav")
    assert audio_duration_s(tmp_path / "pipe.wav") is None  # returns at once: never opens a FIFO
    assert audio_duration_s(tmp_path / "missing.wav") is None
