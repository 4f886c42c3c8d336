"""Fine-tuning a model on a little speech of a new corpus.

``--corpus voxangeles`` (issue #8): fine-tuning vs training from scratch on half of five VoxAngeles languages.

The 5 languages of recipes/accuracy.toml's vox_holdout were never seen by the bundled default
(it trains on 38 languages; these 5 are its held-out test languages). Their files
are split in halves (seeded, by file): one half adapts a model (90 % train, 10 % dev), the other
half scores it. Both arms use the same recipe (recipes/finetune.toml) except that one starts
from the bundled default model (--init default) and the other from random weights.

``--corpus kokoro`` (issue #17: "about six minutes of a new corpus of continuous speech", scored on
its unseen speakers): the model adapts to six of kokoro's English train voices (since 2026-12-02
the bundled default has trained on those voices already, aligned to their text, so for it this is
no longer a new corpus: measure a model that never heard kokoro) (about 6 min; five
train, one is dev for early stopping and the threshold) and is scored on kokoro's English dev
voices (selection: what chooses a fine-tuning recipe) and its English test voices (report), at
±20 ms and ±50 ms (the TTS's own times, on a 25 ms grid). ``--set train.lr=0.001`` etc. change
recipes/finetune.toml for a variant.

    python bench/finetune.py [--work DIR] [--model default] [--corpus voxangeles|kokoro] [--set SECTION.KEY=VALUE ...]
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
    ap.add_argument("--corpus", choices=("voxangeles", "kokoro"), default="voxangeles")
    ap.add_argument("--languages", choices=("holdout", "dev"), default="holdout",
                    help="voxangeles: the 5 held-out languages (report) or the 5 dev ones (selection)")
    ap.add_argument("--set", action="append", default=[], help="SECTION.KEY=VALUE over recipes/finetune.toml")
    ap.add_argument("--no-scratch", action="store_true", help="voxangeles: skip the from-scratch arm")
    args = ap.parse_args()
    if args.corpus == "kokoro":
        return kokoro_finetune(args)
    from phonebound.config import read_toml
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.evaluation.evaluate import evaluate
    from phonebound.training.train import train

    shared = require_shared()
    languages = read_toml(REPO / "recipes" / "accuracy.toml")["vox_holdout"][
        "test_keys" if args.languages == "holdout" else "dev_keys"]
    data = args.work / ("heldout_languages" if args.languages == "holdout" else "dev_languages")
    if not (data / "dataset.json").exists():
        build_dataset(shared / "voxangeles", data, BuildConfig(include=tuple(f"{lang}/*" for lang in languages)),
                      overwrite=True)
    # test = the scoring half; of the adapting half, 10 % is dev (early stopping, threshold)
    counts = split_dataset(data, SplitConfig(by="file", dev=0.05, test=0.5, seed=args.seed))
    print(f"{args.languages} languages {', '.join(languages)}: utterances per split {dict(counts)}")
    recipe, tag = finetune_recipe(args.set)
    arms = [] if args.no_scratch else [("from scratch", None)]
    for arm, init in [*arms, (f"fine-tuned from {args.model} ({tag})", args.model)]:
        out = data.parent / f"{data.name}_{'scratch' if init is None else tag}"
        r = recipe if init else replace(recipe, train=replace(recipe.train, epochs=40, patience=8, lr=1e-3))
        result = train([data], out, r, init=init, resume=True)
        m = evaluate(out, data, split="test", plots=False)["boundary"]
        print(f"{arm:32} steps {result.steps:5d}  test half: P {m['precision']:.3f}  R {m['recall']:.3f}  "
              f"F1 {m['f1']:.3f}  R-value {m['r_value']:.3f}", flush=True)
    base = evaluate(args.model, data, split="test", plots=False)["boundary"]
    print(f"{args.model + ' as is (no adaptation)':32}             test half: P {base['precision']:.3f}  "
          f"R {base['recall']:.3f}  F1 {base['f1']:.3f}  R-value {base['r_value']:.3f}")
    print(f"From scratch trains 40 epochs at lr 1e-3 (patience 8); fine-tuning: recipes/finetune.toml {args.set}.")


def finetune_recipe(changes: list[str]):
    """recipes/finetune.toml with SECTION.KEY=VALUE changes (TOML values), and a tag naming them."""
    import tomllib

    from phonebound.training.recipe import Recipe

    recipe = Recipe.load(REPO / "recipes" / "finetune.toml")
    for item in changes:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        parsed = tomllib.loads(f"v = {value}")["v"]
        recipe = replace(recipe, model={**recipe.model, name: parsed}) if section == "model" else \
            replace(recipe, **{section: replace(getattr(recipe, section), **{name: parsed})})
    return recipe, "_".join(c.replace("=", "-").replace(".", "-") for c in changes) or "finetune"


# Six English train voices (about 6 min, both accents, both sexes); the last is the dev voice.
KOKORO_ADAPT = ("en_af_alloy", "en_am_adam", "en_bf_alice", "en_bm_daniel", "en_af_aoede", "en_am_echo")
KOKORO_ENGLISH = ("en_",)


def kokoro_finetune(args) -> None:
    import json

    from _scoring import bootstrap, prf, utterance_counts
    from accuracy import report_sets

    from phonebound.corpus import ReaderConfig
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.inference.detector import load_detector
    from phonebound.training.train import train

    shared = require_shared()
    _, sets = report_sets(shared, args.work)  # kokoro split by voice as recipes/accuracy.toml says
    adapt = args.work / "kokoro_adapt"
    if not (adapt / "dataset.json").exists():
        build_dataset(shared / "kokoro", adapt, BuildConfig(include=tuple(f"{v}_*" for v in KOKORO_ADAPT),
                                                            reader=ReaderConfig(speaker_regex=r"^([a-z]+_[a-z]+_[a-z]+)_")),
                      overwrite=True)
        split_dataset(adapt, SplitConfig(by="speaker", test=0.0, dev_keys=KOKORO_ADAPT[-1:]))
    recipe, tag = finetune_recipe(args.set)
    out = args.work / f"kokoro_{tag}"
    result = train([adapt], out, recipe, init=args.model, resume=True)
    rows = {}
    for name, model in ((f"{args.model} as is", load_detector(args.model, backend="torch")),
                        (f"fine-tuned ({tag}, {result.steps} steps)", load_detector(out, backend="torch"))):
        cells = []
        for split in ("dev", "test"):
            for tol in (0.02, 0.05):
                c = utterance_counts(model, sets["kokoro"], split, tol, id_prefixes=KOKORO_ENGLISH)
                p, r, f = prf(c)
                lo, hi = bootstrap(c)
                cells.append(f"{f:.3f} [{lo:.3f}, {hi:.3f}] P {p:.2f} R {r:.2f}")
        rows[name] = cells
    print("| model | English dev voices ±20 ms (selection) | ±50 ms | English test voices ±20 ms (report) | ±50 ms |")
    print("|---|---|---|---|---|")
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(json.dumps({"adapt_voices": KOKORO_ADAPT, "set": args.set, "steps": result.steps}))


if __name__ == "__main__":
    main()
