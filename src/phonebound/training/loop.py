"""The training loop behind :func:`phonebound.training.recipe.train`, for taggers and window models."""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import HOP_S, FeatureConfig, to_dict
from ..dataset.store import Dataset
from ..errors import DatasetError, ModelError, PhoneboundError
from ..evaluation.frames import frame_metrics
from ..evaluation.metrics import BoundaryCounts
from ..evaluation.thresholds import tune_decoding, tune_threshold
from ..inference.calibrate import dev_statistics
from ..inference.decode import pick_peaks
from ..inference.detector import load_detector, save_model, tagger_scores
from ..models import build_model, get_spec
from ..models.bilstm import AUXILIARY_HEADS
from .batches import TaggerData, WindowData, check_compatible, soften
from .distributed import Distributed, rank_seed
from .recipe import (
    Recipe,
    TrainResult,
    append_jsonl,
    checkpoint_path,
    load_checkpoint,
    lr_at,
    pos_weight_from,
    save_checkpoint,
)

THRESHOLD_GRID = tuple(np.round(np.arange(0.1, 0.951, 0.05), 2))


class Loop:
    def __init__(self, datasets: list[Dataset], out: Path, recipe: Recipe, init=None, progress: bool = False,
                 on_eval=None):
        self.datasets, self.out, self.recipe, self.progress = datasets, out, recipe, progress
        self.on_eval = on_eval  # called as on_eval(step, value) after each dev evaluation (tuning prunes here)
        self.cfg = recipe.train
        spec = get_spec(recipe.model_name)
        self.kind = spec.kind
        if self.kind == "untrained":
            raise PhoneboundError(f"model {recipe.model_name!r} has nothing to train",
                                  fix="use it directly: `phonebound evaluate spectral DATA`")
        check_compatible(datasets, self.kind)
        if self.cfg.threads > 0:
            torch.set_num_threads(self.cfg.threads)
        elif self.kind == "window":
            torch.set_num_threads(1)  # a 10-step LSTM on 128 examples: thread hand-offs cost more than they save
        self.device = torch.device(self.cfg.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PhoneboundError(f"--device {self.cfg.device} requested but no CUDA GPU is available", fix="use --device cpu")
        # Under torchrun (WORLD_SIZE > 1) join the process group: gloo on CPU, NCCL on cuda:LOCAL_RANK.
        self.dist = Distributed(self.device)
        self.rank, self.world, self.device = self.dist.rank, self.dist.world, self.dist.device
        torch.manual_seed(self.cfg.seed)
        self._setup_data()
        self.model = build_model(recipe.model_name, recipe.model_params, self.input_dim).to(self.device)
        if init is not None:
            self._load_init(init)
        if self.world > 1 and hasattr(self.model, "loss"):
            raise PhoneboundError("self-supervised training runs in one process", fix="run it without torchrun")
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        self.ddp_model = self.dist.wrap(self.model)  # DistributedDataParallel when WORLD_SIZE > 1
        if self.rank > 0:
            torch.manual_seed(rank_seed(self.cfg.seed, self.rank))  # each rank its own dropout masks
        self.decode_cfg = recipe.decode  # the decoder settings the model will carry (tuned on dev at the end)
        self.averaged = WeightAverage(self.model, self.cfg.ema_decay) if self.cfg.ema_decay > 0 else None
        self.use_amp = self.cfg.amp and self.device.type == "cuda"  # bfloat16: no loss scaling needed

    # --- data -------------------------------------------------------------------------------
    def _setup_data(self) -> None:
        c = self.cfg
        if self.kind == "tagger":
            if c.balance == "oversample":
                raise PhoneboundError("--balance oversample repeats window examples; taggers see whole utterances",
                                      fix="use --balance weight (or none) with the bilstm tagger")
            teacher = None
            if get_spec(self.recipe.model_name).teacher == "spectral":  # self-training: alignments never read
                from ..models.spectral import SpectralTeacher

                teacher = SpectralTeacher()
            distill = None
            if c.teachers:
                from .distill import TeacherEnsemble

                distill = TeacherEnsemble(list(c.teachers), FeatureConfig(**self.datasets[0].meta["config"]["features"]),
                                          threads=c.threads)
            self.train_data = TaggerData(self.datasets, "train", c.max_frames, self.recipe.augment, c.seed,
                                         phone_classes=bool(self.recipe.model.get("phone_classes")), teacher=teacher,
                                         distill=distill, distill_weight=c.distill_weight)
            self.dev_data = TaggerData(self.datasets, "dev", max_frames=10**9)
            self.input_dim = self.datasets[0].feature_dim
            self.pos_weight = (c.pos_weight or pos_weight_from(self.train_data.positive_fraction())) \
                if c.balance == "weight" else 1.0
        else:
            if c.teachers:
                raise PhoneboundError("distillation teachers score whole utterances: the window model cannot use them",
                                      fix="drop `teachers` from [train], or train the bilstm tagger")
            multiply = c.multiply if c.balance == "oversample" else 1
            self.train_data = WindowData(self.datasets, "train", oversample=multiply, seed=c.seed)
            self.dev_data = WindowData(self.datasets, "dev")
            self.input_dim = int(self.datasets[0].shard_array(self.datasets[0].shards()[0], "features").shape[-1])
            pos = float(self.train_data.labels.mean())
            self.class_weight = torch.tensor([1.0, pos_weight_from(pos)]) if c.balance == "weight" else None
            self._window_epoch = math_ceil(len(self.train_data), c.batch_size)  # global batches, any world size
        self.total_steps = c.steps if c.steps > 0 else sum(self.epoch_steps(e) for e in range(c.epochs))

    def epoch_steps(self, epoch: int) -> int:
        """Optimizer steps in an epoch (a tagger epoch's batch count varies a little with the shuffle)."""
        if self.kind == "tagger":
            return max(1, len(self.train_data.epoch_batches(epoch, self.cfg.batch_frames)))
        return self._window_epoch

    def eval_due(self, step: int, pos: int, epoch_steps: int) -> bool:
        """Dev evaluation: every ``eval_every`` steps, else at each epoch end (tagger) or every 500 steps."""
        if step == self.total_steps:
            return True
        if self.cfg.eval_every:
            return step % self.cfg.eval_every == 0
        return pos == epoch_steps if self.kind == "tagger" else step % 500 == 0

    def _load_init(self, init) -> None:
        source = load_detector(init, backend="torch")  # the weights, even where an ONNX export exists
        if source.module is None:
            raise ModelError("the --init model has no weights", source.path, "pick a trained model directory")
        if source.name == "ensemble":
            raise ModelError("an ensemble cannot be fine-tuned as one network", source.path,
                             "start from one of its members (--init default is the first member of 'accurate')")
        own, theirs = self.model.state_dict(), source.module.state_dict()
        shared = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
        # The same architecture must take every weight of the init model except its training-only
        # heads; this model may add heads.
        needed = [k for k in theirs if not k.startswith(AUXILIARY_HEADS)]
        if source.name == self.recipe.model_name and any(k not in shared for k in needed):
            raise ModelError("the --init model's architecture differs from this recipe's", source.path,
                             "train with the init model's settings (its config.json) or drop --init")
        if not shared:
            raise ModelError("no weights of the --init model fit this model", source.path, "check --model")
        self.model.load_state_dict(shared, strict=False)
        self.init_from = str(source.path)

    # --- steps ------------------------------------------------------------------------------
    def _tagger_batch(self, epoch: int, pos: int, batches: list[list[int]]):
        ks = batches[pos]  # the global batch: the same on every rank and in a one-process run
        if self.world > 1:
            ks = ks[self.rank :: self.world]  # this rank's share of its chunks (read from the memmap)
            if not ks:
                return None  # fewer chunks than ranks: this rank only joins the gradient all-reduce
        return self.train_data.collate(ks, epoch)

    def _window_batch(self, step: int):
        """The global batch of ``step`` (``batch_size`` examples drawn by (seed, step)); with several
        ranks, this rank's share of it and the global denominator of the weighted mean loss."""
        if self.world == 1:
            return self.train_data.batch(step, self.cfg.batch_size)
        pick = self.train_data.draw(step, self.cfg.batch_size)
        labels = torch.from_numpy(self.train_data.labels[pick])
        denominator = self.class_weight[labels].sum() if self.class_weight is not None else torch.tensor(float(len(pick)))
        mine = pick[self.rank :: self.world]
        x, y = self.train_data.tensors(mine) if len(mine) else (None, None)
        return x, y, denominator

    def _rank_loss(self, batch) -> torch.Tensor:
        """This rank's part of the loss of the global batch, scaled so that DDP's gradient average
        equals the one-process gradient of the whole global batch.

        The one-process loss is a (weighted) mean, S / D: S the sum of the per-frame (tagger) or
        per-example (window) losses of the global batch, D its denominator (valid frames; the summed
        class weights of the labels, as ``cross_entropy``'s weighted mean divides by). Rank r returns
        world * S_r / D; DDP averages gradients, so the update uses
        (1/world) * sum_r world * grad(S_r) / D = grad(S / D). D is summed over the ranks for the
        tagger (augmentation can change lengths) and known to every rank for the window model.
        A rank without examples runs a zero-weighted forward so that it joins the all-reduce.
        """
        if self.kind == "tagger":
            if batch is None:
                x = torch.zeros(1, 1, self.input_dim, device=self.device)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
                    total = self.ddp_model(x, torch.ones(1, dtype=torch.long, device=self.device)).float().sum() * 0.0
                count = torch.zeros((), device=self.device)
            else:
                total, count = self._tagger_loss_sum(batch)
            return total * self.world / self.dist.sum(count)
        x, y, denominator = batch
        if x is None:
            x = self.train_data.tensors(np.zeros(1, np.int64))[0].to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
                total = self.ddp_model(x).float().sum() * 0.0
        else:
            x, y = x.to(self.device), y.to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
                logits = self.ddp_model(x)
            weight = None if self.class_weight is None else self.class_weight.to(self.device)
            total = nn.functional.cross_entropy(logits.float(), y, weight=weight, reduction="sum")
        return total * self.world / denominator.to(self.device)

    def _tagger_loss_sum(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed loss of a tagger batch over its real (unpadded) frames, and their count: boundary
        BCE plus, with a phone-class head, the auxiliary task of each frame's broad phone class."""
        x, y, lengths = (t.to(self.device) for t in batch[:3])
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
            out = self.ddp_model(x, lengths, with_classes=len(batch) > 3)
        logits, class_logits = out if len(batch) > 3 else (out, None)
        mask = torch.arange(x.shape[1], device=self.device)[None, :] < lengths[:, None]
        target = soften(y, lengths, self.cfg.neighbour_target)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(self.pos_weight, device=self.device), reduction="sum")
        total = loss_fn(logits.float()[mask], target[mask])
        if class_logits is not None:
            total = total + self.cfg.phone_class_weight * nn.functional.cross_entropy(
                class_logits.float()[mask], batch[3].to(self.device)[mask], reduction="sum")
        return total, mask.sum().float()

    def _loss(self, batch) -> torch.Tensor:
        if self.kind == "tagger" and hasattr(self.model, "loss"):  # self-supervised: the model has its own loss
            x, y, lengths = (t.to(self.device) for t in batch)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
                return self.model.loss(x, y, lengths)
        if self.world > 1:
            return self._rank_loss(batch)
        if self.kind == "tagger":
            total, count = self._tagger_loss_sum(batch)
            return total / count
        x, y = (t.to(self.device) for t in batch)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp):
            logits = self.ddp_model(x)
        weight = None if self.class_weight is None else self.class_weight.to(self.device)
        return nn.functional.cross_entropy(logits.float(), y, weight=weight)

    # --- dev evaluation ---------------------------------------------------------------------
    def evaluate_dev(self, final: bool = False) -> dict[str, Any]:
        return self.evaluate_split("dev", final)

    def evaluate_split(self, split: str, final: bool = False) -> dict[str, Any]:
        """Metrics of the current weights on a split at its natural class ratio (never oversampled)."""
        if split == "dev":
            data = self.dev_data
        elif self.kind == "tagger":
            data = TaggerData(self.datasets, split, max_frames=10**9)
        else:
            data = WindowData(self.datasets, split)
        self.model.eval()
        try:
            if self.kind == "tagger":
                return self._tagger_report(data, final)
            return self._window_report(data, split, final)
        finally:
            self.model.train()

    def _tagger_report(self, data: TaggerData, final: bool) -> dict[str, Any]:
        scores, refs, targets = [], [], []
        for k in range(len(data)):
            feats, t, bounds = data.example(k)
            scores.append(self.model.frame_scores(feats) if hasattr(self.model, "frame_scores")
                          else tagger_scores(self.model, feats))
            refs.append(bounds)
            targets.append(t)
        return self._boundary_report(scores, refs, targets, final)

    def _boundary_report(self, scores, refs, targets, final: bool) -> dict[str, Any]:
        d = self.decode_cfg
        if hasattr(self.model, "frame_scores") and final:  # self-supervised curves need a prominence test too
            _, prominence, _ = tune_decoding(scores, refs, THRESHOLD_GRID, tol=self.cfg.tolerance, distance=d.distance,
                                             refine=d.refine)
            self.decode_cfg = d = replace(d, prominence=prominence)
        best, table = tune_threshold(scores, refs, THRESHOLD_GRID, self.cfg.tolerance, distance=d.distance,
                                     prominence=d.prominence, refine=d.refine)
        counts = BoundaryCounts()
        for s, r in zip(scores, refs):
            counts.update(r, pick_peaks(s, best, d.distance, d.prominence, d.refine)[0])
        result = {"threshold": best, "boundary_f1": counts.f1, "boundary_precision": counts.precision,
                  "boundary_recall": counts.recall, "r_value": counts.r_value}
        if final:
            result["calibration"] = dev_statistics(scores, refs, d.distance)
            result["boundary"] = counts.to_dict()
            result["threshold_table"] = [list(row) for row in table]
            y_true = np.concatenate(targets) if targets else np.zeros(0)
            y_pred = np.concatenate([(s >= 0.5).astype(np.int8) for s in scores]) if scores else np.zeros(0)
            result["frame_at_0.5"] = _frame_dict(frame_metrics(y_true, y_pred))
        return result

    def _window_report(self, data: WindowData, split: str, final: bool) -> dict[str, Any]:
        preds, labels = [], []
        with torch.inference_mode():
            for x, y in data.sequential():
                preds.append(self.model(x.to(self.device)).argmax(-1).cpu().numpy())
                labels.append(y.numpy())
        fm = frame_metrics(np.concatenate(labels), np.concatenate(preds))
        c1, c0 = fm["per_class"]["boundary"], fm["per_class"]["non-boundary"]
        result = {"accuracy": float(fm["accuracy"]), "class1_recall": float(c1["recall"]),
                  "class1_precision": float(c1["precision"]), "class1_f1": float(c1["f1"]),
                  "class0_recall": float(c0["recall"]), "class0_precision": float(c0["precision"])}
        if final:
            result["frame"] = _frame_dict(fm)
        if split == "dev" and (final or self.cfg.metric == "boundary_f1"):
            result.update(self._window_boundaries(final))
        return result

    def _window_boundaries(self, final: bool) -> dict[str, Any]:
        """Slide the window classifier over the dev utterances' audio, as segment does."""
        from ..audio.load import load_audio
        from ..inference.detector import Detector

        detector = Detector(self._model_config(), self.model.cpu(), decode_cfg=self.decode_cfg)
        scores, refs, targets = [], [], []
        for ds in self.datasets:
            for i in ds.indices("dev"):
                r = ds.records[i]
                if not Path(r.audio).exists():
                    continue  # imported CSVs may name audio that is not here
                audio = load_audio(r.audio, None if r.channel < 0 else r.channel, r.start, r.end)
                s = detector.frame_scores(audio)
                scores.append(s)
                refs.append(r.boundaries_array)
                t = np.zeros(len(s), np.int8)
                t[np.clip(np.rint(r.boundaries_array / HOP_S).astype(int), 0, len(s) - 1)] = 1
                targets.append(t)
        self.model.to(self.device)
        if not scores:
            return {}
        return self._boundary_report(scores, refs, targets, final)

    # --- config and checkpoints -------------------------------------------------------------
    def _model_config(self, threshold: float | None = None, calibration: dict | None = None) -> dict[str, Any]:
        ds = self.datasets[0]
        key = "features" if self.kind == "tagger" else "region"
        decode = self.decode_cfg if threshold is None else replace(self.decode_cfg, threshold=threshold)
        if calibration:  # dev statistics for label-free calibration; a recipe's own values win
            decode = replace(decode, target_rate=decode.target_rate or calibration["target_rate"],
                             reference_level=decode.reference_level or calibration["reference_level"])
        decode = to_dict(decode)
        return {"model": {"name": self.recipe.model_name, "params": self.recipe.model_params},
                "input": {"layout": ds.layout, key: ds.meta["config"][key], "dim": self.input_dim},
                "decode": decode, "recipe": self.recipe.to_dict(),
                "data": {"datasets": [str(d.root) for d in self.datasets],
                         "train_utterances": sum(len(d.indices("train")) for d in self.datasets),
                         "dev_utterances": sum(len(d.indices("dev")) for d in self.datasets)},
                "init": getattr(self, "init_from", None)}

    def _state(self, step: int, epoch: int, pos: int, best: dict, history_bad: int) -> dict[str, Any]:
        state = {"step": step, "epoch": epoch, "pos": pos, "best": best, "bad_evals": history_bad,
                 "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "recipe": self.recipe.to_dict(), "finished": False,
                 "input": self._model_config()["input"]}
        if self.averaged is not None:
            state["averaged"] = self.averaged.state_dict()
        return state

    # --- the loop -----------------------------------------------------------------------------
    def run(self, resume: bool = False, max_steps: int | None = None) -> TrainResult:
        t0 = time.perf_counter()
        is_main = self.rank == 0
        self.out.mkdir(parents=True, exist_ok=True)
        # Rank 0 reads (and checks) the checkpoint; every rank receives it: no shared disk needed.
        state = self.dist.from_rank0(lambda: self._read_checkpoint(resume))
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
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.averaged is not None:
                self.averaged.load_state_dict(state["averaged"])
            self._restore_rng(state)
        step, epoch, pos = (state["step"], state["epoch"], state["pos"]) if state else (0, 0, 0)
        best, bad = (state["best"], state["bad_evals"]) if state else ({}, 0)
        if is_main and state is None:
            from ..config import write_json

            write_json(self.out / "recipe.json", self.recipe.to_dict())
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
        writer = _tensorboard(self.out / "tb") if is_main else None
        stop_at = self.total_steps if max_steps is None else min(self.total_steps, max_steps)
        stopped_early = False
        bar = _Bar(self.progress and is_main, self.total_steps, step)
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
                    # the global batch's loss: the mean of the ranks' scaled parts (see _rank_loss)
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
                        self._checkpoint(self._state(step, epoch, pos, best, bad) if is_main else None)
                if self.kind == "tagger":
                    prefetch.pool.shutdown(wait=True, cancel_futures=True)
                if pos >= epoch_steps:
                    epoch, pos = epoch + 1, 0
        except KeyboardInterrupt:
            if is_main and not ctrl_c.forced:  # a forced stop may be mid-update: the last checkpoint stands
                interrupted = self._state(step, epoch, pos, best, bad)
                interrupted.update(torch_rng=safe_rng, eval_pending=eval_pending)
                save_checkpoint(self.out, interrupted)
            raise
        finally:
            ctrl_c.uninstall()
            bar.close()
            if writer:
                writer.close()
        finished = step >= self.total_steps or stopped_early
        state = self._state(step, epoch, pos, best, bad) if is_main else None
        if is_main:
            state["finished"] = finished
        self._checkpoint(state)
        if finished:
            best = self.dist.from_rank0(lambda: self._finish(best))
            self.dist.broadcast_module(self.model)  # every rank ends holding the best weights
        return TrainResult(self.out, step, best.get("step", 0), best, time.perf_counter() - t0, stopped_early)

    def _read_checkpoint(self, resume: bool) -> dict[str, Any] | None:
        state = load_checkpoint(self.out) if resume else None
        if state is None and not resume and checkpoint_path(self.out).exists():
            raise PhoneboundError("the output directory holds an earlier run", self.out,
                                  "pass --resume to continue it, or choose a new output directory")
        if state is not None and state.get("input", self._model_config()["input"]) != self._model_config()["input"]:
            raise DatasetError("the datasets' features differ from those the interrupted run was trained on",
                               self.out, "resume with the original datasets, or train into a new directory")
        if state is not None and state["recipe"] != self.recipe.to_dict():
            raise PhoneboundError("--resume with a recipe that differs from the interrupted run's", self.out,
                                  "rerun with the same options")
        return state

    def _checkpoint(self, state: dict[str, Any] | None) -> None:
        """Rank 0 saves ``state``; with several ranks it also holds every rank's RNG state."""
        if self.world > 1:
            rngs = self.dist.gather(torch.get_rng_state())  # a collective: every rank calls it
            if state is not None:
                state["torch_rng_ranks"] = rngs
        if state is not None:
            save_checkpoint(self.out, state)

    def _restore_rng(self, state: dict[str, Any]) -> None:
        rngs = state.get("torch_rng_ranks")
        if rngs is not None and len(rngs) == self.world:
            torch.set_rng_state(rngs[self.rank])
        elif self.rank == 0:
            torch.set_rng_state(state["torch_rng"])
        else:  # resumed with another number of ranks, or from a Ctrl-C checkpoint (rank 0's RNG only)
            torch.manual_seed(rank_seed(self.cfg.seed, self.rank, state["step"]))

    def _after_eval(self, step, epoch, best, bad, writer, is_main):
        """Rank 0 evaluates on dev and decides (best so far, patience, stop); the other ranks wait
        for its decision and receive it, so all ranks stop at the same step."""
        return self.dist.from_rank0(lambda: self._dev_check(step, epoch, best, bad, writer))

    def _dev_check(self, step, epoch, best, bad, writer):
        # with weight averaging the averaged weights are the candidate model (evaluated and saved)
        with self.averaged.swapped_in() if self.averaged is not None else nullcontext():
            return self._judge_dev(step, epoch, best, bad, writer)

    def _judge_dev(self, step, epoch, best, bad, writer):
        dev = self.evaluate_dev()
        value = dev.get(self.cfg.metric, dev.get("class1_f1", 0.0))
        record = {"step": step, "epoch": epoch, "dev": dev, "metric": self.cfg.metric, "value": value}
        append_jsonl(self.out / "metrics.jsonl", record)
        if writer:
            for k, v in dev.items():
                if isinstance(v, float):
                    writer.add_scalar(f"dev/{k}", v, step)
        if not best or value > best["value"] + 1e-9:
            best = {"step": step, "value": value, "dev": dev}
            bad = 0
            save_model(self.out, self.model, self._model_config(dev.get("threshold")))
        else:
            bad += 1
        if self.on_eval is not None:
            self.on_eval(step, value)
        return best, bad, bool(self.cfg.patience and bad >= self.cfg.patience)

    def _load_best(self) -> None:
        if (self.out / "model.pt").exists():
            self.model.load_state_dict(torch.load(self.out / "model.pt", map_location=self.device, weights_only=True))

    def _finish(self, best: dict) -> dict:
        """Reload the best weights, tune the threshold on dev, write the final config and dev metrics."""
        self._load_best()
        dev = self.evaluate_dev(final=True)
        config = self._model_config(dev.get("threshold"), dev.get("calibration"))
        config["dev"] = {k: v for k, v in dev.items() if k != "threshold_table"}
        config["best_step"] = best.get("step", 0)
        save_model(self.out, self.model, config)
        from ..config import write_json

        write_json(self.out / "dev_metrics.json", {"best_step": best.get("step", 0), **dev})
        return {**best, "dev": dev}


