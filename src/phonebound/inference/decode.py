"""Frame boundary scores to boundary times (seconds) by peak picking, and threshold tuning.

Frame i of a score sequence is centred at ``i * hop_s`` seconds (see :mod:`phonebound.audio.features`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy.signal import find_peaks

from ..config import HOP_S, DecodeConfig
from ..evaluation.metrics import match_boundaries


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


def tune_threshold(score_list: Iterable[Any], ref_list: Iterable[Any],
                   grid: Sequence[float] = tuple(np.linspace(0.05, 0.95, 19)), tol: float = 0.02,
                   **peak_kwargs: Any) -> tuple[float, list[tuple[float, float, float, float]]]:
    """Threshold maximising strict one-to-one boundary F1 over a (dev) split.

    Parameters
    ----------
    score_list : per-utterance 1-D frame scores.
    ref_list : per-utterance reference boundary times, seconds.
    grid : thresholds to try.
    tol : matching tolerance, seconds.
    **peak_kwargs : passed to :func:`pick_peaks` (distance, prominence, refine, hop_s).

    Returns
    -------
    (best_threshold, table) where table holds ``(threshold, precision, recall, f1)`` per grid
    value, from hits summed over utterances. When several thresholds tie on F1 the median of
    them is chosen, keeping away from the edges of a flat optimum.
    """
    scores, refs = list(score_list), list(ref_list)
    if len(scores) != len(refs):
        raise ValueError(f"{len(scores)} score sequences but {len(refs)} reference lists")
    if len(grid) == 0:
        raise ValueError("empty threshold grid")
    table: list[tuple[float, float, float, float]] = []
    for th in grid:
        hits = n_ref = n_hyp = 0
        for s, ref in zip(scores, refs):
            times, _ = pick_peaks(s, threshold=float(th), **peak_kwargs)
            m = match_boundaries(ref, times, tol)
            hits, n_ref, n_hyp = hits + m.hits, n_ref + m.n_ref, n_hyp + m.n_hyp
        p = hits / n_hyp if n_hyp else 0.0
        r = hits / n_ref if n_ref else 0.0
        table.append((float(th), p, r, 2 * p * r / (p + r) if p + r else 0.0))
    f1 = np.array([row[3] for row in table])
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return table[int(best[len(best) // 2])][0], table


def tune_decoding(score_list: Iterable[Any], ref_list: Iterable[Any],
                  thresholds: Sequence[float] = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2)),
                  prominences: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3), tol: float = 0.02,
                  distance: int = 2, refine: bool = True) -> tuple[float, float, float]:
    """(threshold, prominence, F1) maximising strict F1 over a dev split; for detectors whose
    score curves need a prominence test as well as a height (self-supervised, spectral change)."""
    scores, refs = list(score_list), list(ref_list)
    best = (0.5, 0.0, -1.0)
    for prom in prominences:
        th, table = tune_threshold(scores, refs, thresholds, tol, distance=distance, prominence=prom, refine=refine)
        f1 = max(row[3] for row in table)
        if f1 > best[2] + 1e-12:
            best = (th, float(prom), f1)
    return best
