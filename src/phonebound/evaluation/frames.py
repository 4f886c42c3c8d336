"""Frame classification metrics: boundary frame or not, frames pooled over a whole split."""

from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import f1_score, ratio


def _flat(y: Any) -> np.ndarray:
    if isinstance(y, (list, tuple)) and y and all(np.ndim(x) >= 1 for x in y):
        return np.concatenate([np.ravel(x) for x in y])  # a list of per-utterance arrays
    return np.ravel(np.asarray(y))


def frame_metrics(y_true: Any, y_pred: Any,
                  target_names: tuple[str, str] = ("non-boundary", "boundary")) -> dict[str, Any]:
    """Binary frame classification metrics over a whole split (frames pooled, not averaged).

    Parameters
    ----------
    y_true, y_pred : 0/1 labels per frame, as one array or a list of per-utterance arrays.
        Frames whose ``y_true`` is negative (padding such as -100) are ignored.
    target_names : names of class 0 and class 1 in the text report.

    Returns
    -------
    dict with ``accuracy``; ``confusion`` [[TN, FP], [FN, TP]] (rows true, columns predicted);
    ``per_class`` {name: {precision, recall, f1, support}}; ``macro_avg`` and ``weighted_avg``;
    ``n_frames``; and ``report``, a text table like scikit-learn's classification_report.
    Ratios with a zero denominator are 0.0.
    """
    t, p = _flat(y_true).astype(np.int64), _flat(y_pred).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} frames but y_pred has {p.size}")
    keep = t >= 0
    t, p = t[keep], p[keep]
    if np.any(t > 1) or np.any((p != 0) & (p != 1)):
        raise ValueError("frame labels must be 0 or 1 (negative y_true = ignored padding)")
    cm = np.bincount(2 * t + p, minlength=4).reshape(2, 2)
    per_class: dict[str, dict[str, float]] = {}
    for k, name in enumerate(target_names):
        prec, rec = ratio(cm[k, k], cm[:, k].sum()), ratio(cm[k, k], cm[k, :].sum())
        per_class[name] = {"precision": prec, "recall": rec, "f1": f1_score(prec, rec), "support": int(cm[k].sum())}
    n = int(cm.sum())
    macro = {m: float(np.mean([c[m] for c in per_class.values()])) for m in ("precision", "recall", "f1")}
    weighted = {m: ratio(sum(c[m] * c["support"] for c in per_class.values()), n) for m in ("precision", "recall", "f1")}
    accuracy = ratio(int(np.trace(cm)), n)

    w = max(12, *(len(x) for x in target_names))
    lines = [f"{'':>{w}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}", ""]
    for name, c in per_class.items():
        lines.append(f"{name:>{w}} {c['precision']:9.4f} {c['recall']:9.4f} {c['f1']:9.4f} {c['support']:9d}")
    lines += ["", f"{'accuracy':>{w}} {'':>9} {'':>9} {accuracy:9.4f} {n:9d}"]
    for name, avg in (("macro avg", macro), ("weighted avg", weighted)):
        lines.append(f"{name:>{w}} {avg['precision']:9.4f} {avg['recall']:9.4f} {avg['f1']:9.4f} {n:9d}")
    return {"accuracy": accuracy, "n_frames": n, "confusion": cm.tolist(), "per_class": per_class,
            "macro_avg": macro, "weighted_avg": weighted, "report": "\n".join(lines)}
