"""Training runs on the tiny synthetic corpus: the loss falls, the model directory is complete,
the same seed gives the same weights, and an interrupted run resumes to exactly the same model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from phonebound.audio.augment import AugmentConfig
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.steps import lr_at
from phonebound.training.train import train


def tagger_recipe(**train_kw) -> Recipe:
    cfg = dict(steps=40, lr=0.01, threads=1, batch_frames=2000, eval_every=20, log_every=1, checkpoint_every=10)
    cfg.update(train_kw)
    return Recipe(model={"name": "bilstm", "hidden": 16, "layers": 1, "dropout": 0.1}, train=TrainConfig(**cfg))


def window_recipe(**train_kw) -> Recipe:
    cfg = dict(steps=12, lr=0.01, threads=1, batch_size=32, eval_every=4, log_every=1, checkpoint_every=5,
               balance="oversample", multiply=9, metric="class1_f1")
    cfg.update(train_kw)
    return Recipe(model={"name": "window", "hidden": 8}, train=TrainConfig(**cfg))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def last_weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def trained_tagger(tone_sequence_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("tagger") / "model"
    result = train([tone_sequence_dataset], out, tagger_recipe())
    return out, result


def test_tagger_loss_falls(trained_tagger):
    out, result = trained_tagger
    assert result.steps == 40
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert [r["step"] for r in records if "loss" in r] == list(range(1, 41))
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.5 * first, (first, last)
    evals = [r for r in records if "dev" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert all(r["metric"] == "boundary_f1" for r in evals)


def test_tagger_model_directory_is_complete(trained_tagger, tone_sequence_dataset):
    out, result = trained_tagger
    for name in ("model.pt", "config.json", "dev_metrics.json", "metrics.jsonl", "checkpoints/last.pt",
                 "recipe.json"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == {"name": "bilstm", "params": {"hidden": 16, "layers": 1, "dropout": 0.1}}
    assert config["input"]["layout"] == "sequence"
    assert config["input"]["features"]["kind"] == "mfcc_deltas"
    assert config["input"]["dim"] == 39
    assert 0 < config["decode"]["threshold"] < 1
    assert config["format"] == 1
    assert config["data"]["train_utterances"] == 4 and config["data"]["dev_utterances"] == 1
    assert config["best_step"] in (20, 40)
    dev = json.loads((out / "dev_metrics.json").read_text())
    assert dev["best_step"] == config["best_step"] == result.best_step
    assert dev["threshold"] == config["decode"]["threshold"]
    assert 0.0 <= dev["boundary_f1"] <= 1.0
    # frame support equals the dev utterance's frames and boundary frames
    from phonebound.dataset.store import Dataset

    ds = Dataset(tone_sequence_dataset)
    (i,) = ds.indices("dev")
    frame = dev["frame_at_0.5"]["per_class"]
    assert frame["boundary"]["support"] == int(ds.targets(i).sum())
    assert frame["boundary"]["support"] + frame["non-boundary"]["support"] == ds.records[i].n_frames
    state = torch.load(out / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    assert state["finished"] is True and state["step"] == 40


def test_same_seed_gives_identical_weights(tone_sequence_dataset, tmp_path):
    recipe = tagger_recipe(steps=6, eval_every=3, checkpoint_every=3)
    train([tone_sequence_dataset], tmp_path / "a", recipe)
    train([tone_sequence_dataset], tmp_path / "b", recipe)
    assert_same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt"))
    assert_same_weights(last_weights(tmp_path / "a"), last_weights(tmp_path / "b"))
    other = tagger_recipe(steps=6, eval_every=3, checkpoint_every=3, seed=1)
    train([tone_sequence_dataset], tmp_path / "c", other)
    a, c = last_weights(tmp_path / "a"), last_weights(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def _check_exact_resume(dataset: Path, root: Path, recipe: Recipe, n: int, k: int) -> None:
    a = train([dataset], root / "a", recipe)
    assert a.steps == n
    b = train([dataset], root / "b", recipe, max_steps=k)
    assert b.steps == k
    state = torch.load(root / "b" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == k and state["finished"] is False
    assert not (root / "b" / "dev_metrics.json").exists()  # not finished yet
    b = train([dataset], root / "b", recipe, resume=True)
    assert b.steps == n and b.best_step == a.best_step
    assert_same_weights(weights(root / "a" / "model.pt"), weights(root / "b" / "model.pt"))
    assert_same_weights(last_weights(root / "a"), last_weights(root / "b"))
    for name in ("dev_metrics.json", "config.json"):
        ja, jb = (json.loads((root / d / name).read_text()) for d in "ab")
        assert ja == jb, name
    # the log of the resumed run is the uninterrupted run's log (no step lost or repeated)
    la, lb = ((root / d / "metrics.jsonl").read_text().splitlines() for d in "ab")
    assert la == lb
    # a second resume of a finished run is a no-op
    again = train([dataset], root / "b", recipe, resume=True)
    assert again.steps == n
    assert_same_weights(weights(root / "a" / "model.pt"), weights(root / "b" / "model.pt"))


def test_tagger_exact_resume(tone_sequence_dataset, tmp_path):
    # 2 batches per epoch: step 5 stops mid-epoch; dropout and augmentation exercise the RNG state
    recipe = tagger_recipe(steps=12, batch_frames=320, eval_every=4, checkpoint_every=5)
    recipe.augment = AugmentConfig(prob=0.5)
    _check_exact_resume(tone_sequence_dataset, tmp_path, recipe, n=12, k=5)


def test_cosine_schedule_decays_to_a_twentieth_and_resumes_exactly(tone_sequence_dataset, tmp_path):
    assert [lr_at(s, 11, 1e-3, "cosine") for s in (0, 10, 20)] == pytest.approx([1e-3, 5e-5, 5e-5])
    assert lr_at(5, 11, 1e-3, "cosine") == pytest.approx((1e-3 + 5e-5) / 2)
    assert lr_at(7, 11, 1e-3) == 1e-3  # the notebook's constant rate stays the default
    recipe = tagger_recipe(steps=12, batch_frames=320, eval_every=4, checkpoint_every=5, lr_schedule="cosine")
    _check_exact_resume(tone_sequence_dataset, tmp_path, recipe, n=12, k=5)
    state = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(lr_at(11, 12, recipe.train.lr, "cosine"))


def test_weight_average_is_the_model_kept_and_resumes_exactly(tone_sequence_dataset, tmp_path):
    recipe = tagger_recipe(steps=12, batch_frames=320, eval_every=12, checkpoint_every=5, ema_decay=0.9)
    _check_exact_resume(tone_sequence_dataset, tmp_path, recipe, n=12, k=5)
    state = torch.load(tmp_path / "a" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    kept = weights(tmp_path / "a" / "model.pt")
    assert_same_weights(kept, state["averaged"])  # the one dev evaluation saw the averaged weights
    assert any(not torch.equal(kept[k], state["model"][k]) for k in kept)


def test_window_exact_resume(tone_region_dataset, tmp_path):
    _check_exact_resume(tone_region_dataset, tmp_path, window_recipe(), n=12, k=5)


def test_resume_with_another_recipe_is_refused(tone_region_dataset, tmp_path):
    from phonebound.errors import PhoneboundError

    train([tone_region_dataset], tmp_path / "m", window_recipe(), max_steps=2)
    with pytest.raises(PhoneboundError, match="differs"):
        train([tone_region_dataset], tmp_path / "m", window_recipe(lr=0.02), resume=True)


def test_a_run_interrupted_before_a_setting_existed_resumes(tone_region_dataset, tmp_path):
    # Bug (2026-12-03): adding [train] boundary_offset_weight (its default keeps every earlier recipe
    # as it was) made --resume refuse every run interrupted before it: "a recipe that differs"
    train([tone_region_dataset], tmp_path / "m", window_recipe(), max_steps=2)
    path = tmp_path / "m" / "checkpoints" / "last.pt"
    state = torch.load(path, map_location="cpu", weights_only=False)
    del state["recipe"]["train"]["boundary_offset_weight"], state["recipe"]["augment"]["lowpass_prob"]
    torch.save(state, path)
    assert train([tone_region_dataset], tmp_path / "m", window_recipe(), resume=True).steps > 2


def _interrupt(monkeypatch, method: str, call: int, after: bool):
    """Make ``Loop.<method>`` raise KeyboardInterrupt on its ``call``-th call, after running
    (``after``: e.g. a forward pass has drawn dropout masks) or instead of running."""
    from phonebound.training.loop import Loop

    original = getattr(Loop, method)
    calls = {"n": 0}

    def wrapped(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == call:
            if after:
                original(self, *a, **kw)
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    monkeypatch.setattr(Loop, method, wrapped)


@pytest.mark.parametrize("method, call", [("_loss", 6), ("evaluate_dev", 1)])
def test_tagger_exact_resume_after_ctrl_c(tone_sequence_dataset, tmp_path, monkeypatch, method, call):
    """Ctrl-C during a step (after its forward pass drew dropout masks) or during a dev evaluation
    saves a checkpoint from which the run resumes to exactly the uninterrupted result."""
    recipe = tagger_recipe(steps=8, batch_frames=320, eval_every=4, checkpoint_every=100)
    a = train([tone_sequence_dataset], tmp_path / "a", recipe)
    with monkeypatch.context() as m:
        _interrupt(m, method, call, after=True)
        with pytest.raises(KeyboardInterrupt):
            train([tone_sequence_dataset], tmp_path / "b", recipe)
    state = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == (5 if method == "_loss" else 4) and not state["finished"]
    b = train([tone_sequence_dataset], tmp_path / "b", recipe, resume=True)
    assert b.steps == a.steps == 8 and b.best_step == a.best_step
    assert_same_weights(last_weights(tmp_path / "a"), last_weights(tmp_path / "b"))
    assert_same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt"))
    evals = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
             if "dev" in json.loads(line)]
    assert evals == [4, 8]  # the interrupted evaluation is not skipped
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == (tmp_path / "b" / "metrics.jsonl").read_text()


def test_interrupted_finish_is_completed_on_resume(tone_region_dataset, tmp_path, monkeypatch):
    """Ctrl-C after the last step, while the best weights are reloaded and scored on dev: the
    model directory is incomplete, and --resume must complete it rather than report it done."""
    recipe = window_recipe(steps=6, eval_every=3)
    train([tone_region_dataset], tmp_path / "a", recipe)
    with monkeypatch.context() as m:
        _interrupt(m, "_finish", 1, after=False)
        with pytest.raises(KeyboardInterrupt):
            train([tone_region_dataset], tmp_path / "b", recipe)
    assert not (tmp_path / "b" / "dev_metrics.json").exists()
    b = train([tone_region_dataset], tmp_path / "b", recipe, resume=True)
    assert b.steps == 6
    for name in ("dev_metrics.json", "config.json"):
        ja, jb = (json.loads((tmp_path / d / name).read_text()) for d in "ab")
        assert ja == jb, name
    assert_same_weights(weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt"))
    assert_same_weights(last_weights(tmp_path / "a"), last_weights(tmp_path / "b"))


def test_reopening_a_finished_run_holds_its_best_weights(tone_region_dataset, tmp_path):
    """Regression: Loop.run(resume=True) on a finished run returned early with freshly initialised
    weights, so tuning re-evaluated a random model when a trial's parameters repeated."""
    from phonebound.dataset.store import Dataset
    from phonebound.training.loop import Loop

    recipe = window_recipe(steps=30)
    out = tmp_path / "finished"
    train([tone_region_dataset], out, recipe)
    loop = Loop([Dataset(tone_region_dataset)], out, recipe)
    loop.run(resume=True)
    assert_same_weights({k: v for k, v in loop.model.state_dict().items()}, weights(out / "model.pt"))


