"""Clear errors for the user's mistakes, and the notebook recipe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from phonebound.dataset.splits import SplitConfig, split_dataset
from phonebound.errors import DatasetError, ModelError, PhoneboundError
from phonebound.inference.detector import load_detector
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train


def tiny(model: dict, **kw) -> Recipe:
    return Recipe(model=model, train=TrainConfig(**{"steps": 2, "threads": 1, "batch_size": 16,
                                                    "eval_every": 2, **kw}))


TAGGER = {"name": "bilstm", "hidden": 4, "layers": 1}
WINDOW = {"name": "window", "hidden": 4}


def test_tagger_on_region_dataset_is_a_clear_dataset_error(tone_region_dataset, tmp_path):
    with pytest.raises(DatasetError) as e:
        train([tone_region_dataset], tmp_path / "m", tiny(TAGGER))
    assert "sequence layout" in str(e.value) and "'region'" in str(e.value)
    assert e.value.fix and "--layout" in e.value.fix
    assert e.value.path == str(tone_region_dataset)
    assert not (tmp_path / "m").exists()  # refused before writing anything


def test_window_on_sequence_dataset_is_a_clear_dataset_error(tone_sequence_dataset, tmp_path):
    with pytest.raises(DatasetError, match="region or difference layout"):
        train([tone_sequence_dataset], tmp_path / "m", tiny(WINDOW))


def test_mixed_layouts_are_refused(tone_sequence_dataset, tone_region_dataset, tmp_path):
    with pytest.raises(DatasetError):
        train([tone_region_dataset, tone_sequence_dataset], tmp_path / "m", tiny(WINDOW))


def test_tagger_with_oversample_is_refused(tone_sequence_dataset, tmp_path):
    with pytest.raises(PhoneboundError, match="oversample") as e:
        train([tone_sequence_dataset], tmp_path / "m", tiny(TAGGER, balance="oversample"))
    assert "weight" in e.value.fix


def test_unknown_model_and_model_key_fail_before_training(tone_sequence_dataset, tmp_path):
    with pytest.raises(PhoneboundError, match="hiden") as e:
        train([tone_sequence_dataset], tmp_path / "m", tiny({"name": "bilstm", "hiden": 4}))
    assert "hidden" in e.value.fix
    with pytest.raises(PhoneboundError, match="unknown model 'nope'"):
        train([tone_sequence_dataset], tmp_path / "m", tiny({"name": "nope"}))
    with pytest.raises(PhoneboundError, match="nothing to train"):
        train([tone_sequence_dataset], tmp_path / "m", tiny({"name": "spectral"}))
    assert not (tmp_path / "m").exists()


def test_dataset_without_dev_split(tone_sequence_dataset, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(tone_sequence_dataset, copy)
    split_dataset(copy, SplitConfig(by="file", dev=0.0, test=0.0))
    with pytest.raises(DatasetError, match="no utterances in the 'dev' split") as e:
        train([copy], tmp_path / "m", tiny(TAGGER))
    assert "split" in e.value.fix


def test_existing_run_without_resume_is_refused(tone_region_dataset, tmp_path):
    out = tmp_path / "m"
    train([tone_region_dataset], out, tiny(WINDOW, metric="class1_f1"), max_steps=1)
    before = (out / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(PhoneboundError, match="earlier run") as e:
        train([tone_region_dataset], out, tiny(WINDOW, metric="class1_f1"))
    assert "--resume" in e.value.fix
    assert (out / "checkpoints" / "last.pt").read_bytes() == before  # the earlier run is untouched


@pytest.fixture(scope="module")
def model_dir(tone_region_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("errors") / "m"
    train([tone_region_dataset], out, tiny(WINDOW, metric="class1_f1"))
    return out


def test_load_detector_rejects_other_format_version(model_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["format"] = 99
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="format 99") as e:
        load_detector(bad)
    assert e.value.fix and "retrain" in e.value.fix
    assert e.value.path == str(bad)


def test_load_detector_missing_weights(model_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    (bad / "model.pt").unlink()
    with pytest.raises(ModelError, match="missing model.pt") as e:
        load_detector(bad)
    assert e.value.fix and ("retrain" in e.value.fix or "restore" in e.value.fix)


def test_load_detector_not_a_model_dir_and_mismatched_weights(model_dir, tmp_path):
    with pytest.raises(ModelError, match="no config.json") as e:
        load_detector(tmp_path)
    assert e.value.fix
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["model"]["params"]["hidden"] = 5
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="weights do not match"):
        load_detector(bad)


# --- recipes ------------------------------------------------------------------------------------

def test_notebook_recipe(tmp_path):
    recipe = Recipe.load(Path(__file__).resolve().parents[2] / "recipes" / "notebook.toml")
    assert recipe.model_name == "window"
    assert recipe.model_params == {"hidden": 70, "forget_bias": 1.0}
    t = recipe.train
    assert (t.steps, t.lr, t.batch_size, t.balance, t.multiply) == (8200, 0.001, 128, "oversample", 9)
    assert t.metric == "class1_f1" and t.patience == 0 and t.seed == 0
    assert recipe.decode.threshold == 0.5 and recipe.decode.distance == 2
    # round trip through the dict written into every run
    assert Recipe.from_dict(recipe.to_dict()).to_dict() == recipe.to_dict()
    from phonebound.models import build_model

    model = build_model(recipe.model_name, recipe.model_params, 13)
    assert model.lstm.hidden_size == 70


def test_unknown_recipe_keys_are_clear_errors(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[train]\nstepz = 3\n')
    with pytest.raises(PhoneboundError, match="unknown train key.*stepz") as e:
        Recipe.load(path)
    assert "steps" in e.value.fix
    path.write_text('[modle]\nname = "window"\n')
    with pytest.raises(PhoneboundError, match="unknown recipe section.*modle"):
        Recipe.load(path)
    path.write_text('[decode]\nthreshhold = 0.3\n')
    with pytest.raises(PhoneboundError, match="threshhold"):
        Recipe.load(path)
    with pytest.raises(PhoneboundError, match="unknown balance"):
        Recipe.from_dict({"train": {"balance": "undersample"}})
    with pytest.raises(PhoneboundError, match="unknown lr_schedule 'linear'"):
        Recipe.from_dict({"train": {"lr_schedule": "linear"}})
    with pytest.raises(PhoneboundError, match="config file not found"):
        Recipe.load(tmp_path / "missing.toml")
