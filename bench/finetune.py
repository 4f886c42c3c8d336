"""Fine-tuning vs training from scratch on half of five VoxAngeles languages (issue #8).

The 5 languages of recipes/accuracy.toml's vox_holdout were never seen by the previous default
model (the current one trains on every language but its 5 dev ones: measure it with a model
trained without them, e.g. a bench/cv.py fold model whose test fold holds them). Their files
are split in halves (seeded, by file): one half adapts a model (90 % train, 10 % dev), the other
half scores it. Both arms use the same recipe (recipes/finetune.toml) except that one starts
from the bundled default model (--init default) and the other from random weights.

    python bench/finetune.py [--work DIR] [--model default]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from _common import REPO, require_shared


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-finetune")
    ap.add_argument("--model", default="default", help="the model to fine-tune")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from phonebound.config import read_toml
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.evaluation.evaluate import evaluate
    from phonebound.training.recipe import Recipe
    from phonebound.training.train import train

    shared = require_shared()
    languages = read_toml(REPO / "recipes" / "accuracy.toml")["vox_holdout"]["test_keys"]
    data = args.work / "heldout_languages"
    if not (data / "dataset.json").exists():
        build_dataset(shared / "voxangeles", data, BuildConfig(include=tuple(f"{lang}/*" for lang in languages)),
                      overwrite=True)
    # test = the scoring half; of the adapting half, 10 % is dev (early stopping, threshold)
    counts = split_dataset(data, SplitConfig(by="file", dev=0.05, test=0.5, seed=args.seed))
    print(f"held-out languages {', '.join(languages)}: utterances per split {dict(counts)}")
    recipe = Recipe.load(REPO / "recipes" / "finetune.toml")
    results = {}
    for arm, init in (("from scratch", None), (f"fine-tuned from {args.model}", args.model)):
        out = args.work / ("scratch" if init is None else "finetuned")
        r = Recipe(dict(recipe.model), replace(recipe.train, epochs=recipe.train.epochs if init else 40,
                                               patience=recipe.train.patience if init else 8,
                                               lr=recipe.train.lr if init else 1e-3),
                   recipe.augment, recipe.decode)
        result = train([data], out, r, init=init, resume=True)
        m = evaluate(out, data, split="test", plots=False)["boundary"]
        results[arm] = m
        print(f"{arm:32} steps {result.steps:5d}  test half: P {m['precision']:.3f}  R {m['recall']:.3f}  "
              f"F1 {m['f1']:.3f}  R-value {m['r_value']:.3f}", flush=True)
    base = evaluate(args.model, data, split="test", plots=False)["boundary"]
    print(f"{args.model + ' as is (no adaptation)':32}             test half: P {base['precision']:.3f}  "
          f"R {base['recall']:.3f}  F1 {base['f1']:.3f}  R-value {base['r_value']:.3f}")
    print("From scratch trains 40 epochs at lr 1e-3 (patience 8); fine-tuning 15 epochs at lr 3e-4 (patience 4).")


if __name__ == "__main__":
    main()
