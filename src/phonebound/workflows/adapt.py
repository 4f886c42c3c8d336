"""Adapting a model to a corpus without labels (self-training on the corpus to be segmented).

The model labels the corpus (:func:`.pseudolabel.pseudo_label`: its own boundaries and broad
classes), then is fine-tuned on those labels for a fixed, small number of steps, with the
augmentation of the fine-tuning recipe (gain, noise, speed), starting from its own weights. What it
learns is to give its answer on the corpus's voices, channel and language when the audio is
perturbed: the consistency that noisy-student training teaches (Xie et al. 2020), here on the
very corpus the user segments, as speech recognisers are adapted to a new domain without
transcripts. The adapted model decides as the model it came from (threshold, calibration, the
aligner's weights): a threshold tuned on its own labels would measure agreement, not accuracy.
Measured in bench/results/accuracy.md (row 77), on corpora of 5 to 12 minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PhoneboundError
from ..io_utils import atomic_write_bytes, check_output_dir
from .pseudolabel import load_teacher, pseudo_label

ADAPT_STEPS = 45  # chosen on the CV's held-out languages (row 77): 10, 20, 30, 45 steps tried
MIN_SECONDS = 60.0  # below a minute of speech 45 steps would learn the few recordings by heart
DEV_SHARE = 0.1  # the trainer wants a dev split; evaluated once, at the last step, it chooses nothing
SEED = 0
# recipes/finetune.toml's training and augmentation, which the adaptation was measured with
TRAIN = {"lr": 1e-3, "batch_frames": 6000, "max_frames": 1500, "balance": "weight", "metric": "boundary_f1",
         "phone_class_weight": 0.3, "patience": 0}
AUGMENT = {"prob": 0.5}
# what the adapted model keeps of the model it came from (its decision, not one tuned on its own labels)
KEPT = ("decode", "align")


@dataclass
class AdaptSummary:
    out: Path
    recordings: int = 0
    audio_seconds: float = 0.0
    boundaries: int = 0  # the model's own boundaries, which it adapted to
    steps: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def adaptation_recipe(base, steps: int, seed: int):
    """The fine-tuning recipe: ``base``'s architecture, ``steps`` steps, one dev evaluation at the end."""
    from ..training.recipe import Recipe

    model = {"name": base.config["model"]["name"], **base.config["model"].get("params", {})}
    return Recipe.from_dict({"model": model, "train": {**TRAIN, "steps": steps, "eval_every": steps, "seed": seed},
                             "augment": AUGMENT, "decode": dict(base.config.get("decode", {}))})


def adapt(inputs: list[str | Path], out: str | Path, model: str | Path | None = None, steps: int | None = None,
          seed: int = SEED, progress: bool = False) -> AdaptSummary:
    """Write to ``out`` a model directory: ``model`` (default: bundled) adapted to the recordings
    in ``inputs`` (files or folders) by training ``steps`` steps on its own labels of them. Its
    pseudo-labels and their dataset are kept under ``out/adaptation``; a rerun resumes."""
    from .. import api
    from ..dataset.splits import dev_view
    from ..dataset.store import Dataset
    from ..training.train import train

    out, steps = Path(out), ADAPT_STEPS if steps is None else steps
    if steps < 1:
        raise PhoneboundError(f"--steps {steps} adapts nothing", fix=f"give at least 1 step (default {ADAPT_STEPS})")
    check_output_dir(out, 50)
    base = load_teacher(model)
    work = out / "adaptation"
    labels = pseudo_label(inputs, work / "pseudo_labels", model=base.path or model)
    summary = AdaptSummary(out, skipped=labels.skipped)
    if not labels.written and not labels.reused:
        raise PhoneboundError(f"no recording could be labelled: all {len(labels.skipped)} were skipped",
                              labels.out / "skipped.tsv", "fix the files listed there (each with its reason)")
    data = work / "dataset"
    if not (data / "dataset.json").exists():
        api.build(work / "pseudo_labels", data)
    records = Dataset(data).records
    summary.recordings = len({r.audio for r in records})
    summary.audio_seconds = sum(r.duration for r in records)
    summary.boundaries = sum(len(r.boundaries_array) for r in records)
    if summary.audio_seconds < MIN_SECONDS:
        raise PhoneboundError(f"the recordings hold {summary.audio_seconds:.0f} s of audio, too little to adapt to",
                              ", ".join(map(str, inputs)),
                              f"give at least {MIN_SECONDS:.0f} s of the corpus, or segment with the model as it is")
    dev = work / "dev_view"  # part of the same audio: the trainer evaluates once, at the end
    if not (dev / "dataset.json").exists():
        dev_view(data, dev, DEV_SHARE, seed)
    recipe = adaptation_recipe(base, steps, seed)
    recipe.data = {"datasets": [str(data), str(dev)]}
    result = train([data, dev], out, recipe, resume=True, init=base.path or "default", progress=progress)
    keep_decision(out, base, {"inputs": [str(p) for p in inputs], "steps": steps, "seed": seed,
                              "recordings": summary.recordings, "audio_seconds": summary.audio_seconds})
    summary.steps, summary.seconds = result.steps, result.seconds
    return summary


def keep_decision(out: Path, base, adaptation: dict) -> None:
    """The adapted model's config.json takes ``base``'s decision rule and aligner weights back, and
    says what it was adapted from and to (every run writes its configuration beside its outputs)."""
    path = out / "config.json"
    config = json.loads(path.read_text())
    for key in KEPT:
        if key in base.config:
            config[key] = base.config[key]
        else:
            config.pop(key, None)
    config["adapted"] = {"from": str(base.path or base.name), **adaptation}
    atomic_write_bytes(path, (json.dumps(config, indent=2) + "\n").encode())
