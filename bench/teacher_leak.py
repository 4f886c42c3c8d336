"""Does a pseudo-labelling teacher leak the held-out languages into the CV? (accuracy.md, row 60)

Splits the CV's held-out languages into the 38 the bundled default trained on (it labels the hour
for `today`) and the 10 it never saw (its dev and test languages, recipes/datasets.sh), and prints
each candidate's F1 on both with the paired gains (bootstrap over utterances). A teacher that leaks
lifts its students on the first group only.

    python bench/teacher_leak.py --work W [--candidate today --candidate honest --candidate plain]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from _common import REPO

import cv

# the bundled default's VoxAngeles dev and test languages: the only ones it never trained on
_VOX_SPLIT = re.search(r"split vox --by group --dev-keys (\S+) --test-keys (\S+)",
                       (REPO / "recipes" / "datasets.sh").read_text())
NEVER_SEEN = set(_VOX_SPLIT.group(1).split(",") + _VOX_SPLIT.group(2).split(","))


def held_out_languages(work: Path) -> np.ndarray:
    """The language of each utterance the CV scores, in the order of its stored counts."""
    from phonebound.evaluation.evaluate import reference_utterances

    out = []
    for f, fold in enumerate(json.loads((work / "folds.json").read_text())):
        utts, _, _ = reference_utterances(work / "data" / f"vox_fold{f}", "test")
        out += [u.id.split("/")[0] for u in utts]  # VoxAngeles ids are <language>/<file>
        assert set(out[-len(utts):]) == set(fold), f"fold {f}'s test utterances are not its languages"
    return np.array(out)


def f1(counts: np.ndarray) -> float:
    hits, ref, hyp = counts.sum(0)
    return 2 * hits / (ref + hyp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--candidate", action="append", default=None)
    args = ap.parse_args()
    names = args.candidate or ["today", "honest", "plain"]
    counts = {c: cv.candidate_counts(args.work, c, False)["cv"] for c in names}
    lang = held_out_languages(args.work)
    rng = np.random.default_rng(0)
    for group, mask in (("trained on by the bundled default", ~np.isin(lang, list(NEVER_SEEN))),
                        ("never seen by it", np.isin(lang, list(NEVER_SEEN)))):
        idx = np.flatnonzero(mask)
        draws = [rng.choice(idx, len(idx)) for _ in range(cv.protocol()["bootstrap"])]
        print(f"{group}: {len(set(lang[idx]))} languages, {len(idx)} utterances")
        for c in names:
            line = f"  {c}: {f1(counts[c][idx]):.3f}"
            if c != names[0]:
                gains = [f1(counts[names[0]][d]) - f1(counts[c][d]) for d in draws]
                gain = f1(counts[names[0]][idx]) - f1(counts[c][idx])
                line += f"; {names[0]} - {c} {gain:+.3f} [{np.percentile(gains, 2.5):+.3f}, {np.percentile(gains, 97.5):+.3f}]"
            print(line)


if __name__ == "__main__":
    main()
