"""--init (fine-tuning): weights come from the init model even when it has an ONNX export, and a
model may add heads (the auxiliary phone-class head) to the init model's architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from phonebound.errors import ModelError, PhoneboundError
from phonebound.inference.export import export_onnx
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train

BASE = {"name": "bilstm", "hidden": 8, "layers": 1, "dropout": 0.0}


@pytest.fixture(scope="module")
def exported_model(tone_sequence_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("init") / "model"
    train([tone_sequence_dataset], out, Recipe(model=dict(BASE), train=TrainConfig(steps=5, threads=1, eval_every=5)))
    export_onnx(out)  # regression: --init used to load the ONNX backend and find no weights
    return out


def _frozen(**model):
    return Recipe(model={**BASE, **model}, train=TrainConfig(steps=1, lr=1e-9, threads=1, eval_every=1))


def test_init_reads_the_weights_beside_an_onnx_export(exported_model, tone_sequence_dataset, tmp_path):
    train([tone_sequence_dataset], tmp_path / "tuned", _frozen(), init=exported_model)
    before = torch.load(exported_model / "model.pt", weights_only=True)
    after = torch.load(tmp_path / "tuned" / "model.pt", weights_only=True)
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before)


def test_init_may_add_the_phone_class_head(exported_model, tone_sequence_dataset, tmp_path):
    train([tone_sequence_dataset], tmp_path / "mtl", _frozen(phone_classes=8), init=exported_model)
    after = torch.load(tmp_path / "mtl" / "model.pt", weights_only=True)
    assert "class_head.weight" in after and after["class_head.weight"].shape == (8, 16)


def test_init_from_another_width_is_refused(exported_model, tone_sequence_dataset, tmp_path):
    with pytest.raises(ModelError, match="architecture differs"):
        train([tone_sequence_dataset], tmp_path / "wide", _frozen(hidden=12), init=exported_model)


def test_init_may_drop_the_training_only_phone_class_head(tone_sequence_dataset, tmp_path):
    """Regression: the bundled default has a phone-class head; fine-tuning it with a recipe without
    one (recipes/finetune.toml used to) was refused as 'architecture differs'."""
    mtl = tmp_path / "mtl"
    train([tone_sequence_dataset], mtl, Recipe(model={**BASE, "phone_classes": 8},
                                               train=TrainConfig(steps=2, threads=1, eval_every=2)))
    train([tone_sequence_dataset], tmp_path / "plain", _frozen(), init=mtl)
    before = torch.load(mtl / "model.pt", weights_only=True)
    after = torch.load(tmp_path / "plain" / "model.pt", weights_only=True)
    assert "class_head.weight" not in after
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in after)


def test_the_documented_finetune_recipe_starts_from_the_bundled_model(tone_sequence_dataset, tmp_path):
    """README: `phonebound train data/ my_model/ --init default --config recipes/finetune.toml`."""
    from phonebound.inference.detector import default_model_path

    recipe = Recipe.load(Path(__file__).parents[2] / "recipes" / "finetune.toml").with_overrides(
        steps=1, lr=1e-9, eval_every=1, threads=1)
    train([tone_sequence_dataset], tmp_path / "adapted", recipe, init="default")
    before = torch.load(default_model_path() / "model.pt", weights_only=True)
    after = torch.load(tmp_path / "adapted" / "model.pt", weights_only=True)
    assert after.keys() <= before.keys() and "forward_layers.0.weight_ih_l0" in after
    assert all(torch.allclose(before[k], after[k], atol=1e-5) for k in after)


def test_the_finetune_recipe_perturbs_vocal_tracts_as_the_defaults_recipe_does():
    """Fine-tuning without VTLP lost 0.009 F1 on kokoro's unseen dev voices (2026-12-05, two seeds):
    a few minutes of a new corpus hold few voices, so it keeps the default recipe's warp."""
    recipes = Path(__file__).parents[2] / "recipes"
    finetune, default = (Recipe.load(recipes / n).augment for n in ("finetune.toml", "default_vtlp15.toml"))
    assert finetune.vtlp_prob == default.vtlp_prob == 1.0
    assert tuple(finetune.vtlp) == tuple(default.vtlp) == (0.85, 1.15)


def test_frozen_lower_layers_keep_the_init_weights_while_the_upper_ones_adapt(tone_sequence_dataset, tmp_path):
    two = {**BASE, "layers": 2}
    base = tmp_path / "base"
    train([tone_sequence_dataset], base, Recipe(model=dict(two), train=TrainConfig(steps=2, threads=1, eval_every=2)))
    tuned = tmp_path / "tuned"
    train([tone_sequence_dataset], tuned, Recipe(model=dict(two), train=TrainConfig(
        steps=5, lr=1e-2, threads=1, eval_every=5, freeze_layers=1)), init=base)
    before = torch.load(base / "model.pt", weights_only=True)
    after = torch.load(tuned / "model.pt", weights_only=True)
    lower = [k for k in before if k.startswith(("forward_layers.0.", "backward_layers.0."))]
    upper = [k for k in before if k.startswith(("forward_layers.1.", "backward_layers.1.", "output."))]
    assert lower and upper
    assert all(torch.equal(before[k], after[k]) for k in lower)
    assert all(not torch.allclose(before[k], after[k]) for k in upper)


def test_freezing_without_init_or_beyond_the_layers_is_refused(exported_model, tone_sequence_dataset, tmp_path):
    with pytest.raises(PhoneboundError, match="only --init"):
        train([tone_sequence_dataset], tmp_path / "a", Recipe(model=dict(BASE), train=TrainConfig(
            steps=1, threads=1, freeze_layers=1)))
    with pytest.raises(PhoneboundError, match="has 1 recurrent layers"):
        train([tone_sequence_dataset], tmp_path / "b", _frozen().with_overrides(freeze_layers=2), init=exported_model)
