"""The ``moodline`` command: analyse files, listen to a microphone, list devices, show info.

Every problem a user can cause (missing file, corrupt audio, bad model, no microphone) ends
as one line on stderr and exit code 2, never a traceback. A batch goes on past a bad file and
lists the failures at the end.
"""
from __future__ import annotations

import argparse
import codecs
import dataclasses
import json
import math
import os
import platform
import signal
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import __version__
from .analysis import AnalysisSettings, window_grid
from .archive import Archive, check_pyarrow, csv_cell, find_inputs, run_settings
from .audio import load_audio
from .batch import DEFAULT_JOBS, analyze_files, usable_cores
from .cluster import analyze_on_ray
from .errors import MoodlineError, printable
from .fileio import check_writable_dir, make_private_dir, os_error_text
from .manifest import input_stat
from .model import BUNDLED_MODELS, EmotionModel, bundled_model_path, default_model_path, resolve_model
from .progress import BatchProgress
from .readout import (DEFAULT_UNSURE_THRESHOLD, EMOTION, LISTENING, TOO_LOUD, TOO_LOUD_ADVICE, UNSURE, LabelStabilizer,
                      VOICE_WORDS, Pause, Readout, ShownVoices, StabilizerSettings)
from .sources import FIRST_AUDIO_WAIT_S
from .speakers import ME, OTHER, UNKNOWN
from .timeline import SEGMENTS_SUFFIX, Timeline, TimelinePoint, format_clock
from .vad import Gate
from .voices import (ENROL_S, MAX_ENROL_S, MIN_SPEECH_S, VoiceRecording, check_voice_name,
                     forget_voice, save_voice, enrolled_voice, voice_names, voices_dir)

EXIT_OK, EXIT_FAILED = 0, 2
MODEL_HELP = ("a shipped model by name or an ONNX model file (default: default); shipped: "
              + "; ".join(f"{name}, {what}" for name, what in BUNDLED_MODELS.items()))
COMMANDS = ("analyze", "listen", "enrol", "devices", "info")  # what main() runs (calibrate: enrol's old name)
# The options' defaults are the engine's own: the window's settings start from the same ones.
DEFAULT_ANALYSIS = AnalysisSettings()
DEFAULT_STABILIZER = StabilizerSettings()


def _load_model(spec: str | None, threads: int = 0) -> EmotionModel:
    path = resolve_model(spec)
    if path.parent == default_model_path().parent and not path.is_file():
        raise MoodlineError(f"{path}: the shipped model '{path.stem}' is not installed; pass --model FILE")
    return EmotionModel(path, threads=threads)


def _settings(args: argparse.Namespace) -> AnalysisSettings:
    return AnalysisSettings(window_s=args.window, hop_s=args.hop, smoothing_windows=args.smooth,
                            vad_aggressiveness=args.vad, gate=args.gate, adapt=args.adapt).check()


MAX_JOBS_PER_CORE = 4  # each worker holds a model (~200 MB): more than this only fills memory


def _jobs(args: argparse.Namespace) -> int:
    most = MAX_JOBS_PER_CORE * usable_cores()
    if not 1 <= args.jobs <= most:
        raise MoodlineError(f"--jobs must be from 1 to {most} ({MAX_JOBS_PER_CORE} per core here), not {args.jobs}")
    return args.jobs


def _stabilizer_settings(args: argparse.Namespace, model: EmotionModel) -> StabilizerSettings:
    """How ``listen`` calms its readout; ``--unsure`` defaults to the model's own line."""
    return StabilizerSettings(min_dwell_s=args.hold, unsure_threshold=args.unsure,
                              shown_voices=ShownVoices(args.show)).for_model(model.info.unsure_threshold).check()


