"""``moodline train``, ``moodline baseline`` and ``moodline evaluate``: the engine's command line
hands these to :func:`main`.

``evaluate`` runs an existing ONNX model through the engine (no TensorFlow needed); ``train``
imports TensorFlow only once its arguments are known to be sound. ``baseline`` scores eGeMAPS
functionals with logistic regression on the splits ``train`` makes from the same options.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .adapt import REFERENCES
from .conditions import CONDITIONS
from .corpora import CorpusError, load_corpus, parse_data_arg

MODEL_NAMES = ("cnn2d", "cnn1d", "cnn_lstm", "vgg19", "resnet50", "inceptionv3", "whisper_tiny", "whisper_base")  # training.models.MODELS


DATA_HELP = ("corpus as NAME=PATH, repeatable; NAME is ravdess, ravdess-speech, ravdess-song, ravdess-gender, "
             "tess, nemo, savee, crema-d, emodb, msp-improv, folder (a folder per label) or csv (path,label,speaker)")


def _add_protocol_arguments(command: argparse.ArgumentParser, babble_help: str) -> None:
    """The options that choose the clips, the splits and the test conditions: one definition, so
    ``train`` and ``baseline`` given the same ones evaluate on the very same splits."""
    command.add_argument("--data", action="append", required=True, metavar="NAME=PATH", help=DATA_HELP)
    command.add_argument("--cv", type=int, default=5, metavar="K", help="folds by speaker; 0 = no cross-validation (default: 5)")
    command.add_argument("--holdout-speakers", nargs="+", default=[], metavar="SPEAKER",
                         help="test on these speakers instead of cross-validating (e.g. 21 22 or ravdess:21)")
    command.add_argument("--train-only", action="append", default=[], metavar="CORPUS",
                         help="use this corpus for training only (corpora with fewer speakers than folds always are)")
    command.add_argument("--loco", action="store_true",
                         help="also leave one corpus out: train on the others, test on all of it (needs 2+ corpora)")
    command.add_argument("--conditions", nargs="*", default=[], choices=tuple(CONDITIONS), metavar="CONDITION",
                         help=f"also score the test clips under these conditions ({', '.join(CONDITIONS)})")
    command.add_argument("--babble", type=Path, default=None, metavar="DIR", help=babble_help)
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--cache", type=Path, default=Path("runs/cache"), help="feature cache folder (default: runs/cache)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moodline", description="Train or evaluate Moodline emotion models.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model with speaker-independent evaluation, export ONNX")
    _add_protocol_arguments(train, "a folder of unlabelled speech (e.g. speechocean762) mixed into babble noise for "
                                   "augmentation (its held-out speakers are the voices of babble_10db)")
    train.add_argument("--model", default="cnn2d", choices=MODEL_NAMES, help="architecture (default: cnn2d)")
    train.add_argument("--epochs", type=int, default=40, help="epochs per training run (default: 40)")
    train.add_argument("--out", type=Path, default=None, help="model file to write (default: runs/MODEL.onnx)")
    train.add_argument("--window-s", type=float, default=2.0, help="window length in seconds (default: 2.0)")
    train.add_argument("--augment", type=int, default=2, metavar="N", help="augmented copies per training clip (default: 2)")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--learning-rate", type=float, default=2e-3)
    train.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA", help="mixup strength; 0 = off (default: 0)")
    train.add_argument("--weights", default=None, help="for vgg19/resnet50/inceptionv3: imagenet or a weights file")
    train.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for feature extraction")
    train.add_argument("--devices", type=int, default=0, metavar="N",
                       help="train with MirroredStrategy over N devices: the first N GPUs or, on a machine without "
                            "a GPU, the CPU split into N logical devices (to try the distributed path). "
                            "Default: every GPU when there are several, else one device. TensorFlow fixes its "
                            "devices once per process, so this is set as the command starts. Several machines: "
                            "set TF_CONFIG on each (MultiWorkerMirroredStrategy; see docs/training.md)")
    train.add_argument("--no-final", action="store_true", help="only evaluate; do not train and export the final model")
    train.add_argument("--teacher", choices=MODEL_NAMES, default=None,
                       help="distil: in every split, first train this model (e.g. whisper_tiny) and teach its "
                            "probabilities to --model")
    train.add_argument("--teacher-epochs", type=int, default=40, help="epochs for the teacher (default: 40)")
    train.add_argument("--transfer", type=Path, default=None, metavar="DIR",
                       help="unlabelled speech the teacher labels for the student (its first 100 speaker folders)")
    train.add_argument("--compare", nargs="+", type=Path, default=[], metavar="REPORT",
                       help="other runs' .report.json files to compare with on the leave-one-corpus-out splits")
    train.add_argument("--notes", type=Path, default=None, metavar="FILE",
                       help="a Markdown file for the model card: how this configuration was chosen, what was tried")
    head = train.add_argument_group("encoder head (whisper_tiny, whisper_base, as model or teacher)")
    head.add_argument("--pooling", choices=("concat", "weighted"), default="concat",
                      help="concatenate the encoder's states, or mix them with learnt layer weights (default: concat)")
    head.add_argument("--hidden", type=int, default=0, metavar="N", help="units of a hidden layer; 0 = linear (default: 0)")
    head.add_argument("--dropout", type=float, default=0.3, help="dropout before each dense layer (default: 0.3)")
    head.add_argument("--no-level-normalisation", action="store_true",
                      help="feed the encoder each window as recorded (default: shift it so its loudest "
                           "band-frame is at one level, which makes the model deaf to gain)")
    head.add_argument("--states", default=None, metavar="I,J,...",
                      help="which encoder states to use: 0 = convolutions, 1-4 = transformer blocks (default: all)")
    head.add_argument("--adapt", choices=REFERENCES, default=None,
                      help="train the head to adapt to each voice: each speaker's windows relative to the mean "
                           "of all their speech (session), of a random mix of their neutral and emotional speech "
                           "(mixed) or of their neutral speech (neutral); the model then "
                           "adapts to the session it hears, is scored in simulated sessions and is calibrated "
                           "on the held-out corpora (default: off)")
    head.add_argument("--adapt-mean-only", action="store_true",
                      help="with --adapt: subtract the reference only, do not divide by each voice's spread")
    head.add_argument("--prior-windows", type=float, default=20.0, metavar="N",
                      help="with --adapt: speech windows the training speakers' statistics count as until a "
                           "session has its own (default: 20, 10 s of speech at the 0.5 s hop)")

    baseline = commands.add_parser(
        "baseline", help="a traditional baseline: eGeMAPS functionals and logistic regression, on train's splits",
        description="Score a traditional baseline (openSMILE's 88 eGeMAPSv02 functionals of each clip, multinomial "
                    "logistic regression with fixed L2 regularisation) on the splits and test conditions `moodline "
                    "train` makes from the same options. Nothing is exported: the report is for comparison tables "
                    "(moodline train ... --compare PREFIX.report.json). Needs the 'train' extra.")
    _add_protocol_arguments(baseline, "a folder of unlabelled speech (e.g. speechocean762) whose held-out speakers "
                                      "are the voices of babble_10db (the baseline trains without augmentation)")
    baseline.add_argument("--out", type=Path, default=Path("runs/egemaps"), metavar="PREFIX",
                          help="write PREFIX.report.json and PREFIX.md (default: runs/egemaps)")

    evaluate = commands.add_parser("evaluate", help="score an existing ONNX model on labelled corpora")
    evaluate.add_argument("model", type=Path, help="ONNX model file")
    evaluate.add_argument("--data", action="append", required=True, metavar="NAME=PATH", help=DATA_HELP)
    evaluate.add_argument("--speakers", nargs="+", default=[], metavar="SPEAKER",
                          help="only these speakers (e.g. the ones the model was not trained on)")
    evaluate.add_argument("--report", type=Path, default=None, metavar="PREFIX",
                          help="also write PREFIX.json, PREFIX.md and confusion PNGs")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``train ...``, ``baseline ...`` or ``evaluate ...``; 0 on success, 2 for a problem the user can fix."""
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_:  # argparse has printed usage and the error
        return int(exit_.code or 0)
    try:
        if args.command == "evaluate":
            return _evaluate(args)
        return (_train if args.command == "train" else _baseline)(args, argv)
    except (CorpusError, ValueError, OSError) as exc:
        print(f"moodline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from moodline.engine.errors import MoodlineError

        from .export import ExportError
        from .splits import SplitLeakError

        if isinstance(exc, (MoodlineError, ExportError, SplitLeakError)):
            print(f"moodline {args.command}: error: {exc}", file=sys.stderr)
            return 2
        raise


def _check_protocol(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The corpora of ``--data``, after checking the options of :func:`_add_protocol_arguments`
    (before TensorFlow takes seconds to load)."""
    data = [parse_data_arg(text) for text in args.data]
    for name, path in data:
        load_corpus(name, path)
    if args.cv == 1 or args.cv < 0:
        raise ValueError("--cv must be 0 (none) or at least 2")
    if args.loco and len({name for name, _ in data}) < 2:
        raise ValueError("--loco needs at least two corpora (--data NAME=PATH, twice or more)")
    if args.babble is not None and not args.babble.is_dir():
        raise ValueError(f"--babble {args.babble}: no such folder")
    if "babble_10db" in args.conditions and args.babble is None:
        raise ValueError("--conditions babble_10db needs --babble FOLDER (its held-out speakers are the café's voices)")
    return data


def _command_line(argv: Sequence[str]) -> str:
    return "moodline " + " ".join(shlex.quote(a) for a in argv)


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    data = _check_protocol(args)
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    if args.devices < 0:
        raise ValueError("--devices must be 0 (automatic) or at least 1")
    if args.transfer is not None and not args.transfer.is_dir():
        raise ValueError(f"--transfer {args.transfer}: no such folder")
    for report in args.compare:
        if not report.is_file():
            raise ValueError(f"--compare {report}: no such report")
    if args.notes is not None and not args.notes.is_file():
        raise ValueError(f"--notes {args.notes}: no such file")
    if args.transfer is not None and not args.teacher:
        raise ValueError("--transfer needs --teacher: unlabelled speech is only used through a teacher")
    states = None
    if args.states:
        try:
            states = tuple(int(i) for i in args.states.split(","))
        except ValueError:
            raise ValueError(f"--states {args.states}: expected numbers like 0,1,2") from None
    from .adapt import AdaptSettings
    from .train import TrainOptions, train

    adapt = None
    if args.adapt:
        if not str(args.model).startswith("whisper_") or args.hidden or args.pooling != "concat" or args.teacher:
            raise ValueError("--adapt needs an encoder model (whisper_tiny, whisper_base) with its linear head "
                             "(no --hidden, --pooling concat, no --teacher)")
        if not 0 <= args.prior_windows <= 100_000:
            raise ValueError(f"--prior-windows {args.prior_windows:g}: expected 0 to 100000")
        adapt = AdaptSettings(args.adapt, not args.adapt_mean_only, args.prior_windows)

    out = args.out or Path("runs") / f"{args.model}.onnx"
    options = TrainOptions(
        data=data, model=args.model, epochs=args.epochs, cv=args.cv, holdout_speakers=args.holdout_speakers,
        train_only=args.train_only, out=out, window_s=args.window_s, augment=args.augment,
        batch_size=args.batch_size, learning_rate=args.learning_rate, mixup=args.mixup, seed=args.seed, weights=args.weights,
        cache_dir=args.cache, workers=args.workers, devices=args.devices, final=not args.no_final, loco=args.loco,
        conditions=tuple(args.conditions), babble=args.babble, adapt=adapt,
        head={"pooling": args.pooling, "hidden": args.hidden, "dropout": args.dropout, "use_states": states}
        if any(str(name).startswith("whisper_") for name in (args.model, args.teacher)) else {},
        teacher=args.teacher, teacher_epochs=args.teacher_epochs, transfer=args.transfer,
        level_normalised=not args.no_level_normalisation, compare=tuple(args.compare),
        notes=args.notes.read_text(encoding="utf-8") if args.notes else "",
        command=_command_line(argv))
    train(options)
    return 0


def _baseline(args: argparse.Namespace, argv: Sequence[str]) -> int:
    data = _check_protocol(args)
    if args.cv == 0 and not args.holdout_speakers and not args.loco:
        raise ValueError("nothing to evaluate: give --cv K (2 or more), --holdout-speakers or --loco")
    from .egemaps import MODEL_NAME, run_baseline
    from .train import TrainOptions

    run_baseline(TrainOptions(
        data=data, model=MODEL_NAME, cv=args.cv, holdout_speakers=args.holdout_speakers, train_only=args.train_only,
        out=args.out, augment=0, seed=args.seed, cache_dir=args.cache, final=False, loco=args.loco,
        conditions=tuple(args.conditions), babble=args.babble, command=_command_line(argv)))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from moodline.engine.model import EmotionModel

    from . import evaluation
    from .dataset import HOP_S, MIN_SPEECH_FRACTION, extract_windows
    from .splits import holdout_split

    model = EmotionModel(args.model)
    info, names = model.info, list(model.info.labels)
    clips, skipped = [], 0
    for name, path in (parse_data_arg(text) for text in args.data):
        corpus = load_corpus(name, path)
        print(corpus.summary())
        clips += corpus.clips
    if args.speakers:  # resolved like --holdout-speakers, so "21" finds "ravdess:21"
        wanted = set(holdout_split({c.speaker for c in clips}, args.speakers).test_speakers)
        clips = [c for c in clips if c.speaker in wanted]
    usable = [c for c in clips if c.label in names]
    skipped = len(clips) - len(usable)
    if skipped:
        print(f"skipped {skipped} clips whose label the model does not have ({', '.join(sorted({c.label for c in clips} - set(names)))})")
    if not usable:
        raise ValueError("no clips left to evaluate")

    windows = extract_windows(usable, info.features, info.window_s, 0, cache_dir=None, progress=sys.stderr.isatty())
    mask = evaluation.speech_windows(windows.speech_fraction, windows.clip_index, MIN_SPEECH_FRACTION)
    feats = windows.features[mask]
    if model.fixed_frames is not None and feats.shape[1] != model.fixed_frames:
        raise ValueError(f"{args.model}: takes {model.fixed_frames} frames, windows have {feats.shape[1]}")
    probs = np.concatenate([model.predict(feats[i:i + 256]) for i in range(0, len(feats), 256)])
    y = np.array([names.index(c.label) for c in usable])[windows.clip_index[mask]]
    row = evaluation.score_predictions(probs, windows.clip_index[mask], y, windows.speech_fraction[mask],
                                       names, MIN_SPEECH_FRACTION)
    row.pop("_pred")
    speakers = sorted({c.speaker for c in usable})
    result: dict[str, Any] = {"name": "all", "test_speakers": speakers, **row}
    print("\n" + evaluation.summary_table([result]))
    print(f"\n{len(usable)} clips, {int(mask.sum())} windows of {info.window_s} s every {HOP_S} s; "
          "window = each speech window alone, clip = mean of a clip's window probabilities")

    if args.report:
        prefix = args.report
        prefix.parent.mkdir(parents=True, exist_ok=True)
        report = {"model": str(args.model), "labels": names, "window_s": info.window_s, "hop_s": HOP_S,
                  "min_speech_fraction": MIN_SPEECH_FRACTION, "splits": [result], "pooled": row, "figures": {}}
        for level in ("clip", "window"):
            figure = prefix.with_name(f"{prefix.name}.confusion-{level}.png")
            evaluation.plot_confusion(row[level]["confusion"], names, figure, f"{args.model.name}: {level} level")
            report["figures"][level] = figure.name
        evaluation.write_json(report, prefix.with_name(prefix.name + ".json"))
        text = [f"# Evaluation of `{args.model}`", "", *evaluation.evaluation_markdown(report)]
        prefix.with_name(prefix.name + ".md").write_text("\n".join(text), encoding="utf-8")
        print(f"wrote {prefix}.json, {prefix}.md")
    return 0
