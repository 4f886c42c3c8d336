"""Pseudo-labels for recordings without alignments (noisy-student training).

A trained tagger with a phone-class head segments each recording; every segment between two
decoded boundaries is labelled with its majority broad phone class, written as a representative
IPA symbol (silence as an empty label, neighbouring silences merged), so that ``build`` reads the
result as any TextGrid corpus and the class head trains on it too. The recordings are linked
beside their TextGrids. Training a model on these plus the aligned corpora is how the bundled
default learnt from the unaligned hour of flemishguy (bench/results/accuracy.md).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from .decode import decode_scores
from .detector import CHUNK_FRAMES, CONTEXT_FRAMES, Detector, load_detector
from .errors import ModelError, PhoneboundError
from .io_utils import atomic_path, check_output_dir
from .metrics import PHONE_CLASSES
from .segment import SegmentSummary, plan_outputs, recording_features, write_skipped

# One IPA symbol per broad class: metrics.phone_class maps each back to its class.
CLASS_SYMBOL = {"silence": "", "vowel": "a", "stop": "p", "fricative": "s", "nasal": "n", "approximant": "l",
                "affricate": "tʃ"}


def frame_outputs(detector: Detector, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary probabilities (T,) and class logits (T, C) of one recording, in overlapping chunks
    as ``segment`` computes them."""
    import torch

    n = len(feats)
    probs = np.zeros(n, np.float32)
    classes = np.zeros((n, len(PHONE_CLASSES)), np.float32)
    with torch.inference_mode():
        for s in range(0, n, CHUNK_FRAMES):
            e = min(n, s + CHUNK_FRAMES)
            lo, hi = max(0, s - CONTEXT_FRAMES), min(n, e + CONTEXT_FRAMES)
            x = torch.from_numpy(np.ascontiguousarray(feats[lo:hi], np.float32))[None]
            logits, cls = detector.module(x, torch.tensor([hi - lo]), with_classes=True)
            probs[s:e] = torch.sigmoid(logits[0, s - lo : e - lo]).numpy()
            classes[s:e] = cls[0, s - lo : e - lo].numpy()
    return probs, classes


def label_segments(times: np.ndarray, classes: np.ndarray, duration: float, hop_s: float) -> list[tuple[float, float, str]]:
    """Intervals tiling [0, duration], each labelled with the majority class of its frames."""
    frame_class = np.where(np.arange(classes.shape[1]) == PHONE_CLASSES.index("other"), -np.inf, classes).argmax(-1)
    edges = [0.0, *[float(t) for t in times if 0.0 < t < duration], duration]
    intervals: list[tuple[float, float, str]] = []
    for begin, end in zip(edges[:-1], edges[1:]):
        lo = min(int(round(begin / hop_s)), len(frame_class) - 1)
        hi = max(lo + 1, min(int(round(end / hop_s)), len(frame_class)))
        label = CLASS_SYMBOL[PHONE_CLASSES[np.bincount(frame_class[lo:hi], minlength=len(PHONE_CLASSES)).argmax()]]
        if intervals and label == "" and intervals[-1][2] == "":
            intervals[-1] = (intervals[-1][0], end, "")
        else:
            intervals.append((begin, end, label))
    return intervals


def pseudo_label(inputs: list[str | Path], out: str | Path, model: str | Path | None = None,
                 threshold: float | None = None) -> SegmentSummary:
    """Write a pseudo-labelled TextGrid corpus of the recordings in ``inputs`` (files or folders)
    to ``out``, mirroring the input tree; a rerun skips finished recordings."""
    from praatio import textgrid

    out = Path(out)
    detector = load_detector(model, backend="torch")
    if detector.kind != "tagger" or detector.module is None or getattr(detector.module, "class_head", None) is None:
        raise ModelError("pseudo-labels need a tagger with a phone-class head", detector.path,
                         "use the bundled default, or a model trained with phone_classes = 8")
    cfg = detector.decode_cfg if threshold is None else replace(detector.decode_cfg, threshold=threshold)
    pairs = plan_outputs([Path(p) for p in inputs], out, "long_textgrid")
    if not pairs:
        raise PhoneboundError("no audio files found", ", ".join(map(str, inputs)), "give audio files or folders holding them")
    check_output_dir(out, 10)
    summary = SegmentSummary(out)
    for audio, target in pairs:
        if target.exists():
            summary.reused += 1
            continue
        try:
            feats, duration = recording_features(detector, audio)
        except PhoneboundError as e:
            summary.skipped.append((str(audio), str(e)))
            continue
        probs, classes = frame_outputs(detector, feats)
        times, _ = decode_scores(probs, cfg)
        intervals = label_segments(times, classes, duration, detector.features_cfg.hop_s)
        target.parent.mkdir(parents=True, exist_ok=True)
        _place_audio(audio, target.with_suffix(audio.suffix))
        tg = textgrid.Textgrid()
        tg.addTier(textgrid.IntervalTier("phones", [i for i in intervals if i[1] > i[0]], 0, duration))
        with atomic_path(target) as tmp:  # the TextGrid last: its presence marks the recording done
            tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
        summary.written += 1
        summary.boundaries += len(intervals) - 1
        summary.audio_seconds += duration
    write_skipped(summary)
    return summary


def _place_audio(audio: Path, link: Path) -> None:
    """The recording beside its TextGrid: a symbolic link, or a copy where links are not allowed."""
    if link.exists() or link.is_symlink():
        return
    try:
        os.symlink(audio.resolve(), link)
    except OSError:
        shutil.copy2(audio, link)
