"""A contrastive self-supervised detector (``--model contrastive``), trained on audio alone.

As UnsupSeg (Kreuk et al., 2020) does, a frame encoder is trained to tell each frame's successor
from random frames of the same utterance (a next-frame contrastive loss, InfoNCE); the boundary
score of a frame is the dissimilarity of the mean encodings just before and just after it,
weighted by a label-free speech-activity estimate and normalised per recording.

Measured here it stays below the untrained spectral-change baseline (bench/results/accuracy.md),
so the self-supervised mode of choice is ``--model unsupervised`` (self-training). The encoder
is the tagger's convolutional front-end (``conv_channels``, ``conv_layers``, ``conv_kernel``), so
it can still initialise one with ``--init``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import register
from .layers import conv_stack


@dataclass(frozen=True)
class ContrastiveConfig:
    conv_channels: int = 128
    conv_layers: int = 2
    conv_kernel: int = 3  # a small receptive field: neighbouring encodings must not share most input
    gate: bool = True  # weigh scores by a label-free speech-activity estimate (energy)
    context: int = 2  # frames averaged on each side when comparing encodings
    projection: int = 64
    negatives: int = 16  # random frames of the same utterance per positive pair
    temperature: float = 0.1
    dropout: float = 0.0


class ContrastiveEncoder(nn.Module):
    def __init__(self, cfg: ContrastiveConfig, input_dim: int):
        super().__init__()
        self.cfg = cfg
        self.conv = conv_stack(input_dim, cfg.conv_channels, cfg.conv_layers, cfg.conv_kernel)
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
        z = self(torch.from_numpy(np.array(feats, np.float32))[None].to(device))[0].cpu().numpy().astype(np.float64)
        d = context_change(z, self.cfg.context)
        if self.cfg.gate:
            d *= speech_activity(feats)
        lo, hi = np.percentile(d, 5), np.percentile(d, 99.5)
        return np.clip((d - lo) / max(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)


def context_change(z: np.ndarray, context: int) -> np.ndarray:
    """Cosine dissimilarity between the mean unit encodings of the ``context`` frames before and
    after each frame boundary, moved from the half-frame boundaries onto the frame grid."""
    n = len(z)
    padded = np.pad(z, ((context, context), (0, 0)), mode="edge")
    cumsum = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(padded, axis=0)])
    left = cumsum[context : context + n] - cumsum[0:n]  # frames i-c .. i-1
    right = cumsum[2 * context : 2 * context + n] - cumsum[context : context + n]  # frames i .. i+c-1
    cos = (left * right).sum(1) / np.maximum(np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1), 1e-9)
    half = 1.0 - cos  # half[i]: the boundary between frames i-1 and i
    return np.concatenate([(half[:-1] + half[1:]) / 2, half[-1:]])  # frame i: between i-1|i and i|i+1


def speech_activity(feats: np.ndarray) -> np.ndarray:
    """A soft speech/silence weight per frame from the first feature column (c0 of MFCC, roughly
    log energy, per-utterance normalised): 0 well below the recording's mean level, 1 above it."""
    c0 = np.asarray(feats[:, 0], np.float64)
    smooth = np.convolve(c0, np.ones(5) / 5, mode="same")
    return np.clip(smooth + 1.0, 0.0, 1.0)


@register("contrastive", "tagger", ContrastiveConfig)
def build(cfg: ContrastiveConfig, input_dim: int) -> ContrastiveEncoder:
    return ContrastiveEncoder(cfg, input_dim)
