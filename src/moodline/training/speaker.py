"""``moodline export-voice-model``: Resemblyzer's GE2E speaker encoder as the ONNX file the engine
runs (``models/voice.onnx``), checked against the original.

The weights are the ``pretrained.pt`` inside the ``resemblyzer`` wheel (Apache-2.0); torch is
needed here, to load them and to export the graph, never by the runtime. The graph is the
network alone: three LSTM layers over 40 mel power bands, the last layer's final state through a
linear layer and a ReLU, scaled to unit length. The mel bands (not their logarithm: the network
was trained so) come from the engine's own front end (``mel_power`` features) and the level
normalisation from :mod:`moodline.engine.speakers`, so the parity check compares three things:

1. the ONNX graph against the torch network on the same mel bands (random and real, and rows of
   different lengths padded into one batch);
2. the engine's mel power bands against librosa's ``melspectrogram`` (Resemblyzer's front end)
   on the same frames;
3. the engine's whole path (level, bands, graph) against Resemblyzer's ``embed_utterance`` on
   real speech, as cosine similarity of the embeddings.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from moodline.engine.fileio import atomic_output
from moodline.engine.speakers import LEVEL_DBFS, PARTIAL_FRAMES, SPEAKER_FEATURES, SpeakerEncoder

RESEMBLYZER_VERSION = "0.1.4"
# What the port must reach (float32 arithmetic in two runtimes, and two FFT implementations).
GRAPH_TOLERANCE = 1e-4  # max |difference| of embedding values, same mel input
FRONT_END_TOLERANCE = 1e-3  # max relative difference of mel bands (to the frame's largest)
MIN_COSINE = 0.995  # whole path against embed_utterance on real speech


def _torch_encoder():
    try:
        import torch  # noqa: F401
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise ValueError(f"export-voice-model needs torch and resemblyzer=={RESEMBLYZER_VERSION} "
                         f"(scripts/setup-env train installs both): {exc}") from None
    from importlib.metadata import version

    if version("resemblyzer") != RESEMBLYZER_VERSION:
        raise ValueError(f"resemblyzer {version('resemblyzer')} installed; the port is checked against {RESEMBLYZER_VERSION}")
    return VoiceEncoder(device="cpu", verbose=False).eval()


def _weights_sha256() -> str:
    from importlib.resources import files

    return hashlib.sha256((files("resemblyzer") / "pretrained.pt").read_bytes()).hexdigest()


def export_graph(out: Path) -> None:
    """Write the ONNX file (graph and metadata) to ``out``."""
    import onnx
    import torch

    encoder = _torch_encoder()

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "ge2e.onnx"
        torch.onnx.export(encoder, (torch.rand(2, PARTIAL_FRAMES, 40),), str(raw),
                          input_names=["mels"], output_names=["embedding"], opset_version=17,
                          dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
                          dynamo=False)
        graph = onnx.load(str(raw))
    # Windows with their pauses cut out differ in length: "lengths" (frames per batch row) goes to
    # every LSTM as its sequence_lens, so that rows padded to the longest end where they end.
    graph.graph.input.append(onnx.helper.make_tensor_value_info("lengths", onnx.TensorProto.INT32, ["batch"]))
    lstms = [node for node in graph.graph.node if node.op_type == "LSTM"]
    if len(lstms) != 3 or any(node.input[4] for node in lstms):
        raise ValueError("the exported graph is not the three LSTM layers this port expects")
    for node in lstms:
        node.input[4] = "lengths"
    metadata = {
        "format_version": "1",
        "kind": "speaker_encoder",
        "sample_rate_hz": str(SPEAKER_FEATURES.sample_rate_hz),
        "features": json.dumps(SPEAKER_FEATURES.to_dict()),
        "level_dbfs": str(LEVEL_DBFS),
        "partial_frames": str(PARTIAL_FRAMES),
        "provenance": (f"Resemblyzer {RESEMBLYZER_VERSION} GE2E voice encoder (pretrained.pt sha256 "
                       f"{_weights_sha256()}), Apache-2.0; ported by moodline export-voice-model"),
    }
    del graph.metadata_props[:]
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out, mode=0o644) as tmp_out:  # a shipped file: readable by all
        onnx.save(graph, str(tmp_out))


def check_parity(path: Path, speech: Sequence[np.ndarray]) -> dict:
    """The three comparisons of the module's docstring; ``speech`` are 16 kHz mono clips."""
    import librosa
    import torch
    from resemblyzer import audio as rz_audio

    from moodline.engine.features import features

    encoder = _torch_encoder()
    ours = SpeakerEncoder(path)
    rng = np.random.default_rng(0)
    graph_diff = 0.0
    batches = [rng.random((3, PARTIAL_FRAMES, 40), dtype=np.float32) * 10, rng.random((1, 57, 40), dtype=np.float32)]
    for clip in speech:
        wav = rz_audio.normalize_volume(clip, LEVEL_DBFS, increase_only=True)
        batches.append(rz_audio.wav_to_mel_spectrogram(wav)[None, :PARTIAL_FRAMES * 2])
    for mels in batches:
        with torch.no_grad():
            reference = encoder(torch.from_numpy(np.ascontiguousarray(mels))).numpy()
        graph_diff = max(graph_diff, float(np.abs(ours.run(mels) - reference).max()))
    # Rows of different lengths in one padded batch: each as the network alone on its own frames.
    rows = [batches[0][0], batches[0][1][:120], batches[1][0][:57]]
    padded = np.zeros((len(rows), PARTIAL_FRAMES, 40), np.float32)
    for i, row in enumerate(rows):
        padded[i, :len(row)] = row
    together = ours.run(padded, np.array([len(r) for r in rows], np.int32))
    for row, embedding in zip(rows, together):
        with torch.no_grad():
            reference = encoder(torch.from_numpy(np.ascontiguousarray(row[None]))).numpy()[0]
        graph_diff = max(graph_diff, float(np.abs(embedding - reference).max()))

    front_diff, cosines = 0.0, []
    hop = SPEAKER_FEATURES.hop_length
    for clip in speech:
        theirs = librosa.feature.melspectrogram(y=clip, sr=16000, n_fft=SPEAKER_FEATURES.n_fft, hop_length=hop,
                                                n_mels=SPEAKER_FEATURES.n_mels).T
        padded = np.pad(clip, SPEAKER_FEATURES.n_fft // 2)  # librosa centres its frames
        mine = features(padded, SPEAKER_FEATURES)[: len(theirs)]
        front_diff = max(front_diff, float((np.abs(mine - theirs[: len(mine)]).max(axis=1)
                                            / np.maximum(theirs[: len(mine)].max(axis=1), 1e-10)).max()))
        wav = rz_audio.normalize_volume(clip, LEVEL_DBFS, increase_only=True)
        reference = encoder.embed_utterance(wav)
        cosines.append(float(ours.embed_recording(clip) @ reference))
    return {"graph_max_abs_diff": graph_diff, "front_end_max_rel_diff": front_diff,
            "min_cosine_to_embed_utterance": min(cosines), "clips": len(speech),
            "passed": graph_diff <= GRAPH_TOLERANCE and front_diff <= FRONT_END_TOLERANCE and min(cosines) >= MIN_COSINE}


def _clips(folder: Path | None, count: int) -> list[np.ndarray]:
    """Up to ``count`` speech clips: from ``folder`` (audio files, searched recursively) or the
    bundled demo recording cut in pieces."""
    from moodline.engine.audio import load_audio

    if folder is None:
        from importlib.resources import files

        demo = load_audio(str(files("moodline.assets") / "demo.flac"), 16000)
        step = len(demo) // count
        return [demo[i * step: (i + 1) * step] for i in range(count)]
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    picked = paths[:: max(1, len(paths) // count)][:count]
    if not picked:
        raise ValueError(f"{folder}: no .wav or .flac files")
    return [load_audio(str(p), 16000) for p in picked]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="moodline export-voice-model",
                                     description="Port Resemblyzer's GE2E speaker encoder to ONNX and check it.")
    parser.add_argument("--out", type=Path, default=Path("models/voice.onnx"), help="default: models/voice.onnx")
    parser.add_argument("--check-with", type=Path, default=None, metavar="FOLDER",
                        help="speech to compare on (default: pieces of the demo recording)")
    parser.add_argument("--clips", type=int, default=8, help="clips to compare on (default: 8)")
    args = parser.parse_args(argv)
    try:
        export_graph(args.out)
        report = check_parity(args.out, _clips(args.check_with, args.clips))
    except ValueError as exc:
        print(f"moodline export-voice-model: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    if not report["passed"]:
        args.out.unlink(missing_ok=True)
        print(f"moodline export-voice-model: the port differs from Resemblyzer beyond the tolerances; "
              f"{args.out} removed", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 "
          f"{hashlib.sha256(args.out.read_bytes()).hexdigest()})")
    return 0
