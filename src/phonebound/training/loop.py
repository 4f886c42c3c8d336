"""The step loop: set-up (:mod:`.setup`) in, a finished model directory out.

:meth:`Loop.run` resumes from a checkpoint (:mod:`.checkpoints`), runs optimizer steps (batches and
losses: :mod:`.steps`) with the next tagger batch prepared in the background, logs (:mod:`.logs`),
evaluates on dev at its schedule and keeps the best weights (:mod:`.dev`), checkpoints, and lets a
Ctrl-C take effect only between steps, so that an interrupted run resumes exactly. At the end the
best weights are reloaded and the model directory finished.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import write_json
from ..dataset.store import Dataset
from . import dev, steps
from .checkpoints import read_checkpoint, restore, save_checkpoint, save_state, training_state
from .logs import ProgressBar, append_jsonl, tensorboard
from .recipe import Recipe
from .setup import TrainingSetup
from .steps import lr_at


@dataclass
class TrainResult:
    out: Path
    steps: int
    best_step: int
    dev: dict[str, Any]
    seconds: float
    stopped_early: bool = False


class Loop(TrainingSetup):
    """Trains the set-up network into ``out``; ``run()`` does it, resuming when asked.

    The methods below the constructor are the loop's seams, each a call into the module that does
    the work (tests and tuning reach them here): the batch and loss of a step, dev evaluation, and
    finishing the model directory.
    """

    def __init__(self, datasets: list[Dataset], out: Path, recipe: Recipe, init=None, progress: bool = False,
                 on_eval=None):
        super().__init__(datasets, out, recipe, init)
        self.progress = progress
        self.on_eval = on_eval  # called as on_eval(step, value) after each dev evaluation (tuning prunes here)

    def eval_due(self, step: int, pos: int, epoch_steps: int) -> bool:
        """Dev evaluation: every ``eval_every`` steps, else at each epoch end (tagger) or every 500 steps."""
        if step == self.total_steps:
            return True
        if self.cfg.eval_every:
            return step % self.cfg.eval_every == 0
        return pos == epoch_steps if self.kind == "tagger" else step % 500 == 0

    # --- a step -------------------------------------------------------------------------------
    def _tagger_batch(self, epoch: int, pos: int, batches: list[list[int]]):
        return steps.tagger_batch(self, epoch, pos, batches)

    def _window_batch(self, step: int):
        return steps.window_batch(self, step)

    def _loss(self, batch) -> torch.Tensor:
        return steps.loss(self, batch)

    # --- dev evaluation -----------------------------------------------------------------------
    def evaluate_dev(self, final: bool = False) -> dict[str, Any]:
        return self.evaluate_split("dev", final)

    def evaluate_split(self, split: str, final: bool = False) -> dict[str, Any]:
        """Metrics of the current weights on a split at its natural class ratio (never oversampled)."""
        return dev.evaluate_split(self, split, final)

    def _after_eval(self, step, epoch, best, bad, writer, is_main):
        """Rank 0 evaluates on dev and decides (best so far, patience, stop); the other ranks wait
        for its decision and receive it, so all ranks stop at the same step."""
        return self.dist.from_rank0(lambda: self._dev_check(step, epoch, best, bad, writer))

    def _dev_check(self, step, epoch, best, bad, writer):
        # with weight averaging the averaged weights are the candidate model (evaluated and saved)
        with self.averaged.swapped_in() if self.averaged is not None else nullcontext():
            return dev.judge(self, step, epoch, best, bad, writer, self.evaluate_dev(), self.on_eval)

    def _load_best(self) -> None:
        dev.load_best(self)

    def _finish(self, best: dict) -> dict:
        """Reload the best weights, tune the threshold on dev, write the final config and dev metrics."""
        self._load_best()
        return dev.finalize(self, best, self.evaluate_dev(final=True))

    # --- the loop -----------------------------------------------------------------------------
    def run(self, resume: bool = False, max_steps: int | None = None) -> TrainResult:
        t0 = time.perf_counter()
        is_main = self.rank == 0
        self.out.mkdir(parents=True, exist_ok=True)
        # Rank 0 reads (and checks) the checkpoint; every rank receives it: no shared disk needed.
        state = self.dist.from_rank0(lambda: read_checkpoint(self, resume))
        if state is not None:
            if state.get("finished"):
                def reopen(best=state["best"]):
                    self._load_best()  # leave the loop holding the finished run's best weights
                    if not (self.out / "dev_metrics.json").exists():
                        best = self._finish(best)  # interrupted while finishing: complete the model directory
                    return best

                best = self.dist.from_rank0(reopen)
                self.dist.broadcast_module(self.model)
                return TrainResult(self.out, state["step"], best.get("step", 0), best, time.perf_counter() - t0)
            restore(self, state)
        step, epoch, pos = (state["step"], state["epoch"], state["pos"]) if state else (0, 0, 0)
        best, bad = (state["best"], state["bad_evals"]) if state else ({}, 0)
        if is_main and state is None:
            write_json(self.out / "recipe.json", self.recipe.to_dict())
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
        writer = tensorboard(self.out / "tb") if is_main else None
        stop_at = self.total_steps if max_steps is None else min(self.total_steps, max_steps)
        stopped_early = False
        bar = ProgressBar(self.progress and is_main, self.total_steps, step)
        self.model.train()
        # What a Ctrl-C checkpoint must hold to resume exactly: the RNG as it was after the last
        # completed step (an interrupted forward pass has already drawn dropout masks), and
        # whether that step's dev evaluation was cut short (it is then run first on resume).
        safe_rng, eval_pending = torch.get_rng_state(), False
        ctrl_c = _StepBoundaryInterrupt()
        try:
            ctrl_c.install()
            if state is not None and state.get("eval_pending"):
                best, bad, stopped_early = self._after_eval(step, epoch, best, bad, writer, is_main)
            while step < stop_at and not stopped_early:
                batches = self.train_data.epoch_batches(epoch, self.cfg.batch_frames) if self.kind == "tagger" else None
                epoch_steps = self.epoch_steps(epoch)
                if self.kind == "tagger":  # the next batch is prepared (read, augmented) while this one trains
                    prefetch = _Prefetch(lambda p, e=epoch, b=batches: self._tagger_batch(e, p, b))
                while pos < epoch_steps and step < stop_at:
                    ctrl_c.check()
                    batch = (prefetch.get(pos, pos + 1 if pos + 1 < epoch_steps else None) if self.kind == "tagger"
                             else self._window_batch(step))
                    for g in self.optimizer.param_groups:
                        g["lr"] = lr_at(step, self.total_steps, self.cfg.lr, self.cfg.lr_schedule)
                    loss = self._loss(batch)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.cfg.grad_clip > 0:
                        nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
                    self.optimizer.step()
                    if self.averaged is not None:
                        self.averaged.update(step)
                    step, pos = step + 1, pos + 1
                    safe_rng = torch.get_rng_state()
                    # the global batch's loss: the mean of the ranks' scaled parts (see steps._rank_loss)
                    value = float(loss.detach()) if self.world == 1 else float(self.dist.sum(loss)) / self.world
                    bar.update(step, value, best.get("value"))
                    if is_main and (step % self.cfg.log_every == 0 or step == 1):
                        append_jsonl(self.out / "metrics.jsonl", {"step": step, "epoch": epoch, "loss": value})
                        if writer:
                            writer.add_scalar("train/loss", value, step)
                    if self.eval_due(step, pos, epoch_steps):
                        eval_pending = True
                        best, bad, stopped_early = self._after_eval(step, epoch, best, bad, writer, is_main)
                        eval_pending = False
                        if stopped_early:
                            break
                    if step % self.cfg.checkpoint_every == 0:
                        save_state(self, training_state(self, step, epoch, pos, best, bad) if is_main else None)
                if self.kind == "tagger":
                    prefetch.pool.shutdown(wait=True, cancel_futures=True)
                if pos >= epoch_steps:
                    epoch, pos = epoch + 1, 0
        except KeyboardInterrupt:
            if is_main and not ctrl_c.forced:  # a forced stop may be mid-update: the last checkpoint stands
                interrupted = training_state(self, step, epoch, pos, best, bad)
                interrupted.update(torch_rng=safe_rng, eval_pending=eval_pending)
                save_checkpoint(self.out, interrupted)
            raise
        finally:
            ctrl_c.uninstall()
            bar.close()
            if writer:
                writer.close()
        finished = step >= self.total_steps or stopped_early
        state = training_state(self, step, epoch, pos, best, bad) if is_main else None
        if is_main:
            state["finished"] = finished
        save_state(self, state)
        if finished:
            best = self.dist.from_rank0(lambda: self._finish(best))
            self.dist.broadcast_module(self.model)  # every rank ends holding the best weights
        return TrainResult(self.out, step, best.get("step", 0), best, time.perf_counter() - t0, stopped_early)


class _StepBoundaryInterrupt:
    """Ctrl-C takes effect between optimizer steps, where weights, optimizer state, counters and RNG
    agree: a KeyboardInterrupt inside ``optimizer.step()`` would checkpoint half an update and the
    resumed run would differ. A second Ctrl-C stops at once (``forced``). Only the main thread may
    own a signal handler; elsewhere Ctrl-C behaves as usual."""

    def __init__(self) -> None:
        self.requested = self.forced = False
        self.previous = None

    def install(self) -> None:
        import signal
        import threading

        # an ignored SIGINT (a job started with nohup or in the background) stays ignored
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


class _Prefetch:
    """Compute ``fn(key)`` one key ahead in a background thread (batches are pure functions of
    their key, so prefetching never changes what is trained on)."""

    def __init__(self, fn):
        from concurrent.futures import ThreadPoolExecutor

        self.fn, self.pool, self.pending = fn, ThreadPoolExecutor(1), {}

    def get(self, key, next_key=None):
        future = self.pending.pop(key, None) or self.pool.submit(self.fn, key)
        if next_key is not None and next_key not in self.pending:
            self.pending[next_key] = self.pool.submit(self.fn, next_key)
        return future.result()
