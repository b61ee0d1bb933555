"""Offline training for Moodline (Keras): corpora, augmentation, models, evaluation, ONNX export.

Read it in the order a run goes: :mod:`.corpora` (clips, labels, speakers) → :mod:`.dataset`
(the engine's windows and features, cached) with :mod:`.augment` (training only) →
:mod:`.splits` (speaker-independent) → :mod:`.models` → :mod:`.train` (fit, evaluate) →
:mod:`.export` (ONNX with the engine's metadata) → :mod:`.evaluation` (report, model card).
:mod:`.cli` is ``moodline train`` / ``moodline baseline`` / ``moodline evaluate``;
:mod:`.egemaps` is the baseline (eGeMAPS functionals, logistic regression) scored on train's splits.
Only :mod:`.models`, :mod:`.train` and :mod:`.export` need TensorFlow; the rest, and ``evaluate``,
run without it.
"""
