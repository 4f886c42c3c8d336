"""Dev evaluation and decoder tuning during training.

:func:`evaluate_split` scores the current weights on a split at its natural class ratio (the tagger:
boundary F1 at the threshold tuned on those very scores; the window model: its frame metrics, and at
the end the boundaries of the window slid over the dev audio). :func:`judge` keeps the best
checkpoint by the recipe's metric and counts evaluations without improvement (early stopping);
:func:`finalize` writes the model directory's final config (tuned threshold, calibration statistics)
and ``dev_metrics.json`` for the best weights.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..audio.load import load_audio
from ..config import HOP_S, write_json
from ..evaluation.frames import frame_metrics
from ..evaluation.metrics import BoundaryCounts
from ..evaluation.thresholds import tune_decoding, tune_threshold
from ..inference.calibrate import dev_statistics
from ..inference.decode import pick_peaks
from ..inference.detector import Detector, save_model, tagger_scores
from .batches import TaggerData, WindowData
from .logs import append_jsonl
from .setup import TrainingSetup

THRESHOLD_GRID = tuple(np.round(np.arange(0.1, 0.951, 0.05), 2))


def evaluate_split(run: TrainingSetup, split: str, final: bool = False) -> dict[str, Any]:
    """Metrics of the current weights on a split at its natural class ratio (never oversampled)."""
    if split == "dev":
        data = run.dev_data
    elif run.kind == "tagger":
        data = TaggerData(run.datasets, split, max_frames=10**9)
    else:
        data = WindowData(run.datasets, split)
    run.model.eval()
    try:
        if run.kind == "tagger":
            return _tagger_report(run, data, final)
        return _window_report(run, data, split, final)
    finally:
        run.model.train()


def _tagger_report(run: TrainingSetup, data: TaggerData, final: bool) -> dict[str, Any]:
    scores, refs, targets = [], [], []
    for k in range(len(data)):
        feats, t, bounds = data.example(k)
        scores.append(run.model.frame_scores(feats) if hasattr(run.model, "frame_scores")
                      else tagger_scores(run.model, feats))
        refs.append(bounds)
        targets.append(t)
    return _boundary_report(run, scores, refs, targets, final)


def _boundary_report(run: TrainingSetup, scores, refs, targets, final: bool) -> dict[str, Any]:
    d = run.decode_cfg
    if hasattr(run.model, "frame_scores") and final:  # self-supervised curves need a prominence test too
        _, prominence, _ = tune_decoding(scores, refs, THRESHOLD_GRID, tol=run.cfg.tolerance, distance=d.distance,
                                         refine=d.refine)
        run.decode_cfg = d = replace(d, prominence=prominence)
    best, table = tune_threshold(scores, refs, THRESHOLD_GRID, run.cfg.tolerance, distance=d.distance,
                                 prominence=d.prominence, refine=d.refine)
    counts = BoundaryCounts()
    for s, r in zip(scores, refs):
        counts.update(r, pick_peaks(s, best, d.distance, d.prominence, d.refine)[0])
    result = {"threshold": best, "boundary_f1": counts.f1, "boundary_precision": counts.precision,
              "boundary_recall": counts.recall, "r_value": counts.r_value}
    if final:
        result["calibration"] = dev_statistics(scores, refs, d.distance)
        result["boundary"] = counts.to_dict()
        result["threshold_table"] = [list(row) for row in table]
        y_true = np.concatenate(targets) if targets else np.zeros(0)
        y_pred = np.concatenate([(s >= 0.5).astype(np.int8) for s in scores]) if scores else np.zeros(0)
        result["frame_at_0.5"] = _frame_dict(frame_metrics(y_true, y_pred))
    return result


def _window_report(run: TrainingSetup, data: WindowData, split: str, final: bool) -> dict[str, Any]:
    preds, labels = [], []
    with torch.inference_mode():
        for x, y in data.sequential():
            preds.append(run.model(x.to(run.device)).argmax(-1).cpu().numpy())
            labels.append(y.numpy())
    fm = frame_metrics(np.concatenate(labels), np.concatenate(preds))
    c1, c0 = fm["per_class"]["boundary"], fm["per_class"]["non-boundary"]
    result = {"accuracy": float(fm["accuracy"]), "class1_recall": float(c1["recall"]),
              "class1_precision": float(c1["precision"]), "class1_f1": float(c1["f1"]),
              "class0_recall": float(c0["recall"]), "class0_precision": float(c0["precision"])}
    if final:
        result["frame"] = _frame_dict(fm)
    if split == "dev" and (final or run.cfg.metric == "boundary_f1"):
        result.update(_window_boundaries(run, final))
    return result


def _window_boundaries(run: TrainingSetup, final: bool) -> dict[str, Any]:
    """Slide the window classifier over the dev utterances' audio, as segment does."""
    detector = Detector(run.model_config(), run.model.cpu(), decode_cfg=run.decode_cfg)
    scores, refs, targets = [], [], []
    for ds in run.datasets:
        for i in ds.indices("dev"):
            r = ds.records[i]
            if not Path(r.audio).exists():
                continue  # imported CSVs may name audio that is not here
            audio = load_audio(r.audio, None if r.channel < 0 else r.channel, r.start, r.end)
            s = detector.frame_scores(audio)
            scores.append(s)
            refs.append(r.boundaries_array)
            t = np.zeros(len(s), np.int8)
            t[np.clip(np.rint(r.boundaries_array / HOP_S).astype(int), 0, len(s) - 1)] = 1
            targets.append(t)
    run.model.to(run.device)
    if not scores:
        return {}
    return _boundary_report(run, scores, refs, targets, final)


