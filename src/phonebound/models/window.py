"""The notebook's classifier, faithfully: a bidirectional LSTM (70 units per direction,
Xavier-initialised, forget-gate bias 1.0) over a region of T frames x 13 MFCC, the outputs of
the last time step of both directions concatenated, a linear layer to 2 classes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import register


@dataclass(frozen=True)
class WindowConfig:
    hidden: int = 70  # units per direction
    forget_bias: float = 1.0  # as TensorFlow's BasicLSTMCell adds to the forget gate


class WindowBiLSTM(nn.Module):
    def __init__(self, cfg: WindowConfig, input_dim: int):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(input_dim, cfg.hidden, batch_first=True, bidirectional=True)
        self.output = nn.Linear(2 * cfg.hidden, 2)
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight"):
                for gate in p.data.chunk(4, dim=0):  # input, forget, cell, output gates
                    nn.init.xavier_uniform_(gate)
            else:
                nn.init.zeros_(p)
                if name.startswith("bias_ih"):
                    p.data[cfg.hidden : 2 * cfg.hidden] = cfg.forget_bias  # PyTorch gate order: i, f, g, o
        nn.init.xavier_uniform_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 2) for regions ``x`` (B, T, n_mfcc)."""
        outputs = self.lstm(x)[0]  # (B, T, 2 * hidden)
        return self.output(outputs[:, -1, :])


@register("window", "window", WindowConfig)
def build(cfg: WindowConfig, input_dim: int) -> WindowBiLSTM:
    return WindowBiLSTM(cfg, input_dim)
