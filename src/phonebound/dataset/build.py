"""Build a dataset from a corpus: discover, plan shards, extract features in parallel, index.

Each shard is a task (a group of annotation files) whose output directory is written atomically,
so an interrupted build resumes with ``resume=True`` and finished shards are never rewritten.
A file that cannot be used is skipped with a one-line reason in ``skipped.tsv``.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._version import __version__
from ..audio.features import compute_features, region_mfcc, time_to_frame
from ..audio.load import audio_info, load_audio
from ..config import FeatureConfig, RegionConfig, from_dict, to_dict, write_json
from ..corpus import CorpusItem, ReaderConfig, Utterance, discover, read_item
from ..errors import DatasetError, PhoneboundError
from ..io_utils import atomic_dir, atomic_write_text
from .executors import InlineExecutor, is_dask, run_tasks, shared_filesystem_fix, single_threaded
from .store import INDEX_SCHEMA, LAYOUTS, STORE_VERSION, shard_dir, write_shard
from .windows import region_rows


@dataclass(frozen=True)
class BuildConfig:
    layout: str = "sequence"
    format: str | None = None
    features: FeatureConfig = FeatureConfig()
    region: RegionConfig = RegionConfig()
    reader: ReaderConfig = ReaderConfig()
    shard_items: int = 64  # annotation files per shard, at most
    shard_seconds: float = 3600.0  # audio per shard, at most (bounds a worker's memory)
    include: tuple[str, ...] = ()  # glob patterns on annotation paths relative to the corpus; () = all

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise PhoneboundError(f"unknown layout {self.layout!r}", fix=f"use one of {', '.join(LAYOUTS)}")
        # The layout decides what a region example is; keep region.difference in step with it so
        # BuildConfig(layout="difference") never stores full 10-frame regions labelled "difference".
        if self.region.difference != (self.layout == "difference"):
            from dataclasses import replace

            object.__setattr__(self, "region", replace(self.region, difference=self.layout == "difference"))

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildConfig:
        d = dict(d)
        nested = {"features": FeatureConfig, "region": RegionConfig, "reader": ReaderConfig}
        for key, kind in nested.items():
            if key in d:
                d[key] = from_dict(kind, d[key], key)
        return from_dict(cls, d, "build")


@dataclass
class ShardTask:
    shard: int
    out: str
    items: list[dict[str, Any]]
    config: dict[str, Any]


@dataclass
class ShardResult:
    shard: int
    utterances: int = 0
    frames: int = 0
    seconds: float = 0.0
    boundaries: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reused: bool = False


@dataclass
class BuildSummary:
    out: Path
    files: int = 0
    utterances: int = 0
    hours: float = 0.0
    frames: int = 0
    boundaries: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    shards_reused: int = 0
    seconds: float = 0.0


def _item_to_dict(item: CorpusItem) -> dict[str, Any]:
    return {"annotation": str(item.annotation), "audio": None if item.audio is None else str(item.audio),
            "format": item.format, "root": str(item.root)}


def _item_from_dict(d: dict[str, Any]) -> CorpusItem:
    return CorpusItem(Path(d["annotation"]), None if d["audio"] is None else Path(d["audio"]), d["format"], Path(d["root"]))


def _included(item: CorpusItem, patterns: tuple[str, ...]) -> bool:
    import fnmatch

    rel = item.relative.as_posix()
    return not patterns or any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(item.annotation.name, p) for p in patterns)


def plan_shards(items: list[CorpusItem], cfg: BuildConfig) -> list[list[int]]:
    """Group consecutive items into shards of at most ``shard_items`` files and ``shard_seconds``
    of audio, so each task's memory is bounded and the plan is deterministic."""
    shards: list[list[int]] = []
    current: list[int] = []
    seconds = 0.0
    for i, item in enumerate(items):
        try:
            duration = audio_info(item.audio).duration if item.audio else 0.0
        except PhoneboundError:
            duration = 0.0  # reported when the shard reads it
        if current and (len(current) >= cfg.shard_items or seconds + duration > cfg.shard_seconds):
            shards.append(current)
            current, seconds = [], 0.0
        current.append(i)
        seconds += duration
    if current:
        shards.append(current)
    return shards


def _utterance_row(u: Utterance, shard: int, row_start: int, row_end: int, n_frames: int) -> dict[str, Any]:
    rel = u.relative_phones()
    return {
        "id": u.id, "speaker": u.speaker, "group": u.group, "audio": str(u.audio_path),
        "annotation": "" if u.annotation_path is None else str(u.annotation_path),
        "channel": -1 if u.channel is None else u.channel, "start": u.start, "end": u.end,
        "shard": shard, "row_start": row_start, "row_end": row_end, "n_frames": n_frames,
        "boundaries": u.boundaries().tolist(), "phone_start": [p.start for p in rel],
        "phone_end": [p.end for p in rel], "phone_label": [p.label for p in rel], "split": "",
    }


