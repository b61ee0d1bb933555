"""Moodline's runtime: audio in, an emotion timeline out. Never imports TensorFlow.

Data flows one way: source (:mod:`.audio`, :mod:`.sources`) → :mod:`.ringbuffer` →
windows (:mod:`.windows`, :mod:`.vad`) → :mod:`.features` → :mod:`.model` → smoothing and
:mod:`.timeline` (:mod:`.analysis`, :mod:`.streaming`) → views and exports (:mod:`.cli`).
"""

from .. import __version__  # noqa: F401  (the engine's version is Moodline's)
