"""Log-mel, MFCC, Whisper log-mel and mel power features: the one implementation that training and the
live engine share.

Frames are taken without centring: frame ``i`` covers samples ``[i * hop_length,
i * hop_length + n_fft)`` and depends on nothing else. A window's features are therefore the
same whether its frames were computed for a whole file at once or a few at a time as audio
streams in, which is what makes live and offline analysis agree.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

FEATURE_KINDS = ("log_mel", "mfcc", "whisper_log_mel", "mel_power")
MAX_FFT = 16384  # samples: a second at 16 kHz
MAX_MELS = 512
MAX_RATE_HZ = 192000
_MEL_PARAMS = ("kind", "n_fft", "win_length", "hop_length", "n_mels", "fmin_hz", "fmax_hz")
# The parameters a model file's `features` metadata must give for each kind. None may be left
# to a default: a wrong hop or FFT size changes the labels without any error.
REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "log_mel": _MEL_PARAMS,
    "mfcc": _MEL_PARAMS + ("n_mfcc",),
    "whisper_log_mel": _MEL_PARAMS,
    "mel_power": _MEL_PARAMS,
}
_LOG_FLOOR = 1e-10  # power floor before dB, as librosa.power_to_db(amin=1e-10)


@dataclass(frozen=True)
class FeatureSpec:
    """Every parameter of the feature computation; stored in each model file's metadata.

    ``kind`` is ``"log_mel"`` (features are ``n_mels`` mel bands in dB), ``"mfcc"`` (the first
    ``n_mfcc`` DCT-II coefficients of those bands, as librosa) or ``"whisper_log_mel"`` (the
    bands as ``log10`` of their power, Whisper's front end before its per-input clamp and
    scaling, which depend on the whole window and so belong to the model's graph) or
    ``"mel_power"`` (the bands' power itself, no logarithm: the speaker encoder's input, see
    :mod:`.speakers`).
    Lengths are in samples at ``sample_rate_hz``; frequencies in Hz.
    """

    sample_rate_hz: int = 16000
    kind: str = "log_mel"
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 64
    fmin_hz: float = 50.0
    fmax_hz: float = 8000.0
    n_mfcc: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in FEATURE_KINDS:
            problems.append(f"kind must be one of {', '.join(FEATURE_KINDS)}, not {self.kind!r}")
        if not 0 < self.win_length <= self.n_fft:
            problems.append("win_length must be between 1 and n_fft")
        if self.hop_length <= 0 or self.n_mels <= 0 or self.sample_rate_hz <= 0:
            problems.append("hop_length, n_mels and sample_rate_hz must be positive")
        if not 0 <= self.fmin_hz < self.fmax_hz <= self.sample_rate_hz / 2:
            problems.append("need 0 <= fmin_hz < fmax_hz <= sample_rate_hz / 2")
        if self.kind == "mfcc" and not 0 < self.n_mfcc <= self.n_mels:
            problems.append("mfcc needs 0 < n_mfcc <= n_mels")
        # Bounds a real model stays far inside; beyond them a file's metadata would make every
        # window allocate gigabytes before anything could say what is wrong.
        for name, value, most in (("n_fft", self.n_fft, MAX_FFT), ("hop_length", self.hop_length, MAX_FFT),
                                  ("n_mels", self.n_mels, MAX_MELS), ("sample_rate_hz", self.sample_rate_hz, MAX_RATE_HZ)):
            if value > most:
                problems.append(f"{name} must be at most {most}, not {value}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def n_features(self) -> int:
        """Values per frame: mel bands for log-mel, coefficients for MFCC."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    def frames_in(self, n_samples: int) -> int:
        """How many whole frames ``n_samples`` samples hold."""
        return 0 if n_samples < self.n_fft else 1 + (n_samples - self.n_fft) // self.hop_length

    def samples_for(self, n_frames: int) -> int:
        """How many samples ``n_frames`` frames span."""
        return (n_frames - 1) * self.hop_length + self.n_fft

    def to_dict(self) -> dict[str, Any]:
        """The feature parameters as stored in model metadata (without the sample rate)."""
        params = asdict(self)
        del params["sample_rate_hz"]
        if self.kind != "mfcc":
            del params["n_mfcc"]
        return params


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_F_SP
    log = _MEL_MIN_LOG + np.log(np.maximum(hz, 1e-10) / 1000.0) / _MEL_LOGSTEP
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _MEL_MIN_LOG, 1000.0 * np.exp(_MEL_LOGSTEP * (mel - _MEL_MIN_LOG)), mel * _MEL_F_SP)


