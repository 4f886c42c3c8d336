"""Training: plain PyTorch, best checkpoint by a dev metric, exact resume, a self-contained model dir.

Run directory (= the model directory)::

    model.pt, config.json      best weights and the full config (what evaluate/segment need)
    metrics.jsonl              one JSON line per logged step and per dev evaluation
    dev_metrics.json           dev scores of the best checkpoint (boundary and frame metrics)
    checkpoints/last.pt        everything needed to resume exactly (weights, optimizer, RNG, step)
    tb/                        TensorBoard logs
"""

from __future__ import annotations

import gc

from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset.store import Dataset
from .recipe import Recipe

if TYPE_CHECKING:
    from .loop import TrainResult


def train(datasets: list[str | Path], out: str | Path, recipe: Recipe = Recipe(), resume: bool = False,
          init: str | Path | None = None, progress: bool = False, max_steps: int | None = None,
          on_eval=None) -> TrainResult:
    """Train on the train split of ``datasets`` and write a model directory ``out``.

    ``resume`` continues from ``out/checkpoints/last.pt`` exactly; ``init`` starts from the weights
    of another model directory (fine-tuning; ``"default"`` is the bundled model). ``max_steps``
    stops early without marking the run finished (used to test interruption). ``on_eval(step,
    value)`` is called after each dev evaluation; raising from it stops the run (tuning prunes so).
    """
    from .loop import Loop  # torch and the models load here, not when a recipe is read

    loop = Loop([Dataset(d) for d in datasets], Path(out), recipe, init=init, progress=progress, on_eval=on_eval)
    dist = loop.dist
    try:
        result = loop.run(resume=resume, max_steps=max_steps)
    except BaseException:
        dist.close()  # under torchrun: leave the process group (the other ranks may never arrive)
        raise
    # DistributedDataParallel holds the process group: let it go before the group is destroyed, or
    # gloo's worker threads outlive destroy_process_group and abort the rank at interpreter exit
    # ("terminate called without an active exception", seen in CI after a finished run)
    del loop
    gc.collect()
    dist.close(barrier=True)
    return result
