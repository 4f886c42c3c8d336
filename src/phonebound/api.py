"""Keyword-argument entry points behind the CLI (options to configs, summaries to text)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.markup import escape

from .config import FeatureConfig, RegionConfig
from .corpus import ReaderConfig
from .dataset.build import BuildConfig, BuildSummary, build_dataset
from .dataset.executors import close_executor, make_executor
from .dataset.splits import SplitConfig, dataset_info, split_dataset
from .io_utils import check_output_dir


def build(corpus: Path, output: Path, *, format=None, tier=None, layout="sequence", features="mfcc_deltas",
          region_ms=10, min_silence=0.3, speaker_regex=None, include=(), jobs=1, executor="local",
          scheduler=None, resume=False, overwrite=False, progress=False, shard_items=64) -> BuildSummary:
    cfg = BuildConfig(
        layout=layout, format=format, features=FeatureConfig(kind=features),
        region=RegionConfig(region_ms=region_ms, difference=layout == "difference"),
        reader=ReaderConfig(tier=tier, min_silence=min_silence, speaker_regex=speaker_regex), include=tuple(include),
        shard_items=shard_items,
    )
    pool = make_executor(executor, jobs, scheduler)
    try:
        return build_dataset(corpus, output, cfg, executor=pool, resume=resume, overwrite=overwrite, progress=progress)
    finally:
        close_executor(pool)


def print_build_summary(s: BuildSummary, console) -> None:
    reasons = Counter(reason.split(" (")[0] for _, reason in s.skipped)
    console.print(f"built {s.out}: {s.files} files, {s.utterances} utterances, {s.hours * 60:.1f} min of audio, "
                  f"{s.boundaries} boundaries, {s.frames} rows in {s.seconds:.1f} s"
                  + (f" ({s.shards_reused} shards reused)" if s.shards_reused else ""))
    if s.skipped:
        console.print(f"skipped {len(s.skipped)} (listed in {s.out / 'skipped.tsv'}):")
        for reason, n in reasons.most_common(5):
            console.print(f"  {n} × {reason}")
    if s.warnings:
        console.print(f"{len(s.warnings)} repaired annotation problems (listed in {s.out / 'warnings.txt'})")


def split(dataset: Path, *, by="speaker", dev=0.1, test=0.1, seed=0, dev_keys=(), test_keys=()) -> Counter:
    return split_dataset(dataset, SplitConfig(by=by, dev=dev, test=test, seed=seed, dev_keys=tuple(dev_keys),
                                              test_keys=tuple(test_keys)))


def print_info(dataset: Path, console, as_json: bool = False) -> None:
    info = dataset_info(dataset)
    if as_json:
        console.print_json(json.dumps(info))
        return
    labels = info.pop("labels")
    console.print(f"[bold]{escape(str(info['path']))}[/] " + escape(f"({info['layout']} layout, from {info['corpus']})"),
                  markup=True)
    console.print(f"  utterances {info['utterances']}, speakers {info['speakers']}, groups {info['groups']}")
    console.print(f"  audio {info['minutes']:.1f} min ({info['hours']:.3f} h), rows {info['rows']}")
    console.print(f"  boundaries {info['boundaries']} ({info['boundaries_per_second']:.2f} per second)")
    console.print(f"  splits {info['splits']}")
    if "label_counts" in info:
        console.print(f"  label counts {info['label_counts']}")
    top = ", ".join(f"{k or '(silence)'}:{v}" for k, v in list(labels.items())[:25])
    console.print(f"  {len(labels)} phone labels; most frequent: {top}")
    console.print(f"  skipped files {info['skipped']}")


def parse_params(values: list[str]) -> dict:
    """``KEY=VALUE`` strings to a dict, values parsed as TOML scalars (numbers, booleans, strings)."""
    from .config import tomllib
    from .errors import PhoneboundError

    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PhoneboundError(f"bad --param {item!r}", fix="write KEY=VALUE, e.g. --param hidden=96")
        try:
            params[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            params[key.strip()] = value.strip()
    return params


def train(datasets, output, *, config=None, model=None, params=None, augment=None, init=None, resume=False,
          progress=False, **train_options):
    from dataclasses import replace

    from .training.recipe import Recipe
    from .training.train import train as run

    check_output_dir(output, 50)  # fail before any work, not at the first checkpoint
    recipe = Recipe.load(config).with_overrides(model=model, model_params=params, **train_options)
    if augment is not None:
        recipe.augment = replace(recipe.augment, prob=augment)
    recipe.data = {**recipe.data, "datasets": [str(d) for d in datasets]}
    return run(datasets, output, recipe, resume=resume, init=init, progress=progress)


def print_train_result(result, console) -> None:
    dev = result.dev.get("dev", {})
    console.print(f"trained {result.steps} steps in {result.seconds:.0f} s; best dev at step {result.best_step}"
                  + (" (stopped early)" if result.stopped_early else ""))
    if "boundary_f1" in dev:
        console.print(f"dev boundaries (±20 ms, one-to-one) at threshold {dev['threshold']:.2f}: "
                      f"P {dev['boundary_precision']:.3f}  R {dev['boundary_recall']:.3f}  "
                      f"F1 {dev['boundary_f1']:.3f}  R-value {dev['r_value']:.3f}")
    if "class1_recall" in dev:
        console.print(f"dev regions: accuracy {dev['accuracy']:.3f}  class-1 precision {dev['class1_precision']:.3f}  "
                      f"recall {dev['class1_recall']:.3f}  F1 {dev['class1_f1']:.3f}")
    console.print(f"model written to {result.out}")


def tune(datasets, output, *, trials=20, storage=None, study_name="phonebound", config=None, model=None, timeout=None):
    from .training.recipe import Recipe
    from .training.tune import tune as run

    check_output_dir(output, 50)
    recipe = Recipe.load(config).with_overrides(model=model)
    recipe.data = {**recipe.data, "datasets": [str(d) for d in datasets]}
    return run(datasets, output, recipe, trials=trials, storage=storage, study_name=study_name, timeout=timeout)
