"""Choose a model's phrase calibration (``decode.calibrate = "phrase"``) on the selection sets.

Within stretches of speech shorter than ``phrase_seconds`` the model keeps the threshold tuned on
its dev set (isolated words); within longer ones it uses ``phrase_threshold``. Both are chosen on
the continuous-speech selection sets (kokoro's dev voices at ±50 ms, the flemishguy dev fifth at
±20 ms: the mean of their F1s), among the choices that leave the isolated words of VoxAngeles's dev
languages no worse. Never on a reported set. With --write the choice goes into the model's
config.json ("decode"), with the figures it was chosen on ("decode_selection").

    python bench/phrase_tune.py --model DIR --data W [--write]

W holds the datasets built and split as recipes/train_default.sh makes them (vox, kokoro, flemish).
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from _scoring import f1_of, gain_table, match_counts

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
SECONDS = (1.0, 1.5, 2.0, 2.5, 3.0)
WORDS = "vox_dev"
CONTINUOUS = ("kokoro_dev", "flemish_dev")
SETS = {"vox_dev": ("vox", "dev", 0.02), "kokoro_dev": ("kokoro", "dev", 0.05), "flemish_dev": ("flemish", "dev", 0.02)}


def set_curves(detector, data: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(score curve, reference boundaries) of every utterance of each selection set."""
    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores

    out = {}
    for name, (dataset, split, _) in SETS.items():
        utts, _, _ = reference_utterances(data / dataset, split)
        out[name] = [(utterance_scores(detector, u)[0], u.boundaries) for u in utts]
    return out


def counts(curves, tol: float, cfg) -> np.ndarray:
    """(utterances, 3): hits, n_ref, n_hyp at tolerance ``tol`` when decoding with ``cfg``."""
    from phonebound.inference.calibrate import decode_scores

    rows = [match_counts(ref, decode_scores(scores, cfg)[0], tol) for scores, ref in curves]
    return np.array(rows, float).reshape(-1, 3)


def main() -> None:
    from phonebound.config import to_dict
    from phonebound.inference.detector import load_detector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--write", action="store_true", help="store the choice in the model's config.json")
    args = ap.parse_args()
    detector = load_detector(args.model, backend="torch")
    plain = replace(detector.decode_cfg, calibrate="none")
    curves = set_curves(detector, args.data)
    score = {name: (lambda cfg, name=name: counts(curves[name], SETS[name][2], cfg)) for name in SETS}
    base = {name: score[name](plain) for name in SETS}
    results = []
    for threshold, seconds in itertools.product(THRESHOLDS, SECONDS):
        cfg = replace(plain, calibrate="phrase", phrase_threshold=threshold, phrase_seconds=seconds)
        c = {name: score[name](cfg) for name in SETS}
        continuous = float(np.mean([f1_of(c[name]) for name in CONTINUOUS]))
        print(f"phrase_threshold {threshold:.2f}, phrase_seconds {seconds:.1f}: "
              + ", ".join(f"{name} {f1_of(c[name]):.4f}" for name in SETS) + f"; continuous mean {continuous:.4f}")
        if f1_of(c[WORDS]) >= f1_of(base[WORDS]):
            results.append((continuous, -abs(threshold - plain.threshold), cfg, c))
    _, _, best, best_counts = max(results, key=lambda r: r[:2])  # ties: the threshold nearest the model's
    print(f"\nchosen: phrase_threshold {best.phrase_threshold}, phrase_seconds {best.phrase_seconds} "
          f"(threshold {plain.threshold} elsewhere), {len(THRESHOLDS) * len(SECONDS)} choices tried\n")
    table = gain_table({"plain peak picking": base, "phrase calibration": best_counts})
    print(table)
    if args.write:
        path = Path(detector.path) / "config.json"
        config = json.loads(path.read_text())
        config["decode"] = to_dict(best)
        config["decode_selection"] = {
            "chosen_on": {name: f"{d}:{split} ±{tol * 1000:g} ms" for name, (d, split, tol) in SETS.items()},
            "rule": "mean F1 of the continuous sets, among choices that leave vox_dev no worse",
            "choices_tried": len(THRESHOLDS) * len(SECONDS), "table": table}
        path.write_text(json.dumps(config, indent=2) + "\n")
        print(f"written into {path}")


if __name__ == "__main__":
    main()
