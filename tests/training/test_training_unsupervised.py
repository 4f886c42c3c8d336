"""Self-supervised boundary learning: audio without alignments in, a boundary detector out,
usable alone and as pre-training for the supervised tagger (--init). ``unsupervised`` is
self-training on spectral-change pseudo-labels; ``contrastive`` the UnsupSeg-style encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.store import Dataset
from phonebound.errors import PhoneboundError
from phonebound.inference.detector import load_detector
from phonebound.models import build_model
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train

UNSUP = {"name": "contrastive", "conv_channels": 16, "conv_layers": 2, "projection": 8, "negatives": 4}


@pytest.fixture(scope="module")
def audio_only(tone_corpus, tmp_path_factory):
    """The tone corpus's recordings without their TextGrids, built with --format audio."""
    import shutil

    root = tmp_path_factory.mktemp("audio_only")
    for wav in tone_corpus["wavs"]:
        shutil.copy(wav, root / wav.name)
    out = root.parent / (root.name + "_ds")
    build_dataset(root, out, BuildConfig(format="audio"))
    return out


def test_audio_only_corpus_builds_an_unlabelled_all_train_dataset(audio_only):
    ds = Dataset(audio_only)
    assert len(ds) == 6
    assert all(len(r.boundaries) == 0 and int(ds.targets(i).sum()) == 0 for i, r in enumerate(ds.records))
    assert ds.indices("train") == list(range(6)) and ds.indices("dev") == []


def test_a_folder_of_audio_without_format_audio_says_how_to_use_it(tone_corpus, tmp_path):
    import shutil

    shutil.copy(tone_corpus["wavs"][0], tmp_path / "a.wav")
    with pytest.raises(PhoneboundError, match="--format audio"):
        build_dataset(tmp_path, tmp_path / "out", BuildConfig())


def test_contrastive_loss_falls_and_scores_are_normalised(audio_only, tone_sequence_dataset, tmp_path):
    """Trained on unlabelled audio only (dev labels choose the threshold, as in UnsupSeg)."""
    recipe = Recipe(model=dict(UNSUP), train=TrainConfig(steps=60, lr=0.003, threads=1, batch_frames=2000,
                                                         eval_every=30, log_every=1))
    out = tmp_path / "unsup"
    train([audio_only, tone_sequence_dataset], out, recipe)
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    detector = load_detector(out)
    ds = Dataset(tone_sequence_dataset)
    i = ds.indices("test")[0]
    scores = detector.scores_from_features(np.asarray(ds.features(i)))
    assert scores.shape == (ds.records[i].n_frames,) and 0 <= scores.min() and scores.max() <= 1
    assert json.loads((out / "config.json").read_text())["decode"]["prominence"] >= 0


def test_contrastive_encoder_initialises_the_tagger_front_end(audio_only, tone_sequence_dataset, tmp_path):
    unsup = tmp_path / "unsup"
    train([audio_only, tone_sequence_dataset], unsup,
          Recipe(model=dict(UNSUP), train=TrainConfig(steps=10, threads=1, batch_frames=2000, eval_every=10)))
    tagger = Recipe(model={"name": "bilstm", "hidden": 8, "layers": 1, "conv_channels": 16, "conv_layers": 2,
                           "conv_kernel": 3},
                    train=TrainConfig(steps=1, lr=1e-9, threads=1, batch_frames=2000, eval_every=1))
    out = tmp_path / "tagger"
    train([tone_sequence_dataset], out, tagger, init=unsup)
    encoder = torch.load(unsup / "model.pt", weights_only=True)
    tuned = torch.load(out / "model.pt", weights_only=True)
    for key in ("conv.0.weight", "conv.2.weight"):
        assert torch.allclose(encoder[key], tuned[key], atol=1e-6), key  # lr 1e-9: still the pre-trained weights
    assert json.loads((out / "config.json").read_text())["init"] == str(unsup)


def test_freezing_layers_of_a_model_without_the_taggers_layers_is_refused(audio_only, tone_sequence_dataset, tmp_path):
    recipe = Recipe(model=dict(UNSUP), train=TrainConfig(steps=1, threads=1, batch_frames=2000, eval_every=1))
    base = tmp_path / "base"
    train([audio_only, tone_sequence_dataset], base, recipe)
    with pytest.raises(PhoneboundError, match="not of the contrastive model"):
        train([audio_only, tone_sequence_dataset], tmp_path / "frozen", recipe.with_overrides(freeze_layers=1),
              init=base)


def test_unsupervised_loss_ignores_padding():
    model = build_model("contrastive", {k: v for k, v in UNSUP.items() if k != "name"}, 5)
    torch.manual_seed(0)
    x = torch.randn(2, 30, 5)
    x[1, 20:] = 0
    lengths = torch.tensor([30, 20])
    torch.manual_seed(1)
    a = model.loss(x, torch.zeros(2, 30), lengths)
    assert torch.isfinite(a)


SELF = {"name": "unsupervised", "hidden": 8, "layers": 1, "dropout": 0.0}


def test_self_training_never_reads_the_alignments(tone_sequence_dataset):
    """The student's targets are the spectral teacher's peaks, whatever the dataset's alignments say."""
    from phonebound.training.batches import TaggerData
    from phonebound.training.distill import SpectralTeacher

    ds = Dataset(tone_sequence_dataset)
    data = TaggerData([ds], "train", teacher=SpectralTeacher())
    for k in range(len(data)):
        feats, targets, _ = data.example(k)
        assert np.array_equal(targets, SpectralTeacher()(feats))
    assert any(not np.array_equal(data.example(k)[1], np.asarray(ds.targets(data.chunks[k].index)))
               for k in range(len(data)))


def test_self_trained_model_detects_boundaries_and_initialises_a_tagger(audio_only, tone_sequence_dataset, tmp_path):
    out = tmp_path / "self"
    train([audio_only, tone_sequence_dataset], out,
          Recipe(model=dict(SELF), train=TrainConfig(steps=40, lr=0.01, threads=1, batch_frames=2000, eval_every=20)))
    detector = load_detector(out)
    assert detector.name == "unsupervised" and detector.kind == "tagger"
    ds = Dataset(tone_sequence_dataset)
    i = ds.indices("test")[0]
    scores = detector.scores_from_features(np.asarray(ds.features(i)))
    assert scores[np.rint(ds.records[i].boundaries_array / 0.01).astype(int)].mean() > scores.mean()
    tagger = tmp_path / "tagger"
    train([tone_sequence_dataset], tagger, Recipe(model={**SELF, "name": "bilstm"},
                                                  train=TrainConfig(steps=1, lr=1e-9, threads=1, eval_every=1)),
          init=out)
    a, b = torch.load(out / "model.pt", weights_only=True), torch.load(tagger / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
