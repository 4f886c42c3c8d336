"""Data-parallel training (torchrun, gloo on CPU) equals one-process training on the same global
batches: the per-rank losses average to the one-process gradient (checked exactly, in one process),
and real 2-process runs log the same losses, stop together and end with the same weights as a
one-process run; a checkpoint resumes on every rank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from phonebound.dataset.store import Dataset
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train
from phonebound.training.loop import Loop

pytest.importorskip("torch.distributed")
if not torch.distributed.is_available():
    pytest.skip("this PyTorch has no torch.distributed", allow_module_level=True)

TAGGER_TOML = """
[model]
name = "bilstm"
hidden = 8
layers = 1
dropout = 0.0

[train]
steps = 10
lr = 0.01
threads = 1
max_frames = 60       # 12 chunks of 60 or 31 frames: uneven lengths, so ranks pad differently
batch_frames = 200    # global batches of 4, 3, 3 and 2 chunks: uneven shares per rank
eval_every = 5
log_every = 1
checkpoint_every = 4
"""

WINDOW_TOML = """
[model]
name = "window"
hidden = 8

[train]
steps = 30
lr = 0.02
threads = 1
batch_size = 33       # odd: ranks take 17 and 16 of each global batch
balance = "weight"    # class-weighted mean: the denominator is the global batch's weight sum
metric = "class1_f1"
eval_every = 3
patience = 1          # stops early on this data: every rank must stop at rank 0's step
log_every = 1
checkpoint_every = 4
"""

# Runs the CLI like ``-m phonebound`` and also saves each rank's final weights (rank{N}.pt in OUT).
RECORDING_MAIN = """
import sys, torch
from phonebound.training import loop as training_loop
run = training_loop.Loop.run
def recorded(self, *args, **kwargs):
    result = run(self, *args, **kwargs)
    torch.save({k: v.detach().cpu() for k, v in self.model.state_dict().items()}, self.out / f"rank{self.rank}.pt")
    return result