def sequence_example(u: Utterance, fcfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame features and 0/1 targets (1 at the frame nearest each boundary) of an utterance."""
    audio = load_audio(u.audio_path, u.channel, u.start, u.end)
    feats = compute_features(audio, fcfg)
    targets = np.zeros(len(feats), np.int8)
    frames = time_to_frame(u.boundaries(), fcfg.hop_s)
    targets[np.clip(frames, 0, len(feats) - 1)] = 1
    return feats, targets


def region_example_rows(u: Utterance, rcfg: RegionConfig):
    """The notebook's region rows of an utterance (times in ms from the start of the audio file)."""
    audio = load_audio(u.audio_path, u.channel, u.start, u.end)
    mfcc = region_mfcc(audio, rcfg)
    duration_ms = int(len(audio) * 1000 // 16000)
    offset_ms = int(round(u.start * 1000))
    boundaries_ms = np.rint(u.boundaries() * 1000).astype(np.int64)
    feats, targets, regions, valid = region_rows(mfcc, boundaries_ms, duration_ms, rcfg)
    return feats, targets, regions + offset_ms, valid


@single_threaded  # one worker, one core: the mel matrix products must not start a thread per core
def build_shard(task: ShardTask) -> ShardResult:
    """Read a shard's files and write its arrays and index; runs in a worker process."""
    cfg = BuildConfig.from_dict(task.config)
    out = Path(task.out)
    result = ShardResult(task.shard)
    target = shard_dir(out, task.shard)
    if (target / "index.parquet").exists():
        return _reused(target, task)
    parts: dict[str, list[np.ndarray]] = {"features": [], "targets": []}
    if cfg.layout != "sequence":
        parts.update(regions=[], valid=[])
    rows, n_rows = [], 0
    for item_dict in task.items:
        item = _item_from_dict(item_dict)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                utterances = read_item(item, cfg.reader)
                examples = []
                for u in utterances:
                    if cfg.layout == "sequence":
                        feats, targets = sequence_example(u, cfg.features)
                        examples.append((u, {"features": feats, "targets": targets}, len(feats)))
                    else:
                        f, t, r, v = region_example_rows(u, cfg.region)
                        examples.append((u, {"features": f, "targets": t, "regions": r, "valid": v}, len(f)))
            except PhoneboundError as e:  # the reason names the audio file when that is the culprit
                result.skipped.append((str(item.annotation), e.reason if e.path == str(item.annotation) else str(e)))
                continue
            except Exception as e:  # an unexpected failure skips this file, never the build
                result.skipped.append((str(item.annotation), f"unexpected error: {type(e).__name__}: {e}"))
                continue
            finally:
                result.warnings.extend(str(w.message) for w in caught)
        result.files += 1
        for u, arrays, n in examples:
            for name, arr in arrays.items():
                parts[name].append(arr)
            rows.append(_utterance_row(u, task.shard, n_rows, n_rows + n, n))
            n_rows += n
            result.utterances += 1
            result.seconds += u.duration
            result.boundaries += len(u.boundaries())
    result.frames = n_rows
    arrays = {name: _concat(chunks, cfg, name) for name, chunks in parts.items()}
    with atomic_dir(target) as tmp:
        write_shard(tmp, arrays, rows)
        atomic_write_text(tmp / "result.json", json.dumps(result.__dict__))
    return result


def _concat(chunks: list[np.ndarray], cfg: BuildConfig, name: str) -> np.ndarray:
    if chunks:
        return np.concatenate(chunks)
    width = {"features": (cfg.features.dim,) if cfg.layout == "sequence" else (cfg.region.frames, cfg.region.n_mfcc),
             "regions": (2,)}.get(name, ())
    dtype = {"features": np.float32, "regions": np.int32}.get(name, np.int8)
    return np.zeros((0, *width), dtype)


def _reused(target: Path, task: ShardTask) -> ShardResult:
    data = json.loads((target / "result.json").read_text(encoding="utf-8"))
    data["skipped"] = [tuple(s) for s in data["skipped"]]
    data["reused"] = True
    return ShardResult(**data)


def build_dataset(
    corpus: str | Path,
    out: str | Path,
    cfg: BuildConfig = BuildConfig(),
    executor=None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> BuildSummary:
    """Build a dataset directory ``out`` from ``corpus``.

    Parameters
    ----------
    executor : anything with ``submit(fn, *args)`` (a process pool, a dask Client); None runs inline.
    resume : continue an interrupted build with the plan it started with; finished shards are kept.
    overwrite : replace an existing dataset at ``out``.
    """
    t0 = time.perf_counter()
    out = Path(out)
    plan_path = out / "plan.json"
    if out.exists() and not out.is_dir():
        raise DatasetError("output path exists and is not a directory", out, "pick a new OUT directory")
    if out.exists() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise DatasetError("output directory is not empty", out,
                               "pass --resume to continue an interrupted build, --overwrite to replace it, or pick a new OUT")
        import shutil

        shutil.rmtree(out)
    _check_writable(out)
    if resume and plan_path.exists():
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        if plan["config"] != cfg.to_dict():
            raise DatasetError("--resume with options that differ from the interrupted build's", out,
                               "rerun with the same options, or build into a new directory")
    else:
        fmt, found = discover(Path(os.path.abspath(corpus)), cfg.format)  # absolute: the index must not depend on the cwd
        items = [i for i in found.items if _included(i, cfg.include)]
        if not items:
            raise DatasetError(f"no annotation files{' match --include ' + ','.join(cfg.include) if cfg.include else ''}",
                               corpus, "check the corpus path and the --include patterns")
        plan = {
            "corpus": os.path.abspath(corpus), "format": fmt, "config": cfg.to_dict(),
            "items": [_item_to_dict(i) for i in items],
            "shards": plan_shards(items, cfg),
            "unpaired_audio": [str(a) for a in found.unpaired_audio],
        }
        atomic_write_text(plan_path, json.dumps(plan, indent=1))
    if resume:
        _remove_stale_temporaries(out)
    # Absolute: a dask worker resolves the path in its own working directory, on its own machine.
    tasks = [ShardTask(k, str(out.absolute()), [plan["items"][i] for i in idx], plan["config"])
             for k, idx in enumerate(plan["shards"])]
    summary = BuildSummary(out)
    summary.skipped.extend((a, "audio without annotation (not used) — put an annotation file with the same name "
                               "beside it to use it") for a in plan["unpaired_audio"])
    executor = executor or InlineExecutor()
    results: dict[int, ShardResult] = {}
    with _progress(progress, len(tasks), plan["items"]) as advance, _worker_os_errors(executor, out):
        # Inline (-j 1), shards run one by one here: Ctrl-C stops the build at once, progress is live.
        inline = isinstance(executor, InlineExecutor)
        for result in (map(build_shard, tasks) if inline else run_tasks(executor, build_shard, tasks)):
            if not (shard_dir(out, result.shard) / "index.parquet").exists():
                # The task ran elsewhere and wrote where this client cannot see it (a worker's own disk).
                raise DatasetError(f"shard {result.shard} was built but is not in the output directory",
                                   shard_dir(out, result.shard), shared_filesystem_fix(out.absolute()))
            results[result.shard] = result
            advance(len(plan["shards"][result.shard]))
    # Totals in shard order: results arrive in completion order, which differs between executors
    # and runs, and the float sum of hours (and the order of warnings.txt) must not.
    for result in (results[k] for k in sorted(results)):
        summary.files += result.files
        summary.utterances += result.utterances
        summary.hours += result.seconds / 3600
        summary.frames += result.frames
        summary.boundaries += result.boundaries
        summary.skipped.extend(result.skipped)
        summary.warnings.extend(result.warnings)
        summary.shards_reused += result.reused
    _finalise(out, plan, summary)
    summary.seconds = time.perf_counter() - t0
    return summary


class _worker_os_errors:
    """A dask worker that cannot write into the output directory fails with an OSError raised on
    its machine: report it as the shared-filesystem problem it almost always is."""

    def __init__(self, executor, out: Path):
        self.dask, self.out = is_dask(executor), out

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if self.dask and isinstance(error, OSError):
            raise DatasetError(f"a dask worker could not write its shard ({type(error).__name__}: {error})",
                               self.out.absolute(), shared_filesystem_fix(self.out.absolute())) from None
        return False


def _finalise(out: Path, plan: dict[str, Any], summary: BuildSummary) -> None:
    tables = [pq.read_table(shard_dir(out, k) / "index.parquet") for k in range(len(plan["shards"]))]
    index = pa.concat_tables(tables) if tables else INDEX_SCHEMA.empty_table()
    pq.write_table(index, out / ".index.parquet.tmp")
    (out / ".index.parquet.tmp").replace(out / "index.parquet")
    skipped = "".join(f"{path}\t{reason}\n" for path, reason in sorted(summary.skipped))
    atomic_write_text(out / "skipped.tsv", "path\treason\n" + skipped)
    atomic_write_text(out / "warnings.txt", "".join(f"{w}\n" for w in summary.warnings))
    meta = {
        "store_version": STORE_VERSION, "phonebound_version": __version__, "layout": plan["config"]["layout"],
        "corpus": plan["corpus"], "format": plan["format"], "config": plan["config"],
        "utterances": summary.utterances, "files": summary.files, "hours": summary.hours,
        "skipped": len(summary.skipped),
    }
    write_json(out / "dataset.json", meta)


def _remove_stale_temporaries(out: Path) -> None:
    """Half-written files and shard directories (``.*.tmp``) that a killed build left behind."""
    import shutil

    for tmp in [*out.glob(".*.tmp"), *out.glob("shards/.*.tmp")]:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _check_writable(out: Path) -> None:
    from ..io_utils import check_output_dir

    check_output_dir(out, 50, DatasetError)


class _progress:
    """A rich progress bar over files, or nothing."""

    def __init__(self, enabled: bool, n_tasks: int, items: list):
        self.enabled, self.total = enabled, len(items)

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), transient=False)
        self.bar.__enter__()
        task = self.bar.add_task("building", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
