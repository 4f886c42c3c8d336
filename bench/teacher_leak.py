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
from _scoring import f1_of, paired_gain

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--candidate", action="append", default=None)
    args = ap.parse_args()
    names = args.candidate or ["today", "honest", "plain"]
    counts = {c: cv.candidate_counts(args.work, c, False)["cv"] for c in names}
    lang = held_out_languages(args.work)
    for group, mask in (("trained on by the bundled default", ~np.isin(lang, list(NEVER_SEEN))),
                        ("never seen by it", np.isin(lang, list(NEVER_SEEN)))):
        print(f"{group}: {len(set(lang[mask]))} languages, {mask.sum()} utterances")
        first = counts[names[0]][mask]
        for c in names:
            line = f"  {c}: {f1_of(counts[c][mask]):.3f}"
            if c != names[0]:
                gain, lo, hi = paired_gain(counts[c][mask], first, cv.protocol()["bootstrap"])
                line += f"; {names[0]} - {c} {gain:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            print(line)


if __name__ == "__main__":
    main()
