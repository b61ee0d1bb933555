"""``moodline export-voice-model``: Resemblyzer's speaker encoder ported to ONNX, checked against
the original (torch) network, and the shipped ``models/voice.onnx`` is that port."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from moodline.engine.speakers import SpeakerEncoder, shipped_speaker_model

MOODLINE = str(Path(sys.executable).with_name("moodline"))


def test_the_export_matches_resemblyzer_and_the_shipped_model(tmp_path):
    out = tmp_path / "voice.onnx"
    done = subprocess.run([MOODLINE, "export-voice-model", "--out", str(out), "--clips", "3"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert '"passed": true' in done.stdout and f"wrote {out}" in done.stdout
    fresh, shipped = SpeakerEncoder(out), SpeakerEncoder(shipped_speaker_model())
    assert "Resemblyzer 0.1.4" in shipped.provenance and "Apache-2.0" in shipped.provenance
    mels = np.random.default_rng(0).random((4, 200, 40), dtype=np.float32) * 5
    np.testing.assert_allclose(fresh.run(mels), shipped.run(mels), atol=1e-5)


def test_a_port_that_differs_is_not_kept(tmp_path, monkeypatch):
    from moodline.training import speaker

    monkeypatch.setattr(speaker, "GRAPH_TOLERANCE", -1.0)  # nothing can be that close
    out = tmp_path / "voice.onnx"
    assert speaker.main(["--out", str(out), "--clips", "2"]) == 1
    assert not out.exists()
