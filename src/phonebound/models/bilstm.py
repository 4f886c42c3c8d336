"""The utterance-level tagger: an N-layer BiLSTM giving one boundary logit per 10 ms frame.

Padded batches run unpacked (PyTorch's packed LSTMs are 3-9x slower on CPU); the backward
direction reads each utterance reversed within its own length, so padding never leaks into it
and a padded batch gives the same outputs as running each utterance alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import register
from .layers import conv_stack


@dataclass(frozen=True)
class BiLSTMConfig:
    hidden: int = 128  # units per direction
    layers: int = 2
    dropout: float = 0.2
    conv_channels: int = 0  # > 0 adds a 1-D conv front-end (kernel 5) before the LSTM
    conv_layers: int = 1  # depth of that front-end (as the unsupervised encoder, for --init from it)
    conv_kernel: int = 5
    input_dropout: float = 0.0
    phone_classes: int = 0  # > 0 adds an auxiliary head predicting each frame's broad phone class
    phone_features: int = 0  # > 0 (phones.features.N_FEATURES): a head per phonological feature (-, 0, +)
    class_pairs: bool = False  # a head scoring a boundary between each (left, right) pair of broad classes
    # a head regressing where within its frame each boundary lies (-0.5 to +0.5 frame): the 0/1
    # boundary target says which frame, not where in it (bench/results/accuracy.md, row 75). Trained
    # in row 76, it placed no boundary better: off, read by bench/subframe.py only
    boundary_offset: bool = False


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` (B, T, D) within its length; padding stays in place."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    index = lengths.unsqueeze(1) - 1 - steps
    index = torch.where(index >= 0, index, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class BiLSTMTagger(nn.Module):
    def __init__(self, cfg: BiLSTMConfig, input_dim: int):
        super().__init__()
        self.cfg = cfg
        self.input_dropout = nn.Dropout(cfg.input_dropout)
        dim = input_dim
        self.conv = None
        if cfg.conv_channels:
            self.conv = conv_stack(input_dim, cfg.conv_channels, cfg.conv_layers, cfg.conv_kernel)
            dim = cfg.conv_channels
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(cfg.layers):
            size = dim if layer == 0 else 2 * cfg.hidden
            self.forward_layers.append(nn.LSTM(size, cfg.hidden, batch_first=True))
            self.backward_layers.append(nn.LSTM(size, cfg.hidden, batch_first=True))
        self.dropout = nn.Dropout(cfg.dropout)
        self.output = nn.Linear(2 * cfg.hidden, 1)
        self.class_head = nn.Linear(2 * cfg.hidden, cfg.phone_classes) if cfg.phone_classes else None
        self.feature_head = nn.Linear(2 * cfg.hidden, 3 * cfg.phone_features) if cfg.phone_features else None
        if cfg.class_pairs and not cfg.phone_classes:
            raise ValueError("class_pairs needs phone_classes")
        self.pair_head = nn.Linear(2 * cfg.hidden, cfg.phone_classes**2) if cfg.class_pairs else None
        self.offset_head = nn.Linear(2 * cfg.hidden, 1) if cfg.boundary_offset else None

    def encode(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Frame encodings (B, T, 2 * hidden) of features ``x`` (B, T, D)."""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        x = self.input_dropout(x)
        if self.conv is not None:
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        for k, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if k:
                x = self.dropout(x)
            ahead = fwd(x)[0]
            behind = reverse_padded(bwd(reverse_padded(x, lengths))[0], lengths)
            x = torch.cat([ahead, behind], dim=-1)
        return self.dropout(x)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, with_classes: bool = False,
                with_heads: bool = False):
        """Boundary logits (B, T) for features ``x`` (B, T, D) with valid ``lengths`` (B,); with
        ``with_classes`` also the auxiliary phone-class logits (B, T, phone_classes); with
        ``with_heads`` a dict of every head's logits: "boundary" (B, T), "classes" (B, T, C),
        "features" (B, T, F, 3), "pairs" (B, T, C * C; left class * C + right class), "offset"
        (B, T; where within the frame a boundary there lies, in frames, -0.5 to +0.5)."""
        h = self.encode(x, lengths)
        logits = self.output(h).squeeze(-1)
        if with_heads:
            out = {"boundary": logits}
            if self.class_head is not None:
                out["classes"] = self.class_head(h)
            if self.feature_head is not None:
                out["features"] = self.feature_head(h).unflatten(-1, (self.cfg.phone_features, 3))
            if self.pair_head is not None:
                out["pairs"] = self.pair_head(h)
            if self.offset_head is not None:
                out["offset"] = 0.5 * torch.tanh(self.offset_head(h).squeeze(-1))
            return out
        if with_classes:
            return logits, self.class_head(h)
        return logits

    def lower_layers(self, n: int) -> list[nn.Module]:
        """The first ``n`` recurrent layers (both directions) and any front-end below them: what
        ``[train] freeze_layers`` keeps at the ``--init`` model's weights."""
        front = [self.conv] if self.conv is not None and n else []
        return front + list(self.forward_layers[:n]) + list(self.backward_layers[:n])


# Heads that segmenting does not need: a model fine-tuned from this one may leave them out.
AUXILIARY_HEADS = ("class_head.", "feature_head.", "pair_head.", "offset_head.")


@register("bilstm", "tagger", BiLSTMConfig)
def build(cfg: BiLSTMConfig, input_dim: int) -> BiLSTMTagger:
    return BiLSTMTagger(cfg, input_dim)
