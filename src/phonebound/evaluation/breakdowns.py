"""Where the boundaries are missed: strict recall per phone-class transition, and by place in the
utterance (first, inner, last). Hits come from the one-to-one matching of :mod:`.metrics`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..phones.classes import guess_scheme, phone_class
from .metrics import as_times, match_boundaries, ratio


def transition_recall(utterances: Iterable[tuple[Sequence[str], Any, Any]], tol: float = 0.02,
                      scheme: str = "auto") -> dict[str, dict[str, Any]]:
    """Strict recall per phone-class transition, and where the matched boundaries fall.

    Parameters
    ----------
    utterances : iterable of ``(labels, starts, hyp_times)`` per utterance: the phone labels,
        their start times (seconds, increasing) and the hypothesis boundaries (seconds). The
        reference boundaries are ``starts[1:]``; the one at ``starts[k]`` is the transition
        ``class(labels[k-1]) -> class(labels[k])``.
    tol : tolerance, seconds.
    scheme : passed to :func:`phone_class`; 'auto' guesses it per utterance (:func:`guess_scheme`).

    Returns
    -------
    dict keyed ``"vowel->stop"`` etc., each ``{"from", "to", "n", "hits", "recall",
    "median_offset_ms"}``, most frequent transitions first. Hits come from the strict one-to-one
    matching per utterance; ``median_offset_ms`` is the median of hypothesis minus reference over
    them (None without hits): a labelling convention that differs from the model's shows as a
    transition whose boundaries all lie early or late.
    """
    table: dict[tuple[str, str], list] = {}
    for labels, starts, hyp in utterances:
        starts = as_times(starts)
        if len(labels) != starts.size:
            raise ValueError(f"{len(labels)} labels but {starts.size} start times")
        sch = guess_scheme(labels) if scheme == "auto" else scheme
        classes = [phone_class(x, sch) for x in labels]
        hyp = as_times(hyp)
        match = match_boundaries(starts[1:], hyp, tol)
        offset = np.full(max(starts.size - 1, 0), np.nan)
        offset[match.ref_idx] = hyp[match.hyp_idx] - starts[1:][match.ref_idx]
        for k in range(1, starts.size):
            cell = table.setdefault((classes[k - 1], classes[k]), [0, []])
            cell[0] += 1
            if not np.isnan(offset[k - 1]):
                cell[1].append(offset[k - 1])
    rows = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return {f"{a}->{b}": {"from": a, "to": b, "n": n, "hits": len(hits), "recall": ratio(len(hits), n),
                          "median_offset_ms": float(np.median(hits)) * 1000 if hits else None}
            for (a, b), (n, hits) in rows}


def position_recall(refs: Iterable[Any], hyps: Iterable[Any], tol: float = 0.02) -> dict[str, dict[str, Any]]:
    """Strict recall of each utterance's first boundary, its last and those between.

    An utterance's first and last boundaries are usually its speech onset and offset, whose
    placement in fading energy is partly a labelling convention; reporting them apart shows how
    much of a miss rate they carry. Returns ``{"first"|"inner"|"last": {"n", "hits", "recall"}}``;
    a lone boundary counts as "first".
    """
    cells = {"first": [0, 0], "inner": [0, 0], "last": [0, 0]}
    for ref, hyp in zip(refs, hyps):
        ref = np.sort(as_times(ref))
        hit = np.zeros(ref.size, dtype=bool)
        hit[match_boundaries(ref, hyp, tol).ref_idx] = True
        for k in range(ref.size):
            cell = cells["first" if k == 0 else "last" if k == ref.size - 1 else "inner"]
            cell[0] += 1
            cell[1] += int(hit[k])
    return {k: {"n": n, "hits": h, "recall": ratio(h, n)} for k, (n, h) in cells.items()}
