"""Recordings in, phone boundaries out.

``segment(path_or_array)`` returns a :class:`Segmentation`; :func:`segment_paths` runs a batch
(files and folders, recursed) into an output tree that mirrors the input tree, one file per
recording, never overwriting input, skipping and reporting bad files, resuming after a kill.
"""

from __future__ import annotations

import sys
import time
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.features import finish_features, stream_base_features
from ..audio.load import audio_info, check_long_enough, resample, stream_audio, truncation_note
from ..config import HOP_S, DecodeConfig
from ..errors import AudioError, ModelError, PhoneboundError
from .calibrate import decode_scores
from .detector import Detector, load_detector
from .batch import (
    SegmentSummary,
    cached_detector,
    check_batch_output_dir,
    check_settings,
    pending,
    plan_outputs,
    run_groups,
)
from .labels import LABEL_KINDS
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
    classes: np.ndarray | None = None  # (T, C) class probabilities, for interval labels (--labels class)

    def segments(self) -> list[tuple[float, float, str, float]]:
        """(begin, end, label, confidence) intervals tiling [0, duration]; a segment's confidence is
        that of the boundary starting it (1.0 for the file start). Labels are empty, or with class
        probabilities each interval's most probable broad class ('' for silence; touching
        silences merge)."""
        edges = [0.0, *[float(t) for t in self.boundaries if 0.0 < t < self.duration], self.duration]
        conf = [1.0, *[float(c) for t, c in zip(self.boundaries, self.confidences) if 0.0 < t < self.duration]]
        if self.classes is None:
            return [(edges[k], edges[k + 1], "", conf[k]) for k in range(len(edges) - 1) if edges[k + 1] > edges[k]]
        from .labels import class_intervals

        start_conf = dict(zip(edges, conf))
        return [(b, e, label, start_conf.get(b, 1.0))
                for b, e, label in class_intervals(self.boundaries, self.classes, self.duration, HOP_S)]


def recording_features(detector: Detector, path: str | Path, channel: int | None = None) -> tuple[np.ndarray, float]:
    """Features of a whole recording, streamed block by block (bounded memory), and its duration.

    The duration is the file's (frames / rate, what Praat shows), not the resampled sample
    count, which differs by a fraction of a sample when the rate is not 16 kHz."""
    info = audio_info(path)
    check_long_enough(info)
    duration = info.duration
    base, _ = stream_base_features(stream_audio(path, channel), detector.features_cfg)
    return finish_features(base, detector.features_cfg), duration


def _decode_cfg(detector: Detector, threshold: float | None, calibrate: str | None) -> DecodeConfig:
    return detector.decode_cfg.overridden(threshold, calibrate)


def segment(audio: str | Path | np.ndarray, sample_rate: int | None = None, model: str | Path | Detector | None = None,
            channel: int | None = None, threshold: float | None = None, calibrate: str | None = None,
            labels: str = "none") -> Segmentation:
    """Phone boundaries of a recording (a path to any soundfile format, or an array).

    Parameters
    ----------
    audio : a path, or samples shaped (n,) or (n, channels).
    sample_rate : the array's sample rate (required for arrays).
    model : a model directory, "default" (bundled, the default), or a loaded Detector.
    channel : 0-based channel to use; None mixes all channels down to mono.
    threshold, calibrate : override the model's decoder settings.
    labels : "none" (empty intervals) or "class" (each interval's most probable broad class; needs
        a model with a phone-class head).
    """
    _check_labels(labels)
    detector = model if isinstance(model, Detector) else load_detector(model, backend="torch" if labels == "class" else "auto")
    cfg = _decode_cfg(detector, threshold, calibrate)
    classes = None
    if isinstance(audio, (str, Path)):
        if detector.kind == "window":
            from ..audio.load import load_audio

            signal = load_audio(audio, channel)
            scores, duration = detector.frame_scores(signal), audio_info(audio).duration
        else:
            feats, duration = recording_features(detector, audio, channel)
            scores, classes = _scores(detector, [feats], labels)[0]
        source = str(audio)
        note = truncation_note(audio_info(audio))
        if note:
            warnings.warn(note, stacklevel=2)
    else:
        signal, duration = signal_of(audio, sample_rate, channel)
        source = None
        if labels == "class":
            scores, classes = _scores(detector, [detector.features(signal)], labels)[0]
        else:
            scores = detector.frame_scores(signal)
    times, conf = decode_scores(scores, cfg)
    keep = (times > 0) & (times < duration)
    return Segmentation(times[keep], conf[keep], duration, source, str(detector.path or detector.name), cfg.threshold,
                        classes)


def _check_labels(labels: str) -> None:
    if labels not in LABEL_KINDS:
        raise PhoneboundError(f"unknown --labels {labels!r}", fix=f"use one of {', '.join(LABEL_KINDS)}")


