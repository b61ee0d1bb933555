"""Where live audio comes from: microphones (and other input devices) through sounddevice.

The PortAudio callback does one thing: copy the block into the ring buffer. It never blocks,
never allocates beyond that copy, and counts the overflows PortAudio reports.

On Linux desktops the sound server (PulseAudio, or PipeWire speaking its protocol) owns the
microphones, and PortAudio sees it only as the ALSA devices "pulse" and "default". Where that
bridge exists and ``pactl`` answers, the server's sources are listed instead, by their own
names ("Built-in Audio Analog Stereo"), and one is recorded by opening the bridge with
``PULSE_SOURCE`` naming it. Elsewhere (Windows, macOS, plain ALSA) the list is PortAudio's.

Every input the live path reads is an :class:`AudioSource`; beside the microphone,
:class:`FileReplaySource` plays a recording in as if a microphone heard it.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from .errors import MoodlineError
from .fileio import native_stderr_silenced, stdio_stderr_silenced
from .ringbuffer import RingBuffer

BLOCK_S = 0.02  # PortAudio block length: small, so the ring is fed steadily

# PortAudio is restarted to look for new devices, which would close any open stream; the lock
# keeps a restart and the opening or closing of an input stream from overlapping, and the
# count says whether one of the engine's input streams is open.
_portaudio_lock = threading.RLock()
_open_input_streams = 0
FIRST_AUDIO_WAIT_S = 5.0  # an input stream may take a second or two to deliver its first samples


def _sounddevice():
    try:
        with native_stderr_silenced():  # PortAudio starts here; ALSA/JACK print their probing
            import sounddevice
    except OSError:  # the PortAudio library itself is missing
        raise MoodlineError("audio input: the PortAudio library is not installed "
                            "(Debian/Ubuntu: apt install libportaudio2)") from None
    return sounddevice


# The ALSA devices through which PortAudio reaches a PulseAudio/PipeWire server.
PULSE_BRIDGE = "pulse"
SERVER_ROUTED = (PULSE_BRIDGE, "default")
PULSE_HOST_API = "PulseAudio"
PACTL_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class InputDevice:
    index: int  # PortAudio's device index (for a sound-server source: the bridge's)
    name: str  # what the user sees and picks, and what is remembered
    host_api: str
    channels: int
    default_rate_hz: int
    is_default: bool
    pulse_source: str | None = None  # the sound server's name for the source, recorded through the bridge


def input_devices(rescan: bool = False) -> list[InputDevice]:
    """Every device that can record, by the names the system gives them.

    PortAudio lists the devices it found when it started; ``rescan=True`` restarts it first,
    so a microphone plugged in since then appears. A restart would close every open stream,
    so it is skipped while one of the engine's input streams is open (the list is then what
    PortAudio already knows); a caller playing audio through sounddevice must not rescan.
    Sound-server sources replace the "pulse" and "default" bridges where the server lists them.
    """
    devices = _portaudio_input_devices(rescan)
    bridge = next((d for d in devices if d.name == PULSE_BRIDGE), None)
    sources = sound_server_sources(bridge) if bridge is not None else []
    if not sources:
        return devices
    others = [replace(d, is_default=False) if any(s.is_default for s in sources) else d
              for d in devices if d.name not in SERVER_ROUTED]
    return sources + others


def _portaudio_input_devices(rescan: bool = False) -> list[InputDevice]:
    sd = _sounddevice()
    with _portaudio_lock:
        if rescan and _open_input_streams == 0:
            _restart_portaudio(sd)
        try:
            devices, apis = sd.query_devices(), sd.query_hostapis()
            default = sd.default.device[0]
        except sd.PortAudioError as exc:
            raise MoodlineError(f"audio input: {exc}") from None
    return [
        InputDevice(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"],
                    int(d["default_samplerate"]), i == default)
        for i, d in enumerate(devices) if d["max_input_channels"] > 0
    ]


def sound_server_sources(bridge: InputDevice) -> list[InputDevice]:
    """The PulseAudio/PipeWire sources ``pactl`` lists, recorded through ``bridge``: inputs
    first, then the monitors of outputs ("Monitor of …", what the computer plays); the
    server's default source marked. Empty where ``pactl`` is missing or does not answer."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    listed = _pactl_sources(pactl)
    if not listed:
        return []
    default = _pactl_default_source(pactl)
    descriptions = [description for _, description, _ in listed]
    devices = []
    for name, description, channels in listed:
        shown = description if descriptions.count(description) == 1 else f"{description} ({name})"
        devices.append(InputDevice(bridge.index, shown, PULSE_HOST_API, channels or bridge.channels,
                                   bridge.default_rate_hz, name == default, pulse_source=name))
    return sorted(devices, key=lambda d: d.pulse_source.endswith(".monitor"))  # stable: the server's order


