"""The ``moodline`` program (``python -m moodline`` too): the one place that knows the window, the engine's commands and
training, and hands each command line to the one that runs it.

Dependencies point one way (desktop → engine ← training); this launcher sits above all three,
so the engine never imports its consumers. Each is imported only when asked for: the
terminal commands never load Qt, and nothing but training loads TensorFlow.
"""
from __future__ import annotations

import sys
from typing import Sequence

# Commands that the training package runs (TensorFlow lives there only), with their help.
TRAINING_COMMANDS = (
    ("train", "train a model from emotional speech corpora (needs the 'train' extra)"),
    ("baseline", "score eGeMAPS functionals with logistic regression on train's splits (needs the 'train' extra)"),
    ("evaluate", "evaluate an ONNX model on corpora, by speaker"),
    ("export-voice-model", "port Resemblyzer's speaker encoder to models/voice.onnx and check it (needs the 'train' extra)"),
)
# Commands of the desktop package that need no window.
DESKTOP_COMMANDS = (("install-desktop", "put Moodline in the desktop's menu (Linux; --remove takes it out)"),)
_HELP_AND_VERSION = ("-h", "--help", "--version")


def wants_window(argv: Sequence[str]) -> bool:
    """No arguments, or window options first (``--open FILE``, ``--start``, ``--aid``, ...)."""
    return not argv or (argv[0].startswith("-") and argv[0] not in _HELP_AND_VERSION)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``moodline ARGS``: the window, a training command or an engine command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if wants_window(argv):
        from moodline.desktop.app import main as window_main

        return window_main(argv)
    if argv[0] == "install-desktop":
        from moodline.desktop.install import main as install_main

        return install_main(argv[1:])
    if argv[0] == "export-voice-model":
        from moodline.training.speaker import main as export_main

        return export_main(argv[1:])
    if argv[0] in dict(TRAINING_COMMANDS):
        from moodline.training.cli import main as training_main

        return training_main(argv)
    from moodline.engine.cli import main as engine_main

    window_options = ""
    if argv[0] in ("-h", "--help"):
        from moodline.desktop.app import options_help  # argparse only: no Qt is loaded

        window_options = options_help()
    return engine_main(argv, other_commands=DESKTOP_COMMANDS + TRAINING_COMMANDS, window_options=window_options)


if __name__ == "__main__":
    sys.exit(main())
