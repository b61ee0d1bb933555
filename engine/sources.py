"""Where live audio comes from: microphones (and other input devices) through sounddevice.

The PortAudio callback does one thing: copy the block into the ring buffer. It never blocks,
never allocates beyond that copy, and counts the overflows PortAudio reports.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import MoodlineError
from .fileio import native_stderr_silenced
from .ringbuffer import RingBuffer

BLOCK_S = 0.02  # PortAudio block length: small, so the ring is fed steadily

# PortAudio is restarted to look for new devices, which would close any open stream; the lock
# keeps a restart and the opening or closing of an input stream from overlapping, and the
# count says whether one of the engine's input streams is open.
_portaudio_lock = threading.RLock()
_open_input_streams = 0


def _sounddevice():
    try:
        with native_stderr_silenced():  # PortAudio starts here; ALSA/JACK print their probing
            import sounddevice
    except OSError:  # the PortAudio library itself is missing
        raise MoodlineError("audio input: the PortAudio library is not installed "
                            "(Debian/Ubuntu: apt install libportaudio2)") from None
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    host_api: str
    channels: int
    default_rate_hz: int
    is_default: bool


def input_devices(rescan: bool = False) -> list[InputDevice]:
    """Every device that can record, as PortAudio sees it.

    PortAudio lists the devices it found when it started; ``rescan=True`` restarts it first,
    so a microphone plugged in since then appears. A restart would close every open stream,
    so it is skipped while one of the engine's input streams is open (the list is then what
    PortAudio already knows); a caller playing audio through sounddevice must not rescan.
    """
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
    """The input device given by index or (part of its) name; the system default for ``None``."""
    devices = input_devices()
    if not devices:
        raise MoodlineError("audio input: no input device found (is a microphone connected?)")
    if wanted is None or wanted == "":
        for device in devices:
            if device.is_default:
                return device
        return devices[0]
    if isinstance(wanted, int) or str(wanted).isdigit():
        for device in devices:
            if device.index == int(wanted):
                return device
        raise MoodlineError(f"audio input: no input device with index {wanted} (see 'moodline devices')")
    matches = [d for d in devices if d.name == wanted] or \
              [d for d in devices if str(wanted).lower() in d.name.lower()]
    if not matches:
        raise MoodlineError(f"audio input: no input device named '{wanted}' (see 'moodline devices')")
    return matches[0]


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
        self._sd = sd

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self.ring.write(indata[:, 0])

    def start(self) -> None:
        global _open_input_streams
        with _portaudio_lock:
            try:
                self._stream = self._sd.InputStream(
                    device=self.device.index, channels=1, dtype="float32",
                    samplerate=self.sample_rate_hz, blocksize=round(BLOCK_S * self.sample_rate_hz),
                    callback=self._callback)
            except Exception as exc:
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
        return self._stream is not None and self._stream.active

    def stop(self) -> None:
        global _open_input_streams
        with _portaudio_lock:
            if self._stream is not None:
                try:
                    self._stream.stop()
                    self._stream.close()
                except Exception:  # a device that vanished cannot be stopped; it is gone either way
                    pass
                self._stream = None
                _open_input_streams -= 1
