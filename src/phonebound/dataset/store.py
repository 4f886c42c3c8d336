"""The dataset store: memmapped ``.npy`` shards plus a Parquet index.

Layout of a dataset directory::

    dataset.json          configs (features, layout, reader), source corpus, version
    index.parquet         one row per utterance: id, speaker, group, audio, annotation, channel,
                          start, end (s), shard, row_start, row_end, boundaries, phones, split
    skipped.tsv           files that could not be used, with the reason
    shards/NNNNN/         features.npy (float32), targets.npy (int8), and for the window layouts
                          regions.npy (int32 begin/end ms in the audio file) and valid.npy (int8)

Reading one utterance maps only its rows of one shard; nothing loads the whole dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DatasetError

STORE_VERSION = 1
LAYOUTS = ("sequence", "region", "difference")
ARRAYS = ("features", "targets", "regions", "valid")

INDEX_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("speaker", pa.string()),
        ("group", pa.string()),
        ("audio", pa.string()),
        ("annotation", pa.string()),
        ("channel", pa.int32()),  # -1: mono mix of all channels
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("shard", pa.int32()),
        ("row_start", pa.int64()),
        ("row_end", pa.int64()),
        ("n_frames", pa.int64()),
        ("boundaries", pa.list_(pa.float64())),  # seconds from the utterance start
        ("phone_start", pa.list_(pa.float64())),
        ("phone_end", pa.list_(pa.float64())),
        ("phone_label", pa.list_(pa.string())),
        ("split", pa.string()),
    ]
)


def shard_dir(root: Path, shard: int) -> Path:
    return Path(root) / "shards" / f"{shard:05d}"


def write_shard(directory: Path, arrays: dict[str, np.ndarray], rows: list[dict[str, Any]]) -> None:
    """Write one shard's arrays and index rows into ``directory`` (an empty temporary dir)."""
    for name, arr in arrays.items():
        np.save(directory / f"{name}.npy", arr)
    table = pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
    pq.write_table(table, directory / "index.parquet")


@dataclass
class UtteranceRecord:
    """One index row, with convenient types."""

    row: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def boundaries_array(self) -> np.ndarray:
        return np.asarray(self.row["boundaries"], dtype=np.float64)

    @property
    def duration(self) -> float:
        return self.row["end"] - self.row["start"]


class Dataset:
    """Read access to a built dataset directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        meta = self.root / "dataset.json"
        if not meta.exists():
            hint = " (the build did not finish: rerun it with --resume)" if (self.root / "plan.json").exists() else ""
            raise DatasetError(f"not a phonebound dataset: no dataset.json{hint}", self.root,
                               "build one with `phonebound build CORPUS OUT`")
        self.meta: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
        if self.meta.get("store_version") != STORE_VERSION:
            raise DatasetError(f"dataset store version {self.meta.get('store_version')} is not supported "
                               f"(this phonebound reads version {STORE_VERSION})", self.root, "rebuild the dataset")
        self._maps: dict[tuple[int, str], np.ndarray] = {}

    @property
    def layout(self) -> str:
        return self.meta["layout"]

    @cached_property
    def table(self) -> pa.Table:
        return pq.read_table(self.root / "index.parquet")

    @cached_property
    def records(self) -> list[UtteranceRecord]:
        return [UtteranceRecord(r) for r in self.table.to_pylist()]

    def __len__(self) -> int:
        return self.table.num_rows

    def indices(self, split: str | None = None) -> list[int]:
        """Utterance indices of a split ("train", "dev", "test"), or all of them. A dataset that was
        never split is all train (e.g. unlabelled audio added to a labelled dataset's training)."""
        splits = self.table.column("split").to_pylist()
        if split is None or split == "all" or (split == "train" and not any(splits)):
            return list(range(len(self)))
        found = [i for i, s in enumerate(splits) if s == split]
        return found

    def _array(self, shard: int, name: str) -> np.ndarray:
        key = (shard, name)
        if key not in self._maps:
            path = shard_dir(self.root, shard) / f"{name}.npy"
            if not path.exists():
                raise DatasetError(f"missing shard file {path.relative_to(self.root)}", self.root,
                                   "rebuild the dataset (`phonebound build ... --resume`)")
            self._maps[key] = np.load(path, mmap_mode="r")
        return self._maps[key]

    def rows(self, i: int, name: str = "features") -> np.ndarray:
        """Rows of utterance ``i`` from one stored array (a read-only memmap slice)."""
        r = self.records[i]
        return self._array(r.shard, name)[r.row_start : r.row_end]

    def features(self, i: int) -> np.ndarray:
        return self.rows(i, "features")

    def targets(self, i: int) -> np.ndarray:
        return self.rows(i, "targets")

    @property
    def feature_dim(self) -> int:
        return int(self._array(self.records[0].shard, "features").shape[-1]) if len(self) else 0

    def shards(self) -> list[int]:
        return sorted({r.shard for r in self.records})

    def shard_array(self, shard: int, name: str) -> np.ndarray:
        return self._array(shard, name)
