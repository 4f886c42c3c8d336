"""Training data: oversampling repeats train positives only; dev is never changed nor leaked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from phonebound.audio.augment import AugmentConfig
from phonebound.training.batches import TaggerData, WindowData, soften
from phonebound.dataset.store import Dataset
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.train import train


@pytest.fixture(scope="module")
def region(tone_region_dataset):
    return [Dataset(tone_region_dataset)]


def _tuples(rows: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(v) for v in r) for r in rows}


def test_oversample_multiplies_train_positives_only(region):
    plain = WindowData(region, "train")
    over = WindowData(region, "train", oversample=9)
    pos, neg = int((plain.labels == 1).sum()), int((plain.labels == 0).sum())
    assert pos > 0 and neg > pos
    assert int((over.labels == 1).sum()) == 9 * pos
    assert int((over.labels == 0).sum()) == neg
    assert len(over) == len(plain) + 8 * pos
    # the same examples, positives repeated: unique rows unchanged, labels consistent with the store
    assert _tuples(over.rows) == _tuples(plain.rows)
    _, counts = np.unique(over.rows, axis=0, return_counts=True)
    assert sorted(set(counts.tolist())) == [1, 9]
    for (d, shard, row), label in zip(over.rows[:50], over.labels[:50]):
        assert region[d].shard_array(shard, "targets")[row] == label
    # only valid rows are examples
    for d, shard, row in over.rows:
        assert region[d].shard_array(shard, "valid")[row] == 1


def test_dev_is_natural_and_disjoint_from_train(region):
    train_rows = WindowData(region, "train", oversample=9)
    dev = WindowData(region, "dev")
    ds = region[0]
    (i,) = ds.indices("dev")
    valid = np.asarray(ds.rows(i, "valid")).astype(bool)
    assert len(dev) == int(valid.sum())
    assert int(dev.labels.sum()) == int(np.asarray(ds.rows(i, "targets"))[valid].sum())
    assert not _tuples(dev.rows) & _tuples(train_rows.rows)
    # no dev example's features appear among train's (no duplicated or leaked example)
    x_train = np.concatenate([x.numpy() for x, _ in train_rows.sequential(256)])
    x_dev = np.concatenate([x.numpy() for x, _ in dev.sequential(256)])
    assert len(x_dev) == len(dev)
    train_bytes = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_bytes for row in x_dev)
    with pytest.raises(ValueError, match="train"):
        WindowData(region, "dev", oversample=9)


def test_window_batches_are_a_function_of_seed_and_step(region):
    data = WindowData(region, "train", oversample=9, seed=3)
    x1, y1 = data.batch(7, 16)
    x2, y2 = WindowData(region, "train", oversample=9, seed=3).batch(7, 16)
    assert x1.shape == (16, 10, 13) and np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(y1, y2)
    assert not np.array_equal(data.batch(8, 16)[0].numpy(), x1.numpy())


def test_loop_uses_natural_dev_with_oversampled_train(tone_region_dataset, region, tmp_path):
    from phonebound.training.loop import Loop

    recipe = Recipe(model={"name": "window", "hidden": 4},
                    train=TrainConfig(steps=3, threads=1, batch_size=16, balance="oversample", multiply=9,
                                      metric="class1_f1", eval_every=3))
    loop = Loop(region, tmp_path / "loop", recipe)
    natural_train, natural_dev = WindowData(region, "train"), WindowData(region, "dev")
    assert np.array_equal(loop.dev_data.rows, natural_dev.rows)
    assert int(loop.train_data.labels.sum()) == 9 * int(natural_train.labels.sum())
    assert loop.class_weight is None  # oversampling replaces class weights
    # a full run: the dev report counts the natural dev examples, once each
    train([tone_region_dataset], tmp_path / "model", recipe)
    dev = json.loads((tmp_path / "model" / "dev_metrics.json").read_text())
    support = dev["frame"]["per_class"]
    assert support["boundary"]["support"] == int(natural_dev.labels.sum())
    assert support["non-boundary"]["support"] == int((natural_dev.labels == 0).sum())
    assert dev["frame"]["n_frames"] == len(natural_dev)
    assert "boundary_f1" in dev  # final report slides the window model over the dev audio


def test_tagger_data_chunks_and_collate(tone_sequence_dataset):
    ds = [Dataset(tone_sequence_dataset)]
    data = TaggerData(ds, "train", max_frames=60)
    n = sum(ds[0].records[i].n_frames for i in ds[0].indices("train"))
    assert sum(c.end - c.start for c in data.chunks) >= n - 9 * len(ds[0].indices("train"))
    assert all(c.end - c.start <= 60 for c in data.chunks)
    batches = data.epoch_batches(0, 200)
    assert sorted(k for b in batches for k in b) == list(range(len(data)))
    assert batches == TaggerData(ds, "train", max_frames=60).epoch_batches(0, 200)
    x, y, lengths = data.collate(batches[0])
    assert x.shape[:2] == y.shape and int(lengths.max()) == x.shape[1]
    for b, k in enumerate(batches[0]):
        c = data.chunks[k]
        assert np.array_equal(y[b, : lengths[b]].numpy(), np.asarray(ds[0].targets(c.index)[c.start : c.end]))
        assert float(x[b, lengths[b]:].abs().sum()) == 0.0  # zero padding
    soft = soften(y, lengths, 0.5)
    assert float(soft.max()) == 1.0 and float(((soft > 0) & (soft < 1)).sum()) > 0
    with pytest.raises(Exception, match="no utterances"):
        TaggerData(ds, "nonexistent")


def test_vtlp_changes_an_augmented_examples_features_not_its_frames_or_targets(tone_sequence_dataset):
    """With VTLP on, an augmented chunk is the same audio, frames and targets, its spectrum warped."""
    ds = [Dataset(tone_sequence_dataset)]
    quiet = dict(prob=1.0, speed_prob=0.0, noise_prob=0.0, gain_db=(0.0, 0.0))
    plain = TaggerData(ds, "train", augment_cfg=AugmentConfig(**quiet), seed=0)
    warped = TaggerData(ds, "train", augment_cfg=AugmentConfig(**quiet, vtlp_prob=1.0, vtlp=(0.85, 0.85)), seed=0)
    fa, ta, _ = plain.example(0, epoch=0)
    fb, tb, _ = warped.example(0, epoch=0)
    assert fa.shape == fb.shape and np.array_equal(ta, tb)
    assert not np.allclose(fa, fb)


def test_spec_masks_flatten_bands_and_blank_frames_of_augmented_examples_only(tone_sequence_dataset):
    """SpecAugment's masks: a masked example keeps its frames and targets; time masks set whole frames
    to 0 (the utterance mean after CMVN), band masks change the features elsewhere; dev examples and
    recipes without masks are untouched (nothing extra drawn, so older recipes train as before)."""
    ds = [Dataset(tone_sequence_dataset)]
    quiet = dict(prob=1.0, speed_prob=0.0, noise_prob=0.0, gain_db=(0.0, 0.0))
    plain = TaggerData(ds, "train", augment_cfg=AugmentConfig(**quiet), seed=0)
    timed = TaggerData(ds, "train", augment_cfg=AugmentConfig(**quiet, time_mask_prob=1.0, time_masks=3,
                                                               time_mask_width=5), seed=0)
    banded = TaggerData(ds, "train", augment_cfg=AugmentConfig(**quiet, band_mask_prob=1.0, band_masks=2,
                                                                band_mask_width=10), seed=0)
    fa, ta, _ = plain.example(0, epoch=0)
    ft, tt, _ = timed.example(0, epoch=0)
    fb, tb, _ = banded.example(0, epoch=0)
    assert fa.shape == ft.shape == fb.shape and np.array_equal(ta, tt) and np.array_equal(ta, tb)
    blank = np.all(ft == 0.0, axis=1)
    assert 0 < blank.sum() <= 15 and not np.all(fa[blank] == 0.0)
    assert np.array_equal(ft[~blank], fa[~blank])
    assert not np.allclose(fa, fb)
    assert np.array_equal(plain.example(0, epoch=None)[0], timed.example(0, epoch=None)[0])


def test_a_band_mask_flattens_its_mel_bands_to_their_mean():
    from phonebound.audio.features import base_features
    from phonebound.config import FeatureConfig

    t = np.arange(16000) / 16000
    audio = (np.sin(2 * np.pi * 300 * t) * (t < 0.5) + np.sin(2 * np.pi * 2500 * t) * (t >= 0.5)).astype(np.float32)
    cfg = FeatureConfig(kind="logmel")
    clean, masked = base_features(audio, cfg), base_features(audio, cfg, band_masks=((5, 12),))
    assert np.allclose(masked[:, 5:12], clean[:, 5:12].mean(axis=0), atol=1e-4)
    assert np.array_equal(masked[:, :5], clean[:, :5]) and np.array_equal(masked[:, 12:], clean[:, 12:])
