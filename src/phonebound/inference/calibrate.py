"""Decision calibration that needs no labels of the target recordings.

A threshold tuned on one corpus under-segments another (continuous speech gives lower, broader
peaks than the isolated words of the dev set). Three label-free corrections, chosen with
``--calibrate`` (or ``decode.calibrate`` in a recipe or a model's config.json; the bundled models
use ``phrase``):

``normalize``
    Per recording, rescale the scores so that the typical height of its strong peaks matches
    the model's dev set (``decode.reference_level``), then apply the dev-tuned threshold.
``rate``
    Per recording, keep the strongest peaks until there are ``target_rate`` boundaries per second
    of speech, where speech is where the detector's own scores are active (no VAD model needed)
    and ``target_rate`` is the dev set's rate measured the same way (or given by the user, e.g.
    12 phones per second for read speech).
``phrase``
    Per stretch of speech between pauses (where the scores are active, as for ``rate``): the
    model's threshold within stretches shorter than ``phrase_seconds`` (isolated words, what the
    dev threshold was tuned on), ``phrase_threshold`` within longer ones (continuous speech, whose
    coarticulated boundaries give lower peaks). Both are chosen on selection sets of each kind of
    speech (``bench/phrase_tune.py``); a recording mixing words and sentences gets each its own.

``normalize`` and ``rate`` statistics are measured on the dev split at the end of training and
stored in the model.
:func:`decode_scores` decodes with the model's calibration applied (plain
:func:`~phonebound.inference.decode.decode` when it is ``none``); decoding itself knows nothing of
calibration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import label
from scipy.signal import find_peaks

from ..config import CALIBRATIONS, HOP_S, DecodeConfig
from .decode import decode, pick_peaks

PEAK_FLOOR = 0.05  # peaks below this are noise for every statistic here
ACTIVE = 0.1  # a frame is "active" above this score ...
REACH = 15  # ... and speech extends 150 ms around active frames
DEFAULT_LEVEL = 0.9
DEFAULT_RATE = 12.0  # boundaries per second of speech, typical of read speech


def peak_level(scores: np.ndarray, distance: int = 2) -> float:
    """Median height of the upper half of a recording's peaks (0 when it has none)."""
    heights = find_peaks(np.asarray(scores, np.float64), height=PEAK_FLOOR, distance=max(distance, 1))[1]["peak_heights"]
    if len(heights) == 0:
        return 0.0
    top = np.sort(heights)[len(heights) // 2 :]
    return float(np.median(top))


def speech_frames(scores: np.ndarray) -> np.ndarray:
    """Where the detector is active: frames within REACH of a score above ACTIVE (bool, per frame)."""
    active = np.asarray(scores) > ACTIVE
    if not active.any():
        return active
    return np.convolve(active.astype(np.int32), np.ones(2 * REACH + 1, np.int32), mode="same") > 0


def speech_seconds(scores: np.ndarray, hop_s: float = HOP_S) -> float:
    """Seconds where the detector is active (:func:`speech_frames`)."""
    return float(speech_frames(scores).sum() * hop_s)


def frame_thresholds(scores: np.ndarray, cfg: DecodeConfig, hop_s: float = HOP_S) -> np.ndarray:
    """Per frame, the threshold of ``phrase`` calibration: ``cfg.phrase_threshold`` inside stretches
    of speech of at least ``cfg.phrase_seconds``, ``cfg.threshold`` elsewhere."""
    thresholds = np.full(len(scores), cfg.threshold, np.float64)
    stretches, n = label(speech_frames(scores))
    lengths = np.bincount(stretches.ravel(), minlength=n + 1) * hop_s
    long_ones = np.flatnonzero(lengths >= cfg.phrase_seconds)
    thresholds[np.isin(stretches, long_ones[long_ones > 0])] = cfg.phrase_threshold
    return thresholds


def dev_statistics(scores: list[np.ndarray], refs: list[np.ndarray], distance: int = 2) -> dict[str, float]:
    """``reference_level`` and ``target_rate`` of a dev split, for the calibrations above."""
    levels = [peak_level(s, distance) for s in scores]
    levels = [v for v in levels if v > 0]
    speech = sum(speech_seconds(s) for s in scores)
    n_ref = sum(len(r) for r in refs)
    return {"reference_level": float(np.median(levels)) if levels else DEFAULT_LEVEL,
            "target_rate": n_ref / speech if speech > 0 else DEFAULT_RATE}


def decode_scores(scores: Any, cfg: DecodeConfig, hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """Decode with calibration applied first (``cfg.calibrate``: none, normalize, rate or phrase)."""
    if cfg.calibrate and cfg.calibrate != "none":
        return calibrated_decode(scores, cfg, hop_s)
    return decode(scores, cfg, hop_s)


def calibrated_decode(scores: Any, cfg: DecodeConfig, hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, np.float64)
    if cfg.calibrate == "normalize":
        level = peak_level(s, cfg.distance)
        reference = cfg.reference_level or DEFAULT_LEVEL
        scaled = np.clip(s * (reference / level), 0.0, 1.0) if level > 0 else s
        times, _ = pick_peaks(scaled, cfg.threshold, cfg.distance, cfg.prominence, cfg.refine, hop_s)
        return times, _confidence(s, times, hop_s)
    if cfg.calibrate == "rate":
        rate = cfg.target_rate or DEFAULT_RATE
        wanted = int(round(rate * speech_seconds(s, hop_s)))
        times, conf = pick_peaks(s, PEAK_FLOOR, cfg.distance, cfg.prominence, cfg.refine, hop_s)
        if len(times) > wanted:
            keep = np.sort(np.argsort(-conf, kind="stable")[:wanted])
            times, conf = times[keep], conf[keep]
        return times, conf
    if cfg.calibrate == "phrase":
        if not cfg.phrase_threshold:
            return decode(s, cfg, hop_s)  # no phrase threshold chosen for this model
        thresholds = frame_thresholds(s, cfg, hop_s)
        times, conf = pick_peaks(s, float(thresholds.min()), cfg.distance, cfg.prominence, cfg.refine, hop_s)
        keep = conf >= thresholds[np.clip(np.rint(times / hop_s).astype(int), 0, len(s) - 1)]
        return times[keep], conf[keep]
    from ..errors import PhoneboundError

    raise PhoneboundError(f"unknown calibration {cfg.calibrate!r}", fix="use " + ", ".join(CALIBRATIONS))


def _confidence(scores: np.ndarray, times: np.ndarray, hop_s: float) -> np.ndarray:
    """Each boundary's confidence is the unscaled score at its frame."""
    idx = np.clip(np.rint(times / hop_s).astype(int), 0, len(scores) - 1) if len(scores) else np.zeros(0, int)
    return scores[idx] if len(scores) else np.zeros(0)
