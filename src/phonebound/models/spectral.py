"""An untrained baseline: peaks of spectral change between neighbouring frames.

The score of frame i is the distance between the mean features of the frames just before and
just after it, squashed to [0, 1] per recording, so the same peak picker applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import register


@dataclass(frozen=True)
class SpectralConfig:
    context: int = 2  # frames averaged on each side
    smooth: int = 1  # frames of moving-average smoothing of the curve


def spectral_change(features: np.ndarray, cfg: SpectralConfig = SpectralConfig()) -> np.ndarray:
    """Per-frame change scores in [0, 1] of ``features`` (T, D)."""
    n = len(features)
    if n < 2:
        return np.zeros(n, np.float32)
    c = cfg.context
    padded = np.pad(features, ((c, c), (0, 0)), mode="edge")
    cumsum = np.concatenate([np.zeros((1, features.shape[1])), np.cumsum(padded, axis=0)])
    # left[i] = mean of frames i-c..i-1, right[i] = mean of frames i..i+c-1 (padded indices)
    left = (cumsum[c : c + n] - cumsum[0:n]) / c
    right = (cumsum[2 * c : 2 * c + n] - cumsum[c : c + n]) / c
    curve = np.linalg.norm(right - left, axis=1)
    if cfg.smooth > 1:
        curve = np.convolve(curve, np.ones(cfg.smooth) / cfg.smooth, mode="same")
    lo, hi = np.percentile(curve, 5), np.percentile(curve, 99)
    return np.clip((curve - lo) / max(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)


@register("spectral", "untrained", SpectralConfig)
def build(cfg: SpectralConfig, input_dim: int) -> SpectralConfig:
    return cfg
