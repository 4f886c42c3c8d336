"""Hyperparameter search with Optuna: resumable, shareable through an RDB URL, with pruning.

Every trial trains into ``OUT/trials/<hash of its parameters>``, so a trial that was interrupted
and is retried with the same parameters resumes its checkpoint. ``OUT`` receives
``best_recipe.toml``, ``trials.json`` and one sweep plot per parameter.

Several processes (on one machine or many) work on one study when they share its storage
(``--storage postgresql://user:pass@host/db``; a sqlite file only on one machine): trial numbers
come from the database, each trial's parameters are drawn with a seed of its own number (so
concurrent workers never replay each other's draws, and one worker alone is reproducible), the
study stops at ``trials`` finished trials whoever ran them, and each trial records the worker
(``host:pid``) and directory that hold its model. Heartbeats mark a dead worker's trial failed;
it is then retried by a live worker.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import to_dict, write_json, write_toml
from ..errors import PhoneboundError
from ..models import get_spec
from .recipe import Recipe

# The notebook's three hand-swept knobs for the window model; a compact space for the tagger.
SEARCH_SPACES: dict[str, dict[str, tuple]] = {
    "window": {"hidden": ("int", 60, 120), "lr": ("log", 1e-4, 0.3), "steps": ("int", 4000, 12000, 100)},
    "tagger": {"hidden": ("int", 64, 256, 32), "layers": ("int", 1, 3), "dropout": ("float", 0.0, 0.5),
               "lr": ("log", 3e-4, 3e-3)},
}
MODEL_PARAMS = {"hidden", "layers", "dropout", "conv_channels", "forget_bias"}


def apply_params(recipe: Recipe, params: dict[str, Any]) -> Recipe:
    """A recipe with trial parameters applied (model ones to [model], the rest to [train])."""
    model = {k: v for k, v in params.items() if k in MODEL_PARAMS}
    train_params = {k: v for k, v in params.items() if k not in MODEL_PARAMS}
    r = Recipe(dict(recipe.model), recipe.train, recipe.augment, recipe.decode, dict(recipe.data))
    r.model.update(model)
    r.train = replace(r.train, **train_params)
    return r


def trial_dir(out: Path, params: dict[str, Any]) -> Path:
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return out / "trials" / key


class _TrialDirLock:
    """An exclusive lock on a trial directory: two workers of one study that drew the same
    parameters into the same OUT take turns (the second resumes the finished run) instead of
    writing one checkpoint at once. Released when the process dies."""

    def __init__(self, directory: Path):
        self.path = directory.parent.parent / ".locks" / f"{directory.name}.lock"  # OUT/.locks/<key>.lock

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.file.close()  # closing releases the lock
        return False


def run_trial(datasets: list[Path], out: Path, recipe: Recipe, params: dict[str, Any],
              on_eval: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train one configuration (resuming its directory if it exists) and return its dev and
    train metrics at the natural class ratio."""
    from ..dataset.store import Dataset
    from .loop import Loop

    directory = trial_dir(out, params)
    r = apply_params(recipe, params)
    loop = Loop([Dataset(d) for d in datasets], directory, r, on_eval=on_eval)
    with _TrialDirLock(directory):
        result = loop.run(resume=True)
    dev = result.dev.get("dev", {})
    final = directory / "dev_metrics.json"
    if final.exists():  # a finished run that is resumed returns its last dev check, not the final dev metrics
        dev = {k: v for k, v in json.loads(final.read_text(encoding="utf-8")).items() if k != "best_step"}
    train_metrics = loop.evaluate_split("train")
    metrics = {f"dev_{k}": v for k, v in dev.items() if isinstance(v, (int, float))}
    metrics.update({f"train_{k}": v for k, v in train_metrics.items() if isinstance(v, (int, float))})
    metrics["objective"] = result.dev.get("value", 0.0)
    return {"params": params, "metrics": metrics, "dir": str(directory), "steps": result.steps}


def _suggest(trial, space: dict[str, tuple]) -> dict[str, Any]:
    params = {}
    for name, spec in space.items():
        kind = spec[0]
        if kind == "int":
            params[name] = trial.suggest_int(name, spec[1], spec[2], step=spec[3] if len(spec) > 3 else 1)
        elif kind == "log":
            params[name] = trial.suggest_float(name, spec[1], spec[2], log=True)
        else:
            params[name] = trial.suggest_float(name, spec[1], spec[2])
    return params


