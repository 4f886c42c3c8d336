"""Self-supervised boundary detection, trained on audio with no labels at all.

As UnsupSeg (Kreuk et al., 2020) does, a frame encoder is trained to tell each frame's successor
from random frames of the same utterance (a next-frame contrastive loss, InfoNCE). Inside a phone
neighbouring frames look alike; at a boundary they do not, so the boundary score of frame t is
the dissimilarity of the encodings of frames t-1 and t+1, normalised per recording to [0, 1] and
decoded by the usual peak picker.

The encoder is the same convolutional stack as the tagger's front-end (``conv_channels``,
``conv_layers``), so ``train --model bilstm --param conv_channels=... --init UNSUP_MODEL`` starts a
supervised tagger from the self-supervised encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import register
from .layers import conv_stack


@dataclass(frozen=True)
class UnsupervisedConfig:
    conv_channels: int = 128
    conv_layers: int = 3
    projection: int = 64
    negatives: int = 16  # random frames of the same utterance per positive pair
    temperature: float = 0.1
    dropout: float = 0.0


class ContrastiveEncoder(nn.Module):
    def __init__(self, cfg: UnsupervisedConfig, input_dim: int):
        super().__init__()
        self.cfg = cfg
        self.conv = conv_stack(input_dim, cfg.conv_channels, cfg.conv_layers)
        self.dropout = nn.Dropout(cfg.dropout)
        self.projection = nn.Linear(cfg.conv_channels, cfg.projection)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Unit-length frame encodings (B, T, projection) of features ``x`` (B, T, D)."""
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return nn.functional.normalize(self.projection(self.dropout(h)), dim=-1)

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Next-frame InfoNCE over the valid frames of a padded batch (labels ``y`` are ignored)."""
        z = self(x, lengths)
        b, t, _ = z.shape
        steps = torch.arange(t - 1, device=z.device)
        valid = steps[None, :] < (lengths[:, None] - 1)  # frame t has a successor
        anchor, positive = z[:, :-1], z[:, 1:]
        pos = (anchor * positive).sum(-1, keepdim=True)  # (B, T-1, 1)
        # negatives: random frames of the same utterance (uniform over its valid frames)
        u = torch.rand(b, t - 1, self.cfg.negatives, device=z.device)
        idx = (u * lengths[:, None, None].clamp(min=1)).long().clamp(max=t - 1)
        neg = z[torch.arange(b, device=z.device)[:, None, None], idx]  # (B, T-1, K, P)
        neg_sim = (anchor.unsqueeze(2) * neg).sum(-1)  # (B, T-1, K)
        logits = torch.cat([pos, neg_sim], dim=-1) / self.cfg.temperature
        target = torch.zeros(logits.shape[:2], dtype=torch.long, device=z.device)
        losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
        return losses[valid.reshape(-1)].mean()

    @torch.inference_mode()
    def frame_scores(self, feats: np.ndarray) -> np.ndarray:
        """Boundary scores (T,) in [0, 1] of one recording's features (T, D)."""
        if len(feats) < 3:
            return np.zeros(len(feats), np.float32)
        device = next(self.parameters()).device
        z = self(torch.from_numpy(np.ascontiguousarray(feats, np.float32))[None].to(device))[0]
        dissimilarity = torch.zeros(len(feats), device=device)
        dissimilarity[1:-1] = 1.0 - (z[:-2] * z[2:]).sum(-1)  # frames t-1 and t+1 around frame t
        d = dissimilarity.cpu().numpy().astype(np.float64)
        lo, hi = np.percentile(d, 5), np.percentile(d, 99.5)
        return np.clip((d - lo) / max(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)


@register("unsupervised", "tagger", UnsupervisedConfig)
def build(cfg: UnsupervisedConfig, input_dim: int) -> ContrastiveEncoder:
    return ContrastiveEncoder(cfg, input_dim)
