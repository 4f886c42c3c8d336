"""The notebook's windowed examples: 10 ms regions of 1 ms MFCC frames around each boundary.

Per boundary (rounded to whole ms) the region starting at the boundary is labelled 1 and
``n_left`` regions to its left and ``n_right`` to its right are labelled 0, in the generator's
row order: left regions nearest first, the boundary's region, right regions nearest first.
A region that does not fit inside the file is kept as an invalid (empty) row, as the CSVs do.
"""

from __future__ import annotations

import numpy as np

from ..config import RegionConfig


def region_offsets(cfg: RegionConfig) -> list[tuple[int, int]]:
    """(offset in regions from the boundary, label) in the generator's row order."""
    return [(-k, 0) for k in range(1, cfg.n_left + 1)] + [(0, 1)] + [(k, 0) for k in range(1, cfg.n_right + 1)]


def region_rows(mfcc_ms: np.ndarray, boundaries_ms: np.ndarray, duration_ms: int, cfg: RegionConfig):
    """Examples of one file.

    Parameters
    ----------
    mfcc_ms : (n_ms_frames, n_mfcc) float32, frame k centred at k ms.
    boundaries_ms : boundary times in whole ms from the start of the audio.
    duration_ms : the file's duration in whole ms; a region ending after it is invalid.

    Returns
    -------
    features (N, cfg.frames, n_mfcc) float32, targets (N,) int8, regions (N, 2) int32 [begin, end)
    in ms, valid (N,) int8.
    """
    offsets = region_offsets(cfg)
    n = len(boundaries_ms) * len(offsets)
    features = np.zeros((n, cfg.frames, mfcc_ms.shape[1]), np.float32)
    targets = np.zeros(n, np.int8)
    regions = np.zeros((n, 2), np.int32)
    valid = np.zeros(n, np.int8)
    row = 0
    for b in boundaries_ms:
        for k, label in offsets:
            begin = int(b) + k * cfg.region_ms
            end = begin + cfg.region_ms
            regions[row] = (begin, end)
            targets[row] = label
            if begin >= 0 and end <= duration_ms and end <= len(mfcc_ms):
                features[row] = region_example(mfcc_ms[begin:end], cfg)
                valid[row] = 1
            row += 1
    return features, targets, regions, valid


def region_example(frames: np.ndarray, cfg: RegionConfig) -> np.ndarray:
    """One stored example: the region's frames, or first half minus second half (difference)."""
    if not cfg.difference:
        return frames
    half = cfg.region_ms // 2
    return frames[:half] - frames[half : 2 * half]


def sliding_examples(mfcc_ms: np.ndarray, starts_ms: np.ndarray, cfg: RegionConfig) -> np.ndarray:
    """Examples for regions starting at ``starts_ms`` (for scoring every 10 ms of a recording).

    Regions that run past the end are padded by repeating the last frame.
    """
    idx = starts_ms[:, None] + np.arange(cfg.region_ms)[None, :]
    frames = mfcc_ms[np.clip(idx, 0, len(mfcc_ms) - 1)]
    if not cfg.difference:
        return frames.astype(np.float32)
    half = cfg.region_ms // 2
    return (frames[:, :half] - frames[:, half : 2 * half]).astype(np.float32)
