"""Per-utterance boundary counts and bootstrap intervals, shared by bench/cv.py and bench/accuracy.py.

A set's F1 pools counts over its utterances; its 95% interval resamples utterances (not
boundaries: boundaries of one utterance are not independent), and a gain between two systems is
judged on the same resampled utterances (paired)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import speakers_by_name


def match_counts(ref: np.ndarray, hyp: np.ndarray, tol: float) -> tuple[int, int, int]:
    """hits, n_ref, n_hyp of one utterance (one-to-one matching within ``tol`` seconds)."""
    from phonebound.evaluation.metrics import match_boundaries

    return len(match_boundaries(ref, hyp, tol).ref_idx), len(ref), len(hyp)


def utterance_counts(model, data: Path, split: str | None, tol: float, align: str | None = None,
                     table: dict[str, str] | None = None, lang: str | None = None,
                     id_prefixes: tuple[str, ...] | None = None, speaker_regex: str | None = None) -> np.ndarray:
    """(utterances, 3): hits, n_ref, n_hyp per utterance of ``split``. Free segmentation at the
    model's own threshold, or (``align`` 'phones' | 'words') the forced alignment of each utterance
    to its reference phones or its words (``table`` id|text, else the TextGrid's words tier);
    ``id_prefixes`` keeps only the utterances whose id starts with one of them (a voice, a language);
    ``speaker_regex`` names each aligned file's speaker from its name (default: its folder)."""
    from phonebound.errors import PhoneboundError
    from phonebound.evaluation.alignments import corpus_alignments
    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores
    from phonebound.inference.calibrate import decode_scores

    pronouncer = None
    if align == "words":
        from phonebound.alignment.lexicon import Pronouncer

        pronouncer = Pronouncer(lang)
    utts, _, _ = reference_utterances(data, split)
    if id_prefixes is not None:  # e.g. only the voices whose language is ``lang``
        utts = [u for u in utts if u.id.startswith(id_prefixes)]
    if align:  # as `phonebound align` places them: the set is the corpus its phone models adapt to
        hyps = [np.zeros(0) if isinstance(h, PhoneboundError) else h  # cannot be aligned: places nothing, and counts
                for h, _ in corpus_alignments(model, utts, align, pronouncer, table,
                                              speakers=speakers_by_name(utts, speaker_regex))]
    else:
        hyps = [decode_scores(utterance_scores(model, u)[0], model.decode_cfg)[0] for u in utts]
    rows = [match_counts(u.boundaries, hyp, tol) for u, hyp in zip(utts, hyps)]
    return np.array(rows, float).reshape(-1, 3)


def prf(counts: np.ndarray) -> tuple[float, float, float]:
    hits, ref, hyp = counts.sum(0)
    p = hits / hyp if hyp else 0.0
    r = hits / ref if ref else 0.0
    return p, r, (2 * hits / (ref + hyp) if ref + hyp else 0.0)


def f1_of(counts: np.ndarray) -> float:
    return prf(counts)[2]


def bootstrap(counts: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of the pooled F1, resampling utterances."""
    idx = np.random.default_rng(seed).integers(0, len(counts), (n, len(counts)))
    stats = [f1_of(counts[i]) for i in idx]
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def paired_gain(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """F1(b) − F1(a) on the same utterances, and its paired-bootstrap 95% interval."""
    idx = np.random.default_rng(seed).integers(0, len(a), (n, len(a)))
    diffs = [f1_of(b[i]) - f1_of(a[i]) for i in idx]
    return f1_of(b) - f1_of(a), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def cell(counts: np.ndarray, n: int = 2000) -> str:
    """'0.812 [0.790, 0.833] (P 0.85 R 0.78)' for a table."""
    p, r, f = prf(counts)
    lo, hi = bootstrap(counts, n)
    return f"**{f:.3f}** [{lo:.3f}, {hi:.3f}] · P {p:.3f} · R {r:.3f}"


def gain_table(counts: dict[str, dict[str, np.ndarray]], n: int = 2000, floor: dict[str, float] | None = None) -> str:
    """Markdown: each system's F1 [95% interval] (P, R) per set, then each one's paired gain over
    the first system, ✓ where the whole interval lies above the set's ``floor`` (what the same
    recipe trained again moves; default 0), as the adoption rule counts a gain."""
    floor = floor or {}
    systems = list(counts)
    sets = list(counts[systems[0]])
    lines = ["| system | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for name in systems:
        cells = []
        for s in sets:
            p, r, f = prf(counts[name][s])
            lo, hi = bootstrap(counts[name][s], n)
            cells.append(f"{f:.3f} [{lo:.3f}, {hi:.3f}] P {p:.2f} R {r:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    base = systems[0]
    for name in systems[1:]:
        cells = []
        for s in sets:
            gain, lo, hi = paired_gain(counts[base][s], counts[name][s], n)
            cells.append(f"{gain:+.3f} [{lo:+.3f}, {hi:+.3f}]" + (" ✓" if lo > floor.get(s, 0.0) else ""))
        lines.append(f"| {name} − {base} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def add_counts(store: dict, utts: list, hyps: dict[str, list[np.ndarray]], tolerances: tuple[float, ...]) -> None:
    """Append each system's per-utterance counts at each tolerance to ``store[(system, tol)]``."""
    for system, times in hyps.items():
        for tol in tolerances:
            store.setdefault((system, tol), []).extend(match_counts(u.boundaries, h, tol) for u, h in zip(utts, times))


def grid_table(counts: dict, systems: tuple[str, ...], tolerances: tuple[float, ...], off_mask: np.ndarray | None) -> None:
    """Print F1 of each system at each tolerance (and, with ``off_mask``, at ±20 ms on the utterances
    whose references all lie off the 10 ms grid), then each system's paired gain over the first
    (bench/grid_check.py, bench/subframe.py)."""
    print("| system | " + " | ".join(f"±{t * 1000:g} ms" for t in tolerances)
          + (" | off the grid, ±20 ms |" if off_mask is not None else " |"))
    print("|---|" + "---|" * (len(tolerances) + (off_mask is not None)))
    for system in systems:
        cells = [f"{f1_of(np.array(counts[(system, t)], float)):.3f}" for t in tolerances]
        if off_mask is not None:
            cells.append(f"{f1_of(np.array(counts[(system, 0.02)], float)[off_mask]):.3f}")
        print(f"| {system} | " + " | ".join(cells) + " |")
    base, *others = systems
    for new in others:
        print(f"\n{new} over {base}, paired 95 % interval:")
        for tol in tolerances:
            a, b = (np.array(counts[(s, tol)], float) for s in (base, new))
            gain, lo, hi = paired_gain(a, b)
            line = f"  ±{tol * 1000:g} ms: {gain:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            if off_mask is not None:
                g2, lo2, hi2 = paired_gain(a[off_mask], b[off_mask])
                line += f"; off the grid {g2:+.3f} [{lo2:+.3f}, {hi2:+.3f}]"
            print(line)
    print()
