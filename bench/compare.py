"""Paired comparison of model directories on one split's selection sets, for when the
cross-validation of bench/cv.py has not been run (it takes ~5 CPU-hours per recipe here).

    python bench/compare.py --data D BASE CANDIDATE [CANDIDATE ...] [--set NAME=DATASET:SPLIT:TOL ...]

D holds datasets built and split as recipes/train_default.sh makes them (vox, kokoro, flemish).
Default sets: VoxAngeles dev languages (aeb, bsq, efi, ell, kri; ±20 ms), kokoro's dev voices
(±50 ms: the TTS's own times) and the flemishguy hour's dev fifth (±20 ms, labelled by the
aligner named in that dataset's build: a frozen model, never the candidate). Each cell: F1
[95% interval]; each gain over BASE: paired bootstrap on the same utterances, ✓ when the whole
interval lies above zero (the adoption rule of recipes/selection.toml).
"""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

import numpy as np
from _scoring import gain_table, utterance_counts

DEFAULT_SETS = ("vox_dev=vox:dev:0.02", "kokoro_dev=kokoro:dev:0.05", "flemish_dev=flemish:dev:0.02")


@functools.cache
def detector_of(model: str):
    from phonebound.inference.detector import load_detector

    return load_detector(model, backend="torch")


def model_counts(model: str, name: str, spec: tuple[Path, str, float], cache: Path | None) -> np.ndarray:
    key = cache / f"{re.sub(r'[^A-Za-z0-9]+', '_', model)}__{name}.npy" if cache else None
    if key and key.exists():
        return np.load(key)
    counts = utterance_counts(detector_of(model), *spec)
    if key:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.save(key, counts)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("models", nargs="+", help="model directories or names; the first is the incumbent")
    ap.add_argument("--set", action="append", default=None, help="NAME=DATASET:SPLIT:TOLERANCE_S")
    ap.add_argument("--bootstrap", type=int, default=2000)
    ap.add_argument("--cache", type=Path, help="keep each model's per-utterance counts here (keyed by model and set)")
    args = ap.parse_args()
    sets = {}
    for item in args.set or DEFAULT_SETS:
        name, _, spec = item.partition("=")
        dataset, split, tol = spec.split(":")
        sets[name] = (args.data / dataset, split, float(tol))
    counts = {model: {name: model_counts(model, name, spec, args.cache) for name, spec in sets.items()}
              for model in args.models}
    print(gain_table(counts, args.bootstrap))


if __name__ == "__main__":
    main()
