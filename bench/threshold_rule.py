"""Does a fold model's threshold chosen on its VoxAngeles dev languages alone transfer better than
the one training chose on the pooled dev (those languages + the synth dev files + any other dev)?

Each fold model of a candidate (bench/cv.py) scores its inner dev languages, its held-out languages
('cv') and the continuous dev sets; its score curves are kept in WORK/curves so a second run only
decodes. Prints the three selection figures under both rules and the paired gain (row 64 of
bench/results/accuracy.md).

    python bench/threshold_rule.py --work W --candidate honest_aligned
"""

from __future__ import annotations

import argparse
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
from _scoring import f1_of, match_counts, paired_gain
from cv import protocol

THRESHOLDS = np.round(np.arange(0.3, 0.91, 0.05), 2)


def fold_curves(work: Path, candidate: str, f: int, model) -> dict:
    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores

    cache = work / "curves" / f"{candidate}_fold{f}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    sets = {"vox_dev": (f"vox_fold{f}", "dev", 0.02), "cv": (f"vox_fold{f}", "test", 0.02)}
    sets |= {name: (spec["dataset"], spec["split"], spec["tolerance"]) for name, spec in protocol()["continuous"].items()}
    curves = {}
    for name, (data, split, tol) in sets.items():
        utts, _, _ = reference_utterances(work / "data" / data, split)
        curves[name] = (tol, [(utterance_scores(model, u)[0], u.boundaries) for u in utts])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(curves))
    return curves


def counts(curve_set, cfg) -> np.ndarray:
    from phonebound.inference.calibrate import decode_scores

    tol, pairs = curve_set
    return np.array([match_counts(ref, decode_scores(s, cfg)[0], tol) for s, ref in pairs], float).reshape(-1, 3)


def main() -> None:
    from phonebound.inference.detector import load_detector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--candidate", required=True)
    args = ap.parse_args()
    rules: dict[str, dict[str, list]] = {"pooled dev": {}, "VoxAngeles dev": {}}
    for f in range(protocol()["folds"]):
        model = load_detector(args.work / "models" / args.candidate / f"fold{f}", backend="torch")
        curves, cfg = fold_curves(args.work, args.candidate, f, model), model.decode_cfg
        words = max(THRESHOLDS, key=lambda t: f1_of(counts(curves["vox_dev"], replace(cfg, threshold=float(t)))))
        print(f"fold {f}: pooled dev {cfg.threshold:g}, VoxAngeles dev {words:g}")
        for rule, threshold in (("pooled dev", cfg.threshold), ("VoxAngeles dev", float(words))):
            for name in curves.keys() - {"vox_dev"}:
                rules[rule].setdefault(name, []).append(counts(curves[name], replace(cfg, threshold=threshold)))
    for name in sorted(rules["pooled dev"]):
        a, b = (np.concatenate(rules[r][name]) for r in ("pooled dev", "VoxAngeles dev"))
        gain, lo, hi = paired_gain(a, b)
        print(f"{name}: pooled dev {f1_of(a):.3f}, VoxAngeles dev {f1_of(b):.3f}, gain {gain:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
