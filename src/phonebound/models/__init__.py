"""Model registry: a new architecture is one new module that calls :func:`register`.

Each entry knows its config dataclass, how to build the network for an input dimension, and its
kind: ``tagger`` (per-frame boundary logits over whole utterances), ``window`` (the notebook's
per-region classifier) or ``untrained`` (a signal-processing detector with no weights). A model
with a ``teacher`` learns from that detector's pseudo-labels, never from alignments.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import from_dict
from ..errors import PhoneboundError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "tagger" | "window" | "untrained"
    config: type
    build: Callable[[Any, int], Any]  # (config, input_dim) -> torch.nn.Module
    teacher: str | None = None  # trained on this detector's pseudo-labels instead of alignments


MODELS: dict[str, ModelSpec] = {}


def register(name: str, kind: str, config: type, teacher: str | None = None) -> Callable:
    def wrap(build: Callable) -> Callable:
        MODELS[name] = ModelSpec(name, kind, config, build, teacher)
        return build

    return wrap


def get_spec(name: str) -> ModelSpec:
    _load_builtin()
    if name not in MODELS:
        raise PhoneboundError(f"unknown model {name!r}", fix=f"use one of {', '.join(sorted(MODELS))}")
    return MODELS[name]


def model_config(name: str, params: dict[str, Any] | None = None):
    """The config dataclass of model ``name`` from a dict (unknown keys are an error)."""
    return from_dict(get_spec(name).config, params, f"model '{name}'")


def build_model(name: str, params: dict[str, Any] | Any, input_dim: int):
    spec = get_spec(name)
    cfg = params if dataclasses.is_dataclass(params) else model_config(name, params)
    return spec.build(cfg, input_dim)


@functools.cache
def _load_builtin() -> None:
    """Import every module of this package (once), so each architecture registers itself.

    Found by listing the package rather than named here: the architectures import this registry,
    so it never imports them by name (no import cycle), and a new one needs no line in this file.
    """
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
