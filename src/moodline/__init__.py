"""Moodline: real-time speech emotion recognition.

One folder per part, as the code imports them: :mod:`moodline.engine` (the runtime: audio in,
an emotion timeline out; never TensorFlow, never Qt), :mod:`moodline.desktop` (the window: PyQt5
views over the engine) and :mod:`moodline.training` (offline Keras training and evaluation).
:mod:`moodline.__main__` is the ``moodline`` program, the one place that knows all three. The
shipped models and the assets are package data (``moodline.models``, ``moodline.assets``) kept
at the repository's root: ``models/`` and ``assets/``. ``docs/architecture.md`` maps each step
of the data flow to its module.
"""

import os

__version__ = "0.1.0"

# Recordings are personal data: nothing leaves the machine, no library's telemetry either.
# onnxruntime's wheels carry a telemetry client: without this, every run writes a device id
# under ~/.cache/Microsoft and queues events (OS, CPU, paths, errors) for upload. Ray collects
# usage statistics for clusters it starts. Both read these when imported, which only Moodline's
# own modules do, after this package: so every process that runs Moodline (the CLI, the window,
# --jobs workers, Ray tasks) has them set.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
