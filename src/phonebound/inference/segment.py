"""Recordings in, phone boundaries out.

``segment(path_or_array)`` returns a :class:`Segmentation`; :func:`segment_paths` runs a batch
(files and folders, recursed) into an output tree that mirrors the input tree, one file per
recording, never overwriting input, skipping and reporting bad files, resuming after a kill.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.features import finish_features, stream_base_features
from ..audio.load import audio_info, is_audio_file, resample, stream_audio
from ..config import DecodeConfig
from ..errors import AudioError, PhoneboundError
from .calibrate import decode_scores
from .detector import Detector, load_detector
from .writers import WRITERS


@dataclass
class Segmentation:
    """Boundaries (s) and their confidences for one recording of ``duration`` seconds."""

    boundaries: np.ndarray
    confidences: np.ndarray
    duration: float
    source: str | None = None
    model: str = ""
    threshold: float = 0.5

    def segments(self) -> list[tuple[float, float, str, float]]:
        """(begin, end, label, confidence) intervals tiling [0, duration]; labels are empty and a
        segment's confidence is that of the boundary starting it (1.0 for the file start)."""
        edges = [0.0, *[float(t) for t in self.boundaries if 0.0 < t < self.duration], self.duration]
        conf = [1.0, *[float(c) for t, c in zip(self.boundaries, self.confidences) if 0.0 < t < self.duration]]
        return [(edges[k], edges[k + 1], "", conf[k]) for k in range(len(edges) - 1) if edges[k + 1] > edges[k]]


def recording_features(detector: Detector, path: str | Path, channel: int | None = None) -> tuple[np.ndarray, float]:
    """Features of a whole recording, streamed block by block (bounded memory), and its duration.

    The duration is the file's (frames / rate, what Praat shows), not the resampled sample
    count, which differs by a fraction of a sample when the rate is not 16 kHz."""
    duration = audio_info(path).duration
    base, _ = stream_base_features(stream_audio(path, channel), detector.features_cfg)
    return finish_features(base, detector.features_cfg), duration


def _decode_cfg(detector: Detector, threshold: float | None, calibrate: str | None) -> DecodeConfig:
    from dataclasses import replace

    cfg = detector.decode_cfg
    if threshold is not None:
        cfg = replace(cfg, threshold=threshold)
    if calibrate is not None:
        cfg = replace(cfg, calibrate=calibrate)
    return cfg


def segment(audio: str | Path | np.ndarray, sample_rate: int | None = None, model: str | Path | Detector | None = None,
            channel: int | None = None, threshold: float | None = None, calibrate: str | None = None) -> Segmentation:
    """Phone boundaries of a recording (a path to any soundfile format, or an array).

    Parameters
    ----------
    audio : a path, or samples shaped (n,) or (n, channels).
    sample_rate : the array's sample rate (required for arrays).
    model : a model directory, "default" (bundled, the default), or a loaded Detector.
    channel : 0-based channel to use; None mixes all channels down to mono.
    threshold, calibrate : override the model's decoder settings.
    """
    detector = model if isinstance(model, Detector) else load_detector(model)
    cfg = _decode_cfg(detector, threshold, calibrate)
    if isinstance(audio, (str, Path)):
        if detector.kind == "window":
            from ..audio.load import load_audio

            signal = load_audio(audio, channel)
            scores, duration = detector.frame_scores(signal), audio_info(audio).duration
        else:
            feats, duration = recording_features(detector, audio, channel)
            scores = detector.scores_from_features(feats)
        source = str(audio)
    else:
        if sample_rate is None:
            raise PhoneboundError("sample_rate is required when audio is an array", fix="pass sample_rate=...")
        signal = _array_to_mono(np.asarray(audio), channel)
        duration = len(signal) / float(sample_rate)  # the array's own length, not the resampled one's
        signal = resample(signal, int(sample_rate))
        scores, source = detector.frame_scores(signal), None
    times, conf = decode_scores(scores, cfg)
    keep = (times > 0) & (times < duration)
    return Segmentation(times[keep], conf[keep], duration, source, str(detector.path or detector.name), cfg.threshold)


def _array_to_mono(x: np.ndarray, channel: int | None) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):  # scale before mixing (a mean of ints is float64)
        x = x / float(np.iinfo(x.dtype).max)
    if x.ndim == 1:
        mono = x
    elif channel is not None:
        if not 0 <= channel < x.shape[1]:
            raise AudioError(f"channel {channel} requested but the array has {x.shape[1]} channel(s)")
        mono = x[:, channel]
    else:
        mono = x.mean(axis=1)
    if not np.isfinite(mono).all():
        raise AudioError("audio contains NaN or infinite samples")
    return mono.astype(np.float32)


# ---- batches of files ----------------------------------------------------------------------