# ---- analyze ----------------------------------------------------------------------------
def _print_summary(name: str, timeline: Timeline, emit: Callable[[str], None] = print) -> None:
    name = printable(name)  # a terminal shows it, never obeys it
    summary = timeline.summary()
    too_loud = f", {format_clock(summary.clipped_s)} of it too loud to judge" if summary.clipped_s else ""
    if summary.label is None:
        emit(f"{name}  {format_clock(timeline.duration_s)}  "
             + (f"speech too loud to judge (clipped, {format_clock(summary.clipped_s)})" if summary.clipped_s else "no speech"))
        return
    emit(f"{name}  {format_clock(timeline.duration_s)}  {summary.label} "
         f"(mean p={summary.probabilities[summary.label]:.2f}, "
         f"{summary.shares[summary.label]:.0%} of {format_clock(summary.speech_s)} speech{too_loud})")
    emit(f"  {summary.breakdown()}")
    found = timeline.segments()
    # Whole seconds would show a stretch shorter than a second as "0:03 – 0:03": then tenths.
    tenths = any(s.end_s - s.start_s < 1.0 for s in found)
    width = 9 if tenths else 7
    for segment in found:
        what = "too loud (clipped)" if segment.clipped else \
            f"{segment.label}  {segment.confidence:.2f}" if segment.is_speech else "no speech"
        if segment.voice is not None:  # --voice: whose stretch it is
            what = f"{what}  ({VOICE_WORDS[segment.voice].lower()})"
        start, end = format_clock(segment.start_s, tenths), format_clock(segment.end_s, tenths)
        emit(f"  {start:>{width}} – {end:>{width}}  {what}")


def cmd_analyze(args: argparse.Namespace) -> int:
    """``moodline analyze``: every file's timeline; bad files are listed, never the end of the batch."""
    _print_any_file_name()
    if args.out == "":
        raise MoodlineError("--out: an empty name is not a folder")
    if "" in args.paths:
        raise MoodlineError("an empty name is not a file or folder (not the current folder either: give '.')")
    if args.segments and not args.out:
        raise MoodlineError("--segments writes a file per input beside its timeline: give --out DIR")
    if not args.out and sys.stdout is None:  # started with stdout closed (>&-)
        raise MoodlineError("standard output is closed: the results would go nowhere (give --out DIR)")
    for option, given in (("--resume", args.resume), ("--parquet", args.parquet)):
        if given and not args.out:
            raise MoodlineError(f"{option} works on the --out folder: give --out DIR")
    if args.parquet:
        check_pyarrow()
    settings = _settings(args)  # a typo in --window costs no model load
    jobs = _jobs(args)
    # A file analysed here runs the model on one core per thread, a thread per core, each on
    # its own stretches of speech: a call of a few milliseconds gains little from being spread
    # over cores (10 min of speech: 3.2 s this way, 3.8 s with one thread spreading each call).
    cores = usable_cores()
    model = _load_model(args.model, threads=1)
    window_grid(model, settings)  # windows this model cannot judge: one line now, not one per file
    enrolment = enrolled_voice(args.voice, model, settings)
    inputs, failures = find_inputs(args.paths)
    for failure in failures:
        _tell(f"moodline: {failure}")
    attempted = len(inputs) + len(failures)

    out_dir = Path(args.out) if args.out else None
    fmt = args.format or ("csv" if out_dir else None)
    archive = Archive(out_dir, model, run_settings(settings, model, fmt, args.segments, args.voice)) \
        if out_dir else None
    if archive is not None and archive.problem is not None:
        if args.resume or args.parquet:  # both stand on the manifest
            raise MoodlineError(archive.problem)
        failures.append(archive.problem)  # the files are still analysed and written
        _tell(f"moodline: {archive.problem}")
    if archive is not None:  # nothing written over another input's results, or the folder's own
        inputs, refused = archive.claim_outputs(inputs, fmt, args.segments)
        for failure in refused:
            _tell(f"moodline: {failure}")
        failures += refused
    done_before = 0
    if args.resume:
        todo = archive.not_done_yet(inputs)
        done_before, inputs = len(inputs) - len(todo), todo
        if done_before:
            _tell(f"moodline: resuming: {done_before} of {done_before + len(todo)} files already done "
                 f"with this model and settings")
    summaries: list[dict] = []
    csv_header_done = False
    files = [file for file, _ in inputs]
    progress = BatchProgress(files)
    if args.ray is not None:
        results = analyze_on_ray(files, model.path, settings, args.ray or None, enrolment)
    else:
        results = analyze_files(files, model, settings, jobs, progress=progress.within_file, threads=cores,
                                enrolment=enrolment)
    with closing(results):  # ended early (Ctrl-C, stdout gone): the workers are stopped
        for (file, root), result in zip(inputs, results, strict=True):
            name = str(file)
            stat = input_stat(file)
            try:
                timeline = result.get()
                if archive is not None:
                    archive.keep(file, root, timeline, fmt, args.segments, stat)
            except MoodlineError as exc:
                failures.append(str(exc))
                progress.write(printable(f"moodline: {exc}"))
                progress.file_done(0.0)
                if archive is not None:
                    archive.failed(file, str(exc), stat)
                continue
            progress.file_done(timeline.duration_s)
            # Only the summary is kept to the end (the tables need no more): a whole record per
            # file grew memory by ~54 KB a file, gigabytes over a large archive.
            summaries.append({"file": name, "duration_s": timeline.duration_s, "summary": timeline.summary().to_dict()})
            if fmt == "json" and not out_dir:
                # ASCII: a name that is not UTF-8 as \udcXX escapes
                _print_result(json.dumps(timeline.to_json_dict(name)))
            elif fmt == "csv" and not out_dir:
                lines = timeline.to_csv().splitlines()
                if not csv_header_done:
                    _print_result("file," + lines[0])
                    csv_header_done = True
                if len(lines) > 1:
                    _print_result("\n".join(f"{csv_cell(name)},{line}" for line in lines[1:]))
            else:
                _print_summary(name, timeline, _print_result)
    progress.close()
    if archive is not None:
        try:
            archive.finish(summaries, fmt, args.parquet)
        except MoodlineError as exc:
            failures.append(str(exc))
            _tell(f"moodline: {exc}")
    if failures:
        if attempted > 1:  # with a single input the one line above already said it all
            before = f", {done_before} done before" if done_before else ""
            _tell(f"moodline: {len(failures)} failed, {len(summaries)} analysed{before}:")
            for failure in failures:
                _tell(f"  {failure}")
        return EXIT_FAILED
    return EXIT_OK


