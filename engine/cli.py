"""The ``moodline`` command: analyse files, listen to a microphone, list devices, show info.

Every problem a user can cause (missing file, corrupt audio, bad model, no microphone) ends
as one line on stderr and exit code 2, never a traceback. A batch goes on past a bad file and
lists the failures at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

from . import __version__
from .analysis import AnalysisSettings, analyze_file
from .audio import find_audio_files
from .errors import MoodlineError
from .model import EmotionModel, default_model_path
from .timeline import Timeline, TimelinePoint

EXIT_OK, EXIT_FAILED = 0, 2


def _load_model(path: str | None) -> EmotionModel:
    if path is None:
        default = default_model_path()
        if not default.is_file():
            raise MoodlineError(f"{default}: the default model is not installed; pass --model FILE")
        path = str(default)
    return EmotionModel(path)


def _settings(args: argparse.Namespace) -> AnalysisSettings:
    return AnalysisSettings(window_s=args.window, hop_s=args.hop, smoothing_windows=args.smooth,
                            vad_aggressiveness=args.vad).check()


# ---- analyze ----------------------------------------------------------------------------
def _segments(timeline: Timeline) -> list[tuple[float, float, str | None, float]]:
    """Runs of consecutive points with one label: (start_s, end_s, label, mean confidence)."""
    runs: list[list] = []
    for point in timeline.points:
        if runs and runs[-1][2] == point.label:
            runs[-1][3].append(point.confidence or 0.0)
            continue
        if runs:
            runs[-1][1] = point.start_s
        runs.append([point.start_s, timeline.duration_s, point.label, [point.confidence or 0.0]])
    return [(s, e, label, sum(c) / len(c)) for s, e, label, c in runs]


def _print_summary(name: str, timeline: Timeline) -> None:
    summary = timeline.summary()
    if summary.label is None:
        print(f"{name}  {timeline.duration_s:.1f} s  no speech")
        return
    print(f"{name}  {timeline.duration_s:.1f} s  {summary.label} "
          f"(mean p={summary.probabilities[summary.label]:.2f}, "
          f"{summary.shares[summary.label]:.0%} of {summary.speech_s:.1f} s speech)")
    for start, end, label, confidence in _segments(timeline):
        what = f"{label}  {confidence:.2f}" if label else "no speech"
        print(f"  {start:7.1f} – {end:7.1f} s  {what}")


def _output_name(file: Path, root: Path, suffix: str) -> Path:
    """``talk.wav`` → ``talk.wav.csv``, keeping sub-folders of an analysed folder."""
    relative = file.relative_to(root) if root.is_dir() else Path(file.name)
    return relative.with_name(relative.name + suffix)


def cmd_analyze(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    settings = _settings(args)
    failures: list[str] = []
    jobs: list[tuple[Path, Path]] = []  # (file, the PATH argument it came from)
    for arg in args.paths:
        root = Path(arg)
        if not root.exists():
            failures.append(f"{root}: no such file or folder")
            continue
        files = find_audio_files(root)  # walks a folder once
        if not files:
            failures.append(f"{root}: no audio files in this folder")
        jobs += [(f, root) for f in files]
    for failure in failures:
        print(f"moodline: {failure}", file=sys.stderr)

    out_dir = Path(args.out) if args.out else None
    fmt = args.format or ("csv" if out_dir else None)
    if out_dir:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MoodlineError(f"{out_dir}: cannot create output folder ({exc.strerror})") from None
    summaries: list[dict] = []
    csv_header_done = False
    progress = _progress_bar(jobs)
    done_s = 0.0
    for file, root in jobs:
        try:
            timeline = analyze_file(file, model, settings,
                                    progress=lambda s: progress.update(done_s + s - progress.n) if progress else None)
        except MoodlineError as exc:
            failures.append(str(exc))
            _write_err(progress, f"moodline: {exc}")
            continue
        done_s += timeline.duration_s
        record = timeline.to_json_dict(str(file))
        summaries.append(record)
        if out_dir:
            target = out_dir / _output_name(file, root, "." + fmt)
            target.parent.mkdir(parents=True, exist_ok=True)
            timeline.save(target, str(file))
        elif fmt == "json":
            print(json.dumps(record), flush=True)
        elif fmt == "csv":
            lines = timeline.to_csv().splitlines()
            if not csv_header_done:
                print("file," + lines[0])
                csv_header_done = True
            for line in lines[1:]:
                print(f"{_csv_cell(str(file))},{line}")
        if fmt is None or out_dir:
            _print_summary(str(file), timeline)
    if progress:
        progress.close()
    if out_dir and fmt == "csv" and summaries:
        _write_summary_csv(out_dir / "summary.csv", summaries, model.info.labels)
    if failures:
        print(f"moodline: {len(failures)} failed, {len(summaries)} analysed:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _write_summary_csv(path: Path, records: list[dict], labels: Sequence[str]) -> None:
    rows = ["file,duration_s,label,speech_s," + ",".join(f"p_{l}" for l in labels)
            + "," + ",".join(f"share_{l}" for l in labels)]
    for r in records:
        s = r["summary"]
        probs = [f"{s['probabilities'][l]:.6f}" if s["probabilities"] else "" for l in labels]
        shares = [f"{s['shares'][l]:.6f}" for l in labels]
        rows.append(",".join([_csv_cell(r["file"]), f"{r['duration_s']:.3f}", s["label"] or "",
                              f"{s['speech_s']:.3f}", *probs, *shares]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _progress_bar(jobs: list[tuple[Path, Path]]):
    """A progress bar in seconds of audio, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    import soundfile as sf

    total = 0.0
    for file, _ in jobs:
        try:
            total += sf.info(str(file)).duration
        except Exception:  # decoded by FFmpeg or unreadable: counts when analysed
            pass
    if total < 30.0:  # short work needs no bar
        return None
    return tqdm(total=round(total, 1), unit="s", unit_scale=False, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]")