class WeightAverage:
    """An exponential moving average of a module's floating-point weights (Polyak averaging): a
    free ensemble of the late training steps. The decay warms up as (1 + step) / (10 + step) so
    the first steps do not freeze the initial weights into the average."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.module, self.decay = module, decay
        state = module.state_dict()
        self.names = [k for k, v in state.items() if v.is_floating_point()]
        self.values = [state[k].detach().clone() for k in self.names]

    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        state = self.module.state_dict()
        torch._foreach_lerp_(self.values, [state[k].detach() for k in self.names], 1.0 - d)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in zip(self.names, self.values)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.values = [state[k].to(v.device) for k, v in zip(self.names, self.values)]

    @contextmanager
    def swapped_in(self):
        """The module holds the averaged weights inside the block, its own weights again after."""
        own = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        self.module.load_state_dict({**own, **self.state_dict()})
        try:
            yield
        finally:
            self.module.load_state_dict(own)


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


def math_ceil(a: int, b: int) -> int:
    return max(1, -(-a // b))


def _frame_dict(fm: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fm.items() if k != "report"}


def _tensorboard(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional at run time
        return None
    return SummaryWriter(str(path))


class _Bar:
    """A rich progress bar with loss, dev metric and ETA (or nothing when not on a terminal)."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.enabled = enabled
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]}  dev {task.fields[dev]}"), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=done, loss="-", dev="-")

    def update(self, step: int, loss: float, dev: float | None) -> None:
        if self.enabled:
            self.bar.update(self.task, completed=step, loss=f"{loss:.4f}", dev="-" if dev is None else f"{dev:.3f}")

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()