@dataclass
class SegmentSummary:
    out: Path
    written: int = 0
    reused: int = 0
    audio_seconds: float = 0.0
    boundaries: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def plan_outputs(inputs: list[Path], out: Path, fmt: str) -> list[tuple[Path, Path]]:
    """(audio, output file) pairs: folders are recursed and mirrored under ``out``; files given
    directly land at ``out``'s top level. Refuses collisions and anything that would overwrite input."""
    if fmt not in WRITERS:
        raise PhoneboundError(f"unknown output format {fmt!r}", fix=f"use one of {', '.join(WRITERS)}")
    ext = WRITERS[fmt][1]
    pairs, seen = [], {}
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise PhoneboundError("input not found", given, "check the path")
        if given.is_dir():
            files = sorted(p for p in given.rglob("*") if p.is_file() and is_audio_file(p))
            pairs += [(f, out / f.relative_to(given).with_suffix(ext)) for f in files]
        else:
            pairs.append((given, out / (given.stem + ext)))
    for audio, target in pairs:
        key = os.path.abspath(target)
        if key in seen:
            raise PhoneboundError(f"{audio} and {seen[key]} would both write {target}", fix="segment them into separate -o folders")
        seen[key] = audio
    input_files = {os.path.abspath(a) for a, _ in pairs}
    input_dirs = [os.path.abspath(p) for p in inputs if Path(p).is_dir()] + [os.path.abspath(Path(a).parent) for a, _ in pairs]
    for audio, target in pairs:
        t = os.path.abspath(target)
        if t in input_files or (Path(t).exists() and os.path.dirname(t) in input_dirs and not _ours(Path(t))):
            raise PhoneboundError(f"writing {target} would overwrite input", audio, "choose another output folder with -o")
    return pairs


def _ours(path: Path) -> bool:
    """Whether an existing output file was written by phonebound segment (safe to skip or replace)."""
    marker = path.parent / ".phonebound-segment"
    return marker.exists() and path.name in marker.read_text(encoding="utf-8").split("\n")


def segment_paths(inputs: list[str | Path], out: str | Path, model: str | Path | None = None, fmt: str = "long_textgrid",
                  threshold: float | None = None, calibrate: str | None = None, channel: int | None = None,
                  jobs: int = 1, keep_tiers: bool = False, overwrite: bool = False, progress: bool = False,
                  backend: str = "auto", group_seconds: float = 120.0) -> SegmentSummary:
    """Segment files and folders into ``out`` (see module doc). A rerun skips finished files."""
    t0 = time.perf_counter()
    out = Path(out)
    pairs = plan_outputs([Path(p) for p in inputs], out, fmt)
    if not pairs:
        raise PhoneboundError("no audio files found", ", ".join(map(str, inputs)), "give audio files or folders holding them")
    _check_output_dir(out)
    settings = {"model": str(model or "default"), "format": fmt, "threshold": threshold, "calibrate": calibrate,
                "channel": channel, "keep_tiers": keep_tiers}
    _check_settings(out, settings, overwrite)
    summary = SegmentSummary(out)
    todo = []
    for audio, target in pairs:
        if target.exists() and not overwrite:
            summary.reused += 1
        else:
            todo.append((str(audio), str(target)))
            for stale in target.parent.glob(f".{target.name}.*.tmp"):  # half-written by a killed run
                stale.unlink(missing_ok=True)
    groups = _groups(todo, group_seconds)
    options = {"model": str(model) if model is not None else None, "fmt": fmt, "threshold": threshold,
               "calibrate": calibrate, "channel": channel, "keep_tiers": keep_tiers, "backend": backend,
               "threads": 1 if jobs > 1 else 0}
    from ..dataset.executors import close_executor, make_executor, run_tasks

    executor = make_executor("local", jobs)
    bar = _Progress(progress, len(todo))
    try:
        if jobs > 1:
            results = run_tasks(executor, _segment_group_task, [(g, options) for g in groups], max_pending=2 * jobs)
        else:
            results = (_segment_group(g, options) for g in groups)
        for done in results:
            for record in done:
                if "error" in record:
                    summary.skipped.append((record["audio"], record["error"]))
                else:
                    summary.written += 1
                    summary.audio_seconds += record["duration"]
                    summary.boundaries += record["boundaries"]
                    _mark_ours(Path(record["target"]))
            bar.advance(len(done))
    finally:
        bar.close()
        close_executor(executor)
    write_skipped(summary)
    summary.seconds = time.perf_counter() - t0
    return summary


def write_skipped(summary: SegmentSummary) -> None:
    """``OUT/skipped.tsv``: each skipped recording with its reason (none: no file)."""
    path = summary.out / "skipped.tsv"
    if summary.skipped:
        from ..io_utils import atomic_write_text

        atomic_write_text(path, "path\treason\n" + "".join(f"{a}\t{r}\n" for a, r in summary.skipped))
    else:  # a rerun after the files were fixed: the old list would be wrong
        path.unlink(missing_ok=True)


