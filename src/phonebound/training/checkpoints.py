"""Resumable checkpoints: ``OUT/checkpoints/last.pt`` holds everything a run needs to continue
exactly where it stopped (weights, optimizer, averaged weights, step, epoch, position in the
epoch, the best dev result so far, and the random state of every rank).

Rank 0 reads and writes the file; under torchrun the other ranks receive the state from it (no
shared disk needed) and send their random states for it to keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import DatasetError, ModelError, PhoneboundError
from ..io_utils import atomic_path
from .distributed import rank_seed
from .recipe import Recipe
from .setup import TrainingSetup


def checkpoint_path(out: Path) -> Path:
    return out / "checkpoints" / "last.pt"


def save_checkpoint(out: Path, state: dict[str, Any]) -> None:
    with atomic_path(checkpoint_path(out)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(out: Path) -> dict[str, Any] | None:
    path = checkpoint_path(out)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ModelError(f"cannot read checkpoint ({e})", path, "delete it to start over") from None


def read_checkpoint(run: TrainingSetup, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (None for a fresh run), checked against this run's data and
    recipe; an earlier run in ``run.out`` without ``resume`` is an error, never overwritten."""
    state = load_checkpoint(run.out) if resume else None
    if state is None and not resume and checkpoint_path(run.out).exists():
        raise PhoneboundError("the output directory holds an earlier run", run.out,
                              "pass --resume to continue it, or choose a new output directory")
    if state is not None and state.get("input", run.model_config()["input"]) != run.model_config()["input"]:
        raise DatasetError("the datasets' features differ from those the interrupted run was trained on",
                           run.out, "resume with the original datasets, or train into a new directory")
    # Read back through Recipe, so that a setting added since the run began (at its default, which
    # keeps earlier recipes as they were) does not count as a change. Bug (2026-12-03): adding
    # [train] boundary_offset_weight refused to resume every run interrupted before it.
    if state is not None and Recipe.from_dict(state["recipe"]).to_dict() != run.recipe.to_dict():
        raise PhoneboundError("--resume with a recipe that differs from the interrupted run's", run.out,
                              "rerun with the same options")
    return state


def training_state(run: TrainingSetup, step: int, epoch: int, pos: int, best: dict, history_bad: int) -> dict[str, Any]:
    """What a checkpoint holds at ``step`` (``pos`` steps into ``epoch``)."""
    state = {"step": step, "epoch": epoch, "pos": pos, "best": best, "bad_evals": history_bad,
             "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
             "torch_rng": torch.get_rng_state(), "recipe": run.recipe.to_dict(), "finished": False,
             "input": run.model_config()["input"]}
    if run.averaged is not None:
        state["averaged"] = run.averaged.state_dict()
    return state


def save_state(run: TrainingSetup, state: dict[str, Any] | None) -> None:
    """Rank 0 saves ``state``; with several ranks it also holds every rank's RNG state. Every rank
    calls this (gathering the random states is a collective); the others pass None."""
    if run.world > 1:
        rngs = run.dist.gather(torch.get_rng_state())  # a collective: every rank calls it
        if state is not None:
            state["torch_rng_ranks"] = rngs
    if state is not None:
        save_checkpoint(run.out, state)


def restore(run: TrainingSetup, state: dict[str, Any]) -> None:
    """Weights, optimizer, averaged weights and this rank's random state as ``state`` holds them."""
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.averaged is not None:
        run.averaged.load_state_dict(state["averaged"])
    _restore_rng(run, state)


def _restore_rng(run: TrainingSetup, state: dict[str, Any]) -> None:
    rngs = state.get("torch_rng_ranks")
    if rngs is not None and len(rngs) == run.world:
        torch.set_rng_state(rngs[run.rank])
    elif run.rank == 0:
        torch.set_rng_state(state["torch_rng"])
    else:  # resumed with another number of ranks, or from a Ctrl-C checkpoint (rank 0's RNG only)
        torch.manual_seed(rank_seed(run.cfg.seed, run.rank, state["step"]))