def judge(run: TrainingSetup, step: int, epoch: int, best: dict, bad: int, writer, dev: dict[str, Any],
          on_eval=None) -> tuple[dict, int, bool]:
    """Record the dev metrics ``dev`` of ``step``; when they beat ``best`` (by the recipe's metric)
    save the current weights as the model. Returns the best so far, the number of evaluations
    without improvement, and whether patience has run out. ``on_eval(step, value)`` is called last
    (tuning prunes there)."""
    value = dev.get(run.cfg.metric, dev.get("class1_f1", 0.0))
    record = {"step": step, "epoch": epoch, "dev": dev, "metric": run.cfg.metric, "value": value}
    append_jsonl(run.out / "metrics.jsonl", record)
    if writer:
        for k, v in dev.items():
            if isinstance(v, float):
                writer.add_scalar(f"dev/{k}", v, step)
    if not best or value > best["value"] + 1e-9:
        best = {"step": step, "value": value, "dev": dev}
        bad = 0
        save_model(run.out, run.model, run.model_config(dev.get("threshold")))
    else:
        bad += 1
    if on_eval is not None:
        on_eval(step, value)
    return best, bad, bool(run.cfg.patience and bad >= run.cfg.patience)


def load_best(run: TrainingSetup) -> None:
    """The best weights saved so far back into the model (none saved: it is left as it is)."""
    if (run.out / "model.pt").exists():
        run.model.load_state_dict(torch.load(run.out / "model.pt", map_location=run.device, weights_only=True))


def finalize(run: TrainingSetup, best: dict, dev: dict[str, Any]) -> dict:
    """Write the final config (the threshold and calibration statistics tuned on dev, the dev
    metrics, the best step) and ``dev_metrics.json``; ``dev`` is the final evaluation of the best
    weights. Returns ``best`` with those metrics."""
    config = run.model_config(dev.get("threshold"), dev.get("calibration"))
    config["dev"] = {k: v for k, v in dev.items() if k != "threshold_table"}
    config["best_step"] = best.get("step", 0)
    save_model(run.out, run.model, config)
    write_json(run.out / "dev_metrics.json", {"best_step": best.get("step", 0), **dev})
    return {**best, "dev": dev}


def _frame_dict(fm: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fm.items() if k != "report"}
