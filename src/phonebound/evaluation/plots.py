"""PNG plots (matplotlib, Agg): threshold curves, offsets, confusion, training curves, examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    from ..io_utils import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    _pyplot().close(fig)
    return path


def threshold_curve(table: list[tuple[float, float, float, float]], chosen: float, path: Path, title: str = "") -> Path:
    """Precision, recall and F1 against the decision threshold."""
    plt = _pyplot()
    t = np.asarray(table)
    fig, ax = plt.subplots(figsize=(6, 4))
    for col, name in ((1, "precision"), (2, "recall"), (3, "F1")):
        ax.plot(t[:, 0], t[:, col], marker="o", ms=3, label=name)
    ax.axvline(chosen, color="grey", ls="--", lw=1, label=f"model threshold {chosen:.2f}")
    ax.set(xlabel="threshold", ylabel="score (±20 ms, one-to-one)", ylim=(0, 1), title=title or "boundaries vs threshold")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def offset_histogram(offsets: list[float], path: Path, tolerance: float = 0.02) -> Path:
    """Histogram of hypothesis − reference offsets of matched boundaries, in ms."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ms = np.asarray(offsets) * 1000
    ax.hist(ms, bins=np.arange(-tolerance * 1000, tolerance * 1000 + 1, 2), color="tab:blue", edgecolor="white")
    ax.set(xlabel="offset of matched boundaries (hyp − ref, ms)", ylabel="boundaries",
           title=f"median |offset| {np.median(np.abs(ms)) if len(ms) else float('nan'):.1f} ms (n={len(ms)})")
    return _save(fig, path)


def confusion_matrix(cm: list[list[int]], path: Path, labels=("no boundary", "boundary"), title: str = "") -> Path:
    plt = _pyplot()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, f"{v}", ha="center", va="center", color="black" if v < cm.max() / 2 else "white")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=labels, yticklabels=labels, xlabel="predicted", ylabel="true",
           title=title or "frame confusion matrix")
    return _save(fig, path)


def training_curves(metrics_jsonl: Path, path: Path) -> Path | None:
    """Train loss and dev metric against step, from a run's metrics.jsonl."""
    if not Path(metrics_jsonl).exists():
        return None
    plt = _pyplot()
    loss, dev = [], []
    for line in Path(metrics_jsonl).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if "loss" in r:
            loss.append((r["step"], r["loss"]))
        if "dev" in r:
            dev.append((r["step"], r["value"], r.get("metric", "dev")))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    if loss:
        ax.plot(*zip(*loss), color="tab:blue", lw=1, label="train loss")
    ax.set(xlabel="step", ylabel="train loss")
    if dev:
        ax2 = ax.twinx()
        steps, values, names = zip(*dev)
        ax2.plot(steps, values, color="tab:orange", marker="o", ms=3, label=f"dev {names[0]}")
        ax2.set(ylabel=f"dev {names[0]}", ylim=(0, 1))
        ax2.legend(loc="lower right")
    ax.legend(loc="upper right")
    ax.set_title("training curves")
    return _save(fig, path)


def example_utterance(audio: np.ndarray, ref: np.ndarray | None, hyp: np.ndarray, scores: np.ndarray | None,
                      path: Path, title: str = "", labels: list[tuple[float, str]] | None = None) -> Path:
    """Log-mel spectrogram with reference (green, solid) and predicted (red, dashed) boundaries,
    and the detector's per-frame score below."""
    from ..audio.features import base_features
    from ..config import FeatureConfig

    plt = _pyplot()
    spec = base_features(audio, FeatureConfig(kind="logmel", n_mels=64)).T
    duration = len(audio) / 16000
    rows = 2 if scores is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(max(6.0, min(16.0, duration * 4)), 4.5 if rows == 2 else 3),
                             sharex=True, gridspec_kw={"height_ratios": [3, 1][:rows]}, squeeze=False)
    ax = axes[0, 0]
    ax.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, spec.shape[0]), cmap="magma")
    for t in (ref if ref is not None else []):
        ax.axvline(t, color="lime", lw=1.2)
    for t in hyp:
        ax.axvline(t, color="red", lw=1.0, ls="--")
    for start, label in labels or []:
        ax.text(start + 0.005, spec.shape[0] * 0.92, label, color="white", fontsize=7)
    ax.set(ylabel="mel band", title=title or "reference (green) and predicted (red dashed) boundaries")
    if scores is not None:
        axes[1, 0].plot(np.arange(len(scores)) * 0.01, scores, color="tab:red", lw=1)
        axes[1, 0].set(ylabel="P(boundary)", xlabel="time (s)", ylim=(0, 1))
    else:
        ax.set(xlabel="time (s)")
    return _save(fig, path)


def parameter_sweep(trials: list[dict[str, Any]], param: str, path: Path, curves: tuple[str, ...]) -> Path:
    """One parameter against dev/train metrics over tuning trials (the notebook's sweep plots)."""
    plt = _pyplot()
    rows = sorted((t for t in trials if param in t["params"]), key=lambda t: t["params"][param])
    fig, ax = plt.subplots(figsize=(6, 4))
    x = [t["params"][param] for t in rows]
    for name in curves:
        ys = [t["metrics"].get(name, np.nan) for t in rows]
        ax.plot(x, ys, marker="o", ms=4, label=name.replace("_", " "))
    if param in ("lr", "learning_rate"):
        ax.set_xscale("log")
    ax.set(xlabel=param, ylabel="score", ylim=(0, 1), title=f"sweep over {param}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def label_counts(before: dict[str, int], after: dict[str, int], path: Path) -> Path:
    """The notebook's count plots: class counts before and after oversampling (train split)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), sharey=True)
    for ax, (name, counts) in zip(axes, (("before oversampling", before), ("after oversampling", after))):
        ax.bar(list(counts), list(counts.values()), color=["tab:blue", "tab:orange"])
        for k, v in counts.items():
            ax.text(k, v, str(v), ha="center", va="bottom", fontsize=8)
        ax.set(title=name, xlabel="label")
    axes[0].set_ylabel("train examples")
    return _save(fig, path)
