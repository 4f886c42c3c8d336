"""Datasets and a recipe in, a model directory out.

``train.train()`` is the entry: a :class:`~.recipe.Recipe` (``recipe``) and the train split's
batches (``batches``) go to the loop (``loop``), which is set up once (``setup``: data, network,
optimizer, process group), runs optimizer steps (``steps``), evaluates on dev and tunes the decoder
threshold (``dev``), keeps resumable checkpoints (``checkpoints``) and reports as it goes
(``logs``); ``averaging`` keeps a moving average of the weights and ``distributed`` the torchrun
process group. Around it: distillation teachers (``distill``), Optuna tuning (``tune``) and
several trained taggers saved as one model (``ensemble``).
"""
