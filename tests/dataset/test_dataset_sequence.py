"""The sequence layout: per-shard memmapped arrays, the Parquet index, one-utterance reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from phonebound.audio.features import compute_features
from phonebound.audio.load import load_audio
from phonebound.config import FeatureConfig
from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.executors import single_threaded
from phonebound.dataset.store import INDEX_SCHEMA, Dataset, shard_dir

INDEX_COLUMNS = ["id", "speaker", "group", "audio", "annotation", "channel", "start", "end", "shard", "row_start",
                 "row_end", "n_frames", "boundaries", "phone_start", "phone_end", "phone_label", "split"]


@pytest.fixture(scope="module", params=["praatio", "cgn"])
def built(request, tmp_path_factory, fixtures_dir) -> Path:
    """A sequence dataset of a fixture corpus, one annotation file per shard (several shards)."""
    out = tmp_path_factory.mktemp(f"seq_{request.param}") / "ds"
    build_dataset(fixtures_dir / request.param, out, BuildConfig(shard_items=1))
    return out


def _audio(rec) -> np.ndarray:
    return load_audio(rec.audio, None if rec.channel < 0 else rec.channel, rec.start, rec.end)


def test_shard_files_and_dtypes(built):
    ds = Dataset(built)
    shards = ds.shards()
    assert len(shards) >= 2, "shard_items=1 must give one shard per annotation file"
    for k in shards:
        d = shard_dir(built, k)
        feats = np.load(d / "features.npy", mmap_mode="r")
        targets = np.load(d / "targets.npy", mmap_mode="r")
        assert feats.dtype == np.float32 and feats.ndim == 2 and feats.shape[1] == 39
        assert targets.dtype == np.int8 and targets.shape == (feats.shape[0],)
        assert not (d / "regions.npy").exists()  # window layouts only
    assert (built / "dataset.json").is_file() and (built / "skipped.tsv").is_file()
    assert ds.layout == "sequence" and ds.feature_dim == 39


def test_index_columns(built):
    table = pq.read_table(built / "index.parquet")
    assert table.column_names == INDEX_COLUMNS
    assert table.schema.equals(INDEX_SCHEMA)
    t = table.to_pydict()
    assert len(t["id"]) == len(set(t["id"])) > 0
    for start, end, rs, re_, n, b in zip(t["start"], t["end"], t["row_start"], t["row_end"], t["n_frames"],
                                        t["boundaries"]):
        assert end > start
        assert re_ - rs == n > 0
        assert all(0 < x < end - start for x in b)
    # rows of one shard are contiguous and cover its arrays exactly
    for k in set(t["shard"]):
        spans = sorted((rs, re_) for s, rs, re_ in zip(t["shard"], t["row_start"], t["row_end"]) if s == k)
        assert spans[0][0] == 0
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert spans[-1][1] == len(np.load(shard_dir(built, k) / "targets.npy", mmap_mode="r"))


def test_one_utterance_is_a_readonly_memmap_slice(built):
    ds = Dataset(built)
    for i, rec in enumerate(ds.records):
        feats = ds.features(i)
        assert isinstance(feats, np.memmap)
        assert not feats.flags.writeable
        with pytest.raises(ValueError):
            feats[0, 0] = 1.0
        n_samples = len(_audio(rec))
        assert feats.shape == (1 + n_samples // 160, 39) == (rec.n_frames, 39)
        assert ds.targets(i).shape == (rec.n_frames,)


def test_targets_at_rounded_boundaries(built):
    ds = Dataset(built)
    total = 0
    for i, rec in enumerate(ds.records):
        expected = np.zeros(rec.n_frames, np.int8)
        for b in rec.boundaries:
            expected[min(round(b / 0.01), rec.n_frames - 1)] = 1
        np.testing.assert_array_equal(np.asarray(ds.targets(i)), expected)
        total += len(rec.boundaries)
    assert total > 0


def test_features_equal_compute_features(built):
    # The build runs with one BLAS thread (so local and Dask builds agree byte for byte); OpenBLAS
    # 0.3.31 rounds its multi-threaded matmul differently (~3e-6), so compare on one thread too.
    ds = Dataset(built)
    for i, rec in enumerate(ds.records):
        expected = single_threaded(compute_features)(_audio(rec), FeatureConfig())
        np.testing.assert_array_equal(np.asarray(ds.features(i)), expected)


def test_reading_one_utterance_maps_only_its_shard(built):
    ds = Dataset(built)
    assert len(ds.shards()) >= 2
    i = len(ds) - 1
    shard = ds.records[i].shard
    ds.features(i)
    assert set(ds._maps) == {(shard, "features")}
    ds.targets(i)
    assert set(ds._maps) == {(shard, "features"), (shard, "targets")}


def test_cgn_speaker_turns_keep_their_channel_and_times(tmp_path, fixtures_dir):
    """Several utterances share one CGN recording; each reads only its own stretch."""
    out = tmp_path / "ds"
    build_dataset(fixtures_dir / "cgn", out, BuildConfig())
    ds = Dataset(out)
    assert len(ds) > len({r.audio for r in ds.records})  # turns, not whole files
    assert {r.speaker for r in ds.records} >= {"N90001", "N90002"}
    for rec in ds.records:
        assert rec.channel in (0, 1)
        assert rec.n_frames == 1 + int(round((rec.end - rec.start) * 16000)) // 160