def _run_pactl(pactl: str, *args: str) -> str | None:
    # The C locale: the text output's field names are then the English ones parsed here.
    try:
        done = subprocess.run([pactl, *args], capture_output=True, text=True, timeout=PACTL_TIMEOUT_S,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _pactl_sources(pactl: str) -> list[tuple[str, str, int]]:
    """(name, description, channels) of every source; JSON where pactl has it (16 and later)."""
    text = _run_pactl(pactl, "-f", "json", "list", "sources")
    if text is not None:
        try:
            return [(s["name"], s.get("description") or s["name"], _channels(s.get("sample_specification", "")))
                    for s in json.loads(text) if isinstance(s, dict) and s.get("name")]
        except (ValueError, KeyError, TypeError):
            pass  # an older pactl printed text after all: read that below
    text = _run_pactl(pactl, "list", "sources")
    return parse_pactl_sources(text) if text else []


def parse_pactl_sources(text: str) -> list[tuple[str, str, int]]:
    """(name, description, channels) from the text of ``LC_ALL=C pactl list sources``."""
    sources: list[tuple[str, str, int]] = []
    name = description = None
    channels = 0
    for line in text.splitlines() + ["Source #end"]:
        stripped = line.strip()
        if line.startswith("Source #"):
            if name:
                sources.append((name, description or name, channels))
            name = description = None
            channels = 0
        elif stripped.startswith("Name: ") and name is None:
            name = stripped[len("Name: "):]
        elif stripped.startswith("Description: ") and description is None:
            description = stripped[len("Description: "):]
        elif stripped.startswith("Sample Specification: "):
            channels = _channels(stripped)
    return sources


def _channels(sample_spec: str) -> int:
    """2 from 's16le 2ch 44100Hz'; 0 where it does not say."""
    for word in sample_spec.split():
        if word.endswith("ch") and word[:-2].isdigit():
            return int(word[:-2])
    return 0


def _pactl_default_source(pactl: str) -> str | None:
    text = _run_pactl(pactl, "info") or ""
    for line in text.splitlines():
        if line.startswith("Default Source: "):
            return line[len("Default Source: "):].strip()
    return None


@contextlib.contextmanager
def _recording_from(pulse_source: str | None):
    """While a stream opens on the bridge: the sound server's source to record (libpulse reads
    ``PULSE_SOURCE`` when the stream connects); the environment is put back afterwards."""
    if pulse_source is None:
        yield
        return
    before = os.environ.get("PULSE_SOURCE")
    os.environ["PULSE_SOURCE"] = pulse_source
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = before


def _restart_portaudio(sd) -> None:
    # sounddevice has no public way to look for new devices; its own _terminate() and
    # _initialize() pair is what a restart means, and keeps its bookkeeping right.
    try:
        sd._terminate()
    except sd.PortAudioError:
        pass  # not running: starting it is all that is needed
    try:
        sd._initialize()
    except sd.PortAudioError as exc:
        raise MoodlineError(f"audio input: PortAudio did not start again ({exc})") from None


def find_input_device(wanted: str | int | None) -> InputDevice:
    """The input device given by index or (part of its) name; the system default for ``None``.

    Names are the listed ones (a sound server's sources by description), then PortAudio's own
    (so "pulse" and "default" still name the bridges); an index is PortAudio's.
    """
    devices = input_devices()
    if not devices:
        raise MoodlineError("audio input: no input device found (is a microphone connected?)")
    if wanted is None or wanted == "":
        for device in devices:
            if device.is_default:
                return device
        return devices[0]
    portaudio = _portaudio_input_devices()
    if isinstance(wanted, int) or str(wanted).isdigit():
        for device in portaudio:
            if device.index == int(wanted):
                return device
        raise MoodlineError(f"audio input: no input device with index {wanted} (see 'moodline devices')")
    match = pick_device(devices, str(wanted), exact_only=True) or pick_device(portaudio, str(wanted), exact_only=True) \
        or pick_device(devices, str(wanted))
    if match is None:
        raise MoodlineError(f"audio input: no input device named '{wanted}' (see 'moodline devices')")
    return match


def pick_device(devices: list[InputDevice], wanted: str, exact_only: bool = False) -> InputDevice | None:
    """The device named ``wanted``, else (unless ``exact_only``) the first whose name contains
    it, ignoring case; None if there is none."""
    for device in devices:
        if device.name == wanted:
            return device
    if exact_only or not wanted:
        return None
    return next((d for d in devices if wanted.lower() in d.name.lower()), None)


class MicrophoneSource:
    """Records one input device into a :class:`RingBuffer` (mono float32).

    It records at ``preferred_rate_hz`` (the model's rate) when the device takes it, else at
    the device's own rate; :attr:`sample_rate_hz` says which, and the engine resamples.
    """

    def __init__(self, ring_s: float = 30.0, device: str | int | None = None,
                 preferred_rate_hz: int = 16000) -> None:
        sd = _sounddevice()
        self.device = find_input_device(device)
        try:
            sd.check_input_settings(self.device.index, channels=1, dtype="float32",
                                    samplerate=preferred_rate_hz)
            self.sample_rate_hz = preferred_rate_hz
        except Exception:  # sounddevice raises PortAudioError or ValueError for unsupported rates
            self.sample_rate_hz = self.device.default_rate_hz
        self.ring = RingBuffer(round(ring_s * self.sample_rate_hz))
        self.overflows = 0  # blocks PortAudio reports it had to drop (the callback was late)
        self._stream = None
        self._quiet = contextlib.ExitStack()  # PortAudio's own messages silenced while the stream is open
        self._sd = sd

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self.ring.write(indata[:, 0])

    def start(self) -> None:
        global _open_input_streams
        with _portaudio_lock:
            # PortAudio's ALSA host API prints "Expression '…' failed in 'src/hostapi/alsa/…'" from
            # its own thread when the device goes away (unplugged, the sound server gone), and
            # again as the stream closes: the session's one line says so instead.
            self._quiet.enter_context(stdio_stderr_silenced())
            try:
                with _recording_from(self.device.pulse_source):
                    self._stream = self._sd.InputStream(
                        device=self.device.index, channels=1, dtype="float32",
                        samplerate=self.sample_rate_hz, blocksize=round(BLOCK_S * self.sample_rate_hz),
                        callback=self._callback)
            except Exception as exc:
                self._quiet.close()
                raise MoodlineError(f"audio input '{self.device.name}': cannot record ({exc})") from None
            _open_input_streams += 1
            try:
                self._stream.start()
            except Exception as exc:
                self.stop()
                raise MoodlineError(f"audio input '{self.device.name}': cannot record ({exc})") from None

    @property
    def active(self) -> bool:
        """Whether the device is still delivering audio (false after it disappears)."""
        try:
            return self._stream is not None and self._stream.active
        except self._sd.PortAudioError:  # PortAudio asked about a stream whose device is gone
            return False

    def stop(self) -> None:
        global _open_input_streams
        with _portaudio_lock:
            if self._stream is not None:
                # Each on its own: a stream whose device vanished may fail to stop, and must
                # still be closed. Either way it is gone.
                for end in (self._stream.stop, self._stream.close):
                    try:
                        end()
                    except Exception:
                        pass
                self._stream = None
                _open_input_streams -= 1
                self._quiet.close()


class AudioSource(Protocol):
    """What the live path reads from: an input that, once started, writes mono float32 samples
    at ``sample_rate_hz`` into ``ring`` (:class:`MicrophoneSource`, :class:`FileReplaySource`)."""

    ring: RingBuffer
    sample_rate_hz: int
    device: InputDevice
    overflows: int  # blocks the input had to drop

    @property
    def active(self) -> bool:
        """Whether audio is still arriving (false once stopped, or once the device went away)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


REPLAY_DEVICE = InputDevice(-1, "recording", "replay", 1, 16000, False)


class FileReplaySource:
    """An input that hears a recording as a microphone would: ``speed`` times real time, in
    20 ms blocks, from a thread of its own. At the end it starts again (``loop``) or goes on with
    silence, as a microphone in a quiet room does. The live path with audio known in advance:
    for tests, benchmarks, screenshots and demonstrations.

    ``audio`` is mono float32 at ``sample_rate_hz`` (or a file, decoded to that rate).
    :meth:`vanish` makes it behave like a device that was unplugged.
    """

    def __init__(self, audio, sample_rate_hz: int = 16000, *, device: InputDevice = REPLAY_DEVICE,
                 speed: float = 1.0, loop: bool = False, ring_s: float = 30.0) -> None:
        if not isinstance(audio, np.ndarray):
            from .audio import load_audio

            audio = load_audio(audio, sample_rate_hz)
        self.audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self.sample_rate_hz, self.device, self.speed, self.loop = sample_rate_hz, device, speed, loop
        self.ring = RingBuffer(round(ring_s * sample_rate_hz))
        self.overflows = 0
        self.played = 0  # samples written into the ring so far
        self._block = round(BLOCK_S * sample_rate_hz)
        self._running = False
        self._gone = False
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._running and not self._gone

    @property
    def done(self) -> bool:
        """Whether the whole recording has been heard (once)."""
        return self.played >= len(self.audio)

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._feed, name="moodline-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def vanish(self) -> None:
        """From now on, no audio: as a device that was unplugged."""
        self._gone = True

    def _feed(self) -> None:
        started = time.perf_counter()
        n = len(self.audio)
        while self._running and not self._gone:
            at = self.played % n if self.loop and n else self.played
            block = self.audio[at:at + self._block]
            if self.loop and n and len(block) < self._block:
                block = np.concatenate([block, self.audio[: self._block - len(block)]])
            if len(block) < self._block:
                block = np.concatenate([block, np.zeros(self._block - len(block), np.float32)])
            self.ring.write(block)
            self.played += self._block
            ahead = started + self.played / self.sample_rate_hz / self.speed - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
