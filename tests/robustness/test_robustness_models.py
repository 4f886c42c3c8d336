"""Models and datasets that do not fit: an incompatible or incomplete model directory, a dataset
built with other features than the model expects, training on datasets that do not go together —
a clear one-line message, never a shape error or a traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from robustness_cases import check_user_error, one_line_error, write_good

from phonebound.cli import app
from phonebound.config import FeatureConfig
from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.splits import SplitConfig, split_dataset
from phonebound.errors import DatasetError, ModelError
from phonebound.evaluation.evaluate import evaluate
from phonebound.inference.detector import load_detector

TINY_RECIPE = """
[model]
name = "bilstm"
hidden = 8
layers = 1
dropout = 0.0

[train]
steps = 4
threads = 1
eval_every = 2
checkpoint_every = 2
batch_frames = 2000
"""


def _break_config(d, **changes):
    config = json.loads((d / "config.json").read_text())
    config.update(changes)
    (d / "config.json").write_text(json.dumps(config))


# name -> (how to damage a copy of the model directory, words of the problem)
BROKEN_MODELS = {
    "format_999": (lambda d: _break_config(d, format=999), "model format 999 is not supported"),
    "missing_weights": (lambda d: (d / "model.pt").unlink(), "missing model.pt"),
    "missing_config": (lambda d: (d / "config.json").unlink(), "no config.json"),
    "config_not_json": (lambda d: (d / "config.json").write_text("{ not json"), "not valid JSON"),
    "config_a_list": (lambda d: (d / "config.json").write_text("[1, 2]"), "does not hold a JSON object"),
    "config_without_input": (lambda d: _break_config(d, input=None), "config.json is malformed"),
    "weights_truncated": (lambda d: (d / "model.pt").write_bytes((d / "model.pt").read_bytes()[:100]),
                          "cannot read model.pt"),
    "weights_of_another_size": (lambda d: _break_config(d, model={"name": "bilstm", "params": {"hidden": 5,
                                                                                               "layers": 1}}),
                                "weights do not match"),
}


@pytest.mark.parametrize("name", list(BROKEN_MODELS))
def test_broken_model_directory(name, tiny_model, tmp_path, runner):
    bad = tmp_path / "model"
    shutil.copytree(tiny_model, bad)
    damage, words = BROKEN_MODELS[name]
    damage(bad)
    with pytest.raises(ModelError) as e:
        load_detector(bad)
    check_user_error(e.value, bad, words)
    audio = write_good(tmp_path / "in", "a")
    r = runner.invoke(app, ["segment", str(audio), "-o", str(tmp_path / "out"), "--model", str(bad)])
    one_line_error(r, str(bad), words, e.value.fix)
    r = runner.invoke(app, ["evaluate", str(bad), str(tmp_path / "in")])
    one_line_error(r, str(bad), words)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """The same 4-file corpus built with mfcc_deltas and with logmel, split by file."""
    root = tmp_path_factory.mktemp("models")
    wavs = [write_good(root / "corpus" / f"spk{k}", f"utt{k}", seconds=2.0, seed=k) for k in range(4)]
    out = {}
    for kind in ("mfcc_deltas", "logmel"):
        out[kind] = root / kind
        build_dataset(root / "corpus", out[kind], BuildConfig(features=FeatureConfig(kind=kind)))
        split_dataset(out[kind], SplitConfig(by="file", dev_keys=(str(wavs[2]),), test_keys=(str(wavs[3]),)))
    (root / "recipe.toml").write_text(TINY_RECIPE)
    out["recipe"] = root / "recipe.toml"
    return out


def test_evaluate_a_model_on_a_dataset_with_other_features(datasets, tiny_model):
    """An mfcc_deltas model on a logmel dataset: the stored features do not fit, so the right ones
    are computed from the audio — the same scores as on a dataset built with the model's features."""
    on_logmel = evaluate(tiny_model, datasets["logmel"], plots=False)
    on_mfcc = evaluate(tiny_model, datasets["mfcc_deltas"], plots=False)
    assert on_logmel["utterances"] == on_mfcc["utterances"] == 1
    assert on_logmel["boundary"] == on_mfcc["boundary"]
    assert on_logmel["threshold_table"] == on_mfcc["threshold_table"]


def test_evaluate_other_features_without_the_audio_is_a_clear_error(datasets, tiny_model, tmp_path, runner):
    """When the stored features do not fit and the audio is gone, the message says so."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    moved = tmp_path / "logmel"
    shutil.copytree(datasets["logmel"], moved)
    table = pq.read_table(moved / "index.parquet")
    gone = [str(tmp_path / "elsewhere" / f"{k}.wav") for k in range(table.num_rows)]
    table = table.set_column(table.schema.get_field_index("audio"), "audio", pa.array(gone))
    pq.write_table(table, moved / "index.parquet")
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(moved)])
    line = one_line_error(r, "audio file not found", "check the path")
    assert "elsewhere" in line and "shape" not in line


def test_train_on_datasets_with_different_features(datasets, tmp_path, runner):
    out = tmp_path / "m"
    r = runner.invoke(app, ["train", str(datasets["mfcc_deltas"]), str(datasets["logmel"]), str(out),
                            "--config", str(datasets["recipe"])])
    one_line_error(r, str(datasets["logmel"]), "dataset features differ", "same feature options")
    assert not (out / "model.pt").exists()


def test_fine_tune_a_model_on_a_dataset_with_other_features(datasets, tiny_model, tmp_path, runner):
    r = runner.invoke(app, ["train", str(datasets["logmel"]), str(tmp_path / "m"), "--config", str(datasets["recipe"]),
                            "--init", str(tiny_model)])
    one_line_error(r, str(tiny_model), "architecture differs")


def test_resume_after_the_dataset_was_rebuilt_with_other_features(datasets, tmp_path):
    from phonebound.training.recipe import Recipe
    from phonebound.training.train import train

    recipe = Recipe.from_dict({"model": {"name": "bilstm", "hidden": 8, "layers": 1, "dropout": 0.0},
                               "train": {"steps": 4, "threads": 1, "eval_every": 2, "checkpoint_every": 1}})
    ds = tmp_path / "ds"
    shutil.copytree(datasets["mfcc_deltas"], ds)
    train([ds], tmp_path / "m", recipe, max_steps=1)
    shutil.rmtree(ds)
    shutil.copytree(datasets["logmel"], ds)
    with pytest.raises((DatasetError, ModelError)) as e:
        train([ds], tmp_path / "m", recipe, resume=True)
    assert "shape" not in str(e.value) and "size mismatch" not in str(e.value)


def test_training_reads_features_through_the_memmap(datasets):
    """A dataset larger than RAM cannot be made here; instead: a training example is a view of
    the memory-mapped shard (only its rows are read), never a copy of the dataset."""
    from phonebound.training.batches import TaggerData
    from phonebound.dataset.store import Dataset

    ds = Dataset(datasets["logmel"])
    data = TaggerData([ds], "train", max_frames=50)
    for k in range(len(data)):
        feats, targets, _ = data.example(k)
        c = data.chunks[k]
        shard = ds.shard_array(ds.records[c.index].shard, "features")
        assert isinstance(shard, np.memmap) and np.shares_memory(feats, shard)
        assert feats.shape == (c.end - c.start, 40) and np.isfinite(feats).all()
