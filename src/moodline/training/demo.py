"""The demo recording in ``assets/``: a few RAVDESS clips of different emotions, pauses between.

``python -m moodline.training.demo PATH_TO_RAVDESS assets/demo.flac`` rebuilds it. Each clip's
leading and trailing silence is trimmed so the pauses are the ones chosen here.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from moodline.engine.audio import load_audio

SAMPLE_RATE_HZ = 16000
PAUSE_S = 1.5
# (actor folder, file stem): strong takes, alternating statements and voices (odd = male).
CLIPS = (
    ("Actor_03", "03-01-01-01-01-01-03"),  # neutral
    ("Actor_04", "03-01-02-02-02-01-04"),  # calm
    ("Actor_05", "03-01-03-02-01-01-05"),  # happy
    ("Actor_06", "03-01-04-02-02-01-06"),  # sad
    ("Actor_07", "03-01-05-02-01-01-07"),  # angry
    ("Actor_08", "03-01-06-02-02-01-08"),  # fearful
    ("Actor_09", "03-01-07-02-01-01-09"),  # disgust
    ("Actor_10", "03-01-08-02-02-01-10"),  # surprised
    ("Actor_12", "03-01-03-02-02-02-12"),  # happy
    ("Actor_11", "03-01-05-02-02-02-11"),  # angry
)


def _find(root: Path, folder: str, stem: str) -> Path:
    for ext in (".flac", ".wav"):
        if (root / folder / (stem + ext)).is_file():
            return root / folder / (stem + ext)
    raise FileNotFoundError(f"{root / folder / stem}.wav: not found")


def make_demo(ravdess_root: str | os.PathLike, out_path: str | os.PathLike, top_db: float = 35.0) -> float:
    """Write the demo recording (mono 16 kHz FLAC) to ``out_path``; return its length in seconds."""
    import librosa
    import soundfile as sf

    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE_HZ), dtype=np.float32)
    parts = [pause[: SAMPLE_RATE_HZ // 2]]
    for folder, stem in CLIPS:
        speech, _ = librosa.effects.trim(load_audio(_find(Path(ravdess_root), folder, stem), SAMPLE_RATE_HZ), top_db=top_db)
        parts += [speech, pause]
    audio = np.concatenate(parts)
    sf.write(str(out_path), audio, SAMPLE_RATE_HZ, format="FLAC", subtype="PCM_16")
    return len(audio) / SAMPLE_RATE_HZ


if __name__ == "__main__":
    print(f"{make_demo(sys.argv[1], sys.argv[2]):.1f} s")
