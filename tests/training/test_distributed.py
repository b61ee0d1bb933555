"""Training under a distribution strategy: two logical CPU devices learn the model one device does.

TensorFlow fixes its devices once per process, so the two-device run is the real ``moodline``
command in a process of its own; the one-device run is the same command in this process.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np

from moodline.engine.model import EmotionModel
from moodline.training.cli import main

from training_fixtures import make_ravdess

EPOCH_LINE = re.compile(r"final  epoch +(\d+)/\d+  loss ([\d.]+)  acc ([\d.]+)")


def test_two_logical_devices_train_the_same_model_as_one(tmp_path, capsys):
    """The encoder recipe's head without dropout has no random layer, so with the same seed and the
    same batches the only difference between one device and MirroredStrategy over two is the
    order in which the gradient is summed (two half-batch sums, then their sum): float32
    rounding, measured at 2e-7 in a probability. The tolerances (1e-4 in a probability, the
    printed loss and accuracy equal within their last digit) leave room for that to grow through
    Adam's steps and are still far below what a real difference makes: different batches (an
    epoch drawn twice) moved the first epoch's loss from 1.20 to 1.00 here, and dropout masks
    alone move the default CNN's probabilities by 0.03 after four epochs on this corpus."""
    data = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2, 3, 4), emotions=("01", "03", "05"), takes=2)
    cache = tmp_path / "cache"  # shared: the second run reads the first run's embeddings

    def command(out: str) -> list[str]:
        return ["train", "--model", "whisper_tiny", "--dropout", "0", "--data", f"ravdess={data}",
                "--epochs", "3", "--cv", "0", "--augment", "0", "--window-s", "1.0", "--batch-size", "16",
                "--out", str(tmp_path / out), "--cache", str(cache), "--workers", "1"]

    assert main(command("one.onnx")) == 0
    one_printed = capsys.readouterr().out
    two = subprocess.run([sys.executable, "-m", "moodline", *command("two.onnx"), "--devices", "2"],
                         capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-2000:]
    assert "training on 2 replicas (MirroredStrategy), global batch 16" in two.stdout
    assert "MirroredStrategy over 2 replicas" in json.loads((tmp_path / "two.report.json").read_text())["machine"]

    # Every epoch: the same loss and training accuracy (6 batches of 16 windows, 3 epochs).
    one_epochs, two_epochs = EPOCH_LINE.findall(one_printed), EPOCH_LINE.findall(two.stdout)
    assert [e[0] for e in one_epochs] == [e[0] for e in two_epochs] == ["1", "2", "3"]
    for (_, loss1, acc1), (_, loss2, acc2) in zip(one_epochs, two_epochs):
        assert abs(float(loss1) - float(loss2)) <= 0.0015 and abs(float(acc1) - float(acc2)) <= 0.0015

    # The exported files give the same probabilities on every window of the corpus, through the engine.
    from moodline.training.corpora import load_corpus
    from moodline.training.dataset import extract_windows

    model_one, model_two = EmotionModel(tmp_path / "one.onnx", prefer="cpu"), EmotionModel(tmp_path / "two.onnx", prefer="cpu")
    windows = extract_windows(load_corpus("ravdess", data).clips, model_one.info.features, model_one.info.window_s, 0,
                              cache_dir=None, progress=False)
    probs_one, probs_two = model_one.predict(windows.features), model_two.predict(windows.features)
    assert len(probs_one) == 96
    assert probs_one.std(axis=0).max() > 0.05  # the models learnt something: the windows are told apart
    np.testing.assert_allclose(probs_two, probs_one, atol=1e-4)


def test_asking_for_more_devices_after_tensorflow_started_is_one_line(tmp_path, capsys):
    """In a process where TensorFlow already runs on one CPU device, --devices 2 cannot apply:
    the user is told to use a new process, before any training."""
    import tensorflow as tf

    tf.config.list_logical_devices("CPU")  # TensorFlow sets up its devices (as any earlier training would)
    data = make_ravdess(tmp_path / "RAVDESS", actors=(1, 2), emotions=("01", "03"), takes=1)
    code = main(["train", "--data", f"ravdess={data}", "--devices", "2", "--cv", "0", "--epochs", "1",
                 "--out", str(tmp_path / "m.onnx"), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--devices 2: TensorFlow has already started in this process" in err and "new process" in err
    assert not (tmp_path / "m.onnx").exists()
