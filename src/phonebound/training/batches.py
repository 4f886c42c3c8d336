"""Training batches streamed from the memmapped store (bounded memory: only a batch is read).

Batch order is a pure function of (seed, epoch) or (seed, step), so a resumed run sees exactly
the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..audio.augment import AugmentConfig, augment, draw_band_masks, draw_warp, mask_frames
from ..audio.features import compute_features, frame_count, time_to_frame
from ..audio.load import load_audio
from ..config import FeatureConfig
from ..dataset.store import Dataset
from ..errors import DatasetError
from . import targets


@dataclass(frozen=True)
class Chunk:
    """Frames [start, end) of utterance ``index`` of dataset ``dataset``."""

    dataset: int
    index: int
    start: int
    end: int


def check_compatible(datasets: list[Dataset], layout_kind: str) -> None:
    """All datasets share one layout family and one feature config, or a clear error."""
    first = datasets[0]
    for ds in datasets:
        if (ds.layout == "sequence") != (layout_kind == "tagger"):
            want = "the sequence layout" if layout_kind == "tagger" else "the region or difference layout"
            raise DatasetError(f"this model needs {want}, the dataset has {ds.layout!r}", ds.root,
                               "build the dataset with the matching --layout, or choose another --model")
        key = "features" if ds.layout == "sequence" else "region"
        if ds.meta["config"].get(key) != first.meta["config"].get(key) or ds.layout != first.layout:
            raise DatasetError(f"dataset features differ from {first.root}'s", ds.root,
                               "build all datasets with the same feature options")


class TaggerData:
    """Utterances (long ones cut into chunks of ``max_frames``) of one split of several datasets."""

    def __init__(self, datasets: list[Dataset], split: str, max_frames: int = 1500,
                 augment_cfg: AugmentConfig = AugmentConfig(), seed: int = 0, phone_classes: bool = False,
                 teacher=None, distill=None, distill_weight: float = 0.5, heads: tuple[str, ...] = ()):
        self.datasets, self.split, self.augment_cfg, self.seed = datasets, split, augment_cfg, seed
        # auxiliary heads whose targets collate also returns (training.targets.AUX_HEADS)
        self.heads = tuple(heads) or (("classes",) if phone_classes else ())
        self.teacher = teacher  # features -> 0/1 targets: pseudo-labels instead of the alignments
        self.distill, self.distill_weight = distill, distill_weight  # a distill.TeacherEnsemble: soft targets
        self.features_cfg = FeatureConfig(**datasets[0].meta["config"]["features"])
        self.chunks: list[Chunk] = []
        for d, ds in enumerate(datasets):
            for i in ds.indices(split):
                n = ds.records[i].n_frames
                for start in range(0, n, max_frames):
                    end = min(n, start + max_frames)
                    if end - start >= 10 or start == 0:
                        self.chunks.append(Chunk(d, i, start, end))
        if not self.chunks:
            names = ", ".join(str(ds.root) for ds in datasets)
            raise DatasetError(f"no utterances in the {split!r} split", names,
                               "split the dataset first (`phonebound split DATASET`)")

    def __len__(self) -> int:
        return len(self.chunks)

    def positive_fraction(self) -> float:
        """Fraction of boundary frames among the targets trained on (the teacher's, if any)."""
        pos = tot = 0
        for c in self.chunks:
            ds = self.datasets[c.dataset]
            t = (self.teacher(np.asarray(ds.features(c.index)[c.start : c.end])) if self.teacher is not None
                 else ds.targets(c.index)[c.start : c.end])
            pos += int(t.sum())
            tot += len(t)
        return pos / max(tot, 1)

    def epoch_batches(self, epoch: int, batch_frames: int, shuffle: bool = True) -> list[list[int]]:
        """Batches of chunk indices with at most ``batch_frames`` padded frames, length-sorted
        within pools of 64 so padding stays small; deterministic in (seed, epoch)."""
        order = np.arange(len(self.chunks))
        if shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(order)
        batches: list[list[int]] = []
        for p in range(0, len(order), 64):
            pool = sorted(order[p : p + 64].tolist(), key=lambda k: self.chunks[k].end - self.chunks[k].start)
            batch: list[int] = []
            longest = 0
            for k in pool:
                n = self.chunks[k].end - self.chunks[k].start
                if batch and max(longest, n) * (len(batch) + 1) > batch_frames:
                    batches.append(batch)
                    batch, longest = [], 0
                batch.append(k)
                longest = max(longest, n)
            if batch:
                batches.append(batch)
        if shuffle:
            rng = np.random.default_rng([self.seed, epoch, 1])
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def example(self, k: int, epoch: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (T, D), 0/1 targets (T,) and reference boundaries (s, chunk-relative) of a chunk;
        augmented from the audio when ``epoch`` is given and augmentation is on. With a teacher,
        the targets are its pseudo-labels (the alignments are never read); with ``distill``, soft
        targets: the 0/1 labels mixed with the distillation teachers' mean probability."""
        feats, targets, bounds, factor = self._example(k, epoch)
        return feats, targets, bounds

    def _example(self, k: int, epoch: int | None = None):
        """:meth:`example` plus the speed factor the augmentation applied (1.0 when none)."""
        feats, targets, bounds, factor, augmented = self._labelled_example(k, epoch)
        if self.teacher is not None:
            targets = self.teacher(feats)
        if self.distill is not None:
            soft = self.distill(feats, key=None if augmented else k)
            targets = (1.0 - self.distill_weight) * targets + self.distill_weight * soft
        return feats, targets, bounds, factor

    def _labelled_example(self, k: int, epoch: int | None = None):
        c = self.chunks[k]
        ds = self.datasets[c.dataset]
        rec = ds.records[c.index]
        hop = self.features_cfg.hop_s
        bounds = rec.boundaries_array - c.start * hop
        bounds = bounds[(bounds > 0) & (bounds < (c.end - c.start) * hop)]
        if epoch is not None and self.augment_cfg.enabled:
            rng = np.random.default_rng([self.seed, epoch, k, 7])
            if rng.random() < self.augment_cfg.prob:
                start = rec.start + c.start * hop
                audio = load_audio(rec.audio, None if rec.channel < 0 else rec.channel, start,
                                   start + (c.end - c.start - 1) * hop)
                audio, factor = augment(audio, rng, self.augment_cfg)
                warp = draw_warp(rng, self.augment_cfg)
                feats = compute_features(audio, self.features_cfg, warp,
                                         draw_band_masks(rng, self.augment_cfg, self.features_cfg.n_mels))
                feats = mask_frames(feats, rng, self.augment_cfg)
                bounds = bounds / factor
                targets = np.zeros(len(feats), np.int8)
                targets[np.clip(time_to_frame(bounds, hop), 0, len(feats) - 1)] = 1
                return feats, targets, bounds, factor, True
        return (np.asarray(ds.features(c.index)[c.start : c.end]), np.asarray(ds.targets(c.index)[c.start : c.end]),
                bounds, 1.0, False)

    def collate(self, ks: list[int], epoch: int | None = None):
        """Padded tensors: x (B, T, D), y (B, T), lengths (B,); with auxiliary ``heads`` also a dict
        of their targets (training.targets): "classes" (B, T), "features" (B, T, F), "pairs" (B, T),
        "offset" (B, T), padded with -1 (classes, pairs), targets.IGNORE (features) and NaN (offset)."""
        examples = [self._example(k, epoch) for k in ks]
        lengths = torch.tensor([len(e[0]) for e in examples])
        x = torch.zeros(len(examples), int(lengths.max()), examples[0][0].shape[1])
        y = torch.zeros(len(examples), int(lengths.max()))
        for b, (f, t, _, _) in enumerate(examples):
            x[b, : len(f)] = torch.from_numpy(np.array(f, dtype=np.float32))
            y[b, : len(t)] = torch.from_numpy(t.astype(np.float32))
        if not self.heads:
            return x, y, lengths
        aux = {}
        for head in self.heads:
            rows = [self.frame_targets(head, k, int(lengths[b]), examples[b][3]) for b, k in enumerate(ks)]
            fill = {"features": targets.IGNORE, "offset": float("nan")}.get(head, -1)
            padded = torch.full((len(ks), int(lengths.max()), *rows[0].shape[1:]), fill,
                                dtype=torch.float32 if head == "offset" else torch.long)
            for b, r in enumerate(rows):
                padded[b, : len(r)] = torch.from_numpy(r)
            aux[head] = padded
        return x, y, lengths, aux

    def frame_targets(self, head: str, k: int, n: int, factor: float = 1.0) -> np.ndarray:
        """The ``head`` targets of the ``n`` frames of chunk ``k`` played ``factor`` times faster."""
        c = self.chunks[k]
        rec = self.datasets[c.dataset].records[c.index]
        make = {"classes": targets.frame_classes, "features": targets.frame_features,
                "pairs": targets.boundary_pairs, "offset": targets.boundary_offsets}[head]
        return make(rec, c.start, n, factor, self.features_cfg.hop_s)

def soften(y: torch.Tensor, lengths: torch.Tensor, neighbour: float) -> torch.Tensor:
    """Soft targets: frames next to a boundary frame get ``neighbour`` instead of 0."""
    if neighbour <= 0:
        return y
    near = torch.zeros_like(y)
    near[:, 1:] = torch.maximum(near[:, 1:], y[:, :-1])
    near[:, :-1] = torch.maximum(near[:, :-1], y[:, 1:])
    return torch.maximum(y, near * neighbour)


class WindowData:
    """Region examples of one split; oversampling (repeating positives) only ever on train."""

    def __init__(self, datasets: list[Dataset], split: str, oversample: int = 1, seed: int = 0):
        self.datasets, self.split, self.seed = datasets, split, seed
        rows = []  # (dataset, shard, row) of every valid example of the split
        for d, ds in enumerate(datasets):
            for i in ds.indices(split):
                r = ds.records[i]
                valid = np.asarray(ds.rows(i, "valid")).astype(bool)
                idx = np.arange(r.row_start, r.row_end)[valid]
                rows.append(np.stack([np.full(len(idx), d), np.full(len(idx), r.shard), idx], axis=1))
        self.rows = np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)
        if len(self.rows) == 0:
            names = ", ".join(str(ds.root) for ds in datasets)
            raise DatasetError(f"no examples in the {split!r} split", names,
                               "split the dataset first (`phonebound split DATASET`)")
        self.labels = self._gather(self.rows, "targets").astype(np.int64)
        if oversample > 1:
            if split != "train":
                raise ValueError("oversampling applies to the train split only")
            positives = self.rows[self.labels == 1]
            self.rows = np.concatenate([self.rows] + [positives] * (oversample - 1))
            self.labels = np.concatenate([self.labels] + [np.ones(len(positives), np.int64)] * (oversample - 1))

    def __len__(self) -> int:
        return len(self.rows)

    def _gather(self, rows: np.ndarray, name: str) -> np.ndarray:
        out = None
        for (d, shard) in {(int(a), int(b)) for a, b in rows[:, :2]}:
            sel = (rows[:, 0] == d) & (rows[:, 1] == shard)
            arr = self.datasets[d].shard_array(shard, name)
            order = np.argsort(rows[sel, 2], kind="stable")
            values = np.asarray(arr[rows[sel, 2][order]])  # sorted reads are memmap friendly
            restored = np.empty_like(values)
            restored[order] = values
            if out is None:
                out = np.empty((len(rows), *values.shape[1:]), values.dtype)
            out[sel] = restored
        return out

    def draw(self, step: int, size: int) -> np.ndarray:
        """Indices of ``size`` examples drawn at random (with replacement), a pure function of (seed, step)."""
        return np.random.default_rng([self.seed, step]).integers(0, len(self.rows), size)

    def batch(self, step: int, size: int):
        """The tensors of :meth:`draw`'s examples."""
        return self.tensors(self.draw(step, size))

    def tensors(self, pick: np.ndarray):
        x = torch.from_numpy(self._gather(self.rows[pick], "features").astype(np.float32))
        return x, torch.from_numpy(self.labels[pick])

    def sequential(self, size: int = 4096):
        for start in range(0, len(self.rows), size):
            yield self.tensors(np.arange(start, min(len(self.rows), start + size)))


__all__ = ["Chunk", "TaggerData", "WindowData", "check_compatible", "frame_count", "soften"]
