"""One optimizer step's worth of computation: the batch a step trains on (a pure function of seed,
epoch and position, or seed and step, so a resumed run sees the same batches), its loss (one process,
or this rank's share under torchrun) and the learning rate of the step."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .batches import soften
from .setup import TrainingSetup
from .targets import IGNORE


def tagger_batch(run: TrainingSetup, epoch: int, pos: int, batches: list[list[int]]):
    """Padded tensors of batch ``pos`` of ``epoch`` (chunk indices ``batches[pos]``); with several
    ranks, this rank's share of its chunks, or None when it has none."""
    ks = batches[pos]  # the global batch: the same on every rank and in a one-process run
    if run.world > 1:
        ks = ks[run.rank :: run.world]  # this rank's share of its chunks (read from the memmap)
        if not ks:
            return None  # fewer chunks than ranks: this rank only joins the gradient all-reduce
    return run.train_data.collate(ks, epoch)


def window_batch(run: TrainingSetup, step: int):
    """The global batch of ``step`` (``batch_size`` examples drawn by (seed, step)); with several
    ranks, this rank's share of it and the global denominator of the weighted mean loss."""
    if run.world == 1:
        return run.train_data.batch(step, run.cfg.batch_size)
    pick = run.train_data.draw(step, run.cfg.batch_size)
    labels = torch.from_numpy(run.train_data.labels[pick])
    denominator = run.class_weight[labels].sum() if run.class_weight is not None else torch.tensor(float(len(pick)))
    mine = pick[run.rank :: run.world]
    x, y = run.train_data.tensors(mine) if len(mine) else (None, None)
    return x, y, denominator


def loss(run: TrainingSetup, batch) -> torch.Tensor:
    """The loss of one batch, whose gradient the optimizer step follows: the mean over its frames
    (tagger) or examples (window), class-weighted; under torchrun this rank's scaled part of it."""
    if run.kind == "tagger" and hasattr(run.model, "loss"):  # self-supervised: the model has its own loss
        x, y, lengths = (t.to(run.device) for t in batch)
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
            return run.model.loss(x, y, lengths)
    if run.world > 1:
        return _rank_loss(run, batch)
    if run.kind == "tagger":
        total, count = _tagger_loss_sum(run, batch)
        return total / count
    x, y = (t.to(run.device) for t in batch)
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
        logits = run.ddp_model(x)
    weight = None if run.class_weight is None else run.class_weight.to(run.device)
    return nn.functional.cross_entropy(logits.float(), y, weight=weight)


def _tagger_loss_sum(run: TrainingSetup, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss of a tagger batch over its real (unpadded) frames, and their count: boundary
    BCE plus the auxiliary heads' losses (broad class, phonological features, class pairs)."""
    x, y, lengths = (t.to(run.device) for t in batch[:3])
    aux = {k: v.to(run.device) for k, v in batch[3].items()} if len(batch) > 3 else {}
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
        out = run.ddp_model(x, lengths, with_heads=True) if aux else {"boundary": run.ddp_model(x, lengths)}
    mask = torch.arange(x.shape[1], device=run.device)[None, :] < lengths[:, None]
    target = soften(y, lengths, run.cfg.neighbour_target)
    pos_weight = torch.tensor(run.pos_weight, device=run.device)
    total = nn.functional.binary_cross_entropy_with_logits(out["boundary"].float()[mask], target[mask],
                                                           pos_weight=pos_weight, reduction="sum")
    return total + auxiliary_loss(run, out, aux, mask, pos_weight), mask.sum().float()


def auxiliary_loss(run: TrainingSetup, out: dict, aux: dict, mask: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    """Summed losses of the auxiliary heads: cross-entropy of the broad class; the mean over
    features of each phonological feature's cross-entropy (silence frames ignored); and, for the
    class-pair head, BCE of every pair's output against the pair of the boundary at that frame
    (none elsewhere), divided by the class count so it weighs about as much as the boundary loss;
    for the offset head, the L1 error of each boundary's place within its frame."""
    total = out["boundary"].new_zeros((), dtype=torch.float32)
    if "classes" in aux:
        total = total + run.cfg.phone_class_weight * nn.functional.cross_entropy(
            out["classes"].float()[mask], aux["classes"][mask], reduction="sum")
    if "features" in aux:
        logits = out["features"].float()[mask]  # (frames, F, 3)
        total = total + run.cfg.phone_feature_weight * nn.functional.cross_entropy(
            logits.reshape(-1, 3), aux["features"][mask].reshape(-1), ignore_index=IGNORE,
            reduction="sum") / logits.shape[1]
    if "pairs" in aux:
        logits = out["pairs"].float()[mask]  # (frames, C * C)
        pairs = aux["pairs"][mask]
        onehot = torch.zeros_like(logits)
        hit = pairs >= 0
        onehot[hit.nonzero().squeeze(-1), pairs[hit]] = 1.0
        classes = math.isqrt(logits.shape[1])
        total = total + run.cfg.class_pair_weight * nn.functional.binary_cross_entropy_with_logits(
            logits, onehot, pos_weight=pos_weight, reduction="sum") / classes
    if "offset" in aux:  # L1 of where within its frame each boundary lies, at boundary frames
        target = aux["offset"][mask]
        known = ~torch.isnan(target)
        total = total + run.cfg.boundary_offset_weight * nn.functional.l1_loss(
            out["offset"].float()[mask][known], target[known], reduction="sum")
    return total


def _rank_loss(run: TrainingSetup, batch) -> torch.Tensor:
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
    if run.kind == "tagger":
        if batch is None:
            x = torch.zeros(1, 1, run.input_dim, device=run.device)
            with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
                # every head takes part (zero-weighted) so each parameter joins the gradient all-reduce
                heads = run.ddp_model(x, torch.ones(1, dtype=torch.long, device=run.device), with_heads=True)
                total = sum(h.float().sum() for h in heads.values()) * 0.0
            count = torch.zeros((), device=run.device)
        else:
            total, count = _tagger_loss_sum(run, batch)
        return total * run.world / run.dist.sum(count)
    x, y, denominator = batch
    if x is None:
        x = run.train_data.tensors(np.zeros(1, np.int64))[0].to(run.device)
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
            total = run.ddp_model(x).float().sum() * 0.0
    else:
        x, y = x.to(run.device), y.to(run.device)
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
            logits = run.ddp_model(x)
        weight = None if run.class_weight is None else run.class_weight.to(run.device)
        total = nn.functional.cross_entropy(logits.float(), y, weight=weight, reduction="sum")
    return total * run.world / denominator.to(run.device)


def lr_at(step: int, total: int, base: float, schedule: str = "constant") -> float:
    """Learning rate of ``step`` (0-based) of ``total``: constant, or a cosine decay from ``base``
    to ``base / 20`` at the last step (a late, small learning rate settles the weights)."""
    if schedule == "constant" or total <= 1:
        return base
    floor = base / 20
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * min(step, total - 1) / (total - 1)))
