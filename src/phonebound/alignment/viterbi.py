"""The segmental Viterbi search: the best segmentation of T frames into a path of tokens.

A token is one phone of one pronunciation, or an optional silence; the tokens form a directed
acyclic graph (alternative pronunciations, optional silences) given by each token's
predecessors. A segment of token j over frames [s, e), entered from token p, scores

    sum(E[j, s:e]) + B[row(p, j), s] (s > 0) + durlp[j, e - s] + cost[j]

(frame emissions; a boundary term at its start, whose row may depend on the pair of tokens, as
a class-pair boundary head does; a log duration prior; a per-segment cost). Silence-like ("flat") tokens have no
duration prior, which lets their recursion run in O(T) instead of O(T * dmax). Compiled with
numba (a dependency of librosa, so already installed); memory is O(N * T).
"""

from __future__ import annotations

import numba
import numpy as np

NEG = -1e30


@numba.njit(cache=True, nogil=True)
def _search(E, B, pred_ptr, pred_idx, pred_row, is_end, flat, dmin, dmax, durlp, cost):  # pragma: no cover - compiled
    N, T = E.shape
    C = np.zeros((N, T + 1))
    for j in range(N):
        acc = 0.0
        for t in range(T):
            acc += E[j, t]
            C[j, t + 1] = acc
    alpha = np.full((N, T + 1), NEG)
    back = np.full((N, T + 1), -1, np.int32)  # segment start of the best segment of j ending at e
    src = np.full((N, T + 1), -2, np.int32)  # its predecessor token (-1: the start)
    entry = np.empty(T + 1)
    esrc = np.empty(T + 1, np.int32)
    for j in range(N):
        for s in range(T + 1):
            entry[s] = NEG
            esrc[s] = -2
        for k in range(pred_ptr[j], pred_ptr[j + 1]):
            p = pred_idx[k]
            if p < 0:
                if 0.0 > entry[0]:
                    entry[0] = 0.0
                    esrc[0] = -1
            else:
                r = pred_row[k]
                for s in range(1, T):
                    v = alpha[p, s] + B[r, s]
                    if alpha[p, s] > NEG and v > entry[s]:
                        entry[s] = v
                        esrc[s] = p
        if flat[j]:
            best = NEG
            bests = -1
            for e in range(dmin[j], T + 1):
                s = e - dmin[j]
                if entry[s] > NEG:
                    v = entry[s] - C[j, s] + cost[j]
                    if v > best:
                        best = v
                        bests = s
                if bests >= 0:
                    alpha[j, e] = best + C[j, e]
                    back[j, e] = bests
                    src[j, e] = esrc[bests]
        else:
            for e in range(dmin[j], T + 1):
                bv = NEG
                bs = -1
                for s in range(max(0, e - dmax[j]), e - dmin[j] + 1):
                    if entry[s] <= NEG:
                        continue
                    v = entry[s] + C[j, e] - C[j, s] + durlp[j, e - s] + cost[j]
                    if v > bv:
                        bv = v
                        bs = s
                if bs >= 0:
                    alpha[j, e] = bv
                    back[j, e] = bs
                    src[j, e] = esrc[bs]
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
        j = src[j, e]
        e = s
    return tokens[:n][::-1].copy(), starts[:n][::-1].copy(), best


def viterbi(E: np.ndarray, B: np.ndarray, preds: list[list[int]], rows: list[list[int]], is_end, flat, dmin, dmax,
            durlp: np.ndarray, cost: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
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
    """
    ptr = np.zeros(len(preds) + 1, np.int64)
    ptr[1:] = np.cumsum([len(p) for p in preds])
    idx = np.array([q for p in preds for q in p], np.int64)
    row = np.array([r for rs in rows for r in rs], np.int64)
    tokens, starts, score = _search(np.ascontiguousarray(E, np.float64), np.ascontiguousarray(B, np.float64),
                                    ptr, idx, row, np.asarray(is_end, np.bool_), np.asarray(flat, np.bool_),
                                    np.asarray(dmin, np.int64), np.asarray(dmax, np.int64),
                                    np.ascontiguousarray(durlp, np.float64),
                                    np.zeros(len(preds)) if cost is None else np.asarray(cost, np.float64))
    return tokens, starts, (score if score > NEG / 2 else -np.inf)
