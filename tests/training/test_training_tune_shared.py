"""A shared Optuna study: two `tune` processes started together on one storage (a sqlite file
here; PostgreSQL on a cluster) both contribute trials, never draw the same parameters, never
train into the same directory, and stop at the study's trial count between them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

TRIALS = 6
WORKER = """
import json, sys, time, warnings
from pathlib import Path
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.tune import tune

dataset, out, storage, go = sys.argv[1:]
recipe = Recipe(model={"name": "window", "hidden": 8},
                train=TrainConfig(steps=20, lr=0.01, threads=1, batch_size=32, eval_every=10, log_every=5,
                                  checkpoint_every=20, balance="oversample", multiply=9, metric="class1_f1"))
space = {"hidden": ("int", 4, 8), "lr": ("log", 1e-3, 1e-2), "steps": ("int", 10, 20)}
Path(out).mkdir(parents=True, exist_ok=True)
(Path(out) / "ready").touch()
while not Path(go).exists():  # start both workers at the same moment, on a study that does not exist yet
    time.sleep(0.02)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    summary = tune([dataset], out, recipe, trials=%d, storage=storage, study_name="shared", space=space)
print(json.dumps(summary))
""" % TRIALS


def test_two_tune_processes_share_one_study(tone_region_dataset, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    go = tmp_path / "go"
    outs = [tmp_path / "machine_a", tmp_path / "machine_b"]  # each worker its own OUT, as on two machines
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(script), str(tone_region_dataset), str(out), storage, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for out in outs]
    try:
        deadline = time.time() + 120
        while not all((out / "ready").exists() for out in outs):
            assert time.time() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        go.touch()
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr[-4000:]

    study = optuna.load_study(study_name="shared", storage=storage)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    finished = [t for t in study.trials if t.state in states]
    assert len(study.trials) == len(finished)  # nothing failed, nothing left running
    assert TRIALS <= len(finished) <= TRIALS + 1  # the study's count, not each worker's (+ at most 1 per other worker)
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) == 2, workers  # both contributed
    params = [json.dumps(t.params, sort_keys=True) for t in finished]
    assert len(set(params)) == len(params)  # no replayed draws
    dirs = [t.user_attrs["dir"] for t in finished]
    assert len(set(dirs)) == len(dirs)  # each trial trained in its own directory, in its worker's OUT
    for t in finished:
        assert Path(t.user_attrs["dir"]).parent.parent in outs
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert (Path(t.user_attrs["dir"]) / "model.pt").is_file()
            assert t.value == pytest.approx(t.user_attrs["objective"])
    summaries = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in results]
    assert max(s["trials"] for s in summaries) == len(finished)
    for out in outs:
        assert (out / "best_recipe.toml").is_file()
        rows = json.loads((out / "trials.json").read_text())
        assert {r["worker"] for r in rows} <= workers and all(r["dir"] for r in rows)
    best = max((t for t in finished if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.value)
    last = max(summaries, key=lambda s: s["trials"])
    assert last["best_value"] == pytest.approx(best.value) and last["best_params"] == best.params


def test_draws_depend_on_the_trial_number_only():
    """One worker stays reproducible; trial n draws the same whichever process runs it."""
    from phonebound.training.tune import TrialSeededSampler

    def draws(n: int) -> list[dict]:
        study = optuna.create_study(sampler=TrialSeededSampler(3), direction="maximize")
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("k", 0, 100) / 100, n_trials=n)
        return [t.params for t in study.trials]

    first, again = draws(4), draws(4)
    assert first == again and len({json.dumps(p, sort_keys=True) for p in first}) == 4


def test_same_parameters_take_turns_on_one_trial_directory(tmp_path):
    import threading

    from phonebound.training.tune import _TrialDirLock

    directory = tmp_path / "trials" / "abc"
    entered = threading.Event()

    def second_worker():
        with _TrialDirLock(directory):
            entered.set()

    with _TrialDirLock(directory):
        thread = threading.Thread(target=second_worker)
        thread.start()
        assert not entered.wait(0.3)  # waits while the first holds the directory
    assert entered.wait(10)
    thread.join()
    assert not (tmp_path / "trials" / "abc.lock").exists()  # locks live in OUT/.locks, not among the trials


def test_a_bad_storage_url_fails_at_once(monkeypatch):
    from phonebound.training import tune
    from phonebound.errors import PhoneboundError

    waits: list[float] = []
    monkeypatch.setattr(tune.time, "sleep", waits.append)
    with pytest.raises(PhoneboundError, match="cannot open the Optuna storage"):
        tune.open_storage("nosuchdb://user@host/db")
    assert waits == []  # no retries for what a retry cannot fix
