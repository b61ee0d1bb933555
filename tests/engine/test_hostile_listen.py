"""Hostile conditions met by `moodline listen` (issue 21): the disk filling up while a session is
recorded, and the input device going away mid-session. Each ends with one clear line on stderr,
exit code 2, no traceback and no library's own chatter, and keeps what was recorded until then.

The live input is a recording replayed as a microphone would hear it, or a stand-in for
sounddevice's stream that fails the way PortAudio does; the last case takes a real input
device away: it starts a PulseAudio server of its own and ends it mid-session.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import RATE, silence, syllables
from moodline.engine import cli, session, sources
from moodline.engine.session import AUDIO_FILE, CLAIM_FILE, POINTS_FILE, open_session

MOODLINE = str(Path(sys.executable).with_name("moodline"))
WAV_HEADER_BYTES = 44


def talking(seconds: float) -> np.ndarray:
    pieces, total = [], 0.0
    while total < seconds:
        pieces += [syllables(180 + 20 * len(pieces), 2.0), silence(0.5)]
        total += 2.5
    return np.concatenate(pieces)


def replayed_as_the_microphone(monkeypatch, speed: float) -> None:
    """`listen` hears a recording, ``speed`` times real time, instead of a microphone."""
    audio = talking(60)
    monkeypatch.setattr(sources, "MicrophoneSource",
                        lambda device=None, preferred_rate_hz=RATE: sources.FileReplaySource(audio, RATE, speed=speed))


def err_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip()]


def check_valid_wav(path: Path) -> float:
    """Seconds of audio in ``path``, after checking its header counts exactly the samples there."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    declared = int.from_bytes(data[40:44], "little")
    assert declared == len(data) - WAV_HEADER_BYTES and int.from_bytes(data[4:8], "little") == len(data) - 8
    info = sf.info(path)
    assert info.frames * 2 == declared
    return info.duration


# ---- a full disk -----------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int, monkeypatch):
    """A folder holding about ``size_kb`` KB: a tmpfs that size where this machine lets us mount
    one (root in CI); otherwise the session's audio writer fails as a full disk makes it fail
    once that much audio is written (the journal, small, still fits)."""
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    if mounted:
        try:
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    write = session.IncrementalWav.write

    def write_until_full(self, samples):
        if (self.frames + len(samples)) * 2 > size_kb * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(self, samples)

    monkeypatch.setattr(session.IncrementalWav, "write", write_until_full)
    yield


def test_a_full_disk_while_listening_is_one_line_and_keeps_what_was_written(tmp_path, model_path, monkeypatch,
                                                                              capsys):
    """It used to end with '<folder>: cannot finish the session (no space left on device)': no file
    named, the timeline journal empty when the disk filled before the first points, the audio's
    header short of what reached the disk, the folder left claimed, and no summary."""
    replayed_as_the_microphone(monkeypatch, speed=2.0)
    with small_disk(tmp_path / "disk", 256, monkeypatch):
        out = tmp_path / "disk" / "session"
        code = cli.main(["listen", "--model", str(model_path), "--out", str(out), "--seconds", "20"])
        out_text, err = capsys.readouterr()
        lines = err_lines(err)
        assert code == 2
        assert lines[-1] == f"moodline: {out / AUDIO_FILE}: cannot write (no space left on device); recording stopped"
        assert not [line for line in lines[:-1] if line.startswith("moodline: ")]  # the one error line
        assert "session " in out_text  # the summary of what was heard
        # What was written stays, and reads back: the audio a valid WAV of every sample that
        # reached the disk, the journal whole lines of points, the folder no longer claimed.
        audio_s = check_valid_wav(out / AUDIO_FILE)
        assert 4.0 < audio_s < 9.0  # 256 KB hold 8 s of 16-bit audio at 16 kHz
        journal = (out / POINTS_FILE).read_text().splitlines()
        points = [json.loads(line) for line in journal]
        assert len(points) >= 4 and points[-1]["end_s"] >= audio_s - 1.0
        assert not (out / CLAIM_FILE).exists()
        reopened = open_session(out)
        assert len(reopened.timeline.points) >= len(points) and len(reopened.audio) / reopened.sample_rate_hz == audio_s