def _print_result(text: str) -> None:
    """Print results on stdout; stdout failing (a full disk) is one clear line, not a traceback."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise  # the reader left (| head): main() ends quietly
    except OSError as exc:
        _discard_stdout()
        raise MoodlineError(f"standard output: cannot write ({os_error_text(exc)})") from None


def _name_errors(exc: UnicodeError) -> tuple[str | bytes, int]:
    # A name that is not valid UTF-8 reaches Python as lone surrogates (PEP 383): they go out
    # as the original bytes, so the name round-trips. Anything else the stream's encoding
    # cannot show (a Windows code page) is escaped rather than stopping the batch.
    try:
        return codecs.lookup_error("surrogateescape")(exc)
    except UnicodeError:
        return codecs.lookup_error("backslashreplace")(exc)


codecs.register_error("moodline-names", _name_errors)


def _print_any_file_name() -> None:
    """Let stdout and stderr print every file name the system can hand us."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="moodline-names")
        except (AttributeError, ValueError, OSError):  # not a text stream of our own
            pass


def _discard_stdout() -> None:
    """Point stdout at the null device, so Python's last flush at exit cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (AttributeError, ValueError, OSError):
        pass


# ---- listen -----------------------------------------------------------------------------
TIMELINE_SUFFIXES = (".csv", ".json")  # `listen --out` with these endings: a timeline file


class _StopSignals:
    """SIGINT (Ctrl-C), SIGTERM (``kill``, ``timeout``, systemd) and SIGHUP (the terminal was
    closed) all end a session the way Ctrl-C does: the listening loop sees :attr:`requested`,
    and the input, the engine and the files are finished before anything is printed. A repeat
    while finishing is ignored, so the files are always completed. (Windows has no SIGHUP.)
    """

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_StopSignals":
        for name in self.NAMES:
            number = getattr(signal, name, None)
            if number is not None:
                try:
                    self._previous[number] = signal.signal(number, self._on_signal)
                except ValueError:  # not the main thread: the caller's own handling stays
                    pass
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _on_signal(self, number: int, frame) -> None:
        if self.requested is None:
            self.requested = number


def _check_timeline_file(path: Path) -> None:
    """Make sure the timeline can be written at ``path`` when listening stops."""
    if path.is_dir():
        raise MoodlineError(f"{path}: is a folder (a timeline file name ends in .csv or .json)")
    make_private_dir(path.parent)
    check_writable_dir(path.parent)


def cmd_listen(args: argparse.Namespace) -> int:
    from .session import ListeningSession
    from .sources import MicrophoneSource

    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise MoodlineError(f"--seconds must be more than 0, not {args.seconds:g}")
    with _StopSignals() as stop:
        model = _load_model(args.model)
        settings = _settings(args)
        enrolment = enrolled_voice(args.voice, model, settings)
        line = _LiveLine(LabelStabilizer(_stabilizer_settings(args, model)), live=sys.stdout.isatty())
        if stop.requested is not None:  # ended while the model loaded: nothing to keep
            return EXIT_OK
        if args.out == "":
            raise MoodlineError("--out: an empty name is not a folder or file")
        out = Path(args.out) if args.out else None
        timeline_file = out if out is not None and out.suffix.lower() in TIMELINE_SUFFIXES else None
        folder = out if out is not None and timeline_file is None else None
        # Checked before the microphone opens (the session prepares its folder first too): a
        # typo must not cost a session already spoken.
        if timeline_file is not None:
            _check_timeline_file(timeline_file)
        session = ListeningSession(
            model, settings, lambda: MicrophoneSource(device=args.device, preferred_rate_hz=model.info.sample_rate_hz),
            folder, settings_record={**dataclasses.asdict(settings), "voice": args.voice, "hold_s": args.hold,
                                     "unsure_threshold": line.stabilizer.settings.unsure_threshold,
                                     "show": args.show},
            enrolment=enrolment)
        session.subscribe(line.show)
        session.start()
        mic = session.source
        problem = None
        try:
            _wait_for_audio(lambda: session.has_audio, stop)  # "Listening" only once audio flows
            _tell(f"Listening to '{mic.device.name}' at {mic.sample_rate_hz} Hz "
                  f"({session.analyzer.window_s:.2f} s windows every {session.analyzer.hop_s:.2f} s); "
                  "Ctrl-C to stop.")
            if folder is not None:
                _tell(f"Recording audio and timeline to {folder}")
            started = time.monotonic()
            while stop.requested is None and (args.seconds is None or time.monotonic() - started < args.seconds):
                time.sleep(0.05)
                problem = session.problem()
                if problem:
                    break
        finally:
            timeline = session.stop()  # the input, the engine, then the files: before any output
            if timeline_file is not None:
                timeline.save(timeline_file, file=session.source_name)
    try:
        if line.live:
            print()
        if timeline_file is not None:
            _tell(f"Timeline written to {timeline_file}")
        if folder is not None:
            _tell(f"Session saved in {folder}")
        _print_summary("session", timeline)
        lost_s = session.analyzer.lost_samples / mic.sample_rate_hz
        if lost_s or mic.overflows:
            _tell(f"moodline: dropped audio: {lost_s:.2f} s (engine too slow), {mic.overflows} input overflows")
    except BrokenPipeError:
        raise
    except OSError:  # the terminal went away (SIGHUP): everything is on disk, nobody to tell
        pass
    if problem:
        _tell(f"moodline: {problem}")
        return EXIT_FAILED
    return EXIT_OK


def _wait_for_audio(has_audio: Callable[[], bool], stop: "_StopSignals") -> None:
    """Until an input just opened delivers audio (a second or two on some systems), it is
    stopped, or :data:`FIRST_AUDIO_WAIT_S` pass."""
    since = time.monotonic()
    while not has_audio() and stop.requested is None and time.monotonic() - since < FIRST_AUDIO_WAIT_S:
        time.sleep(0.01)


def _tell(line: str) -> None:
    """One line on stderr, a file name's control characters shown escaped."""
    try:
        print(printable(line), file=sys.stderr, flush=True)
    except OSError:  # the terminal went away (SIGHUP): the session goes on, nobody to tell
        pass


