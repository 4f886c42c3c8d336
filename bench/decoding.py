"""Decoding and ensembling experiments on the cross-corpus sets (issue #8, experiment log rows 20-21).

Scores every set of recipes/accuracy.toml once per model, then compares on the same scores:

- peak picking (what ``segment`` does) at the model's own threshold;
- a segmental decoder: a dynamic programme over the score peaks that maximises the summed
  log-odds of the chosen boundaries minus a threshold, plus ``lam`` times a log-normal phone
  duration prior (fitted on the train splits) for every segment between two chosen boundaries;
- an ensemble: the mean score curve of all ``--model``s, peak-picked;
- test-time augmentation (``--tta 0.9,1.0,1.1``): each model's mean score curve over copies of
  every recording played at those speeds, mapped back onto the original 10 ms grid.

Every free parameter (threshold, ``lam``) is chosen on the VoxAngeles dev languages and the
held-out rows are reported as in bench/accuracy.py (strict one-to-one F1 at ±20 ms).

    python bench/decoding.py [--model DIR ...] [--tta 0.9,1.0,1.1]   # default: the bundled model only
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _common import require_shared
from accuracy import build_sets, load_protocol

THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.3, 0.91, 0.05), 2))
PRIOR_WEIGHTS = (0.1, 0.25, 0.5, 1.0)


def set_scores(model: str, sets: dict[str, Path], protocol: dict,
               speeds: tuple[float, ...] = ()) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(scores, reference boundaries) per utterance of each set's dev and evaluation parts; with
    ``speeds``, each curve is the mean over copies of the audio played that many times faster."""
    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores
    from phonebound.inference.detector import load_detector

    detector = load_detector(model)
    out = {}
    for name, path in sets.items():
        parts = [protocol[name]["eval_split"]] + (["dev"] if name == "voxangeles" else [])
        for part in parts:
            utts, _, _ = reference_utterances(path, part)
            score = (lambda u: speed_tta(detector, u.load_audio(), speeds)) if speeds else \
                (lambda u: utterance_scores(detector, u)[0])
            out[f"{name}:{part}"] = [(score(u), u.boundaries) for u in utts]
    return out


def speed_tta(detector, audio: np.ndarray, speeds: tuple[float, ...]) -> np.ndarray:
    """Mean score curve over copies of ``audio`` played ``speeds`` times faster, on the original
    10 ms grid: frame k of a copy played f times faster lies at k * 10 ms * f."""
    from phonebound.audio.augment import speed_perturb

    base = detector.frame_scores(audio)
    grid = np.arange(len(base)) * 0.01
    curves = []
    for f in speeds:
        scores = base if f == 1.0 else detector.frame_scores(speed_perturb(audio, f))
        curves.append(np.interp(grid, np.arange(len(scores)) * 0.01 * f, scores))
    return np.mean(curves, axis=0)


def duration_prior(sets: dict[str, Path]) -> tuple[float, float]:
    """Mean and standard deviation of log phone duration (s) over the train splits."""
    from phonebound.dataset.store import Dataset

    durations = []
    for path in sets.values():
        ds = Dataset(path)
        for i in ds.indices("train"):
            durations.append(np.diff(np.sort(ds.records[i].boundaries_array)))
    logs = np.log(np.concatenate(durations)[np.concatenate(durations) > 0])
    return float(logs.mean()), float(logs.std())


