"""Build robustness: bad and unpaired files are skipped and reported, resume, OUT checks, parallel."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.executors import InlineExecutor, close_executor, make_executor
from phonebound.dataset.store import Dataset, shard_dir
from phonebound.errors import DatasetError, PhoneboundError


@pytest.fixture
def messy_corpus(tmp_path, fixtures_dir) -> Path:
    """good.TextGrid+wav; broken.TextGrid (truncated) + wav; noaudio.TextGrid; lonely.wav."""
    src = fixtures_dir / "textgrid"
    root = tmp_path / "corpus"
    root.mkdir()
    text = (src / "tone_long.TextGrid").read_bytes()
    (root / "good.TextGrid").write_bytes(text)
    shutil.copy(src / "tone.wav", root / "good.wav")
    (root / "broken.TextGrid").write_bytes(text[: len(text) // 3])
    shutil.copy(src / "tone.wav", root / "broken.wav")
    (root / "noaudio.TextGrid").write_bytes(text)
    shutil.copy(src / "tone.wav", root / "lonely.wav")
    return root


def test_bad_and_unpaired_files_are_skipped_with_reasons(messy_corpus, tmp_path):
    out = tmp_path / "ds"
    s = build_dataset(messy_corpus, out, BuildConfig())
    assert s.files == 1 and s.utterances == 1
    lines = (out / "skipped.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "path\treason"
    reasons = dict(line.split("\t") for line in lines[1:])
    assert set(reasons) == {str(messy_corpus / n) for n in ("broken.TextGrid", "noaudio.TextGrid", "lonely.wav")}
    assert "truncated" in reasons[str(messy_corpus / "broken.TextGrid")]
    assert "no audio" in reasons[str(messy_corpus / "noaudio.TextGrid")]
    assert "without annotation" in reasons[str(messy_corpus / "lonely.wav")]
    ds = Dataset(out)
    assert ds.table.column("id").to_pylist() == ["good"]
    assert ds.meta["skipped"] == 3 and ds.meta["files"] == 1
    assert ds.features(0).shape == (101, 39)


def test_a_shard_of_only_bad_files_is_empty_not_fatal(messy_corpus, tmp_path):
    out = tmp_path / "ds"
    s = build_dataset(messy_corpus, out, BuildConfig(shard_items=1))
    assert s.utterances == 1
    assert len(list((out / "shards").iterdir())) == 3  # broken, good, noaudio
    empty = np.load(shard_dir(out, 0) / "features.npy")
    assert empty.shape == (0, 39) and empty.dtype == np.float32
    assert Dataset(out).features(0).shape == (101, 39)


def _build(corpus, out, **kw):
    return build_dataset(corpus, out, BuildConfig(shard_items=1), **kw)


def test_resume_keeps_finished_shards(tmp_path, fixtures_dir):
    corpus = fixtures_dir / "praatio"
    whole, part = tmp_path / "whole", tmp_path / "part"
    _build(corpus, whole)
    _build(corpus, part)
    n = len(json.loads((part / "plan.json").read_text(encoding="utf-8"))["shards"])
    assert n >= 3
    before = {k: os.stat(shard_dir(part, k) / "features.npy") for k in range(n - 1)}
    # simulate an interruption before the last shard and the final index were written
    shutil.rmtree(shard_dir(part, n - 1))
    (part / "dataset.json").unlink()
    (part / "index.parquet").unlink()
    with pytest.raises(DatasetError, match="--resume"):
        Dataset(part)
    s = _build(corpus, part, resume=True)
    assert s.shards_reused == n - 1
    for k, st in before.items():
        now = os.stat(shard_dir(part, k) / "features.npy")
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), f"shard {k} was rewritten"
    assert pq.read_table(part / "index.parquet").equals(pq.read_table(whole / "index.parquet"))
    for k in range(n):
        for name in ("features", "targets"):
            assert filecmp.cmp(shard_dir(part, k) / f"{name}.npy", shard_dir(whole, k) / f"{name}.npy", shallow=False)
    assert (part / "skipped.tsv").read_bytes() == (whole / "skipped.tsv").read_bytes()
    assert Dataset(part).meta["utterances"] == Dataset(whole).meta["utterances"]


def test_resume_with_other_options_is_refused(tmp_path, fixtures_dir):
    out = tmp_path / "ds"
    _build(fixtures_dir / "textgrid", out)
    with pytest.raises(DatasetError, match="differ"):
        build_dataset(fixtures_dir / "textgrid", out, BuildConfig(shard_items=2), resume=True)


def test_non_empty_out_needs_resume_or_overwrite(tmp_path, fixtures_dir):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "something").write_text("x")
    with pytest.raises(DatasetError, match="not empty") as e:
        build_dataset(fixtures_dir / "textgrid", out)
    assert "--overwrite" in str(e.value) and "--resume" in str(e.value)
    assert (out / "something").exists()
    s = build_dataset(fixtures_dir / "textgrid", out, overwrite=True)
    assert s.utterances > 0 and not (out / "something").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="not a directory"):
        build_dataset(fixtures_dir / "textgrid", tmp_path / "file")


def test_empty_out_directory_is_fine(tmp_path, fixtures_dir):
    (tmp_path / "ds").mkdir()
    assert build_dataset(fixtures_dir / "textgrid", tmp_path / "ds").utterances > 0


def test_missing_corpus_is_a_user_error(tmp_path):
    with pytest.raises(PhoneboundError, match="corpus path not found"):
        build_dataset(tmp_path / "nope", tmp_path / "ds")


def test_unknown_layout_is_a_user_error():
    with pytest.raises(PhoneboundError, match="unknown layout"):
        BuildConfig(layout="windows")


def test_layout_decides_region_difference():
    from phonebound.config import RegionConfig

    assert BuildConfig(layout="difference").region.difference
    assert not BuildConfig(layout="region", region=RegionConfig(difference=True)).region.difference
    cfg = BuildConfig(layout="difference")
    assert BuildConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_process_pool_build_equals_inline(tmp_path, fixtures_dir):
    corpus = fixtures_dir / "praatio"
    inline, pooled = tmp_path / "inline", tmp_path / "pooled"
    assert isinstance(make_executor("local", 1), InlineExecutor)
    _build(corpus, inline)
    pool = make_executor("local", 2)
    try:
        summary = _build(corpus, pooled, executor=pool)
    finally:
        close_executor(pool)
    assert summary.utterances == Dataset(inline).meta["utterances"]
    assert pq.read_table(pooled / "index.parquet").equals(pq.read_table(inline / "index.parquet"))
    shards = sorted(p.name for p in (inline / "shards").iterdir())
    assert shards == sorted(p.name for p in (pooled / "shards").iterdir()) and len(shards) >= 3
    for name in shards:
        for array in ("features.npy", "targets.npy"):
            a, b = inline / "shards" / name / array, pooled / "shards" / name / array
            assert a.read_bytes() == b.read_bytes(), f"{name}/{array} differs"
    assert (pooled / "skipped.tsv").read_bytes() == (inline / "skipped.tsv").read_bytes()
