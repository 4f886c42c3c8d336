"""Do the selection scores favour outputs on the 10 ms frame grid? (bench/results/accuracy.md, row 73b)

38 % of VoxAngeles's phone boundaries lie on the 10 ms grid. An output on the same grid errs by
exactly 0, 10, 20 ms..., and an inclusive ±20 ms window counts the 20 ms errors: against grid
references the window is in effect 25 ms wide for grid outputs. This prints, for a CV candidate's
fold models on their held-out languages, boundary F1 of `segment` (peaks refined within their
frame, and not) and of `align` (to the reference phones; always on the grid) at tolerances either
side of 20 ms, over all utterances and over those whose references all lie off the grid, where
the grid gives no one an edge; and the paired gain of unrefined over refined peaks.

    python bench/grid_check.py --work W [--candidate NAME] [--folds 0,1]

W is bench/cv.py's work folder, with the candidate's fold models trained.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from _scoring import add_counts, grid_table

from phonebound.evaluation.metrics import on_grid

TOLERANCES = (0.015, 0.0199, 0.02, 0.025)


def fold_hypotheses(model_dir: Path, data: Path) -> tuple[list, dict[str, list[np.ndarray]]]:
    """The held-out utterances and, per system, each one's boundary times."""
    from phonebound.errors import PhoneboundError
    from phonebound.evaluation.alignments import corpus_alignments
    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores
    from phonebound.inference.calibrate import decode_scores
    from phonebound.inference.detector import load_detector

    model = load_detector(model_dir, backend="torch")
    unrefined = dataclasses.replace(model.decode_cfg, refine=False)
    utts, _, _ = reference_utterances(data, "test")
    scores = [utterance_scores(model, u)[0] for u in utts]
    aligned = corpus_alignments(model, utts, "phones", None)
    return utts, {"segment": [decode_scores(s, model.decode_cfg)[0] for s in scores],
                  "segment, unrefined": [decode_scores(s, unrefined)[0] for s in scores],
                  "align": [np.zeros(0) if isinstance(h, PhoneboundError) else h for h, _ in aligned]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--candidate", default="honest_aligned_kokoro_vtlp15")
    ap.add_argument("--folds", default="0,1,2,3,4")
    args = ap.parse_args()
    counts: dict[tuple[str, float], list] = {}
    off: list[bool] = []
    for f in (int(x) for x in args.folds.split(",")):
        utts, hyps = fold_hypotheses(args.work / "models" / args.candidate / f"fold{f}", args.work / "data" / f"vox_fold{f}")
        off += [not on_grid(u.boundaries).any() for u in utts]
        add_counts(counts, utts, hyps, TOLERANCES)
        print(f"fold {f}: {len(utts)} utterances", flush=True)
    off_mask = np.array(off)
    print(f"\n{off_mask.sum()} of {len(off_mask)} utterances have every reference off the 10 ms grid\n")
    grid_table(counts, ("segment", "segment, unrefined"), TOLERANCES, off_mask)
    grid_table(counts, ("align",), TOLERANCES, off_mask)

if __name__ == "__main__":
    main()