training_loop.Loop.run = recorded
from phonebound.cli import main
sys.argv = ["phonebound", *sys.argv[1:]]
main()
"""


def torchrun(args: list[str], cwd: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def losses(out: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in records(out) if "loss" in r}


def dev_values(out: Path) -> dict[int, float]:
    return {r["step"]: r["value"] for r in records(out) if "dev" in r}


def assert_close_weights(a: dict, b: dict, atol: float = 1e-4) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=atol, rtol=0), (k, (a[k] - b[k]).abs().max())


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


# --- the arithmetic, in one process: per-rank losses average to the one-process gradient ----------


class FakeGroup:
    """What ``Distributed`` provides to the loss, for ranks simulated one after another."""

    def __init__(self, world: int, total: float):
        self.world, self.total = world, total

    def sum(self, value):
        return torch.tensor(self.total)


def gradient(loop: Loop, loss: torch.Tensor) -> list[torch.Tensor]:
    loop.model.zero_grad(set_to_none=True)
    loss.backward()
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in loop.model.parameters()]


def simulated_ddp_gradient(loop: Loop, world: int, batch_of_rank, total: float = 0.0) -> list[torch.Tensor]:
    """DDP's update direction: the mean over ranks of each rank's gradient of its scaled loss."""
    saved = loop.rank, loop.world, loop.dist
    summed = None
    try:
        for rank in range(world):
            loop.rank, loop.world, loop.dist = rank, world, FakeGroup(world, total)
            g = gradient(loop, loop._loss(batch_of_rank()))
            summed = g if summed is None else [a + b for a, b in zip(summed, g)]
    finally:
        loop.rank, loop.world, loop.dist = saved
    return [s / world for s in summed]


def tagger_loop(dataset: Path, tmp_path: Path, **train_kw) -> Loop:
    cfg = dict(steps=4, threads=1, max_frames=60, batch_frames=200, neighbour_target=0.3)
    cfg.update(train_kw)
    recipe = Recipe(model={"name": "bilstm", "hidden": 6, "layers": 1, "dropout": 0.0}, train=TrainConfig(**cfg))
    return Loop([Dataset(dataset)], tmp_path / "m", recipe)


@pytest.mark.parametrize("world", [2, 3, 5])
def test_tagger_rank_losses_average_to_the_one_process_gradient(tone_sequence_dataset, tmp_path, world):
    loop = tagger_loop(tone_sequence_dataset, tmp_path)
    assert loop.pos_weight != 1.0  # class-weighted BCE, soft neighbour targets, chunks of 60 and 31 frames
    batches = loop.train_data.epoch_batches(0, loop.cfg.batch_frames)
    assert sorted(len(b) for b in batches) == [2, 3, 3, 4]  # world 3 and 5 leave some ranks without chunks
    for pos, ks in enumerate(batches):
        expected = gradient(loop, loop._loss(loop.train_data.collate(ks, 0)))
        frames = sum(loop.train_data.chunks[k].end - loop.train_data.chunks[k].start for k in ks)  # valid frames
        got = simulated_ddp_gradient(loop, world, lambda pos=pos: loop._tagger_batch(0, pos, batches),
                                     total=float(frames))
        for g, e in zip(got, expected):
            assert torch.allclose(g, e, atol=1e-6, rtol=1e-4), (world, pos, (g - e).abs().max())


def test_tagger_share_of_a_global_batch(tone_sequence_dataset, tmp_path):
    loop = tagger_loop(tone_sequence_dataset, tmp_path)
    batches = [[0, 1, 2], [3]]
    loop.world = 2
    shares = []
    for rank in range(2):
        loop.rank = rank
        shares.append([loop._tagger_batch(0, pos, batches) for pos in range(2)])
    assert shares[0][0][0].shape[0] == 2 and shares[1][0][0].shape[0] == 1  # chunks 0, 2 | 1
    assert shares[0][1][0].shape[0] == 1 and shares[1][1] is None  # a rank without chunks
    assert loop.epoch_steps(0) == len(loop.train_data.epoch_batches(0, loop.cfg.batch_frames))  # not / world


@pytest.mark.parametrize("world,balance", [(2, "weight"), (3, "weight"), (2, "none")])
def test_window_rank_losses_average_to_the_one_process_gradient(tone_region_dataset, tmp_path, world, balance):
    recipe = Recipe(model={"name": "window", "hidden": 6},
                    train=TrainConfig(steps=4, threads=1, batch_size=31, balance=balance, metric="class1_f1"))
    loop = Loop([Dataset(tone_region_dataset)], tmp_path / "m", recipe)
    for step in range(3):
        expected = gradient(loop, loop._loss(loop._window_batch(step)))
        shares = []

        def next_rank_batch(step=step):
            batch = loop._window_batch(step)
            shares.append(len(batch[1]))
            return batch

        got = simulated_ddp_gradient(loop, world, next_rank_batch)
        assert sum(shares) == 31 and max(shares) - min(shares) <= 1  # equal shares of the global batch
        for g, e in zip(got, expected):
            assert torch.allclose(g, e, atol=1e-6, rtol=1e-4), (world, step, (g - e).abs().max())


def test_window_global_batch_is_the_one_process_batch(tone_region_dataset, tmp_path):
    recipe = Recipe(model={"name": "window", "hidden": 6}, train=TrainConfig(steps=4, threads=1, batch_size=8))
    loop = Loop([Dataset(tone_region_dataset)], tmp_path / "m", recipe)
    x, y = loop._window_batch(5)
    pick = loop.train_data.draw(5, 8)
    loop.world, parts = 2, []
    for rank in range(2):
        loop.rank = rank
        parts.append(loop._window_batch(5))
    assert torch.equal(torch.cat([parts[0][0], parts[1][0]]), torch.cat([x[0::2], x[1::2]]))
    assert torch.equal(y, torch.from_numpy(loop.train_data.labels[pick]))
    w = loop.class_weight
    assert float(parts[0][2]) == pytest.approx(float(w[y].sum()))  # the denominator of the weighted mean


# --- real 2-process runs under torchrun ------------------------------------------------------------


# every auxiliary head (broad class, phonological features, class pairs): each must reach every
# rank's gradient all-reduce, or gloo aborts with a collective mismatch (it did for the class head)
HEADS_TOML = TAGGER_TOML.replace("dropout = 0.0", "dropout = 0.0\nphone_classes = 8\nphone_features = 22\nclass_pairs = true")


@pytest.mark.slow
@pytest.mark.parametrize("toml,nproc", [(TAGGER_TOML, 2), (HEADS_TOML, 3)], ids=["boundary", "every_head"])
def test_torchrun_tagger_equals_one_process_training(tone_sequence_dataset, tmp_path, toml, nproc):
    """With 3 ranks the global batch of 2 chunks leaves one rank without any: its zero-weighted
    forward must still run every head."""
    (tmp_path / "tiny.toml").write_text(toml)
    single = tmp_path / "single"
    train([tone_sequence_dataset], single, Recipe.load(tmp_path / "tiny.toml").with_overrides())
    proc = torchrun(["-m", "phonebound", "train", str(tone_sequence_dataset), "ddp", "--config", "tiny.toml"], tmp_path,
                    nproc=nproc)
    ddp = tmp_path / "ddp"
    assert proc.stdout.count("trained 10 steps") == 1  # rank 0 prints, rank 1 does not
    one, two = losses(single), losses(ddp)
    assert list(two) == list(one) == list(range(1, 11))  # rank 0 logs every step once
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-5, abs=1e-6), step
    assert dev_values(ddp) == pytest.approx(dev_values(single), abs=1e-6) and list(dev_values(ddp)) == [5, 10]
    last_one = torch.load(single / "checkpoints" / "last.pt", weights_only=False)
    last_two = torch.load(ddp / "checkpoints" / "last.pt", weights_only=False)
    assert last_two["step"] == 10 and len(last_two["torch_rng_ranks"]) == nproc
    assert_close_weights(last_one["model"], last_two["model"])
    assert_close_weights(load(single / "model.pt"), load(ddp / "model.pt"))
    assert json.loads((ddp / "config.json").read_text())["best_step"] == json.loads((single / "config.json").read_text())["best_step"]
    assert (ddp / "dev_metrics.json").is_file() and not (ddp / "rank1").exists()


@pytest.mark.slow
def test_torchrun_window_resumes_stops_early_together_and_ends_equal_on_every_rank(tone_region_dataset, tmp_path):
    """A one-process run interrupted after 5 steps resumes under torchrun with 2 ranks (both load
    the checkpoint); patience stops the run at rank 0's step on both ranks; both end holding the
    best weights, equal to an uninterrupted one-process run's."""
    (tmp_path / "win.toml").write_text(WINDOW_TOML)
    (tmp_path / "recording_main.py").write_text(RECORDING_MAIN)
    recipe = Recipe.load(tmp_path / "win.toml").with_overrides()
    recipe.data = {"datasets": [str(tone_region_dataset)]}  # as the CLI records it: resume compares recipes
    single = tmp_path / "single"
    reference = train([tone_region_dataset], single, recipe)
    assert reference.stopped_early and reference.steps < 30  # the case that would deadlock without a broadcast
    resumed = tmp_path / "resumed"
    train([tone_region_dataset], resumed, recipe, max_steps=5)
    proc = torchrun(["recording_main.py", "train", str(tone_region_dataset), "resumed", "--config", "win.toml",
                     "--resume"], tmp_path)
    assert "(stopped early)" in proc.stdout
    state = torch.load(resumed / "checkpoints" / "last.pt", weights_only=False)
    assert state["step"] == reference.steps and state["finished"]
    one, two = losses(single), losses(resumed)
    assert list(two) == list(one)
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-5, abs=1e-6), step
    assert dev_values(resumed) == pytest.approx(dev_values(single), abs=1e-6)
    ranks = [load(resumed / f"rank{r}.pt") for r in range(2)]
    assert_close_weights(ranks[0], ranks[1], atol=0.0)  # identical on every rank
    assert_close_weights(ranks[0], load(resumed / "model.pt"), atol=0.0)  # ... and the best checkpoint
    assert_close_weights(load(single / "model.pt"), load(resumed / "model.pt"))
    assert_close_weights(state["model"], torch.load(single / "checkpoints" / "last.pt", weights_only=False)["model"])


def test_one_process_has_no_process_group(tone_region_dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    recipe = Recipe(model={"name": "window", "hidden": 6}, train=TrainConfig(steps=2, threads=1, batch_size=8))
    loop = Loop([Dataset(tone_region_dataset)], tmp_path / "m", recipe)
    assert loop.world == 1 and loop.ddp_model is loop.model and not loop.dist.active
    assert not torch.distributed.is_initialized()
    assert loop.dist.from_rank0(lambda: 7) == 7 and loop.dist.gather("x") == ["x"]
    t = torch.tensor(3.0)
    assert loop.dist.sum(t) is t
