"""Distillation (``[train] teachers``): the student's targets mix the alignments with the mean
boundary probability of the teacher models, computed on the features the student sees."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_training_run import _check_exact_resume, tagger_recipe, window_recipe

from phonebound.audio.augment import AugmentConfig
from phonebound.config import FeatureConfig
from phonebound.training.batches import TaggerData
from phonebound.dataset.store import Dataset
from phonebound.training.distill import TeacherEnsemble
from phonebound.errors import ModelError, PhoneboundError
from phonebound.inference.detector import load_detector
from phonebound.training.recipe import TrainConfig
from phonebound.training.train import train


@pytest.fixture(scope="module")
def teachers(tone_sequence_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("teachers")
    for seed in (0, 1):
        train([tone_sequence_dataset], root / f"t{seed}", tagger_recipe(steps=20, seed=seed))
    return [root / "t0", root / "t1"]


def _features(dataset) -> FeatureConfig:
    return FeatureConfig(**Dataset(dataset).meta["config"]["features"])


def test_teacher_ensemble_is_the_mean_of_its_models_and_keeps_repeated_chunks(teachers, tone_sequence_dataset):
    ds = Dataset(tone_sequence_dataset)
    feats = np.asarray(ds.features(ds.indices("train")[0]))
    ensemble = TeacherEnsemble(teachers, _features(tone_sequence_dataset))
    each = [load_detector(t).scores_from_features(feats) for t in teachers]
    assert np.abs(each[0] - each[1]).max() > 1e-3  # two different teachers
    probs = ensemble(feats, key=3)
    np.testing.assert_allclose(probs, (each[0] + each[1]) / 2, atol=1e-6)
    assert ensemble(feats * 0, key=3) is probs  # a kept chunk is not scored again
    assert not np.allclose(ensemble(feats * 0), probs)  # unkeyed (augmented) features always are


def test_student_targets_mix_alignments_and_teachers(teachers, tone_sequence_dataset):
    ds = Dataset(tone_sequence_dataset)
    ensemble = TeacherEnsemble(teachers, _features(tone_sequence_dataset))
    plain = TaggerData([ds], "train")
    mixed = TaggerData([ds], "train", distill=ensemble, distill_weight=0.25)
    feats, hard, _ = plain.example(0)
    _, soft, _ = mixed.example(0)
    np.testing.assert_allclose(soft, 0.75 * hard + 0.25 * ensemble(feats), atol=1e-6)
    assert set(np.unique(hard)) == {0, 1} and len(np.unique(soft)) > 2
    # augmented chunks are scored as augmented (speed changes their length)
    aug = TaggerData([ds], "train", augment_cfg=AugmentConfig(prob=1.0, speed_prob=1.0, speed=(0.8, 0.8)),
                     distill=ensemble)
    feats_aug, soft_aug, _ = aug.example(0, epoch=0)
    assert len(soft_aug) == len(feats_aug) != len(feats)


def test_distilled_training_resumes_exactly(teachers, tone_sequence_dataset, tmp_path):
    recipe = tagger_recipe(steps=8, batch_frames=320, eval_every=4, checkpoint_every=3,
                           teachers=tuple(str(t) for t in teachers), distill_weight=0.5)
    recipe.augment = AugmentConfig(prob=0.5)
    _check_exact_resume(tone_sequence_dataset, tmp_path, recipe, n=8, k=3)


def test_distillation_settings_are_checked(teachers, tone_sequence_dataset, tone_region_dataset, tmp_path):
    with pytest.raises(PhoneboundError, match="distill_weight"):
        TrainConfig(distill_weight=1.5)
    with pytest.raises(ModelError, match="other features"):
        TeacherEnsemble(teachers[:1], FeatureConfig(n_mfcc=20))
    with pytest.raises(ModelError, match="must be a tagger"):
        TeacherEnsemble(["spectral"], _features(tone_sequence_dataset))
    recipe = window_recipe()
    recipe.train = replace(recipe.train, teachers=(str(teachers[0]),))
    with pytest.raises(PhoneboundError, match="window model cannot use them"):
        train([tone_region_dataset], tmp_path / "w", recipe)
