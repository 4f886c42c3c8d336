"""The segmental Viterbi search: the best segmentation of T frames into a path of tokens.

A token is one phone of one pronunciation, or an optional silence; the tokens form a directed
acyclic graph (alternative pronunciations, optional silences) given by each token's
predecessors. A segment of token j over frames [s, e), entered from token p, scores

    sum(E[j, s:e]) + B[row(p, j), s] (s > 0) + durlp[j, e - s] + cost[j]

(frame emissions; a boundary term at its start, whose row may depend on the pair of tokens, as
a class-pair boundary head does; a log duration prior; a per-segment cost). Silence-like ("flat")
tokens have no duration prior, so each frame extends them in O(1) instead of O(dmax).

The search runs frame by frame, as HMM decoders do, over the tokens that can still end a
segment. With a ``beam``, a segment end more than ``beam`` below the best one at its frame is
dropped (both have explained the same frames 0..e): only a band of tokens stays alive around
the best path, so a 40 s window costs that band, not all N tokens at every frame. If the beam
drops every path, the search is repeated without it. Compiled with numba (a dependency of
librosa, so already installed); memory is O(N * T).
"""

from __future__ import annotations

import numba
import numpy as np

NEG = -1e30


@numba.njit(cache=True, nogil=True)
def _search(E, B, succ_ptr, succ_idx, succ_row, first_tokens, is_end, flat, dmin, dmax, durlp, cost, beam):  # pragma: no cover - compiled
    N, T = E.shape
    C = np.zeros((N, T + 1))  # C[j, e] - C[j, s]: token j's emissions over frames [s, e)
    for j in range(N):
        for t in range(T):
            C[j, t + 1] = C[j, t] + E[j, t]
    alpha = np.full((N, T + 1), NEG)  # the best path whose segment of token j ends at frame e
    back = np.empty((N, T + 1), np.int32)  # that segment's start
    entry = np.full((N, T + 1), NEG)  # the best path that enters token j at frame s
    esrc = np.empty((N, T + 1), np.int32)  # from which token (-1: the start)
    first = np.full(N, T + 1)  # each token's first and last entry frames
    last = np.full(N, -1)
    run = np.full(N, NEG)  # a flat token's best entry so far, less its emissions up to it
    run_s = np.full(N, -1)
    for j in first_tokens:
        entry[j, 0] = 0.0
        esrc[j, 0] = -1
        first[j] = 0
        last[j] = 0
    jlo, jhi = first_tokens.min(), first_tokens.max()  # the tokens that may still be alive
    for e in range(1, T + 1):
        top = NEG
        for j in range(jlo, jhi + 1):
            if last[j] < 0:
                continue
            if flat[j]:
                s = e - dmin[j]
                if s >= 0 and entry[j, s] > NEG and entry[j, s] - C[j, s] + cost[j] > run[j]:
                    run[j] = entry[j, s] - C[j, s] + cost[j]
                    run_s[j] = s
                if run_s[j] >= 0:
                    alpha[j, e] = run[j] + C[j, e]
                    back[j, e] = run_s[j]
            elif first[j] <= e - dmin[j] and last[j] >= e - dmax[j]:
                bv, bs = NEG, -1
                for s in range(max(first[j], e - dmax[j]), min(last[j], e - dmin[j]) + 1):
                    if entry[j, s] > NEG:
                        v = entry[j, s] + C[j, e] - C[j, s] + durlp[j, e - s] + cost[j]
                        if v > bv:
                            bv, bs = v, s
                if bs >= 0:
                    alpha[j, e] = bv
                    back[j, e] = bs
            top = max(top, alpha[j, e])
        for j in range(jlo, jhi + 1):
            a = alpha[j, e]
            if a <= NEG:
                continue
            if beam > 0 and a < top - beam:
                alpha[j, e] = NEG
                run[j], run_s[j] = NEG, -1  # a pruned pause dies; a later entry may start it again
                continue
            if e == T:
                continue
            for k in range(succ_ptr[j], succ_ptr[j + 1]):
                q = succ_idx[k]
                v = a + B[succ_row[k], e]
                if v > entry[q, e]:
                    entry[q, e] = v
                    esrc[q, e] = j
                    first[q] = min(first[q], e)
                    last[q] = e
                    jhi = max(jhi, q)
        # a token whose predecessors are all below jlo gets no new entries: it is dead once its
        # entries are too old to end a segment (and, if flat, its pause has ended)
        while jlo < jhi and (last[jlo] < 0 or (run_s[jlo] < 0 and last[jlo] + dmin[jlo] <= e if flat[jlo]
                                                 else last[jlo] + dmax[jlo] <= e)):
            jlo += 1
    best = NEG
    j = -1
    for k in range(N):
        if is_end[k] and alpha[k, T] > best:
            best = alpha[k, T]
            j = k
    tokens = np.full(N, -1, np.int32)
    starts = np.full(N, -1, np.int32)
    n = 0
    e = T
    while j >= 0:
        s = back[j, e]
        tokens[n] = j
        starts[n] = s
        n += 1
        j = esrc[j, s]
        e = s
    return tokens[:n][::-1].copy(), starts[:n][::-1].copy(), best


def viterbi(E: np.ndarray, B: np.ndarray, preds: list[list[int]], rows: list[list[int]], is_end, flat, dmin, dmax,
            durlp: np.ndarray, cost: np.ndarray | None = None, beam: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """The best path: its tokens (in order), their start frames, and its score (-inf if none fits).

    Parameters
    ----------
    E : (N, T) log emission of each token at each frame.
    B : (R, T) boundary score rows: the score added where a segment starts at frame s > 0.
    preds : per token, its predecessor tokens (indices below its own; -1 = the start).
    rows : per token, for each of its predecessors, the row of ``B`` scoring that entry.
    is_end : (N,) bool, tokens that may end the path.
    flat : (N,) bool, tokens without a duration prior (silences).
    dmin, dmax : (N,) shortest and longest segment in frames (dmax is ignored for flat tokens).
    durlp : (N, max(dmax) + 1) log duration prior by length in frames.
    cost : (N,) added once per segment of each token (a pause's insertion penalty); default 0.
    beam : prune segment ends scoring more than this below the best at the same frame (0: exact).
    """
    n = len(preds)
    succ: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for j, (ps, rs) in enumerate(zip(preds, rows)):
        for p, r in zip(ps, rs):
            if p >= 0:
                succ[p].append((j, r))
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum([len(x) for x in succ])
    idx = np.array([j for x in succ for j, _ in x], np.int64)
    row = np.array([r for x in succ for _, r in x], np.int64)
    first_tokens = np.array([j for j, ps in enumerate(preds) if -1 in ps], np.int64)
    if n == 0 or len(first_tokens) == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), -np.inf
    args = (np.ascontiguousarray(E, np.float64), np.ascontiguousarray(B, np.float64), ptr, idx, row, first_tokens,
            np.asarray(is_end, np.bool_), np.asarray(flat, np.bool_), np.asarray(dmin, np.int64),
            np.asarray(dmax, np.int64), np.ascontiguousarray(durlp, np.float64),
            np.zeros(n) if cost is None else np.asarray(cost, np.float64))
    tokens, starts, score = _search(*args, float(beam))
    if beam > 0 and score <= NEG / 2:  # the beam cut every path: search exactly
        tokens, starts, score = _search(*args, 0.0)
    return tokens, starts, (score if score > NEG / 2 else -np.inf)
