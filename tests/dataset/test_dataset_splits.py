"""Train/dev/test splits by speaker, file or group: deterministic, disjoint, weighted by duration."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.splits import (
    SplitConfig,
    assign_splits,
    dataset_info,
    split_dataset,
)
from phonebound.dataset.store import Dataset
from phonebound.errors import DatasetError

SR = 16000
KEY_COLUMN = {"speaker": "speaker", "file": "audio", "group": "group"}


def _make_corpus(root: Path) -> Path:
    """3 groups x 4 speakers x 2 files (``root/gG/sG_S/uK.{wav,TextGrid}``) of 0.3-0.8 s."""
    import soundfile as sf

    from phonebound.corpus.textgrid import write_textgrid

    rng = np.random.default_rng(0)
    for g in range(3):
        for s in range(4):
            folder = root / f"g{g}" / f"s{g}_{s}"
            folder.mkdir(parents=True)
            for k in range(2):
                seconds = round(float(rng.uniform(0.3, 0.8)), 2)
                audio = (rng.standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)
                sf.write(folder / f"u{k}.wav", audio, SR)
                cuts = [0.0, 0.1, round(seconds / 2, 3), round(seconds - 0.1, 3), seconds]
                labels = ["sil", "a", "b", "sil"]
                write_textgrid(folder / f"u{k}.TextGrid", seconds,
                               {"phones": [(a, b, x) for a, b, x in zip(cuts, cuts[1:], labels)]})
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _make_corpus(tmp_path_factory.mktemp("split_corpus") / "corpus")


@pytest.fixture(scope="module")
def built(tmp_path_factory, corpus) -> dict[str, Path]:
    """The same corpus in the sequence and region layouts (pristine; tests split copies)."""
    root = tmp_path_factory.mktemp("split_built")
    out = {}
    for layout in ("sequence", "region"):
        build_dataset(corpus, root / layout, BuildConfig(layout=layout))
        out[layout] = root / layout
    return out


@pytest.fixture
def copy(built, tmp_path):
    def make(layout: str = "sequence") -> Path:
        return Path(shutil.copytree(built[layout], tmp_path / f"{layout}_{len(list(tmp_path.iterdir()))}"))

    return make


def _splits(path: Path) -> dict[str, str]:
    t = Dataset(path).table.to_pydict()
    return dict(zip(t["id"], t["split"]))


def _key_splits(path: Path, by: str) -> dict[str, set[str]]:
    t = Dataset(path).table.to_pydict()
    found: dict[str, set[str]] = defaultdict(set)
    for key, split in zip(t[KEY_COLUMN[by]], t["split"]):
        found[key].add(split)
    return found


def test_corpus_keys(built):
    ds = Dataset(built["sequence"])
    assert len(ds) == 24
    assert len(set(ds.table.column("speaker").to_pylist())) == 12
    assert set(ds.table.column("group").to_pylist()) == {"g0", "g1", "g2"}


@pytest.mark.parametrize("by", ["speaker", "file", "group"])
def test_split_is_deterministic_and_disjoint(copy, by):
    a, b = copy(), copy()
    cfg = SplitConfig(by=by, dev=0.2, test=0.2, seed=3)
    counts = split_dataset(a, cfg)
    assert split_dataset(b, cfg) == counts
    assert _splits(a) == _splits(b)
    assert sum(counts.values()) == 24 and set(counts) == {"train", "dev", "test"}
    for key, splits in _key_splits(a, by).items():
        assert len(splits) == 1, f"{by} {key} is in {splits}"
    # resplitting the same dataset with the same seed changes nothing
    before = _splits(a)
    split_dataset(a, cfg)
    assert _splits(a) == before
    meta = json.loads((a / "dataset.json").read_text(encoding="utf-8"))
    assert meta["split"]["by"] == by and meta["split"]["seed"] == 3
    assert set(meta["split"]["dev_keys"]).isdisjoint(meta["split"]["test_keys"])


def test_seed_changes_the_draw(copy):
    draws = set()
    for seed in range(6):
        path = copy()
        split_dataset(path, SplitConfig(by="speaker", dev=0.2, test=0.2, seed=seed))
        draws.add(tuple(sorted(_splits(path).items())))
    assert len(draws) > 1


def test_fractions_are_filled_by_weight():
    rng = np.random.default_rng(1)
    keys = [f"k{i:03d}" for i in range(300)]
    weights = rng.uniform(1, 10, len(keys)).tolist()
    total, biggest = sum(weights), max(weights)
    for seed in range(3):
        mapping = assign_splits(keys, weights, SplitConfig(dev=0.1, test=0.15, seed=seed))
        filled = defaultdict(float)
        for k, w in zip(keys, weights):
            filled[mapping[k]] += w
        assert 0.15 * total <= filled["test"] < 0.15 * total + biggest
        assert 0.10 * total <= filled["dev"] < 0.10 * total + biggest
        assert filled["train"] == pytest.approx(total - filled["dev"] - filled["test"])


def test_fractions_on_a_dataset_by_duration(copy):
    path = copy()
    split_dataset(path, SplitConfig(by="speaker", dev=0.25, test=0.25, seed=0))
    t = Dataset(path).table.to_pydict()
    seconds = defaultdict(float)
    for s, e, split in zip(t["start"], t["end"], t["split"]):
        seconds[split] += e - s
    total = sum(seconds.values())
    # each speaker holds about 1/12 of the audio: dev and test overshoot by at most one speaker
    for split in ("dev", "test"):
        assert 0.25 <= seconds[split] / total < 0.25 + 0.2


def test_few_keys_stay_in_train():
    assert set(assign_splits(["a", "b"], [1.0, 1.0], SplitConfig(dev=0.4, test=0.4)).values()) == {"train"}


def test_explicit_keys_are_honoured(copy):
    path = copy()
    counts = split_dataset(path, SplitConfig(by="speaker", dev_keys=("s0_1", "s2_3"), test_keys=("s1_0",)))
    assert counts == {"train": 18, "dev": 4, "test": 2}
    for key, splits in _key_splits(path, "speaker").items():
        expected = "dev" if key in ("s0_1", "s2_3") else "test" if key == "s1_0" else "train"
        assert splits == {expected}
    path = copy()
    split_dataset(path, SplitConfig(by="group", test_keys=("g1",)))
    assert {k: s for k, (s,) in _key_splits(path, "group").items()} == {"g0": "train", "g1": "test", "g2": "train"}


def test_unknown_keys_and_bad_by_are_clear_errors(copy):
    path = copy()
    with pytest.raises(DatasetError, match="not in the dataset: nobody") as e:
        split_dataset(path, SplitConfig(by="speaker", dev_keys=("nobody",)))
    assert "s0_0" in str(e.value)  # the fix lists valid keys
    with pytest.raises(DatasetError, match="cannot split by 'accent'"):
        split_dataset(path, SplitConfig(by="accent"))
    assert set(_splits(path).values()) == {""}  # nothing was written


@pytest.mark.parametrize("by", ["speaker", "file", "group"])
def test_region_and_sequence_layouts_get_the_same_split(copy, by):
    seq, reg = copy("sequence"), copy("region")
    cfg = SplitConfig(by=by, dev=0.2, test=0.2, seed=7)
    assert split_dataset(seq, cfg) == split_dataset(reg, cfg)
    assert _splits(seq) == _splits(reg)
    # the layouts store different numbers of rows per utterance, so weights must not be rows
    assert Dataset(seq).table.column("n_frames").to_pylist() != Dataset(reg).table.column("n_frames").to_pylist()


def test_info_reports_splits(copy):
    path = copy("region")
    split_dataset(path, SplitConfig(by="speaker", dev=0.2, test=0.2))
    info = dataset_info(path)
    assert info["utterances"] == 24 and info["speakers"] == 12 and info["groups"] == 3
    assert sum(info["splits"].values()) == 24 and "unsplit" not in info["splits"]
    assert info["label_counts"]["1"] == info["boundaries"] == 24 * 3


def test_a_test_fifth_and_a_dev_fifth_drawn_with_one_seed_are_the_same_files():
    # recipes/train_default.sh holds out the aligned hour's test fifth (--dev 0 --test 0.2), and the
    # frozen hour's dev fifth (--dev 0.2 --test 0) is the continuous selection set: the same files,
    # wherever each corpus keeps its copy, so the selection set never trains
    rng = np.random.default_rng(1)
    stems = [f"flemishguy_{i:04d}" for i in range(200)]
    seconds = list(rng.uniform(1.0, 6.0, len(stems)))
    held_out = assign_splits([f"hour_labels_round0/{s}.flac" for s in stems], seconds, SplitConfig(by="file", dev=0, test=0.2))
    selection = assign_splits([f"flemish_frozen_corpus/{s}.flac" for s in stems], seconds, SplitConfig(by="file", dev=0.2, test=0))
    test_files = {Path(k).stem for k, v in held_out.items() if v == "test"}
    assert test_files == {Path(k).stem for k, v in selection.items() if v == "dev"}
    assert 0.15 < len(test_files) / len(stems) < 0.25