def segmental_decode(scores: np.ndarray, threshold: float, lam: float, prior: tuple[float, float],
                     hop_s: float = 0.01) -> np.ndarray:
    """Best boundary subset of the score peaks: sum of (log-odds - logit(threshold)) of chosen
    peaks + lam * sum of log-normal duration log-likelihoods (relative to the mode) of the
    segments between consecutive chosen peaks. lam = 0 is plain peak picking without a distance."""
    from phonebound.inference.decode import pick_peaks

    times, heights = pick_peaks(scores, threshold=0.05, distance=1, hop_s=hop_s)
    if times.size == 0:
        return times
    p = np.clip(heights, 1e-4, 1 - 1e-4)
    gain = np.log(p / (1 - p)) - np.log(threshold / (1 - threshold))
    mu, sd = prior
    best, back = np.empty(len(times)), np.full(len(times), -1)
    for k in range(len(times)):
        best[k] = gain[k]
        if k:
            chain = best[:k] - lam * 0.5 * ((np.log(np.maximum(times[k] - times[:k], 1e-3)) - mu) / sd) ** 2
            j = int(np.argmax(chain))
            if chain[j] > 0:
                best[k], back[k] = gain[k] + chain[j], j
    k = int(np.argmax(best))
    if best[k] <= 0:
        return np.zeros(0)
    chosen = []
    while k >= 0:
        chosen.append(times[k])
        k = back[k]
    return np.array(chosen[::-1])


def f1(pairs: list[tuple[np.ndarray, np.ndarray]], decode) -> float:
    from phonebound.evaluation.metrics import BoundaryCounts

    counts = BoundaryCounts(tol=0.02)
    for scores, ref in pairs:
        counts.update(ref, decode(scores))
    return counts.f1


def report(label: str, scores: dict, decode_for) -> None:
    """Choose the decoder's parameters on VoxAngeles dev, then print every held-out row."""
    dev = scores["voxangeles:dev"]
    best = max(decode_for, key=lambda params: f1(dev, decode_for[params]))
    held_out = {key.split(":")[0]: pairs for key, pairs in scores.items() if not key.endswith(":dev")}
    cells = [f"{name} {f1(pairs, decode_for[best]):.3f}" for name, pairs in held_out.items()]
    print(f"{label:44} {best!s:14} dev {f1(dev, decode_for[best]):.3f} | " + " | ".join(cells), flush=True)


def main() -> None:
    from phonebound.inference.decode import pick_peaks

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-accuracy")
    ap.add_argument("--model", action="append", default=[], help="model directory (repeat; default: the bundled model)")
    ap.add_argument("--tta", default="", help="comma-separated speed factors for test-time augmentation, e.g. 0.9,1.0,1.1")
    args = ap.parse_args()
    protocol = load_protocol()
    sets = build_sets(require_shared(), args.work, protocol)
    models = args.model or ["default"]
    per_model = {m: set_scores(m, sets, protocol) for m in models}
    prior = duration_prior({k: v for k, v in sets.items() if protocol[k]["split"] != "none"})
    print(f"phone duration prior (train splits): median {np.exp(prior[0]) * 1000:.0f} ms, log-sd {prior[1]:.2f}")
    print("model / decoder                               params (dev)   VoxAngeles dev | held-out rows")
    for m, scores in per_model.items():
        report(f"{m}: peak picking", scores,
               {(th,): (lambda s, th=th: pick_peaks(s, threshold=th)[0]) for th in THRESHOLDS})
        report(f"{m}: segmental, duration prior", scores,
               {(th, lam): (lambda s, th=th, lam=lam: segmental_decode(s, th, lam, prior))
                for th in THRESHOLDS for lam in PRIOR_WEIGHTS})
    if args.tta:
        factors = tuple(float(f) for f in args.tta.split(","))
        for m in models:
            report(f"{m}: speed TTA {args.tta}", set_scores(m, sets, protocol, factors),
                   {(th,): (lambda s, th=th: pick_peaks(s, threshold=th)[0]) for th in THRESHOLDS})
    if len(models) > 1:
        keys = per_model[models[0]]
        mean = {k: [(np.mean([per_model[m][k][i][0] for m in models], axis=0), keys[k][i][1])
                    for i in range(len(keys[k]))] for k in keys}
        report(f"ensemble of {len(models)} (mean scores): peak picking", mean,
               {(th,): (lambda s, th=th: pick_peaks(s, threshold=th)[0]) for th in THRESHOLDS})


if __name__ == "__main__":
    main()