class _LiveLine:
    """What ``listen`` prints as each window is judged: the same calm readout the conversation
    aid shows (an emotion held for a minimum time, "unsure" rather than a doubtful label, the
    last emotion held through a pause), not the raw label of each window, which can flip every
    hop. The raw labels are what the timeline files record. On a terminal one line is
    rewritten in place; otherwise each window adds a line.
    """

    def __init__(self, stabilizer: LabelStabilizer, live: bool) -> None:
        self.stabilizer = stabilizer
        self.live = live

    def show(self, point: TimelinePoint) -> None:
        """Print the readout after ``point`` (called on the engine's thread, in time order)."""
        text = f"{format_clock(point.end_s):>8}  {_readout_text(self.stabilizer.update(point))}"
        if point.voice is not None:  # --voice: whose voice this window was
            text = f"{text}  ({_WHOSE[point.voice]})"
        try:
            if self.live:
                print("\r" + text.ljust(60), end="", flush=True)
            else:
                print(text, flush=True)
        except OSError:  # the terminal went away (SIGHUP) or stdout was closed: keep recording
            pass


_WHOSE = {ME: "you speaking", OTHER: "other speaking", UNKNOWN: "unsure whose voice"}  # listen --voice


def _readout_text(readout: Readout) -> str:
    """One readout in words for the terminal, e.g. ``angry      0.72 ██████████████``."""
    if readout.state == LISTENING:
        return "(listening)"
    if readout.state == EMOTION:
        text = f"{readout.label:<10} {readout.confidence:4.2f} {'█' * round(readout.confidence * 20)}"
    elif readout.state == UNSURE:
        text = f"{'unsure':<10} (best guess {readout.best_guess}, {readout.confidence:.2f})"
    elif readout.state == TOO_LOUD:
        text = f"{'too loud':<10} ({TOO_LOUD_ADVICE})"
    else:  # NO_SPEECH: the stabiliser holds through pauses instead; kept for completeness
        text = "(no speech)"
    return text + ("  (paused)" if readout.pause == Pause.PAUSED else "")