def test_a_journal_write_that_fails_ends_the_session_with_its_file_named(tmp_path, model_path, monkeypatch,
                                                                         capsys):
    replayed_as_the_microphone(monkeypatch, speed=4.0)
    written = session.SessionRecorder._write_points

    def fail_after_some(self):
        if self._points.qsize() and (self.folder / POINTS_FILE).stat().st_size > 300:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written(self)

    monkeypatch.setattr(session.SessionRecorder, "_write_points", fail_after_some)
    out = tmp_path / "session"
    code = cli.main(["listen", "--model", str(model_path), "--out", str(out), "--seconds", "20"])
    lines = err_lines(capsys.readouterr().err)
    assert code == 2
    assert lines[-1] == f"moodline: {out / POINTS_FILE}: cannot write (no space left on device); recording stopped"
    assert [json.loads(line) for line in (out / POINTS_FILE).read_text().splitlines()]
    check_valid_wav(out / AUDIO_FILE)
    assert len(open_session(out).timeline.points) >= 2  # timeline.json: the whole timeline, the disk had room


def test_a_failure_first_met_when_the_session_ends_is_one_line_naming_the_file(tmp_path, model_path, monkeypatch,
                                                                               capsys):
    """The last audio written as the session stops fails: no line was said yet, so stop says it."""
    replayed_as_the_microphone(monkeypatch, speed=4.0)
    finish = session.IncrementalWav.finish

    def full_at_the_end(self):
        if self._path is not None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        finish(self)

    monkeypatch.setattr(session.IncrementalWav, "finish", full_at_the_end)
    out = tmp_path / "session"
    code = cli.main(["listen", "--model", str(model_path), "--out", str(out), "--seconds", "2"])
    lines = err_lines(capsys.readouterr().err)
    assert code == 2 and lines[-1] == f"moodline: {out / AUDIO_FILE}: cannot write (no space left on device)"
    assert check_valid_wav(out / AUDIO_FILE) > 1.0
    assert not (out / CLAIM_FILE).exists()


# ---- a device that goes away -----------------------------------------------------------------
def c_stderr(text: str) -> None:
    """Print ``text`` the way PortAudio does: fprintf to C's stderr, from whatever thread."""
    libc = ctypes.CDLL(None)
    libc.fprintf.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    libc.fflush.argtypes = [ctypes.c_void_p]
    stream = ctypes.c_void_p.in_dll(libc, "stderr").value
    libc.fprintf(stream, text.encode())
    libc.fflush(stream)


PORTAUDIO_NOISE = ("Expression 'alsa_snd_pcm_poll_descriptors_revents( self->pcm, pfds, self->nfds, &revents )' "
                   "failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665\n")


class VanishingStream:
    """sounddevice's InputStream for a device unplugged ``after_s`` into the session, as PortAudio
    makes it look: its thread prints on C's stderr and stops calling back, and asking the stream
    anything afterwards raises :class:`sounddevice.PortAudioError`."""

    def __init__(self, *, samplerate, blocksize, callback, after_s: float = 3.0, **_):
        import sounddevice

        self.error = sounddevice.PortAudioError
        self.rate, self.block, self.callback, self.after_s = samplerate, blocksize, callback, after_s
        self.gone = self.stopped = False
        self.audio = talking(after_s + 1)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        status = type("Status", (), {"input_overflow": False})()
        for at in range(0, round(self.after_s * self.rate), self.block):
            if self.stopped:
                return
            self.callback(self.audio[at:at + self.block, None], self.block, None, status)
            time.sleep(self.block / self.rate / 4)
        c_stderr(PORTAUDIO_NOISE)
        self.gone = True

    def start(self):
        self._thread.start()

    @property
    def active(self):
        if self.gone:
            raise self.error("Unanticipated host error", -9999)
        return True

    def stop(self):
        self.stopped = True
        if self.gone:
            c_stderr("Expression 'alsa_snd_pcm_drop( stream->capture.pcm )' failed in "
                     "'src/hostapi/alsa/pa_linux_alsa.c', line: 3024\n")
            raise self.error("Unanticipated host error", -9999)

    def close(self):
        self._thread.join(5)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="C's stderr is redirected on glibc only")
