"""Optuna tuning (phonebound.training.tune): best recipe, trial records, sweep plots, a study that a rerun
continues without retraining finished trials, and trials that resume to the same record."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.tune import apply_params, run_trial, trial_dir, tune

pytest.importorskip("optuna")

SPACE = {"hidden": ("int", 4, 8), "lr": ("log", 1e-3, 1e-2), "steps": ("int", 10, 20)}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def base_recipe() -> Recipe:
    return Recipe(model={"name": "window", "hidden": 8},
                  train=TrainConfig(steps=20, lr=0.01, threads=1, batch_size=32, eval_every=10, log_every=5,
                                    checkpoint_every=20, balance="oversample", multiply=9, metric="class1_f1"))


def run_tune(dataset: Path, out: Path, trials: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's experimental/deprecation warnings about heartbeats
        return tune([dataset], out, base_recipe(), trials=trials, storage=f"sqlite:///{out / 'study.db'}",
                    study_name="test", space=SPACE)


@pytest.fixture(scope="module")
def study(tone_region_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    first = run_tune(tone_region_dataset, out, trials=2)
    rows = json.loads((out / "trials.json").read_text())
    mtimes = {r["number"]: (Path(trial_dir(out, r["params"])) / "model.pt").stat().st_mtime_ns for r in rows}
    return {"out": out, "first": first, "rows": rows, "mtimes": mtimes}


def test_best_recipe_holds_the_best_parameters(study):
    out, first, rows = study["out"], study["first"], study["rows"]
    best = max((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: r["value"])
    assert first["best_params"] == best["params"] and first["best_value"] == pytest.approx(best["value"])
    recipe = Recipe.load(out / "best_recipe.toml")
    assert recipe.model_name == "window"
    assert recipe.model["hidden"] == best["params"]["hidden"]
    assert recipe.train.lr == pytest.approx(best["params"]["lr"])
    assert recipe.train.steps == best["params"]["steps"]
    # everything that was not searched is the base recipe's
    assert recipe.train.batch_size == 32 and recipe.train.multiply == 9 and recipe.train.metric == "class1_f1"
    assert recipe.to_dict() == apply_params(base_recipe(), best["params"]).to_dict()


def test_trials_json_lists_dev_and_train_metrics(study):
    rows = study["rows"]
    assert [r["number"] for r in rows] == [0, 1]
    for r in rows:
        assert r["state"] == "COMPLETE"
        assert set(r["params"]) == set(SPACE)
        assert 4 <= r["params"]["hidden"] <= 8 and 10 <= r["params"]["steps"] <= 20
        assert 1e-3 <= r["params"]["lr"] <= 1e-2
        m = r["metrics"]
        for key in ("dev_class1_f1", "dev_class1_precision", "dev_class1_recall", "dev_accuracy",
                    "train_class1_f1", "train_class1_recall", "train_accuracy"):
            assert 0.0 <= m[key] <= 1.0, key
        assert r["value"] == pytest.approx(m["objective"]) == pytest.approx(m["dev_class1_f1"])
        assert (Path(trial_dir(study["out"], r["params"])) / "model.pt").is_file()


def test_sweep_plots(study):
    for name in SPACE:
        data = (study["out"] / f"sweep_{name}.png").read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 8


def test_rerun_continues_the_study(study, tone_region_dataset):
    out = study["out"]
    again = run_tune(tone_region_dataset, out, trials=3)
    rows = json.loads((out / "trials.json").read_text())
    assert again["trials"] == 3 and [r["number"] for r in rows] == [0, 1, 2]
    assert all(r["state"] == "COMPLETE" for r in rows)
    assert rows[:2] == study["rows"]  # the first two trials are the same records
    for number, mtime in study["mtimes"].items():  # ... and were not retrained
        assert (Path(trial_dir(out, rows[number]["params"])) / "model.pt").stat().st_mtime_ns == mtime
    # the continued study explores: its new trial is not a replay of the first session's draws
    assert rows[2]["params"] not in [r["params"] for r in rows[:2]]
    assert len(list((out / "trials").iterdir())) == 3
    # a rerun with as many trials as finished trains nothing
    before = {p.name: (p / "model.pt").stat().st_mtime_ns for p in (out / "trials").iterdir()}
    assert run_tune(tone_region_dataset, out, trials=3)["trials"] == 3
    assert {p.name: (p / "model.pt").stat().st_mtime_ns for p in (out / "trials").iterdir()} == before


def test_resumed_trial_reports_the_same_metrics(tone_region_dataset, tmp_path):
    params = {"hidden": 6, "lr": 0.005, "steps": 12}
    first = run_trial([tone_region_dataset], tmp_path, base_recipe(), params)
    mtime = (Path(first["dir"]) / "model.pt").stat().st_mtime_ns
    again = run_trial([tone_region_dataset], tmp_path, base_recipe(), params)
    assert (Path(first["dir"]) / "model.pt").stat().st_mtime_ns == mtime
    assert again == first
    assert "dev_boundary_f1" in first["metrics"]  # the final dev check slides the window over dev audio