def test_ctrl_c_just_after_an_optimizer_step_resumes_exactly(tone_sequence_dataset, tmp_path, monkeypatch):
    """Regression: a Ctrl-C landing between ``optimizer.step()`` and the step's bookkeeping used to
    checkpoint updated weights under the previous step number (a rare CI failure); it now takes
    effect at the next step boundary."""
    import os
    import signal

    recipe = Recipe(model={"name": "bilstm", "hidden": 8, "layers": 1, "dropout": 0.3},
                    train=TrainConfig(steps=12, threads=1, eval_every=6, checkpoint_every=100, batch_frames=300))
    train([tone_sequence_dataset], tmp_path / "whole", recipe)
    real_step, calls = torch.optim.Adam.step, []

    def step_then_ctrl_c(self, *args, **kwargs):
        result = real_step(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", step_then_ctrl_c)
    # pytest started in the background (`cmd &` without job control) inherits SIGINT ignored, which
    # training rightly keeps (the test below); this test is about Ctrl-C, so it is made heard here
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            train([tone_sequence_dataset], tmp_path / "cut", recipe)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    assert torch.load(tmp_path / "cut" / "checkpoints" / "last.pt", weights_only=False)["step"] == 5
    train([tone_sequence_dataset], tmp_path / "cut", recipe, resume=True)
    a = torch.load(tmp_path / "cut" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_an_ignored_sigint_stays_ignored_while_training(tone_sequence_dataset, tmp_path):
    """A run started with nohup (SIGINT ignored) must not become interruptible by the handler that
    moves Ctrl-C to step boundaries, and the process's handler is restored afterwards."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        seen = []
        recipe = Recipe(model={"name": "bilstm", "hidden": 8, "layers": 1},
                        train=TrainConfig(steps=2, threads=1, eval_every=2, batch_frames=300))
        train([tone_sequence_dataset], tmp_path / "m", recipe, on_eval=lambda *_: seen.append(signal.getsignal(signal.SIGINT)))
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
