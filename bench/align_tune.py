"""Choose the aligner's weights for a model on the selection sets, never on a reported one:
VoxAngeles's dev languages aligned to their reference phones, and kokoro's dev voices aligned to
their words (their times are the synthesiser's own: ±50 ms). A coordinate search from the current
weights; with --write the best go into the model's config.json ("align"), which `align` reads.

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
        "features": [0.0, 0.3, 1.0, 2.0, 4.0], "duration": [0.25, 0.5, 1.0, 2.0], "pause": [0.0, 2.0, 5.0]}


def selection_items(work: Path, detector) -> list[tuple]:
    """(utterance, heads, text kind, text, tolerance) of the selection sets; heads computed once."""
    from phonebound.evaluation.alignments import reference_text
    from phonebound.evaluation.evaluate import reference_utterances, utterance_heads

    items = []
    for data, kind, tol in ((work / "voxangeles", "phones", 0.02), (work / "kokoro", "words", 0.05)):
        utts, _, _ = reference_utterances(data, "dev")
        for u in utts:
            text = reference_text(u, kind) if kind == "phones" else Path(u.audio).with_suffix(".txt").read_text().strip()
            items.append((u, utterance_heads(detector, u), kind, text, tol))
    return items


def score(detector, items, weights, pronouncer) -> dict[str, float]:
    from phonebound.alignment.recording import align_features
    from phonebound.alignment.transcripts import Transcript
    from phonebound.errors import PhoneboundError
    from phonebound.evaluation.metrics import BoundaryCounts

    counts = {"phones": BoundaryCounts(0.02), "words": BoundaryCounts(0.05)}
    for u, heads, kind, text, _ in items:
        try:
            rec = align_features(detector, heads, u.end - u.start, Transcript(((0.0, None, text),), "sel"), kind,
                                 pronouncer if kind == "words" else None, weights)
            hyp = rec.alignment.boundaries
        except PhoneboundError:
            hyp = np.zeros(0)
        counts[kind].update(u.boundaries, hyp)
    return {"vox_dev": counts["phones"].f1, "kokoro_dev": counts["words"].f1,
            "mean": (counts["phones"].f1 + counts["words"].f1) / 2}


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
    pronouncer = Pronouncer("en")  # kokoro's dev voices: en-us/en-gb and one Spanish voice, whose words get English G2P
    items = [it for it in items if it[2] == "phones" or Path(it[0].id).name.startswith("en_")]
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
