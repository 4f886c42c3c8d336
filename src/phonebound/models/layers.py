"""Building blocks shared by models (so weights can move between them, e.g. pre-training)."""

from __future__ import annotations

from torch import nn


def conv_stack(input_dim: int, channels: int, layers: int, kernel: int = 5) -> nn.Sequential:
    """``layers`` x (Conv1d over time, 'same' padding, GELU): (B, D, T) -> (B, channels, T).

    Zero padding at the ends; with zero-padded batches a padded sequence sees the same values as
    when run alone (up to its last frame's receptive field)."""
    blocks: list[nn.Module] = []
    for k in range(layers):
        blocks += [nn.Conv1d(input_dim if k == 0 else channels, channels, kernel, padding=kernel // 2), nn.GELU()]
    return nn.Sequential(*blocks)
