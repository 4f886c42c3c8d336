"""Two fine-tuning recipes compared as pools of trainings (bench/finetune.py --corpus kokoro runs).

Each arm is one or more model folders that ``bench/finetune.py --corpus kokoro --work W`` wrote
(``W/kokoro_<tag>``, one per seed); their per-utterance counts on kokoro's English voices are summed
and the second arm's gain over the first is printed with its paired-bootstrap 95% interval, on the dev
voices (selection) and the test voices (report), at ±20 and ±50 ms.

    python bench/finetune_pooled.py --work W --base kokoro_train-seed-0 kokoro_train-seed-1 \
        --candidate 'kokoro_train-seed-0_augment-…' 'kokoro_train-seed-1_augment-…'
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import require_shared
from _scoring import paired_gain, prf, utterance_counts
from finetune import KOKORO_ENGLISH


def pooled_counts(models: list, kokoro: Path, split: str, tol: float):
    """Per-utterance counts on kokoro's English voices of ``split``, summed over the arm's models."""
    return sum(utterance_counts(m, kokoro, split, tol, id_prefixes=KOKORO_ENGLISH) for m in models)


def main() -> None:
    from accuracy import report_sets

    from phonebound.inference.detector import load_detector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--base", nargs="+", required=True)
    ap.add_argument("--candidate", nargs="+", required=True)
    args = ap.parse_args()
    _, sets = report_sets(require_shared(), args.work)
    arms = [[load_detector(args.work / d, backend="torch") for d in dirs] for dirs in (args.base, args.candidate)]
    for split in ("dev", "test"):
        for tol in (0.02, 0.05):
            a, b = (pooled_counts(models, sets["kokoro"], split, tol) for models in arms)
            gain, lo, hi = paired_gain(a, b)
            (pa, ra, fa), (pb, rb, fb) = prf(a), prf(b)
            print(f"{split} ±{tol * 1000:.0f} ms: {fa:.3f} (P {pa:.2f} R {ra:.2f}) -> {fb:.3f} (P {pb:.2f} R {rb:.2f}): "
                  f"{gain:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