def test_a_device_that_goes_away_is_one_line_without_portaudios_noise(tmp_path, model_path, monkeypatch, capfd):
    import sounddevice

    device = sources.InputDevice(3, "USB microphone", "ALSA", 1, RATE, True)
    monkeypatch.setattr(sources, "find_input_device", lambda wanted: device)
    monkeypatch.setattr(sounddevice, "check_input_settings", lambda *a, **k: None)
    monkeypatch.setattr(sounddevice, "InputStream", VanishingStream)
    out = tmp_path / "session"
    code = cli.main(["listen", "--model", str(model_path), "--out", str(out)])
    c_stderr("after the stream: C's stderr is back\n")
    err = capfd.readouterr().err
    lines = err_lines(err)
    assert code == 2
    assert "Expression" not in err and "pa_linux_alsa" not in err
    assert lines == [
        f"Listening to 'USB microphone' at {RATE} Hz (1.99 s windows every 0.50 s); Ctrl-C to stop.",
        f"Recording audio and timeline to {out}",
        f"Session saved in {out}",
        "moodline: audio input 'USB microphone' stopped delivering audio (was it unplugged?)",
        "after the stream: C's stderr is back",
    ]
    assert check_valid_wav(out / AUDIO_FILE) > 2.0
    assert len(open_session(out).timeline.points) >= 2


@contextlib.contextmanager
def pulseaudio_server(folder: Path):
    """A PulseAudio server of the test's own, with one device ("Monitor of Gone"): the
    environment that reaches it, and its process id, for the test to end it."""
    pulseaudio = shutil.which("pulseaudio")
    assert pulseaudio, "PulseAudio is needed (scripts/system-packages --test)"
    folder.mkdir()
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(folder), "XDG_RUNTIME_DIR": str(folder)}
    env.pop("PULSE_SERVER", None)
    subprocess.run([pulseaudio, "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit", "-n",
                    "--load=module-native-protocol-unix",
                    "--load=module-null-sink sink_name=gone sink_properties=device.description=Gone"],
                   env=env, check=True, capture_output=True)
    pid = int((folder / "pid").read_text())
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-source", "gone.monitor"], env=env, check=True)
        yield env, pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_real_device_that_goes_away_mid_session_is_one_line_without_portaudios_noise(tmp_path, model_path):
    """The sound server recording the device ends while `listen` records it (a PulseAudio server
    of the test's own; unplugging one device of a server that has others moves the stream to
    another one instead). PortAudio's ALSA host API printed three 'Expression … failed in
    src/hostapi/alsa/…' lines before the one line saying what happened."""
    out = tmp_path / "session"
    with pulseaudio_server(tmp_path / "pulse") as (env, server):
        proc = subprocess.Popen([MOODLINE, "listen", "--device", "Monitor of Gone", "--model", str(model_path),
                                 "--out", str(out), "--seconds", "30"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        first = proc.stderr.readline()
        assert first.startswith("Listening to 'Monitor of Gone'"), first + proc.stderr.read()
        time.sleep(3)
        os.kill(server, signal.SIGTERM)
        proc.wait(timeout=20)
    err = proc.stderr.read()  # the rest (communicate() would miss what readline() buffered)
    proc.stderr.close()
    lines = err_lines(err)
    assert proc.returncode == 2
    assert "Expression" not in err and "ALSA lib" not in err, err
    assert lines == [f"Recording audio and timeline to {out}", f"Session saved in {out}",
                     "moodline: audio input 'Monitor of Gone' stopped delivering audio (was it unplugged?)"]
    assert check_valid_wav(out / AUDIO_FILE) > 2.0
    assert len(open_session(out).timeline.points) >= 2