# ---- devices, info ----------------------------------------------------------------------
# ---- calibrate ---------------------------------------------------------------------------
def cmd_calibrate(args: argparse.Namespace) -> int:
    """``moodline enrol`` (or ``calibrate``): enrol a voice (from the microphone or a file), list or forget one."""
    if args.list:
        names = voice_names()
        if names:
            _print_result("\n".join(names))
        _tell(f"Voices are kept in {voices_dir()}" if names else
              f"No voices enrolled yet (moodline enrol --voice NAME); they are kept in {voices_dir()}")
        return EXIT_OK
    if args.forget is not None:
        forget_voice(args.forget)
        _tell(f"Voice '{args.forget}' forgotten.")
        return EXIT_OK
    name = check_voice_name(args.voice)
    if not (math.isfinite(args.seconds) and MIN_SPEECH_S <= args.seconds <= MAX_ENROL_S):
        raise MoodlineError(f"--seconds must be from {MIN_SPEECH_S:g} to {MAX_ENROL_S:g}, not {args.seconds:g}")
    if args.source is not None and args.device is not None:
        raise MoodlineError("--from takes the voice from a file, --device from a microphone: give one of them")
    model = _load_model(args.model)
    rate = model.info.sample_rate_hz
    if args.source is not None:
        audio = load_audio(args.source, rate, max_s=MAX_ENROL_S)
    else:
        audio, rate = _record_voice(args.device, args.seconds, rate)
    heard = save_voice(name, audio, rate, model)
    _tell(f"Voice '{name}' enrolled from {heard:.0f} s of speech; use it with --voice '{name}' "
          "(analyze, listen) or in the window's Settings.")
    return EXIT_OK


def _record_voice(device: str | None, seconds: float, preferred_rate_hz: int) -> tuple[np.ndarray, int]:
    """``seconds`` of the microphone (less if stopped early), and the rate it recorded at."""
    from .sources import MicrophoneSource

    with _StopSignals() as stop:
        mic = MicrophoneSource(ring_s=seconds + 1.0, device=device, preferred_rate_hz=preferred_rate_hz)
        recording = VoiceRecording(mic, seconds)
        recording.start()
        try:
            _wait_for_audio(lambda: mic.ring.written > 0, stop)  # the countdown starts once audio flows
            _tell(f"Recording '{mic.device.name}': speak normally for {seconds:g} s (read something aloud, or "
                  "say what you did today); Ctrl-C to stop early.")
            while stop.requested is None and not recording.done:
                time.sleep(0.05)
                problem = recording.problem()
                if problem:
                    raise MoodlineError(problem)
        finally:
            audio = recording.stop()
    return audio, mic.sample_rate_hz


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
    shipped = [f"{name} ({bundled_model_path(name).stat().st_size / 1e6:.1f} MB)" if bundled_model_path(name).is_file()
               else f"{name} (not installed)" for name in BUNDLED_MODELS]
    print(f"Shipped models (--model NAME): {', '.join(shipped)}")
    return EXIT_OK


