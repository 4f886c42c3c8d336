"""Does ``OUT/alignment_analysis.tsv`` find a transcript that does not belong to its recording?

Each set is aligned twice by ``phonebound align``: every recording with its own transcript, and
with the transcript of another recording of about the same length (the closest in characters, or
in phones for isolated words: so that the speaking rate alone cannot tell). Prints, per set, the
AUC of the recordings' fit (mean phone confidence) between right and wrong transcripts, and the
share of each flagged for checking (fit under ``FIT_THRESHOLD``), with Wilson 95% intervals.

    python bench/transcript_check.py [--n 100] [--model default] [--work DIR]

The threshold (0.6) was read off the flemishguy hour and kokoro's English voices; VoxAngeles'
held-out languages (isolated words, aligned to their phones) only report.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import numpy as np
from _common import require_shared

from phonebound.alignment.analysis import ANALYSIS, FIT_COLUMN, FIT_THRESHOLD
from phonebound.alignment.batch import align_paths

HELD_OUT = ["ajp", "bem", "dyo", "ema", "ozm"]  # VoxAngeles' five languages no bundled model trained on
KOKORO_ENGLISH_TEST = ["en_af_sky", "en_am_onyx", "en_bf_lily", "en_bm_lewis"]


def flemish(shared: Path, n: int, rng: random.Random) -> list[tuple[Path, str]]:
    d = shared / "flemishguy"
    rows = [line.rstrip("\n").split("|")[:2] for line in open(d / "metadata.csv", encoding="utf-8")]
    return [(d / "audio" / f"{uid}.flac", text) for uid, text in rng.sample(rows, min(n, len(rows)))]


def kokoro_english(shared: Path, n: int, rng: random.Random) -> list[tuple[Path, str]]:
    d = shared / "kokoro"
    txt = sorted(p for v in KOKORO_ENGLISH_TEST for p in d.glob(f"{v}_*.txt"))
    return [(p.with_suffix(".flac"), p.read_text(encoding="utf-8").strip()) for p in rng.sample(txt, min(n, len(txt)))]


def voxangeles_phones(shared: Path, n: int, rng: random.Random) -> list[tuple[Path, str]]:
    import praatio.textgrid as tg

    items = []
    for lang in HELD_OUT:
        for p in sorted((shared / "voxangeles" / lang).glob("*.TextGrid")):
            grid = tg.openTextgrid(str(p), includeEmptyIntervals=False)
            tier = grid.getTier(next(t for t in grid.tierNames if t.startswith("phone")))  # phones, or phone
            items.append((p.with_suffix(".flac"), " ".join(e.label for e in tier.entries)))
    return rng.sample(items, min(n, len(items)))


# name: (recordings and transcripts, align's options, a transcript's length: characters or phones)
SETS = {"flemishguy": (flemish, {"lang": "nl"}, len), "kokoro_en_test": (kokoro_english, {"lang": "en"}, len),
        "voxangeles_held_out_phones": (voxangeles_phones, {"text_kind": "phones"}, lambda t: len(t.split()))}


def wrong_transcripts(items: list[tuple[Path, str]], length) -> list[str]:
    """Each recording's wrong transcript: another's, the closest in ``length``."""
    size = [length(t) for _, t in items]
    return [items[min((j for j in range(len(items)) if items[j][1] != t), key=lambda j: abs(size[j] - size[i]))][1]
            for i, (_, t) in enumerate(items)]


def fits(items: list[tuple[Path, str]], texts: list[str], folder: Path, model: str | None, options: dict) -> np.ndarray:
    """The fit of each recording aligned to ``texts`` (nan where it could not be aligned at all)."""
    src = folder / "in"
    src.mkdir(parents=True)
    for i, ((audio, _), text) in enumerate(zip(items, texts)):
        (src / f"r{i:04d}{audio.suffix}").symlink_to(audio)
        (src / f"r{i:04d}.txt").write_text(text + "\n", encoding="utf-8")
    align_paths([src], folder / "out", model=model, **options)
    rows = {}
    for line in (folder / "out" / ANALYSIS).read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        rows[Path(cells[0]).stem] = float(cells[FIT_COLUMN])
    return np.array([rows.get(f"r{i:04d}", np.nan) for i in range(len(items))])


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    pos, neg = pos[:, None], neg[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def wilson(k: int, n: int) -> str:
    p, z = k / n, 1.96
    mid, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{p:.3f} [{max(0.0, mid - half):.3f}, {min(1.0, mid + half):.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="recordings per set")
    ap.add_argument("--model", default=None)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--work", type=Path, default=None, help="keep the alignments here (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    shared = require_shared()
    work = args.work or Path(tempfile.mkdtemp(prefix="transcript_check_"))
    print(f"fit threshold {FIT_THRESHOLD}; each set aligned to its own and to other recordings' transcripts\n")
    print("| set | recordings | fit, right (median) | fit, wrong (median) | AUC | right flagged | wrong flagged |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        make, options, length = SETS[name]
        items = make(shared, args.n, random.Random(args.seed))
        right = fits(items, [t for _, t in items], work / name / "right", args.model, options)
        wrong = fits(items, wrong_transcripts(items, length), work / name / "wrong", args.model, options)
        # a wrong transcript that could not be aligned at all is found too (its line is in skipped.tsv)
        wrong_flagged = int(np.sum(~(wrong >= FIT_THRESHOLD)))
        ok = ~np.isnan(right)
        print(f"| {name} | {len(items)} | {np.nanmedian(right):.3f} | {np.nanmedian(wrong):.3f} | "
              f"{auc(right[ok], np.nan_to_num(wrong[ok], nan=0.0)):.3f} | "
              f"{wilson(int(np.sum(right[ok] < FIT_THRESHOLD)), int(ok.sum()))} | {wilson(wrong_flagged, len(items))} |",
              flush=True)
    print(f"\n(alignments in {work}; a right transcript that could not be aligned is left out of its row)")


if __name__ == "__main__":
    main()
