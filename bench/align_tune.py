"""Choose the aligner's weights for a model on the selection sets, never on a reported one:
VoxAngeles's dev languages aligned to their reference phones, and kokoro's dev voices aligned to
their words (their times are the synthesiser's own: ±50 ms), each set aligned as one corpus (both
passes, as `phonebound align` does). A coordinate search from the current weights; with --write the best go into the model's config.json ("align"), which `align` reads.

    python bench/align_tune.py --model DIR --work W [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from _common import require_shared

GRID = {"boundary": [0.5, 1.0, 1.5, 2.0, 3.0, 4.0], "classes": [0.0, 0.1, 0.3, 0.6], "silence": [0.1, 0.3, 1.0, 2.0],
        "features": [0.0, 0.3, 1.0, 2.0, 4.0], "duration": [0.25, 0.5, 1.0, 2.0], "pause": [0.0, 2.0, 5.0],
        "adapt": [0.0, 0.1, 0.2, 0.3, 0.5]}


def selection_items(work: Path, detector) -> dict[str, tuple]:
    """Per selection set: its utterances, their (features, heads) computed once, the text kind,
    the words of each (kokoro) and the tolerance."""
    from phonebound.evaluation.evaluate import reference_utterances

    sets = {}
    for name, data, kind, tol in (("vox_dev", work / "voxangeles", "phones", 0.02), ("kokoro_dev", work / "kokoro", "words", 0.05)):
        utts, _, _ = reference_utterances(data, "dev")
        if kind == "words":  # kokoro's dev voices: en-us/en-gb and one Spanish voice, whose words would get English G2P
            utts = [u for u in utts if Path(u.id).name.startswith("en_")]
        table = {u.id: Path(u.audio).with_suffix(".txt").read_text().strip() for u in utts} if kind == "words" else None
        inputs = [(f, detector.head_outputs([f])[0]) for f in (u.features(detector) for u in utts)]
        sets[name] = (utts, inputs, kind, table, tol)
    return sets


def score(detector, sets, weights, pronouncer) -> dict[str, float]:
    """F1 of each selection set aligned as one corpus (both passes, as `phonebound align` does)."""
    from phonebound.errors import PhoneboundError
    from phonebound.evaluation.alignments import corpus_alignments
    from phonebound.evaluation.metrics import BoundaryCounts

    out = {}
    for name, (utts, inputs, kind, table, tol) in sets.items():
        counts = BoundaryCounts(tol)
        done = corpus_alignments(detector, utts, kind, pronouncer if kind == "words" else None, table,
                                 weights=weights, inputs=inputs)
        for u, (hyp, _) in zip(utts, done):
            counts.update(u.boundaries, np.zeros(0) if isinstance(hyp, PhoneboundError) else hyp)
        out[name] = counts.f1
    return {**out, "mean": float(np.mean(list(out.values())))}


def main() -> None:
    from phonebound.alignment.lexicon import Pronouncer
    from phonebound.alignment.recording import weights_of
    from phonebound.inference.detector import load_detector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", type=Path, required=True, help="holds voxangeles/ and kokoro/ datasets split as bench/cv.py does")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    require_shared()
    detector = load_detector(args.model, backend="torch")
    items = selection_items(args.work, detector)
    pronouncer = Pronouncer("en")
    best = weights_of(detector)
    best_score = score(detector, items, best, pronouncer)
    print(f"start {best.to_dict()} -> {best_score}", flush=True)
    for _ in range(args.rounds):
        for name, values in GRID.items():
            for v in values:
                trial = dataclasses.replace(best, **{name: v})
                s = score(detector, items, trial, pronouncer)
                if s["mean"] > best_score["mean"] + 1e-4:
                    best, best_score = trial, s
                    print(f"  {name}={v}: {s}", flush=True)
    print(f"best {best.to_dict()} -> {best_score}")
    if args.write:
        path = Path(args.model) / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["align"] = {**best.to_dict(), "selected_on": "VoxAngeles dev languages (phones, ±20 ms) + kokoro dev "
                           f"voices, English (words, ±50 ms): {best_score}"}
        path.write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"written into {path}")


if __name__ == "__main__":
    main()
