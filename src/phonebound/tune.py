"""Hyperparameter search with Optuna: resumable, shareable through an RDB URL, with pruning.

Every trial trains into ``OUT/trials/<hash of its parameters>``, so a trial that was interrupted
and is retried with the same parameters resumes its checkpoint. ``OUT`` receives
``best_recipe.toml``, ``trials.json`` and one sweep plot per parameter.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import to_dict, write_json, write_toml
from .errors import PhoneboundError
from .models import get_spec
from .train import Recipe, train

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


def run_trial(datasets: list[Path], out: Path, recipe: Recipe, params: dict[str, Any],
              on_eval: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train one configuration (resuming its directory if it exists) and return its dev and
    train metrics at the natural class ratio."""
    from .dataset.store import Dataset
    from .training_loop import Loop

    directory = trial_dir(out, params)
    r = apply_params(recipe, params)
    loop = Loop([Dataset(d) for d in datasets], directory, r, on_eval=on_eval)
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
    try:
        rdb = optuna.storages.RDBStorage(
            storage, heartbeat_interval=60, grace_period=180,
            failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=2))
    except Exception as e:
        raise PhoneboundError(f"cannot open the Optuna storage ({str(e).splitlines()[0][:120]})", storage,
                              "check the URL (sqlite:///study.db or postgresql://user@host/db)") from None
    study = optuna.create_study(study_name=study_name, storage=rdb, load_if_exists=True, direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    if study.trials:
        # A continued study must not replay the first session's draws (a sampler seeded alike would
        # propose the same parameters again, and their trial directories are already finished).
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    datasets = [Path(d) for d in datasets]

    def objective(trial) -> float:
        params = _suggest(trial, space)
        evals = [0]

        def report(step: int, value: float) -> None:
            evals[0] += 1
            trial.report(value, evals[0])
            if trial.should_prune():
                raise optuna.TrialPruned()

        record = run_trial(datasets, out, recipe, params, on_eval=report)
        for k, v in record["metrics"].items():
            trial.set_user_attr(k, v)
        trial.set_user_attr("dir", record["dir"])
        return record["metrics"]["objective"]

    remaining = trials - len([t for t in study.trials if t.state.is_finished()])
    if remaining > 0:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(objective, n_trials=remaining, timeout=timeout, catch=())
    return summarise(study, out, recipe)


def summarise(study, out: Path, recipe: Recipe) -> dict[str, Any]:
    """Write trials.json, best_recipe.toml and the sweep plots."""
    import optuna

    from . import plots

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise PhoneboundError("no trial finished", out, "run more trials or check the trial logs")
    rows = [{"number": t.number, "params": t.params, "value": t.value,
             "metrics": {k: v for k, v in t.user_attrs.items() if isinstance(v, (int, float)) and not math.isnan(v)},
             "state": t.state.name} for t in study.trials if t.state.is_finished()]
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
