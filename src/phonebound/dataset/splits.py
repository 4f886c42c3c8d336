"""Deterministic train/dev/test splits by speaker, file or group, written into the index.

No speaker (or file, or group) is in two splits; oversampling happens later and only on train.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import write_json
from ..errors import DatasetError
from ..io_utils import atomic_path
from .store import Dataset

SPLIT_KEYS = ("speaker", "file", "group")


@dataclass(frozen=True)
class SplitConfig:
    by: str = "speaker"  # "speaker" | "file" | "group" (e.g. the VoxAngeles language folder)
    dev: float = 0.1  # fraction of the audio (by duration) for dev
    test: float = 0.1
    seed: int = 0
    dev_keys: tuple[str, ...] = ()  # explicit keys for dev/test instead of a random draw
    test_keys: tuple[str, ...] = ()


def _keys(ds: Dataset, by: str) -> list[str]:
    if by not in SPLIT_KEYS:
        raise DatasetError(f"cannot split by {by!r}", ds.root, f"use one of {', '.join(SPLIT_KEYS)}")
    column = {"speaker": "speaker", "file": "audio", "group": "group"}[by]
    return [str(k) for k in ds.table.column(column).to_pylist()]


def assign_splits(keys: list[str], weights: list[float], cfg: SplitConfig) -> dict[str, str]:
    """Map each key to "train", "dev" or "test", filling test then dev up to their fractions of
    the total weight, over the keys in a seeded random order."""
    totals: dict[str, float] = defaultdict(float)
    for k, w in zip(keys, weights):
        totals[k] += w
    unique = sorted(totals)
    fixed = {k: "dev" for k in cfg.dev_keys} | {k: "test" for k in cfg.test_keys}
    unknown = sorted(set(fixed) - set(unique))
    if unknown:
        raise DatasetError(f"split keys not in the dataset: {', '.join(unknown)}",
                           fix=f"choose from: {', '.join(unique[:20])}{' ...' if len(unique) > 20 else ''}")
    if fixed:
        return {k: fixed.get(k, "train") for k in unique}
    order = [unique[i] for i in np.random.default_rng(cfg.seed).permutation(len(unique))]
    total = sum(totals.values()) or 1.0
    result, filled = {}, {"test": 0.0, "dev": 0.0}
    for k in order:
        for split, fraction in (("test", cfg.test), ("dev", cfg.dev)):
            if fraction > 0 and filled[split] < fraction * total and len(unique) >= 3:
                result[k] = split
                filled[split] += totals[k]
                break
        else:
            result[k] = "train"
    return result


def split_dataset(path: str | Path, cfg: SplitConfig = SplitConfig()) -> Counter:
    """Write the split of every utterance into ``path``'s index; returns utterances per split."""
    ds = Dataset(path)
    keys = _keys(ds, cfg.by)
    # Weigh by duration so that every layout of one corpus gets the same split.
    weights = [max(e - s, 1e-3) for s, e in zip(ds.table.column("start").to_pylist(), ds.table.column("end").to_pylist())]
    mapping = assign_splits(keys, weights, cfg)
    splits = [mapping[k] for k in keys]
    table = ds.table.set_column(ds.table.schema.get_field_index("split"), "split", pa.array(splits, pa.string()))
    with atomic_path(ds.root / "index.parquet") as tmp:
        pq.write_table(table, tmp)
    meta = dict(ds.meta)
    meta["split"] = {"by": cfg.by, "dev": cfg.dev, "test": cfg.test, "seed": cfg.seed,
                     "dev_keys": sorted(k for k, s in mapping.items() if s == "dev"),
                     "test_keys": sorted(k for k, s in mapping.items() if s == "test")}
    write_json(ds.root / "dataset.json", meta)
    return Counter(splits)


def dataset_info(path: str | Path) -> dict:
    """Summary numbers of a dataset: utterances, speakers, hours, frames, boundary rate, labels."""
    ds = Dataset(path)
    t = ds.table.to_pydict()
    seconds = sum(e - s for s, e in zip(t["start"], t["end"]))
    n_boundaries = sum(len(b) for b in t["boundaries"])
    labels = Counter(label for labels in t["phone_label"] for label in labels)
    info = {
        "path": str(ds.root), "layout": ds.layout, "corpus": ds.meta.get("corpus"),
        "utterances": len(ds), "speakers": len(set(t["speaker"])), "groups": len(set(t["group"]) - {""}),
        "hours": seconds / 3600, "minutes": seconds / 60, "rows": sum(t["n_frames"]),
        "boundaries": n_boundaries, "boundaries_per_second": n_boundaries / seconds if seconds else 0.0,
        "splits": dict(Counter(s or "unsplit" for s in t["split"])),
        "labels": dict(labels.most_common()), "skipped": ds.meta.get("skipped", 0),
        "features": ds.meta.get("config", {}).get("features" if ds.layout == "sequence" else "region"),
    }
    if ds.layout != "sequence":
        # count valid examples only (regions at a file edge are stored empty, as in the CSVs)
        targets = np.concatenate([np.asarray(ds.shard_array(k, "targets"))[np.asarray(ds.shard_array(k, "valid")) == 1]
                                  for k in ds.shards()]) if len(ds) else np.zeros(0)
        info["label_counts"] = {"0": int((targets == 0).sum()), "1": int((targets == 1).sum())}
    return json.loads(json.dumps(info))
