"""Several trained taggers as one model: the mean of their boundary probabilities.

Built from trained model directories by ``phonebound ensemble`` (see ``phonebound.training.ensemble``),
then saved, exported, evaluated and used by ``segment`` as any tagger. Averaging four networks
trained on different data or augmentation scored higher on every unseen real-speech set than any one
of them (bench/results/accuracy.md, row 23), in 2.2 times the default's segmenting time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import PhoneboundError
from . import build_model, get_spec, register


@dataclass(frozen=True)
class EnsembleConfig:
    members: tuple[dict[str, Any], ...] = ()  # each member's {"name": ..., "params": {...}}


class EnsembleTagger(nn.Module):
    def __init__(self, cfg: EnsembleConfig, input_dim: int):
        super().__init__()
        if not cfg.members:
            raise PhoneboundError("an ensemble needs member models",
                                  fix="build one from trained models with `phonebound ensemble OUT -m A -m B`")
        for m in cfg.members:
            if get_spec(m["name"]).kind != "tagger" or m["name"] == "ensemble":
                raise PhoneboundError(f"an ensemble member must be a trained tagger, not {m['name']!r}",
                                      fix="give bilstm model directories")
        self.members = nn.ModuleList(build_model(m["name"], m.get("params", {}), input_dim) for m in cfg.members)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, with_classes: bool = False,
                with_heads: bool = False):
        """The logit of the members' mean boundary probability (B, T); with ``with_classes`` also
        the log of their mean phone-class probabilities (every member needs a class head); with
        ``with_heads`` every head all members have, as logits of the members' mean probabilities."""
        if with_heads:
            outputs = [m(x, lengths, with_heads=True) for m in self.members]
            shared = [k for k in outputs[0] if all(k in o for o in outputs)]
            return {k: _mean_head(k, [o[k] for o in outputs]) for k in shared}
        outputs = [m(x, lengths, with_classes=with_classes) for m in self.members]
        if with_classes:
            probs = torch.stack([torch.sigmoid(b) for b, _ in outputs]).mean(0)
            classes = torch.stack([torch.softmax(c, -1) for _, c in outputs]).mean(0)
            return torch.logit(probs, eps=1e-6), torch.log(classes.clamp_min(1e-12))
        return torch.logit(torch.stack([torch.sigmoid(b) for b in outputs]).mean(0), eps=1e-6)


def _mean_head(name: str, logits: list[torch.Tensor]) -> torch.Tensor:
    """Logits whose probabilities are the mean of the members' (sigmoid heads: boundary, pairs;
    softmax heads over the last axis: classes, features)."""
    if name in ("classes", "features"):
        return torch.log(torch.stack([torch.softmax(z, -1) for z in logits]).mean(0).clamp_min(1e-12))
    return torch.logit(torch.stack([torch.sigmoid(z) for z in logits]).mean(0), eps=1e-6)


@register("ensemble", "tagger", EnsembleConfig)
def build(cfg: EnsembleConfig, input_dim: int) -> EnsembleTagger:
    return EnsembleTagger(cfg, input_dim)
