"""Moodline: real-time speech emotion recognition.

One folder per part, as the code imports them: :mod:`moodline.engine` (the runtime: audio in,
an emotion timeline out; never TensorFlow, never Qt), :mod:`moodline.desktop` (the window: PyQt5
views over the engine) and :mod:`moodline.training` (offline Keras training and evaluation).
:mod:`moodline.__main__` is the ``moodline`` program, the one place that knows all three. The
shipped models and the assets are package data (``moodline.models``, ``moodline.assets``) kept
at the repository's root: ``models/`` and ``assets/``. ``docs/architecture.md`` maps each step
of the data flow to its module.
"""

__version__ = "0.1.0"