def _check_output_dir(out: Path) -> None:
    from ..io_utils import check_output_dir

    check_output_dir(out, 20)


def _check_settings(out: Path, settings: dict[str, Any], overwrite: bool) -> None:
    from ..config import write_json

    path = out / "segment_config.json"
    if path.exists() and not overwrite:
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != settings:
            changed = ", ".join(f"{k} {previous.get(k)!r} now {v!r}" for k, v in settings.items() if previous.get(k) != v)
            raise PhoneboundError(f"this output folder holds results made with other settings ({changed})", out,
                                  "use a new -o folder, or --overwrite to redo everything")
    write_json(path, settings)


def _mark_ours(target: Path) -> None:
    marker = target.parent / ".phonebound-segment"
    names = set(marker.read_text(encoding="utf-8").split("\n")) if marker.exists() else set()
    if target.name not in names:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(target.name + "\n")


def _groups(todo: list[tuple[str, str]], seconds: float) -> list[list[tuple[str, str]]]:
    """Consecutive files up to ``seconds`` of audio per group: short files share model batches."""
    groups, current, total = [], [], 0.0
    for audio, target in todo:
        try:
            duration = audio_info(audio).duration
        except PhoneboundError:
            duration = 0.0
        if current and total + duration > seconds:
            groups.append(current)
            current, total = [], 0.0
        current.append((audio, target))
        total += duration
    if current:
        groups.append(current)
    return groups


_WORKER_DETECTOR: dict[str, tuple[list, Detector]] = {}


def _detector(options: dict[str, Any]) -> Detector:
    # keyed by the model files' mtimes too: a model retrained or exported in place is reloaded
    # (with -j 1 the cache lives in the caller's process, e.g. a notebook, across calls)
    from .detector import resolve_model_path

    folder = Path(resolve_model_path(options["model"]))
    stamp = [(f.name, f.stat().st_mtime_ns) for f in sorted(folder.glob("*")) if f.is_file()] if folder.is_dir() else []
    key = json.dumps([options["model"], options["backend"], options["threads"]])
    if key not in _WORKER_DETECTOR or _WORKER_DETECTOR[key][0] != stamp:
        _WORKER_DETECTOR[key] = (stamp, load_detector(options["model"], backend=options["backend"], threads=options["threads"]))
    return _WORKER_DETECTOR[key][1]


def _segment_group_task(task) -> list[dict[str, Any]]:
    return _segment_group(*task)


def _segment_group(group: list[tuple[str, str]], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Segment a group of files; their chunks run through the model together."""
    detector = _detector(options)
    cfg = _decode_cfg(detector, options["threshold"], options["calibrate"])
    records, ready = [], []
    for audio, target in group:
        try:
            if detector.kind == "window":
                seg = segment(audio, model=detector, channel=options["channel"], threshold=options["threshold"],
                              calibrate=options["calibrate"])
                records.append(_write(seg, audio, target, options))
                continue
            feats, duration = recording_features(detector, audio, options["channel"])
            ready.append((audio, target, feats, duration))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
    scores = detector.scores_from_feature_list([r[2] for r in ready]) if ready else []
    for (audio, target, _, duration), s in zip(ready, scores):
        times, conf = decode_scores(s, cfg)
        keep = (times > 0) & (times < duration)
        seg = Segmentation(times[keep], conf[keep], duration, audio, str(detector.path or detector.name), cfg.threshold)
        try:
            records.append(_write(seg, audio, target, options))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
    return records


def _reason(e: PhoneboundError, audio: str) -> str:
    """What ``skipped.tsv`` says about ``audio``: the problem and the fix (and the file, if another)."""
    return e.reason if e.path in (None, audio) else str(e)


def _write(seg: Segmentation, audio: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    writer = WRITERS[options["fmt"]][0]
    extra = _tiers_beside(Path(audio)) if options["keep_tiers"] else []
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    writer(seg, Path(target), extra)
    return {"audio": audio, "target": target, "duration": seg.duration, "boundaries": len(seg.boundaries)}


def _tiers_beside(audio: Path) -> list:
    """Tiers of a TextGrid with the audio's stem beside it (for --keep-tiers)."""
    from ..corpus.textgrid import read_textgrid

    for candidate in (audio.with_suffix(".TextGrid"), audio.with_suffix(".textgrid")):
        if candidate.exists():
            return read_textgrid(candidate).tiers
    return []


class _Progress:
    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and total > 0
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("segmenting", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task("segment", total=total)

    def advance(self, n: int) -> None:
        if self.enabled:
            self.bar.advance(self.task, n)

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()


class _CallableModule(types.ModuleType):
    """``phonebound.segment`` is this module once it is imported, and the README's function too:
    calling the module segments (``phonebound.segment("a.wav")``)."""

    def __call__(self, *args, **kwargs) -> Segmentation:
        return segment(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