_MEL_F_SP = 200.0 / 3  # Hz per mel below 1 kHz
_MEL_MIN_LOG = 1000.0 / _MEL_F_SP
_MEL_LOGSTEP = np.log(6.4) / 27.0


def mel_filterbank(spec: FeatureSpec) -> np.ndarray:
    """Triangular mel filters, area-normalised (Slaney), shape ``(n_mels, n_fft // 2 + 1)``.

    The same filters as ``librosa.filters.mel`` with its defaults (checked by the tests),
    computed here so the runtime does not import librosa (about 1.3 s and 140 MB).
    """
    fft_hz = np.fft.rfftfreq(spec.n_fft, 1.0 / spec.sample_rate_hz)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(spec.fmin_hz), _hz_to_mel(spec.fmax_hz), spec.n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II, shape ``(n_out, n_in)``, as ``scipy.fft.dct(norm="ortho")``."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    matrix = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    matrix[0] /= np.sqrt(2.0)
    return matrix


def hann_window(spec: FeatureSpec) -> np.ndarray:
    """Periodic Hann window of ``win_length`` samples, centred in ``n_fft`` (as librosa)."""
    n = np.arange(spec.win_length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / spec.win_length)
    left = (spec.n_fft - spec.win_length) // 2
    return np.pad(window, (left, spec.n_fft - spec.win_length - left))


@lru_cache(maxsize=1)
def _single_threaded_blas() -> None:
    # Our matrix products are small (a hop is ~50 frames × 257 bins × 64 bands). OpenBLAS
    # spreads even those over all cores, and on a busy 2-core machine waking its threads made a
    # 0.1 ms hop take 1–15 ms. One BLAS thread is fastest for work of this size.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@lru_cache(maxsize=8)
def _filters(spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(analysis window, mel filterbank transposed, DCT matrix transposed or None), float32."""
    _single_threaded_blas()
    dct = dct_matrix(spec.n_mfcc, spec.n_mels).T if spec.kind == "mfcc" else None
    return (
        hann_window(spec).astype(np.float32),
        np.ascontiguousarray(mel_filterbank(spec).T, dtype=np.float32),
        None if dct is None else np.ascontiguousarray(dct, dtype=np.float32),
    )


def features(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Features of every whole frame of ``samples``: float32, shape ``(n_frames, n_features)``.

    ``samples`` is mono audio at ``spec.sample_rate_hz``. Samples after the last whole frame
    are ignored (a caller streaming audio keeps them for the next call).
    """
    import scipy.fft

    samples = np.asarray(samples, dtype=np.float32)
    n_frames = spec.frames_in(len(samples))
    window, mel_t, dct_t = _filters(spec)
    if n_frames == 0:
        return np.zeros((0, spec.n_features), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, spec.n_fft)[:: spec.hop_length]
    spectrum = scipy.fft.rfft(frames[:n_frames] * window, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    if spec.kind == "mel_power":
        return power @ mel_t
    log10_mel = np.log10(np.maximum(power @ mel_t, _LOG_FLOOR))
    if spec.kind == "whisper_log_mel":
        return log10_mel
    log_mel_db = 10.0 * log10_mel
    return log_mel_db if dct_t is None else log_mel_db @ dct_t


def log_mel(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Mel bands in dB of every whole frame, shape ``(n_frames, n_mels)``; ``spec.kind`` ignored."""
    params = {**asdict(spec), "kind": "log_mel"}
    return features(samples, FeatureSpec(**params))


def mfcc(samples: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """MFCCs of every whole frame, shape ``(n_frames, n_mfcc)``; ``spec.kind`` must be mfcc."""
    if spec.kind != "mfcc":
        raise ValueError("mfcc() needs a FeatureSpec with kind='mfcc'")
    return features(samples, spec)
