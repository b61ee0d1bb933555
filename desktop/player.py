"""Playing a recording from any moment through the default output device (sounddevice)."""
from __future__ import annotations

import numpy as np

from moodline.engine.errors import MoodlineError


class AudioPlayer:
    """Plays 16-bit mono audio from a given second; :attr:`position_s` follows the playback.

    The output callback only copies the next slice of the array; everything else (the
    cursor, the readout) polls :attr:`position_s` from the GUI's timer.
    """

    def __init__(self) -> None:
        self._stream = None
        self._audio = np.zeros(0, dtype=np.int16)
        self._rate = 16000
        self._pos = 0

    @property
    def playing(self) -> bool:
        return self._stream is not None and self._stream.active

    @property
    def position_s(self) -> float:
        return self._pos / self._rate

    def play(self, audio: np.ndarray, sample_rate_hz: int, from_s: float = 0.0) -> None:
        import sounddevice as sd

        self.stop()
        self._audio, self._rate = audio, sample_rate_hz
        self._pos = int(np.clip(from_s * sample_rate_hz, 0, len(audio)))
        try:
            self._stream = sd.OutputStream(samplerate=sample_rate_hz, channels=1, dtype="int16",
                                           callback=self._callback)
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise MoodlineError(f"audio output: cannot play ({exc})") from None

    def _callback(self, outdata, frames, time_info, status) -> None:
        chunk = self._audio[self._pos:self._pos + frames]
        outdata[:len(chunk), 0] = chunk
        outdata[len(chunk):, 0] = 0
        self._pos += len(chunk)
        if len(chunk) < frames:
            import sounddevice as sd

            raise sd.CallbackStop

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # an output device that vanished is stopped either way
                pass
            self._stream = None
