"""A training recipe: the model, the training settings (:class:`TrainConfig`), augmentation and
decoding, as one dataclass read from TOML (``--config recipe.toml``) and written beside every run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..audio.augment import AugmentConfig
from ..config import DecodeConfig, from_dict, read_toml, to_dict
from ..errors import PhoneboundError

BALANCES = ("weight", "oversample", "none")
LR_SCHEDULES = ("constant", "cosine")
METRICS = ("boundary_f1", "class1_f1", "class1_recall", "accuracy")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 0  # > 0: train exactly this many steps; else `epochs`
    epochs: int = 20
    lr: float = 1e-3
    lr_schedule: str = "constant"  # constant (the notebook's) | cosine (decays to lr / 20 at the last step)
    weight_decay: float = 0.0
    # with --init: the first N recurrent layers (and any front-end below them) keep the init model's
    # weights, so a few minutes of a new corpus adapt only the layers above (0: all adapt)
    freeze_layers: int = 0
    batch_frames: int = 6000  # tagger: padded frames per batch
    max_frames: int = 1500  # tagger: longer utterances are cut into chunks of this many frames
    batch_size: int = 128  # window model: examples per batch, drawn at random
    balance: str = "weight"  # weight | oversample | none (train split only)
    multiply: int = 9  # oversample: each positive train example appears this many times
    pos_weight: float = 0.0  # tagger BCE weight of positives; 0 = negatives / positives of train
    neighbour_target: float = 0.0  # soft target for frames next to a boundary frame
    teachers: tuple[str, ...] = ()  # tagger model dirs: distil their mean boundary probability (tagger only)
    distill_weight: float = 0.5  # with teachers: target = (1 - w) * alignment + w * teachers' probability
    phone_class_weight: float = 0.3  # weight of the auxiliary phone-class loss (models with phone_classes)
    phone_feature_weight: float = 1.0  # weight of the mean phonological-feature loss (models with phone_features)
    class_pair_weight: float = 1.0  # weight of the class-pair boundary loss (models with class_pairs)
    boundary_offset_weight: float = 1.0  # weight of the within-frame offset loss (models with boundary_offset)
    grad_clip: float = 5.0
    ema_decay: float = 0.0  # > 0: dev-evaluate and keep an exponential moving average of the weights
    eval_every: int = 0  # steps between dev evaluations; 0 = once per epoch (tagger) / 500 steps
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    metric: str = "boundary_f1"  # boundary_f1 | class1_f1 | class1_recall | accuracy
    tolerance: float = 0.02  # seconds, for boundary F1
    seed: int = 0
    threads: int = 0  # torch threads; 0 = torch's default (1 for the small window model)
    device: str = "cpu"  # cpu | cuda | cuda:N
    amp: bool = True  # mixed precision, on GPU only
    checkpoint_every: int = 100  # steps between resumable checkpoints
    log_every: int = 20

    def __post_init__(self) -> None:
        if self.balance not in BALANCES:
            raise PhoneboundError(f"unknown balance {self.balance!r}", fix=f"use one of {', '.join(BALANCES)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise PhoneboundError(f"unknown lr_schedule {self.lr_schedule!r}", fix=f"use one of {', '.join(LR_SCHEDULES)}")
        if not 0.0 <= self.distill_weight <= 1.0:
            raise PhoneboundError(f"distill_weight {self.distill_weight} is outside [0, 1]",
                                  fix="set distill_weight between 0 (alignments only) and 1 (teachers only)")
        if self.freeze_layers < 0:
            raise PhoneboundError(f"freeze_layers {self.freeze_layers} is negative",
                                  fix="set freeze_layers to 0 (every layer adapts) or more")
        if self.metric not in METRICS:
            raise PhoneboundError(f"unknown metric {self.metric!r}", fix=f"use one of {', '.join(METRICS)}")


@dataclass
class Recipe:
    """Everything a training run needs besides the data: model, training, augmentation, decoding."""

    model: dict[str, Any] = field(default_factory=lambda: {"name": "bilstm"})
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        unknown = set(d) - {"model", "train", "augment", "decode", "data"}
        if unknown:
            raise PhoneboundError(f"unknown recipe section(s) {', '.join(sorted(unknown))}",
                                  fix="use [model], [train], [augment], [decode], [data]")
        model = dict(d.get("model", {"name": "bilstm"}))
        model.setdefault("name", "bilstm")
        return cls(model, from_dict(TrainConfig, d.get("train"), "train"),
                   from_dict(AugmentConfig, d.get("augment"), "augment"),
                   from_dict(DecodeConfig, d.get("decode"), "decode"), dict(d.get("data", {})))

    @classmethod
    def load(cls, path: str | Path | None) -> Recipe:
        return cls() if path is None else cls.from_dict(read_toml(path))

    def to_dict(self) -> dict[str, Any]:
        return {"model": dict(self.model), "train": to_dict(self.train), "augment": to_dict(self.augment),
                "decode": to_dict(self.decode), "data": dict(self.data)}

    def with_overrides(self, model: str | None = None, model_params: dict | None = None, **train: Any) -> Recipe:
        r = Recipe(dict(self.model), self.train, self.augment, self.decode, dict(self.data))
        if model is not None and model != r.model.get("name"):
            r.model = {"name": model}
        r.model.update(model_params or {})
        r.train = replace(r.train, **{k: v for k, v in train.items() if v is not None})
        return r

    @property
    def model_name(self) -> str:
        return self.model["name"]

    @property
    def model_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.items() if k != "name"}