def _write_err(progress, line: str) -> None:
    if progress:
        progress.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)


# ---- listen -----------------------------------------------------------------------------
def cmd_listen(args: argparse.Namespace) -> int:
    from .sources import MicrophoneSource
    from .streaming import StreamingAnalyzer

    model = _load_model(args.model)
    settings = _settings(args)
    if args.out and Path(args.out).suffix.lower() not in (".csv", ".json"):
        raise MoodlineError(f"{args.out}: unknown timeline format (use .csv or .json)")
    mic = MicrophoneSource(device=args.device, preferred_rate_hz=model.info.sample_rate_hz)
    analyzer = StreamingAnalyzer(model, mic.ring, mic.sample_rate_hz, settings)
    live = sys.stdout.isatty()
    analyzer.subscribe(lambda point: _show_point(point, live))
    print(f"Listening to '{mic.device.name}' at {mic.sample_rate_hz} Hz "
          f"({analyzer.window_s:.2f} s windows every {analyzer.hop_s:.2f} s); Ctrl-C to stop.",
          file=sys.stderr, flush=True)
    analyzer.start()
    problem = None
    try:
        mic.start()
        started = time.monotonic()
        while args.seconds is None or time.monotonic() - started < args.seconds:
            time.sleep(0.05)
            if analyzer.error is not None:
                problem = f"engine stopped: {analyzer.error}"
                break
            if not mic.active:
                problem = f"audio input '{mic.device.name}' stopped delivering audio"
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a user ends a session: keep everything recorded so far
    except MoodlineError as exc:
        problem = str(exc)
    finally:
        mic.stop()
        timeline = analyzer.stop()
    if live:
        print()
    if args.out:
        timeline.save(args.out, file=f"input:{mic.device.name}")
        print(f"Timeline written to {args.out}", file=sys.stderr)
    _print_summary("session", timeline)
    if analyzer.lost_samples or mic.overflows:
        print(f"moodline: dropped audio: {analyzer.lost_samples / mic.sample_rate_hz:.2f} s "
              f"(engine too slow), {mic.overflows} input overflows", file=sys.stderr)
    if problem:
        print(f"moodline: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _show_point(point: TimelinePoint, live: bool) -> None:
    if point.is_speech:
        bar = "█" * round(point.confidence * 20)
        text = f"{point.end_s:8.1f} s  {point.label:<10} {point.confidence:4.2f} {bar}"
    else:
        text = f"{point.end_s:8.1f} s  (no speech)"
    if live:
        print("\r" + text.ljust(60), end="", flush=True)
    else:
        print(text, flush=True)


# ---- devices, info ----------------------------------------------------------------------
def cmd_devices(args: argparse.Namespace) -> int:
    from .sources import input_devices

    devices = input_devices()
    if not devices:
        raise MoodlineError("audio input: no input device found")
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark} {d.index:3d}  {d.name}  ({d.host_api}, {d.channels} ch, {d.default_rate_hz} Hz)")
    print("* = system default")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    import numpy
    import onnxruntime
    import soundfile

    print(f"Moodline {__version__}")
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    print(f"numpy {numpy.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"soundfile {soundfile.__version__} (libsndfile {soundfile.__libsndfile_version__})")
    try:
        import sounddevice

        print(f"sounddevice {sounddevice.__version__} ({sounddevice.get_portaudio_version()[1]})")
    except OSError:
        print("sounddevice: PortAudio library not installed (no live input)")
    offered = onnxruntime.get_available_providers()
    try:
        model = _load_model(args.model)
    except MoodlineError:
        print(f"Execution providers offered by onnxruntime: {', '.join(offered)}")
        raise
    usable = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in offered:
        probe = EmotionModel(model.path, prefer="cuda")
        if probe.provider == "CUDAExecutionProvider":
            usable.insert(0, probe.provider)
    print(f"Execution providers usable here: {', '.join(usable)} (this model runs on {model.provider})")
    info = model.info
    print(f"Model: {model.path}")
    print(f"  labels: {', '.join(info.labels)}")
    print(f"  audio: {info.sample_rate_hz} Hz, {info.window_s:g} s windows"
          f"{'' if model.fixed_frames else ' (other window lengths accepted)'}")
    print(f"  features: {json.dumps(info.features.to_dict())}")
    print(f"  normalization: {'in the graph' if info.normalization.in_graph else 'per-feature mean/std'}")
    print(f"  provenance: {info.provenance}")
    return EXIT_OK


# ---- entry point ------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moodline", description="Real-time speech emotion recognition. Without a command "
        "(or with window options such as --open FILE, --start, --aid) it opens the window.")
    parser.add_argument("--version", action="version", version=f"moodline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def analysis_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="FILE", help="ONNX model (default: the bundled model)")
        p.add_argument("--window", type=float, metavar="S", help="window length in seconds (default: the model's)")
        p.add_argument("--hop", type=float, default=0.5, metavar="S", help="seconds between windows (default 0.5)")
        p.add_argument("--smooth", type=int, default=1, metavar="N",
                       help="average the last N speech windows (default 1: no smoothing)")
        p.add_argument("--vad", type=int, default=3, choices=range(4), metavar="0-3",
                       help="voice-activity strictness, 0 lenient … 3 strict (default 3)")

    p = sub.add_parser("analyze", help="analyse audio files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders (searched recursively)")
    analysis_options(p)
    p.add_argument("--format", choices=("csv", "json"),
                   help="print the timeline as CSV, or one JSON object per file (JSON Lines)")
    p.add_argument("--out", metavar="DIR", help="write one timeline file per input into DIR")
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("listen", help="show the emotion of a microphone live")
    p.add_argument("--device", metavar="NAME|INDEX", help="input device (default: the system's)")
    p.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (default: Ctrl-C)")
    p.add_argument("--out", metavar="FILE", help="write the timeline to FILE (.csv or .json)")
    analysis_options(p)
    p.set_defaults(run=cmd_listen)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(run=cmd_devices)
    p = sub.add_parser("info", help="versions, execution providers and the model's metadata")
    p.add_argument("--model", metavar="FILE", help="ONNX model (default: the bundled model)")
    p.set_defaults(run=cmd_info)
    for name, text in (("train", "train a model from emotional speech corpora (needs the 'train' extra)"),
                       ("evaluate", "evaluate an ONNX model on corpora, by speaker")):
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        from moodline.desktop.app import main as desktop_main  # the window: `moodline [--open F]`

        return desktop_main(argv)
    if argv and argv[0] in ("train", "evaluate"):
        from moodline.training.cli import main as training_main  # TensorFlow lives there only

        return training_main(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except MoodlineError as exc:
        print(f"moodline: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): not an error
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