def _scores(detector: Detector, feats_list: list[np.ndarray], labels: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Boundary scores of each recording, with its class probabilities when intervals get labels."""
    if labels != "class":
        return [(s, None) for s in detector.scores_from_feature_list(feats_list)]
    heads = detector.head_outputs(feats_list)
    if heads and "classes" not in heads[0]:
        raise ModelError("--labels class needs a model with a phone-class head", detector.path,
                         "use the bundled default, or a model trained with phone_classes = 8")
    return [(h["boundary"], h["classes"]) for h in heads]


def signal_of(audio: np.ndarray, sample_rate: int | None, channel: int | None) -> tuple[np.ndarray, float]:
    """A 16 kHz mono signal from an array of samples, and the array's own duration in seconds
    (not the resampled one's)."""
    if sample_rate is None:
        raise PhoneboundError("sample_rate is required when audio is an array", fix="pass sample_rate=...")
    signal = _array_to_mono(np.asarray(audio), channel)
    return resample(signal, int(sample_rate)), len(signal) / float(sample_rate)


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

def segment_paths(inputs: list[str | Path], out: str | Path, model: str | Path | None = None, fmt: str = "long_textgrid",
                  threshold: float | None = None, calibrate: str | None = None, channel: int | None = None,
                  jobs: int = 1, keep_tiers: bool = False, overwrite: bool = False, progress: bool = False,
                  backend: str = "auto", group_seconds: float = 120.0, labels: str = "none") -> SegmentSummary:
    """Segment files and folders into ``out`` (see module doc). A rerun skips finished files.
    ``labels`` "class" labels each interval with its most probable broad class (torch backend)."""
    t0 = time.perf_counter()
    _check_labels(labels)
    if labels == "class":
        if backend == "onnx":
            raise PhoneboundError("--labels class reads the phone-class head, which the ONNX export leaves out",
                                  fix="use --backend torch (or auto)")
        backend = "torch"
    out = Path(out)
    pairs = plan_outputs([Path(p) for p in inputs], out, fmt)
    if not pairs:
        raise PhoneboundError("no audio files found", ", ".join(map(str, inputs)), "give audio files or folders holding them")
    check_batch_output_dir(out)
    settings = {"model": str(model or "default"), "format": fmt, "threshold": threshold, "calibrate": calibrate,
                "channel": channel, "keep_tiers": keep_tiers}
    if labels != "none":  # folders written before labels existed keep their settings
        settings["labels"] = labels
    check_settings(out, settings, overwrite)
    summary = SegmentSummary(out)
    todo = pending(pairs, summary, overwrite)
    options = {"model": str(model) if model is not None else None, "fmt": fmt, "threshold": threshold,
               "calibrate": calibrate, "channel": channel, "keep_tiers": keep_tiers, "backend": backend,
               "threads": 1 if jobs > 1 else 0, "labels": labels}

    def accept(record: dict[str, Any]) -> None:
        summary.written += 1
        summary.audio_seconds += record["duration"]
        summary.boundaries += record["boundaries"]

    run_groups(todo, _segment_group_task, options, summary, accept, jobs, group_seconds, progress)
    summary.seconds = time.perf_counter() - t0
    return summary


def _segment_group_task(task) -> list[dict[str, Any]]:
    return _segment_group(*task)


def _segment_group(group: list[tuple[str, str]], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Segment a group of files; their chunks run through the model together."""
    detector = cached_detector(options)
    cfg = _decode_cfg(detector, options["threshold"], options["calibrate"])
    records, ready = [], []
    for audio, target in group:
        try:
            info = audio_info(audio)
            check_long_enough(info)
            note = truncation_note(info)  # a truncated WAV is read, and its note says how much is missing
            if note:
                records.append({"audio": audio, "warnings": [note]})
            if detector.kind == "window":
                seg = segment(audio, model=detector, channel=options["channel"], threshold=options["threshold"],
                              calibrate=options["calibrate"])
                records.append(_write(seg, audio, target, options))
                continue
            feats, duration = recording_features(detector, audio, options["channel"])
            ready.append((audio, target, feats, duration))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
    scores = _scores(detector, [r[2] for r in ready], options["labels"]) if ready else []
    for (audio, target, _, duration), (s, classes) in zip(ready, scores):
        times, conf = decode_scores(s, cfg)
        keep = (times > 0) & (times < duration)
        seg = Segmentation(times[keep], conf[keep], duration, audio, str(detector.path or detector.name), cfg.threshold,
                           classes)
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


class _CallableModule(types.ModuleType):
    """``phonebound.segment`` is this module once it is imported, and the README's function too:
    calling the module segments (``phonebound.segment("a.wav")``)."""

    def __call__(self, *args, **kwargs) -> Segmentation:
        return segment(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
