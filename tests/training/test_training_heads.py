"""Auxiliary heads: phonological features, class-pair boundaries and the within-frame offset of a
boundary. Their per-frame targets follow
the phone tier (and the speed-augmented time axis), training with them resumes exactly, and under
torchrun every head's gradient reaches every rank."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from phonebound.dataset.store import Dataset
from phonebound.inference.detector import load_detector
from phonebound.phones.classes import PHONE_CLASSES
from phonebound.phones.features import N_FEATURES, phone_features
from phonebound.training import targets
from phonebound.training.batches import TaggerData
from phonebound.training.loop import Loop
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train

HEADS = {"name": "bilstm", "hidden": 6, "layers": 1, "dropout": 0.0, "phone_classes": 8,
         "phone_features": N_FEATURES, "class_pairs": True, "boundary_offset": True}
C = len(PHONE_CLASSES)


class Rec:
    """An index record with three phones: sil [0, .1), a [.1, .25), aɪ [.25, .4)."""

    phone_start = [0.0, 0.1, 0.25]
    phone_end = [0.1, 0.25, 0.4]
    phone_label = ["sil", "a", "aɪ"]
    start, end = 0.0, 0.4
    boundaries_array = np.array([0.1, 0.25])


def test_feature_targets_ignore_silence_and_split_a_diphthong():
    out = targets.frame_features(Rec, 0, 40, 1.0, 0.01)
    assert out.shape == (40, N_FEATURES)
    assert (out[:10] == targets.IGNORE).all()  # silence
    a, ai = phone_features("a", "ipa"), phone_features("aɪ", "ipa")
    assert (out[10:25] == a[0] + 1).all()
    assert (out[25:32] == ai[0] + 1).all() and (out[33:40] == ai[1] + 1).all()  # first half a, second ɪ


def test_pair_targets_sit_on_boundary_frames_also_when_sped_up():
    sil, vowel = PHONE_CLASSES.index("silence"), PHONE_CLASSES.index("vowel")
    out = targets.boundary_pairs(Rec, 0, 40, 1.0, 0.01)
    assert np.nonzero(out >= 0)[0].tolist() == [10, 25]
    assert out[10] == sil * C + vowel and out[25] == vowel * C + vowel
    fast = targets.boundary_pairs(Rec, 0, 40, 1.25, 0.01)  # played 1.25x faster: frames 8 and 20
    assert np.nonzero(fast >= 0)[0].tolist() == [8, 20]
    late = targets.boundary_pairs(Rec, 12, 28, 1.0, 0.01)  # a chunk from frame 12: only the second
    assert np.nonzero(late >= 0)[0].tolist() == [13]


def test_offset_targets_say_where_within_its_frame_a_boundary_lies():
    class Between(Rec):
        boundaries_array = np.array([0.1237, 0.25])  # the second on the 10 ms grid: no offset to learn

    out = targets.boundary_offsets(Between, 0, 40, 1.0, 0.01)
    assert np.nonzero(~np.isnan(out))[0].tolist() == [12]
    assert out[12] == pytest.approx(0.37)
    fast = targets.boundary_offsets(Between, 0, 40, 1.25, 0.01)  # at frame 9.896 of the faster audio
    assert np.nonzero(~np.isnan(fast))[0].tolist() == [10] and fast[10] == pytest.approx(-0.104)
    assert np.isnan(targets.boundary_offsets(Rec, 0, 40, 1.0, 0.01)).all()  # every boundary on the grid


def test_collate_returns_every_head_target(tone_sequence_dataset):
    data = TaggerData([Dataset(tone_sequence_dataset)], "train", heads=("classes", "features", "pairs", "offset"))
    x, y, lengths, aux = data.collate([0, 1])
    assert set(aux) == {"classes", "features", "pairs", "offset"}
    assert aux["offset"].dtype == torch.float32 and aux["offset"].shape == y.shape
    assert aux["features"].shape == (*y.shape, N_FEATURES) and aux["pairs"].shape == y.shape
    for b in range(2):
        n = int(lengths[b])
        on_boundary = (aux["pairs"][b, :n] >= 0).numpy()
        assert on_boundary.sum() == y[b, :n].sum() > 0  # one pair target per boundary frame
        assert (aux["pairs"][b, n:] == -1).all() and (aux["features"][b, n:] == targets.IGNORE).all()
        known = ~torch.isnan(aux["offset"][b])
        assert known[n:].sum() == 0 and (y[b][known] == 1).all()  # offsets only at boundary frames
        assert (aux["offset"][b][known].abs() <= 0.5).all()
        silent = (aux["classes"][b, :n] == PHONE_CLASSES.index("silence")).numpy()
        assert (aux["features"][b, :n][silent] == targets.IGNORE).all()
        speech = (aux["features"][b, :n][~silent] >= 0).all(-1)
        assert (~speech).sum() <= 1  # the last frame may lie past the tier's end (classes: its last phone)


def test_training_with_every_head_resumes_exactly_and_gives_their_outputs(tone_sequence_dataset, tmp_path):
    recipe = Recipe(model=HEADS, train=TrainConfig(steps=6, threads=1, eval_every=3, checkpoint_every=2, seed=1))
    whole = train([tone_sequence_dataset], tmp_path / "whole", recipe)
    assert whole.steps == 6
    Loop([Dataset(tone_sequence_dataset)], tmp_path / "cut", recipe).run(max_steps=3)
    train([tone_sequence_dataset], tmp_path / "cut", recipe, resume=True)
    a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith("pair_head.") for k in a) and any(k.startswith("feature_head.") for k in a)
    assert any(k.startswith("offset_head.") for k in a)
    detector = load_detector(tmp_path / "whole", backend="torch")
    feats = np.asarray(Dataset(tone_sequence_dataset).features(0))
    heads = detector.head_outputs([feats])[0]
    assert heads["boundary"].shape == (len(feats),) and heads["pairs"].shape == (len(feats), C * C)
    assert heads["features"].shape == (len(feats), N_FEATURES, 3)
    assert np.allclose(np.exp(heads["features"]).sum(-1), 1.0, atol=1e-5)
    assert np.allclose(heads["classes"].sum(-1), 1.0, atol=1e-5)
    assert heads["offset"].shape == (len(feats),) and (np.abs(heads["offset"]) <= 0.5).all()
    # the boundary head is what segment scores
    assert np.allclose(heads["boundary"], detector.scores_from_features(feats), atol=1e-6)


@pytest.mark.parametrize("world", [2, 3])
def test_rank_losses_with_every_head_average_to_the_one_process_gradient(tone_sequence_dataset, tmp_path, world):
    from test_training_ddp import gradient, simulated_ddp_gradient

    recipe = Recipe(model=HEADS, train=TrainConfig(steps=4, threads=1, max_frames=60, batch_frames=200))
    loop = Loop([Dataset(tone_sequence_dataset)], tmp_path / "m", recipe)
    batches = loop.train_data.epoch_batches(0, loop.cfg.batch_frames)
    for pos, ks in enumerate(batches):
        expected = gradient(loop, loop._loss(loop.train_data.collate(ks, 0)))
        frames = sum(loop.train_data.chunks[k].end - loop.train_data.chunks[k].start for k in ks)
        got = simulated_ddp_gradient(loop, world, lambda pos=pos: loop._tagger_batch(0, pos, batches), total=float(frames))
        for g, e in zip(got, expected):
            assert torch.allclose(g, e, atol=1e-6, rtol=1e-4), (world, pos, (g - e).abs().max())


def test_the_offset_loss_is_the_l1_error_at_boundary_frames_only():
    from types import SimpleNamespace

    from phonebound.training.steps import auxiliary_loss

    run = SimpleNamespace(cfg=TrainConfig(boundary_offset_weight=2.0))
    offset = torch.tensor([[0.1, -0.2, 0.3, 0.0]], requires_grad=True)
    out = {"boundary": torch.zeros(1, 4), "offset": offset}
    aux = {"offset": torch.tensor([[float("nan"), 0.3, float("nan"), 0.4]])}
    mask = torch.tensor([[True, True, True, False]])  # the last frame is padding
    loss = auxiliary_loss(run, out, aux, mask, torch.tensor(1.0))
    assert loss.item() == pytest.approx(2.0 * 0.5)  # |-0.2 - 0.3| at frame 1; frame 3 is padding
    loss.backward()
    assert offset.grad[0].tolist() == pytest.approx([0.0, -2.0, 0.0, 0.0])
