"""What a training run trains with, set up once: the batches of the train and dev splits, the
network (fresh, or starting from another model's weights), its optimizer, the process group under
torchrun, and the model directory's config.

:class:`TrainingSetup` holds all of it; the step computation (:mod:`.steps`), dev evaluation
(:mod:`.dev`), checkpoints (:mod:`.checkpoints`) and the loop (:mod:`.loop`) read what they need
from it. Everything here happens in a fixed order after ``torch.manual_seed(seed)``, so the initial
weights, and with them every later step, are a function of the recipe.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..config import FeatureConfig, to_dict
from ..dataset.store import Dataset
from ..errors import ModelError, PhoneboundError
from ..inference.detector import load_detector
from ..models import build_model, get_spec
from ..models.bilstm import AUXILIARY_HEADS
from .averaging import WeightAverage
from .batches import TaggerData, WindowData, check_compatible
from .distributed import Distributed, rank_seed
from .recipe import Recipe


class TrainingSetup:
    """Data, model, optimizer and process group of one run into ``out``.

    Attributes read by the other training modules: ``datasets``, ``out``, ``recipe``, ``cfg`` (the
    recipe's TrainConfig), ``kind`` (tagger | window), ``device``, ``dist``, ``rank``, ``world``,
    ``train_data`` / ``dev_data`` (:class:`TaggerData` or :class:`WindowData`), ``input_dim``,
    ``pos_weight`` (tagger) or ``class_weight`` (window), ``total_steps``, ``model`` and
    ``ddp_model`` (the same network, DDP-wrapped under torchrun), ``optimizer``, ``averaged`` (a
    :class:`WeightAverage` or None), ``use_amp``, ``decode_cfg`` (dev tuning may change it) and
    ``init_from`` (the ``--init`` model directory, or None).
    """

    def __init__(self, datasets: list[Dataset], out: Path, recipe: Recipe, init=None):
        self.datasets, self.out, self.recipe = datasets, out, recipe
        self.cfg = recipe.train
        spec = get_spec(recipe.model_name)
        self.kind = spec.kind
        if self.kind == "untrained":
            raise PhoneboundError(f"model {recipe.model_name!r} has nothing to train",
                                  fix="use it directly: `phonebound evaluate spectral DATA`")
        check_compatible(datasets, self.kind)
        if self.cfg.threads > 0:
            torch.set_num_threads(self.cfg.threads)
        elif self.kind == "window":
            torch.set_num_threads(1)  # a 10-step LSTM on 128 examples: thread hand-offs cost more than they save
        self.device = torch.device(self.cfg.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PhoneboundError(f"--device {self.cfg.device} requested but no CUDA GPU is available", fix="use --device cpu")
        # Under torchrun (WORLD_SIZE > 1) join the process group: gloo on CPU, NCCL on cuda:LOCAL_RANK.
        self.dist = Distributed(self.device)
        self.rank, self.world, self.device = self.dist.rank, self.dist.world, self.dist.device
        torch.manual_seed(self.cfg.seed)
        self._setup_data()
        self.model = build_model(recipe.model_name, recipe.model_params, self.input_dim).to(self.device)
        self.init_from: str | None = None
        if init is not None:
            self._load_init(init)
        if self.cfg.freeze_layers:
            self._freeze_lower_layers(init)
        if self.world > 1 and hasattr(self.model, "loss"):
            raise PhoneboundError("self-supervised training runs in one process", fix="run it without torchrun")
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        self.ddp_model = self.dist.wrap(self.model)  # DistributedDataParallel when WORLD_SIZE > 1
        if self.rank > 0:
            torch.manual_seed(rank_seed(self.cfg.seed, self.rank))  # each rank its own dropout masks
        self.decode_cfg = recipe.decode  # the decoder settings the model will carry (tuned on dev at the end)
        self.averaged = WeightAverage(self.model, self.cfg.ema_decay) if self.cfg.ema_decay > 0 else None
        self.use_amp = self.cfg.amp and self.device.type == "cuda"  # bfloat16: no loss scaling needed

    # --- data -------------------------------------------------------------------------------
    def _setup_data(self) -> None:
        c = self.cfg
        if self.kind == "tagger":
            if c.balance == "oversample":
                raise PhoneboundError("--balance oversample repeats window examples; taggers see whole utterances",
                                      fix="use --balance weight (or none) with the bilstm tagger")
            teacher = None
            if get_spec(self.recipe.model_name).teacher == "spectral":  # self-training: alignments never read
                from .distill import SpectralTeacher

                teacher = SpectralTeacher()
            distill = None
            if c.teachers:
                from .distill import TeacherEnsemble

                distill = TeacherEnsemble(list(c.teachers), FeatureConfig(**self.datasets[0].meta["config"]["features"]),
                                          threads=c.threads)
            self.train_data = TaggerData(self.datasets, "train", c.max_frames, self.recipe.augment, c.seed,
                                         teacher=teacher, distill=distill, distill_weight=c.distill_weight,
                                         heads=auxiliary_heads(self.recipe.model))
            self.dev_data = TaggerData(self.datasets, "dev", max_frames=10**9)
            self.input_dim = self.datasets[0].feature_dim
            self.pos_weight = (c.pos_weight or pos_weight_from(self.train_data.positive_fraction())) \
                if c.balance == "weight" else 1.0
        else:
            if c.teachers:
                raise PhoneboundError("distillation teachers score whole utterances: the window model cannot use them",
                                      fix="drop `teachers` from [train], or train the bilstm tagger")
            multiply = c.multiply if c.balance == "oversample" else 1
            self.train_data = WindowData(self.datasets, "train", oversample=multiply, seed=c.seed)
            self.dev_data = WindowData(self.datasets, "dev")
            self.input_dim = int(self.datasets[0].shard_array(self.datasets[0].shards()[0], "features").shape[-1])
            pos = float(self.train_data.labels.mean())
            self.class_weight = torch.tensor([1.0, pos_weight_from(pos)]) if c.balance == "weight" else None
            self._window_epoch = math_ceil(len(self.train_data), c.batch_size)  # global batches, any world size
        self.total_steps = c.steps if c.steps > 0 else sum(self.epoch_steps(e) for e in range(c.epochs))

    def epoch_steps(self, epoch: int) -> int:
        """Optimizer steps in an epoch (a tagger epoch's batch count varies a little with the shuffle)."""
        if self.kind == "tagger":
            return max(1, len(self.train_data.epoch_batches(epoch, self.cfg.batch_frames)))
        return self._window_epoch

    # --- the network ------------------------------------------------------------------------
    def _load_init(self, init) -> None:
        source = load_detector(init, backend="torch")  # the weights, even where an ONNX export exists
        if source.module is None:
            raise ModelError("the --init model has no weights", source.path, "pick a trained model directory")
        if source.name == "ensemble":
            raise ModelError("an ensemble cannot be fine-tuned as one network", source.path,
                             "start from one of its members, or from --init default")
        own, theirs = self.model.state_dict(), source.module.state_dict()
        shared = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
        # The same architecture must take every weight of the init model except its training-only
        # heads; this model may add heads.
        needed = [k for k in theirs if not k.startswith(AUXILIARY_HEADS)]
        if source.name == self.recipe.model_name and any(k not in shared for k in needed):
            raise ModelError("the --init model's architecture differs from this recipe's", source.path,
                             "train with the init model's settings (its config.json) or drop --init")
        if not shared:
            raise ModelError("no weights of the --init model fit this model", source.path, "check --model")
        self.model.load_state_dict(shared, strict=False)
        self.init_from = str(source.path)

    def _freeze_lower_layers(self, init) -> None:
        n = self.cfg.freeze_layers
        if init is None:
            raise PhoneboundError(f"freeze_layers = {n} keeps weights that only --init can give",
                                  fix="train with --init MODEL, or set freeze_layers = 0")
        if not hasattr(self.model, "lower_layers"):
            raise PhoneboundError(f"freeze_layers keeps layers of the bilstm tagger, not of the {self.recipe.model_name} model",
                                  fix="set freeze_layers = 0")
        have = self.model.cfg.layers
        if n > have:
            raise PhoneboundError(f"freeze_layers = {n}, but the model has {have} recurrent layers",
                                  fix=f"set freeze_layers between 0 and {have}")
        for module in self.model.lower_layers(n):
            module.requires_grad_(False)

    # --- the model directory's config -------------------------------------------------------
    def model_config(self, threshold: float | None = None, calibration: dict | None = None) -> dict[str, Any]:
        """``config.json`` of the model directory: model, input features, decoder settings (with
        ``threshold`` and the dev ``calibration`` statistics when given), recipe and data."""
        ds = self.datasets[0]
        key = "features" if self.kind == "tagger" else "region"
        decode = self.decode_cfg if threshold is None else replace(self.decode_cfg, threshold=threshold)
        if calibration:  # dev statistics for label-free calibration; a recipe's own values win
            decode = replace(decode, target_rate=decode.target_rate or calibration["target_rate"],
                             reference_level=decode.reference_level or calibration["reference_level"])
        decode = to_dict(decode)
        return {"model": {"name": self.recipe.model_name, "params": self.recipe.model_params},
                "input": {"layout": ds.layout, key: ds.meta["config"][key], "dim": self.input_dim},
                "decode": decode, "recipe": self.recipe.to_dict(),
                "data": {"datasets": [str(d.root) for d in self.datasets],
                         "train_utterances": sum(len(d.indices("train")) for d in self.datasets),
                         "dev_utterances": sum(len(d.indices("dev")) for d in self.datasets)},
                "init": self.init_from}


def pos_weight_from(fraction: float) -> float:
    """negatives / positives for a positive fraction (1.0 when undefined)."""
    return (1 - fraction) / fraction if 0 < fraction < 1 else 1.0


def math_ceil(a: int, b: int) -> int:
    return max(1, -(-a // b))


def auxiliary_heads(model: dict) -> tuple[str, ...]:
    """The auxiliary heads a model's settings ask for, in training.targets' names."""
    wanted = {"classes": model.get("phone_classes"), "features": model.get("phone_features"),
              "pairs": model.get("class_pairs"), "offset": model.get("boundary_offset")}
    return tuple(name for name, on in wanted.items() if on)
