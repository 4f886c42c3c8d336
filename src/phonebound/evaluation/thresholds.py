"""Decoder settings tuned against reference boundaries: the threshold (and prominence) that maximise
strict boundary F1 over a dev split. Training tunes the model's threshold with these, evaluation
reports the whole threshold table, and ``phonebound ensemble`` tunes an ensemble's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..inference.decode import pick_peaks
from .metrics import match_boundaries


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
