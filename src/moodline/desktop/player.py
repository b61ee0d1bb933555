"""Playing a recording from any moment through the default output device (sounddevice)."""
from __future__ import annotations

import threading
from enum import Enum

import numpy as np

from moodline.engine.errors import MoodlineError


class PlaybackState(Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"  # stopped where it was, to go on from there


class AudioPlayer:
    """Plays 16-bit mono audio from a given second; :attr:`position_s` follows the playback.

    The output callback only copies the next slice of the array; everything else (the
    cursor, the readout) polls :attr:`position_s` from the GUI's timer. Moving within the
    audio that is playing, pausing and going on reuse the open stream: none of them waits for
    the device (closing a stream with ``stop()`` waits until its buffers have played, over a
    second on PulseAudio, which is why a click on the timeline used to take that long).
    """

    def __init__(self) -> None:
        self._stream = None
        self._audio = np.zeros(0, dtype=np.int16)
        self._rate = 16000
        self._pos = 0  # the next sample handed to the device
        self._pos_lock = threading.Lock()  # the callback and seek() both move _pos
        self._paused = False

    @property
    def state(self) -> PlaybackState:
        if self._stream is not None and self._stream.active:
            return PlaybackState.PLAYING
        return PlaybackState.PAUSED if self._paused else PlaybackState.STOPPED

    @property
    def playing(self) -> bool:
        return self.state is PlaybackState.PLAYING

    @property
    def paused(self) -> bool:
        return self.state is PlaybackState.PAUSED

    @property
    def position_s(self) -> float:
        return self._pos / self._rate

    def play(self, audio: np.ndarray, sample_rate_hz: int, from_s: float = 0.0) -> None:
        """Play ``audio`` from ``from_s``; if it is the audio already playing (or paused), only
        move there."""
        if self._stream is not None and audio is self._audio and sample_rate_hz == self._rate:
            self.seek(from_s)
            self._start()
            return
        self.stop()
        self._audio, self._rate = audio, sample_rate_hz
        self.seek(from_s)
        import sounddevice as sd

        try:
            self._stream = sd.OutputStream(samplerate=sample_rate_hz, channels=1, dtype="int16",
                                           callback=self._callback)
        except Exception as exc:
            self._stream = None
            raise MoodlineError(f"audio output: cannot play ({exc})") from None
        self._start()

    def seek(self, t_s: float) -> None:
        """Go on from ``t_s`` (at once while playing; when paused, once resumed)."""
        with self._pos_lock:
            self._pos = int(np.clip(t_s * self._rate, 0, len(self._audio)))

    def pause(self) -> None:
        """Stop at once, keeping the place: :meth:`resume` goes on from what was last heard."""
        if not self.playing:
            return
        latency_s = self._stream.latency
        self._stream.abort()  # drops what the device has not played yet, without waiting
        self._paused = True
        # The dropped buffers were counted as played: go back over them.
        self.seek(max(0.0, self.position_s - latency_s))

    def resume(self) -> None:
        if self.paused:
            self._start()

    def _start(self) -> None:
        self._paused = False
        try:
            if not self._stream.stopped:  # it ran to the end, or is playing: stop it first
                self._stream.abort()
            self._stream.start()
        except Exception as exc:
            self.stop()
            raise MoodlineError(f"audio output: cannot play ({exc})") from None

    def _callback(self, outdata, frames, time_info, status) -> None:
        with self._pos_lock:
            start = self._pos
            self._pos = min(start + frames, len(self._audio))
            end = self._pos
        outdata[:end - start, 0] = self._audio[start:end]
        outdata[end - start:, 0] = 0
        if end - start < frames:
            import sounddevice as sd

            raise sd.CallbackStop

    def stop(self) -> None:
        self._paused = False
        if self._stream is not None:
            try:
                self._stream.abort()  # not stop(): that waits for the buffers to play out
                self._stream.close()
            except Exception:  # an output device that vanished is stopped either way
                pass
            self._stream = None
