"""Weight averaging (``ema_decay`` in a recipe): the averaged weights are the model that is
dev-evaluated and saved."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """An exponential moving average of a module's floating-point weights (Polyak averaging): a
    free ensemble of the late training steps. The decay warms up as (1 + step) / (10 + step) so
    the first steps do not freeze the initial weights into the average."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.module, self.decay = module, decay
        state = module.state_dict()
        self.names = [k for k, v in state.items() if v.is_floating_point()]
        self.values = [state[k].detach().clone() for k in self.names]

    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        state = self.module.state_dict()
        torch._foreach_lerp_(self.values, [state[k].detach() for k in self.names], 1.0 - d)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in zip(self.names, self.values)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.values = [state[k].to(v.device) for k, v in zip(self.names, self.values)]

    @contextmanager
    def swapped_in(self):
        """The module holds the averaged weights inside the block, its own weights again after."""
        own = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        self.module.load_state_dict({**own, **self.state_dict()})
        try:
            yield
        finally:
            self.module.load_state_dict(own)
