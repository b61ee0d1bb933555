"""The models shipped in ``models/``, used by name through the real ``moodline`` command."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodline.engine.model import BUNDLED_MODELS, EmotionModel, bundled_model_path

ROOT = Path(__file__).resolve().parents[2]
MOODLINE = str(Path(sys.executable).with_name("moodline"))
DEMO = ROOT / "assets" / "demo.flac"


@pytest.mark.parametrize("name", sorted(BUNDLED_MODELS))
def test_each_shipped_model_analyses_the_demo_by_name(name):
    result = subprocess.run([MOODLINE, "analyze", str(DEMO), "--model", name, "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    model = EmotionModel(bundled_model_path(name))
    assert report["labels"] == list(model.info.labels)
    assert report["summary"]["label"] in model.info.labels and report["summary"]["speech_s"] > 20
    speech = [w for w in report["timeline"] if w["is_speech"]]
    assert len(speech) >= 20  # the demo is mostly speech
    for window in speech:
        assert abs(sum(window["probabilities"].values()) - 1) < 1e-3
    # the card that says how the model was trained is installed beside it
    card = bundled_model_path(name).with_suffix(".md")
    assert card.is_file() and "moodline train" in card.read_text(encoding="utf-8")


def test_the_default_model_gives_its_embedding_beside_the_probabilities():
    """Speaker adaptation builds on the pooled embedding: the shipped graph must expose it."""
    model = EmotionModel(bundled_model_path("default"))
    outputs = [o.name for o in model.session.get_outputs()]
    assert outputs[0] == "probabilities" and "embedding" in outputs
    assert model.streaming  # the encoder runs once per stretch of speech
    stream = model.stream(200, 50)  # 2 s windows every 0.5 s
    features = np.random.default_rng(0).normal(-0.5, 0.3, (350, model.info.features.n_mels)).astype(np.float32)
    for index in range(4):  # a stretch: the first window whole, then a hop at a time
        outputs = stream.window(index, features[50 * index: 50 * index + 200])
        probabilities, embedding = outputs["probabilities"], outputs["embedding"]
        assert probabilities.shape == (1, len(model.info.labels)) and embedding.shape[0] == 1
        assert embedding.shape[1] >= 256 and np.isfinite(embedding).all()


def test_the_default_model_adapts_to_the_voice_it_hears_and_has_its_own_unsure_line():
    model = EmotionModel(bundled_model_path("default"))
    assert model.adapts and model.info.adaptation.prior_windows > 0
    assert 0.3 <= model.info.unsure_threshold <= 0.95  # chosen on held-out corpora (its card)
    runs = [subprocess.run([MOODLINE, "analyze", str(DEMO), "--model", "default", "--format", "json", *extra],
                           capture_output=True, text=True, timeout=120) for extra in ([], ["--no-adapt"])]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    adapted, plain = (json.loads(r.stdout)["timeline"] for r in runs)
    speech = [(a, b) for a, b in zip(adapted, plain) if a["is_speech"]]
    # The first windows are judged mostly by the training speakers' statistics; by the end of
    # the recording by the voice's own.
    late = speech[len(speech) // 2:]
    assert max(abs(a["probabilities"][k] - b["probabilities"][k]) for a, b in late for k in a["probabilities"]) > 0.05


def test_info_lists_the_shipped_models():
    result = subprocess.run([MOODLINE, "info"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in BUNDLED_MODELS:
        assert name in result.stdout


def test_a_quiet_microphone_is_still_heard(tmp_path):
    """Speech 30 dB below full scale (a quiet talker, a microphone turned down) is still speech:
    the strictest voice-activity setting, once the default, heard 7% of the demo's windows so."""
    import soundfile as sf

    from moodline.engine.audio import load_audio

    samples = load_audio(DEMO, 16000)
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, samples / np.abs(samples).max() * 10 ** (-30 / 20), 16000, subtype="PCM_16")
    result = subprocess.run([MOODLINE, "analyze", str(quiet), "--model", "fast", "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    timeline = json.loads(result.stdout)["timeline"]
    assert sum(w["is_speech"] for w in timeline) >= len(timeline) / 3