# ---- entry point ------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line naming the command (not five lines of usage)."""

    def error(self, message: str):
        self.exit(EXIT_FAILED, printable(f"{self.prog}: {message} ('{self.prog} --help' lists the options)") + "\n")


def _parser(other_commands: Sequence[tuple[str, str]] = (), window_options: str = "") -> argparse.ArgumentParser:
    parser = _Parser(
        prog="moodline", description="Real-time speech emotion recognition. Without a command (or with window\n"
        "options, listed below) it opens the window.",
        epilog=window_options or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"moodline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND [ARGS]")

    def analysis_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="NAME|FILE", help=MODEL_HELP)
        p.add_argument("--window", type=float, default=DEFAULT_ANALYSIS.window_s, metavar="S",
                       help="window length in seconds (default: the model's)")
        p.add_argument("--hop", type=float, default=DEFAULT_ANALYSIS.hop_s, metavar="S",
                       help=f"seconds between windows (default {DEFAULT_ANALYSIS.hop_s:g})")
        p.add_argument("--smooth", type=int, default=DEFAULT_ANALYSIS.smoothing_windows, metavar="N",
                       help=f"average the last N speech windows (default {DEFAULT_ANALYSIS.smoothing_windows}; "
                       "1 is no smoothing)")
        p.add_argument("--vad", type=int, default=DEFAULT_ANALYSIS.vad_aggressiveness, choices=range(4),
                       metavar="0-3", help="voice-activity strictness, 0 lenient … 3 strict "
                       f"(default {DEFAULT_ANALYSIS.vad_aggressiveness})")
        p.add_argument("--gate", default=DEFAULT_ANALYSIS.gate, choices=[g.value for g in Gate],
                       help="what decides which windows are speech: webrtc (WebRTC's VAD with a check that "
                       "the sound rises and falls like syllables), silero (Silero's VAD network) or both "
                       f"(default {DEFAULT_ANALYSIS.gate})")
        p.add_argument("--no-adapt", dest="adapt", action="store_false", default=DEFAULT_ANALYSIS.adapt,
                       help="judge every window on its own instead of relative to the voice heard so far in "
                       "this session (models that adapt; others are unaffected)")
        p.add_argument("--voice", metavar="NAME",
                       help="your enrolled voice (moodline enrol --voice NAME): each window is told as yours, "
                       "another person's or unknown (a 'voice' column), each voice is read against its own "
                       "ordinary speech, yours from the enrolment")

    p = sub.add_parser("analyze", help="analyse audio files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders (searched recursively)")
    analysis_options(p)
    p.add_argument("--format", choices=("csv", "json"),
                   help="print the timeline as CSV, or one JSON object per file (JSON Lines)")
    p.add_argument("--out", metavar="DIR", help="write one timeline file per input into DIR")
    p.add_argument("--segments", action="store_true",
                   help=f"with --out: also write each input's segments (runs of one emotion) as "
                   f"FILE{SEGMENTS_SUFFIX}")
    p.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                   help=f"analyse N files at a time, in worker processes (default: one per core, {DEFAULT_JOBS} "
                   "here); 1 analyses them one after another in this process")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="analyse the files as tasks on a Ray cluster: ADDRESS of its head (ray://HOST:10001 or "
                   "HOST:6379), or none for the one in RAY_ADDRESS, else a new local one; every node must see the "
                   "files at the same path (needs pip install 'moodline[cluster]')")
    p.add_argument("--resume", action="store_true",
                   help="with --out: skip files the folder's manifest says are done with the same model and "
                   "settings (and unchanged since); failed ones are tried again")
    p.add_argument("--parquet", action="store_true",
                   help="with --out: also write windows.parquet and files.parquet, every window and file of the "
                   "folder in two tables (needs pip install 'moodline[tables]')")
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser(
        "listen", help="show the emotion of a microphone live",
        description="Show the emotion of a microphone live. Ctrl-C, SIGTERM and SIGHUP (closing "
        "the terminal) end the session cleanly. With --out DIR the session is recorded as it goes "
        "and survives even kill -9 (at most about a second of audio lost).")
    p.add_argument("--device", metavar="NAME|INDEX", help="input device (default: the system's)")
    p.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (default: Ctrl-C)")
    p.add_argument("--out", metavar="DIR|FILE",
                   help="record the session into the folder DIR (created, or empty; private): "
                   "audio.wav and timeline.jsonl written as they go, timeline.json at the end; "
                   "or, for a name ending in .csv or .json, only write the timeline there at the end")
    analysis_options(p)
    p.add_argument("--hold", type=float, default=DEFAULT_STABILIZER.min_dwell_s, metavar="S",
                   help="show an emotion at least S seconds before another replaces it "
                   f"(default {DEFAULT_STABILIZER.min_dwell_s:g}); the timeline keeps every window's own label")
    p.add_argument("--show", choices=[v.value for v in ShownVoices], default=ShownVoices.OTHER.value,
                   help="with --voice: show the emotion of the other person only (default; while you talk "
                   "their last emotion stays, dimmed) or of every voice")
    p.add_argument("--unsure", type=float, metavar="P",
                   help="show 'unsure' when the best emotion's probability is below P "
                   f"(default: the model's own, else {DEFAULT_UNSURE_THRESHOLD:.2f})")
    p.set_defaults(run=cmd_listen)

    p = sub.add_parser(
        "enrol", aliases=["calibrate"],
        help="enrol your voice: told from other voices, and what its emotion is read against",
        description=f"Enrol a voice: about {ENROL_S:g} s of a person speaking normally (reading aloud, or talking "
        "about their day). With --voice NAME, analyze, listen and the window then tell that voice from "
        "others (the aid shows the other person's emotion) and read its emotion against this ordinary "
        "speech. Kept privately (mode 0600) in Moodline's voices folder, which --list names.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--voice", metavar="NAME", help="record the voice NAME (again, if enrolled before)")
    what.add_argument("--list", action="store_true", help="list the enrolled voices")
    what.add_argument("--forget", metavar="NAME", help="remove the enrolled voice NAME")
    p.add_argument("--from", dest="source", metavar="FILE",
                   help=f"take the voice from an audio file (its first {MAX_ENROL_S:g} s) instead of the microphone")
    p.add_argument("--device", metavar="NAME|INDEX", help="input device (default: the system's)")
    p.add_argument("--seconds", type=float, default=ENROL_S, metavar="N",
                   help=f"record N seconds (default {ENROL_S:g}; at least {MIN_SPEECH_S:g} s of them speech)")
    p.add_argument("--model", metavar="NAME|FILE", help=MODEL_HELP + "; the voice serves every model that adapts, "
                   "this one checks there is speech enough")
    p.set_defaults(run=cmd_calibrate)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(run=cmd_devices)
    p = sub.add_parser("info", help="versions, execution providers and the model's metadata")
    p.add_argument("--model", metavar="NAME|FILE", help=MODEL_HELP)
    p.set_defaults(run=cmd_info)
    for name, text in other_commands:  # run elsewhere; listed so `moodline --help` shows them
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None, other_commands: Sequence[tuple[str, str]] = (),
         window_options: str = "") -> int:
    """Run an engine command (``analyze``, ``listen``, ``calibrate``, ``devices``, ``info``); its
    exit code.

    The ``moodline`` launcher sends the window's options and ``train``/``evaluate`` elsewhere
    and names those commands in ``other_commands`` (name, help) and the window's options in
    ``window_options`` (text) for the help text.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(other_commands, window_options)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:  # no command, or one this program does not run
        parser.print_usage(sys.stderr)
        _tell(f"moodline: choose a command: {', '.join(sorted(COMMANDS))}")
        return EXIT_FAILED
    try:
        return args.run(args)
    except MoodlineError as exc:
        _tell(f"moodline: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): not an error
        _discard_stdout()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
