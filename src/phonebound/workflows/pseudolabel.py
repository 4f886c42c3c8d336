"""Pseudo-labels for recordings without alignments (noisy-student training).

A trained tagger with a phone-class head segments each recording; every segment between two
decoded boundaries is labelled with its majority broad phone class, written as a representative
IPA symbol (silence as an empty label, neighbouring silences merged), so that ``build`` reads the
result as any TextGrid corpus and the class head trains on it too. The recordings are linked
beside their TextGrids. Training a model on these plus the aligned corpora is how the bundled
default learnt from the unaligned hour of flemishguy (bench/results/accuracy.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError, PhoneboundError
from ..inference.calibrate import decode_scores
from ..inference.detector import (
    Detector,
    check_same_input,
    load_detector,
)
from ..inference.batch import SegmentSummary, place_audio, plan_outputs, write_skipped
from ..inference.segment import recording_features
from ..io_utils import atomic_path, check_output_dir
from ..inference.labels import class_intervals

# One IPA symbol per broad class: metrics.phone_class maps each back to its class.
CLASS_SYMBOL = {"silence": "", "vowel": "a", "stop": "p", "fricative": "s", "nasal": "n", "approximant": "l",
                "affricate": "tʃ"}


def frame_outputs(detector: Detector, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary probabilities (T,) and class probabilities (T, C) of one recording, in overlapping
    chunks as ``segment`` computes them."""
    heads = detector.head_outputs([feats])[0]
    return heads["boundary"], heads["classes"]


def ensemble_outputs(detectors: list[Detector], feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean boundary and class probabilities of several teachers (an ensemble scores higher than
    any of its members: bench/results/accuracy.md, rows 23 and 27)."""
    outputs = [frame_outputs(d, feats) for d in detectors]
    return np.mean([p for p, _ in outputs], axis=0), np.mean([c for _, c in outputs], axis=0)


def label_segments(times: np.ndarray, classes: np.ndarray, duration: float, hop_s: float) -> list[tuple[float, float, str]]:
    """Intervals tiling [0, duration], each labelled with the symbol of its frames' majority class."""
    return class_intervals(times, classes, duration, hop_s, CLASS_SYMBOL)


def pseudo_label(inputs: list[str | Path], out: str | Path, model: str | Path | list[str | Path] | None = None,
                 threshold: float | None = None) -> SegmentSummary:
    """Write a pseudo-labelled TextGrid corpus of the recordings in ``inputs`` (files or folders)
    to ``out``, mirroring the input tree; a rerun skips finished recordings.

    ``model`` may name several teachers: their probabilities are averaged, and the decision
    threshold is then the first teacher's unless ``threshold`` is given."""
    from praatio import textgrid

    out = Path(out)
    teachers = [load_teacher(m) for m in (model if isinstance(model, (list, tuple)) else [model]) or [None]]
    detector = teachers[0]
    check_same_input(teachers, "teachers")
    cfg = detector.decode_cfg.overridden(threshold)
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
        probs, classes = ensemble_outputs(teachers, feats)
        times, _ = decode_scores(probs, cfg)
        intervals = label_segments(times, classes, duration, detector.features_cfg.hop_s)
        target.parent.mkdir(parents=True, exist_ok=True)
        place_audio(audio, target.with_suffix(audio.suffix))
        tg = textgrid.Textgrid()
        tg.addTier(textgrid.IntervalTier("phones", [i for i in intervals if i[1] > i[0]], 0, duration))
        with atomic_path(target) as tmp:  # the TextGrid last: its presence marks the recording done
            tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
        summary.written += 1
        summary.boundaries += len(intervals) - 1
        summary.audio_seconds += duration
    write_skipped(summary)
    return summary


def load_teacher(model: str | Path | None) -> Detector:
    detector = load_detector(model, backend="torch")
    members = getattr(detector.module, "members", [detector.module])  # an ensemble's, or the one network
    if (detector.kind != "tagger" or detector.module is None
            or any(getattr(m, "class_head", None) is None for m in members)):
        raise ModelError("pseudo-labels need a tagger with a phone-class head", detector.path,
                         "use the bundled default, or a model trained with phone_classes = 8")
    return detector
