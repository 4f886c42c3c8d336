"""Boundary metrics (pure NumPy/SciPy): matching, counts, R-value. All times are in seconds.

Two ways of counting boundary hits are provided and always labelled:

* **strict** (the headline numbers): a one-to-one matching between reference and hypothesis
  boundaries; each boundary is used at most once and the number of matched pairs is maximal.
* **lenient** (as in the SegFeat / UnsupSeg papers, for comparison with them only): a hypothesis
  counts for precision when its nearest reference is within the tolerance, and a reference counts
  for recall when its nearest hypothesis is; two hypotheses near one reference both count.

A pair counts when ``|hyp - ref| <= tol`` (plus :data:`EPS`, so float noise at exactly ``tol``
still counts). Corpus scores come from counts summed over utterances, never from averaging
per-utterance scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

EPS = 1e-9  # seconds; lets |hyp - ref| == tol count despite float noise


def as_times(x: Any) -> np.ndarray:
    """Boundary times as a flat float64 array of seconds (None is empty); ValueError if not finite."""
    a = np.asarray(x if x is not None else [], dtype=np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError("boundary times must be finite")
    return a


@dataclass(frozen=True)
class BoundaryMatch:
    """Strict one-to-one matching of one utterance.

    ``ref_idx`` / ``hyp_idx`` index the *input* arrays (as given, not sorted); ``offsets`` are
    ``hyp - ref`` in seconds for each pair, in order of the reference time.
    """

    ref_idx: np.ndarray
    hyp_idx: np.ndarray
    offsets: np.ndarray
    n_ref: int
    n_hyp: int

    @property
    def hits(self) -> int:
        return int(self.ref_idx.size)


def match_boundaries(ref: Any, hyp: Any, tol: float = 0.02) -> BoundaryMatch:
    """Strict one-to-one matching of boundary times with tolerance ``tol`` seconds.

    Maximises the number of pairs with ``|hyp - ref| <= tol``; among maximal matchings it picks
    one with the least total ``|hyp - ref|``, so the offsets describe the closest pairing.

    Parameters
    ----------
    ref, hyp : 1-D array-like of float, seconds (any order).
    tol : float, seconds.

    Returns
    -------
    BoundaryMatch
        matched indices into ``ref`` and ``hyp``, offsets (hyp - ref, seconds), n_ref, n_hyp.
    """
    ref, hyp = as_times(ref), as_times(hyp)
    ro, ho = np.argsort(ref, kind="stable"), np.argsort(hyp, kind="stable")
    r, h = ref[ro], hyp[ho]
    lim = tol + EPS
    # Cut the merged sorted times wherever a gap exceeds tol: no pair can straddle such a gap,
    # so each cluster is an independent (and nearly always tiny) matching problem.
    merged = np.concatenate([r, h])
    order = np.argsort(merged, kind="stable")
    cluster = np.zeros(merged.size, dtype=np.int64)
    cluster[order[1:]] = np.cumsum(np.diff(merged[order]) > lim)
    n_cl = int(cluster.max(initial=-1)) + 1
    nr = np.bincount(cluster[: r.size], minlength=n_cl)
    nh = np.bincount(cluster[r.size :], minlength=n_cl)
    r0, h0 = np.cumsum(nr) - nr, np.cumsum(nh) - nh  # first ref / hyp of each cluster
    one = (nr == 1) & (nh == 1)  # the common case: a lone pair, always within tol
    pairs_r, pairs_h = [r0[one]], [h0[one]]
    for c in np.flatnonzero((nr > 0) & (nh > 0) & ~one):
        a, i = r0[c], h0[c]
        d = np.abs(h[None, i : i + nh[c]] - r[a : a + nr[c], None])
        feasible = d <= lim
        # Count first, closeness second: one more pair always outweighs any sum of offsets.
        big = 2.0 * (min(nr[c], nh[c]) + 1) * (lim + 1.0)
        rows, cols = linear_sum_assignment(np.where(feasible, d - big, 0.0))
        keep = feasible[rows, cols]
        pairs_r.append(rows[keep] + a)
        pairs_h.append(cols[keep] + i)
    pr, ph = np.concatenate(pairs_r).astype(np.int64), np.concatenate(pairs_h).astype(np.int64)
    by_ref = np.argsort(pr, kind="stable")
    pr, ph = pr[by_ref], ph[by_ref]
    return BoundaryMatch(ro[pr], ho[ph], h[ph] - r[pr], int(ref.size), int(hyp.size))


def _nearest_distance(a: np.ndarray, b_sorted: np.ndarray) -> np.ndarray:
    """Distance from each time in ``a`` to the nearest time in ``b_sorted`` (inf if empty)."""
    b = np.concatenate([[-np.inf], b_sorted, [np.inf]])  # sentinels: no edge cases
    k = np.searchsorted(b, a)
    return np.minimum(a - b[k - 1], b[k] - a)


def lenient_hits(ref: Any, hyp: Any, tol: float = 0.02) -> tuple[int, int]:
    """LENIENT (SegFeat/UnsupSeg-style) hit counts, not one-to-one.

    Returns
    -------
    (precision_hits, recall_hits) : hypotheses whose nearest reference is within ``tol`` seconds,
    and references whose nearest hypothesis is within ``tol`` seconds.
    """
    ref, hyp = np.sort(as_times(ref)), np.sort(as_times(hyp))
    lim = tol + EPS
    return int(np.sum(_nearest_distance(hyp, ref) <= lim)), int(np.sum(_nearest_distance(ref, hyp) <= lim))


def on_grid(times: Any, hop_s: float = 0.01) -> np.ndarray:
    """Which times lie on a grid of ``hop_s`` seconds (to 1 µs), as an aligner's outputs do.

    Against references on the grid, an output on the same grid errs by exactly 0, 10, 20 ms...,
    and an inclusive ±20 ms window counts its 20 ms errors: for it the window is in effect 25 ms
    wide, for an output between frames 20 ms (bench/results/accuracy.md, row 73b)."""
    steps = as_times(times) / hop_s
    return np.abs(steps - np.round(steps)) * hop_s < 1e-6


def r_value(hit_rate: float, over_segmentation: float) -> float:
    """R-value (Räsänen et al. 2009): ``1 - (|r1| + |r2|) / 2`` with
    ``r1 = sqrt((1 - HR)^2 + OS^2)`` and ``r2 = (-OS + HR - 1) / sqrt(2)``."""
    r1 = math.sqrt((1.0 - hit_rate) ** 2 + over_segmentation**2)
    r2 = (-over_segmentation + hit_rate - 1.0) / math.sqrt(2.0)
    return 1.0 - (abs(r1) + abs(r2)) / 2.0


def ratio(a: float, b: float) -> float:
    """``a / b``, or 0.0 when ``b`` is 0 (a score with nothing to count is 0)."""
    return a / b if b else 0.0


def f1_score(p: float, r: float) -> float:
    """The harmonic mean of precision and recall (0.0 when both are 0)."""
    return ratio(2 * p * r, p + r)


@dataclass
class BoundaryCounts:
    """Boundary counts summed over a corpus at one tolerance (``tol``, seconds).

    Edge cases: a ratio with a zero denominator is 0.0 (no hypotheses → precision 0, no
    references → recall 0, P = R = 0 → F1 0). ``r_value`` is 0.0 without references; with
    references but no hypotheses it follows the formula (HR = 0, OS = -1 → 1 - 1/sqrt(2) ≈ 0.293).
    Offset statistics are NaN (``None`` in :meth:`to_dict`) when nothing matched.
    """

    tol: float = 0.02
    hits: int = 0
    n_ref: int = 0
    n_hyp: int = 0
    lenient_p_hits: int = 0  # hypotheses with a reference within tol (lenient)
    lenient_r_hits: int = 0  # references with a hypothesis within tol (lenient)
    n_utterances: int = 0
    offsets: list[float] = field(default_factory=list)  # hyp - ref of strict pairs, seconds

    def update(self, ref: Any, hyp: Any) -> BoundaryMatch:
        """Add one utterance's boundaries (seconds); returns its strict matching."""
        m = match_boundaries(ref, hyp, self.tol)
        lp, lr = lenient_hits(ref, hyp, self.tol)
        self.hits += m.hits
        self.n_ref += m.n_ref
        self.n_hyp += m.n_hyp
        self.lenient_p_hits += lp
        self.lenient_r_hits += lr
        self.n_utterances += 1
        self.offsets.extend(m.offsets.tolist())
        return m

    def merge(self, other: BoundaryCounts) -> BoundaryCounts:
        """Sum of two count sets at the same tolerance (e.g. from parallel workers)."""
        if abs(self.tol - other.tol) > EPS:
            raise ValueError(f"cannot merge counts at tolerances {self.tol} and {other.tol}")
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "tol"}
        return BoundaryCounts(tol=self.tol, **summed)

    @property
    def precision(self) -> float:
        return ratio(self.hits, self.n_hyp)

    @property
    def recall(self) -> float:
        return ratio(self.hits, self.n_ref)

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)

    @property
    def over_segmentation(self) -> float:  # n_hyp / n_ref - 1; 0.0 without references
        return ratio(self.n_hyp, self.n_ref) - 1.0 if self.n_ref else 0.0

    @property
    def r_value(self) -> float:  # strict: HR = strict recall, OS = n_hyp / n_ref - 1
        return r_value(self.recall, self.over_segmentation) if self.n_ref else 0.0

    @property
    def lenient_precision(self) -> float:
        return ratio(self.lenient_p_hits, self.n_hyp)

    @property
    def lenient_recall(self) -> float:
        return ratio(self.lenient_r_hits, self.n_ref)

    @property
    def lenient_f1(self) -> float:
        return f1_score(self.lenient_precision, self.lenient_recall)

    @property
    def lenient_r_value(self) -> float:
        """Lenient R-value as in the UnsupSeg code: HR = lenient recall, OS = R / P - 1
        (falls back to n_hyp / n_ref - 1 when lenient precision is 0)."""
        if not self.n_ref:
            return 0.0
        p, r = self.lenient_precision, self.lenient_recall
        return r_value(r, r / p - 1.0 if p else self.over_segmentation)

    # Offsets of strict pairs in seconds; NaN when nothing matched. mean_offset > 0 means late.
    @property
    def mean_abs_offset(self) -> float:
        return float(np.mean(np.abs(self.offsets))) if self.offsets else math.nan

    @property
    def median_abs_offset(self) -> float:
        return float(np.median(np.abs(self.offsets))) if self.offsets else math.nan

    @property
    def mean_offset(self) -> float:
        return float(np.mean(self.offsets)) if self.offsets else math.nan

    def to_dict(self, include_offsets: bool = False) -> dict[str, Any]:
        """Plain JSON-friendly dict (NaN becomes None); offsets only if asked (they are long)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        out: dict[str, Any] = {
            "tolerance_s": self.tol, "n_utterances": self.n_utterances,
            "hits": self.hits, "n_ref": self.n_ref, "n_hyp": self.n_hyp,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "over_segmentation": self.over_segmentation, "r_value": self.r_value,
            "mean_abs_offset_s": num(self.mean_abs_offset),
            "median_abs_offset_s": num(self.median_abs_offset),
            "mean_offset_s": num(self.mean_offset),
            "lenient": {
                "precision_hits": self.lenient_p_hits, "recall_hits": self.lenient_r_hits,
                "precision": self.lenient_precision, "recall": self.lenient_recall,
                "f1": self.lenient_f1, "r_value": self.lenient_r_value,
            },
        }
        if include_offsets:
            out["offsets_s"] = [float(x) for x in self.offsets]
        return out


def evaluate_boundaries(pairs: Iterable[tuple[Any, Any]],
                        tolerances: Sequence[float] = (0.02,)) -> dict[float, BoundaryCounts]:
    """Corpus boundary counts: ``pairs`` yields ``(ref_times, hyp_times)`` per utterance (seconds).

    Returns
    -------
    dict mapping each tolerance (seconds) to its :class:`BoundaryCounts`, summed over utterances.
    The iterable is consumed once, so a generator is fine.
    """
    counts = {float(t): BoundaryCounts(tol=float(t)) for t in tolerances}
    for ref, hyp in pairs:
        for c in counts.values():
            c.update(ref, hyp)
    return counts
