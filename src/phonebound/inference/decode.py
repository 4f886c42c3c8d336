"""Frame boundary scores to boundary times (seconds) by peak picking.

Frame i of a score sequence is centred at ``i * hop_s`` seconds (see :mod:`phonebound.audio.features`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import find_peaks

from ..config import HOP_S, DecodeConfig


def pick_peaks(scores: Any, threshold: float | None = 0.5, distance: int = 2, prominence: float = 0.0,
               refine: bool = True, hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """Boundary times from per-frame boundary probabilities.

    Parameters
    ----------
    scores : 1-D array-like, one score per frame (frame i centred at ``i * hop_s`` seconds).
    threshold : minimum peak score (None: no minimum).
    distance : minimum distance between peaks, in frames; the higher peak wins.
    prominence : minimum peak prominence (0: not checked).
    refine : sub-frame refinement: parabolic interpolation through the peak and its two
        neighbours, offset clipped to +-0.5 frame; a flat-topped peak (plateau) is placed at the
        centre of the plateau instead.
    hop_s : frame hop, seconds.

    Returns
    -------
    (times, confidences) : float64 arrays; times in seconds (increasing), confidence = the
    peak's score. The first and last frames are never peaks (a peak needs a neighbour on each
    side), so no boundary lands at time 0 or at the last frame.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or inf")
    if s.size < 3:
        return np.zeros(0), np.zeros(0)
    peaks, props = find_peaks(s, height=threshold, distance=distance if distance >= 1 else None,
                              prominence=prominence or None, plateau_size=1)
    pos = peaks.astype(np.float64)
    if refine and peaks.size:
        left, right = props["left_edges"], props["right_edges"]
        flat = right > left
        pos[flat] = (left[flat] + right[flat]) / 2.0
        i = peaks[~flat]
        y0, y1, y2 = s[i - 1], s[i], s[i + 1]
        denom = y0 - 2.0 * y1 + y2  # < 0 at a strict peak
        delta = np.divide(0.5 * (y0 - y2), denom, out=np.zeros_like(denom), where=denom != 0)
        pos[~flat] = i + np.clip(delta, -0.5, 0.5)
    return pos * hop_s, s[peaks]


def decode(scores: Any, cfg: DecodeConfig, hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pick_peaks` with the fields of ``cfg`` (calibration is not applied here: see
    :func:`phonebound.inference.calibrate.decode_scores`).

    Returns (times in seconds, confidences).
    """
    return pick_peaks(scores, threshold=cfg.threshold, distance=cfg.distance,
                      prominence=cfg.prominence, refine=cfg.refine, hop_s=hop_s)