class TrialSeededSampler:
    """Optuna's TPE sampler, seeded per trial with ``seed + trial number``.

    Trial numbers come from the study's storage, unique across all workers: concurrent workers
    draw different parameters (one seeded sampler per process would replay the same draws in each),
    a rerun continues with new draws, and a single worker stays reproducible. TPE reads the
    history from the storage on each draw, so nothing else is lost by a fresh sampler per trial.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._samplers: dict[int, Any] = {}

    def _for(self, trial):
        import optuna

        if trial.number not in self._samplers:
            self._samplers[trial.number] = optuna.samplers.TPESampler(seed=self.seed + trial.number, constant_liar=True)
        return self._samplers[trial.number]

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        sampler = self._samplers.pop(trial.number, None)
        if sampler is not None:
            sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        pass


def open_storage(storage: str, attempts: int = 5):
    """Optuna's RDB storage with heartbeats (a dead worker's trial is failed, then retried).
    Workers that start together on a new database may race to create its tables: retried."""
    import inspect

    import optuna

    engine_kwargs = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    # Optuna 4.9 renamed failed_trial_callback (what to do with a dead worker's trial).
    stale = ("heartbeat_stale_trial_callback"
             if "heartbeat_stale_trial_callback" in inspect.signature(optuna.storages.RDBStorage).parameters
             else "failed_trial_callback")
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                storage, engine_kwargs=engine_kwargs, heartbeat_interval=60, grace_period=180,
                **{stale: optuna.storages.RetryFailedTrialCallback(max_retry=2)})
        except Exception as e:
            # IntegrityError / OperationalError: another worker was creating the tables (or held a
            # lock) at that moment; anything else (a bad URL, a missing driver) is reported at once.
            racing = type(e).__name__ in ("IntegrityError", "OperationalError")
            if attempt == attempts - 1 or not racing:
                raise PhoneboundError(f"cannot open the Optuna storage ({str(e).splitlines()[0][:120]})", storage,
                                      "check the URL (sqlite:///study.db or postgresql://user@host/db)") from None
            time.sleep(0.5 + attempt)


WORKER = f"{socket.gethostname()}:{os.getpid()}"


def tune(datasets: list[str | Path], out: str | Path, recipe: Recipe = Recipe(), trials: int = 20,
         storage: str | None = None, study_name: str = "phonebound", timeout: float | None = None,
         space: dict[str, tuple] | None = None, seed: int = 0) -> dict[str, Any]:
    """Run (or continue) an Optuna study; returns the best trial's parameters and metrics."""
    import optuna

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kind = get_spec(recipe.model_name).kind
    space = space or SEARCH_SPACES.get(kind)
    if not space:
        raise PhoneboundError(f"no search space for model {recipe.model_name!r}", fix="choose --model window or bilstm")
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    rdb = open_storage(storage)
    study = optuna.create_study(study_name=study_name, storage=rdb, load_if_exists=True, direction="maximize",
                                sampler=TrialSeededSampler(seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    datasets = [Path(d) for d in datasets]

    def objective(trial) -> float:
        trial.set_user_attr("worker", WORKER)  # which machine holds this trial's directory
        params = _suggest(trial, space)
        trial.set_user_attr("dir", str(trial_dir(out, params)))  # recorded for pruned trials too
        evals = [0]

        def report(step: int, value: float) -> None:
            evals[0] += 1
            trial.report(value, evals[0])
            if trial.should_prune():
                raise optuna.TrialPruned()

        record = run_trial(datasets, out, recipe, params, on_eval=report)
        for k, v in record["metrics"].items():
            trial.set_user_attr(k, v)
        return record["metrics"]["objective"]

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    remaining = trials - len([t for t in study.trials if t.state in finished])
    if remaining > 0:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # Other workers add trials too: stop when the study (not this process) has enough; with
        # N workers it may end with up to N - 1 more, started while the last ones were running.
        study.optimize(objective, n_trials=remaining, timeout=timeout, catch=(),
                       callbacks=[optuna.study.MaxTrialsCallback(trials, states=finished)])
    return summarise(study, out, recipe)


def summarise(study, out: Path, recipe: Recipe) -> dict[str, Any]:
    """Write trials.json, best_recipe.toml and the sweep plots."""
    import optuna

    from ..evaluation import plots

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise PhoneboundError("no trial finished", out, "run more trials or check the trial logs")
    rows = [{"number": t.number, "params": t.params, "value": t.value,
             "metrics": {k: v for k, v in t.user_attrs.items() if isinstance(v, (int, float)) and not math.isnan(v)},
             "state": t.state.name, "worker": t.user_attrs.get("worker"), "dir": t.user_attrs.get("dir")}
            for t in study.trials if t.state.is_finished()]
    write_json(out / "trials.json", rows)
    best = study.best_trial
    best_recipe = apply_params(recipe, best.params)
    write_toml(out / "best_recipe.toml", best_recipe.to_dict())
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    curves = ("dev_class1_precision", "dev_class1_recall", "dev_class0_precision", "dev_class0_recall",
              "train_class1_recall", "train_class1_precision", "dev_boundary_f1", "train_boundary_f1")
    for name in best.params:
        present = tuple(c for c in curves if any(c in r["metrics"] for r in complete))
        plots.parameter_sweep(complete, name, out / f"sweep_{name}.png", present)
    return {"best_params": best.params, "best_value": best.value, "trials": len(rows),
            "best_recipe": str(out / "best_recipe.toml"), "recipe": to_dict(best_recipe.train)}
