"""Honest evaluation: boundary P/R/F1/R-value on a whole held-out split (or a reference corpus),
frame metrics, per-transition recall, offsets, and plots.

``DATA`` is a dataset directory (its ``test`` split by default) or any corpus directory with
reference alignments, read with the build step's readers (like MFA's ``--reference_directory``).
The decision threshold is the model's own (tuned on its dev split), never tuned here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.load import load_audio
from ..config import HOP_S, write_json
from ..corpus.types import EDGE_S
from ..errors import PhoneboundError
from ..inference.calibrate import decode_scores
from ..inference.detector import Detector, load_detector
from .alignments import PairedErrors, corpus_alignments
from .breakdowns import position_recall, transition_recall
from .frames import frame_metrics
from .metrics import BoundaryCounts, on_grid
from .thresholds import tune_threshold

DEFAULT_TOLERANCES = (0.01, 0.02, 0.03, 0.05)
THRESHOLD_GRID = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))
GRID_NOTE_SHARE = 0.2  # the summary notes references this much on the frame grid (an aligner made them)
TIMING_MIN_HITS, TIMING_SHOWN = 20, 6  # the summary's timing line: the most frequent transitions with this many hits


@dataclass
class RefUtterance:
    """A reference utterance: where its audio is and where its boundaries are (s, utterance-relative)."""

    id: str
    group: str
    audio: str
    channel: int | None
    start: float
    end: float
    boundaries: np.ndarray
    labels: list[str]
    starts: np.ndarray
    stored_features: Callable[[], np.ndarray] | None = None
    stored_config: dict | None = None
    annotation: str | None = None  # the reference file (for its words tier when alignments are scored)

    def load_audio(self) -> np.ndarray:
        return load_audio(self.audio, self.channel, self.start, self.end)

    def features(self, detector: Detector) -> np.ndarray:
        """The detector's input features of the utterance (the stored ones when they match)."""
        if self.stored_features is not None and detector.config["input"].get("features") == self.stored_config:
            return self.stored_features()
        return detector.features(self.load_audio())

    def scored_phones(self) -> tuple[list[str], np.ndarray]:
        """Labels and starts of the phones whose boundaries count: a sliver interval within
        ``EDGE_S`` of the start or end is the edge itself (see ``Utterance.boundaries``)."""
        labels, starts = list(self.labels), np.asarray(self.starts, dtype=np.float64)
        if starts.size > 1 and starts[-1] > self.end - self.start - EDGE_S:
            labels, starts = labels[:-1], starts[:-1]
        if starts.size > 1 and starts[1] < EDGE_S:
            labels, starts = labels[1:], starts[1:]
        return labels, starts


def reference_utterances(data: str | Path, split: str | None = None) -> tuple[list[RefUtterance], list[tuple[str, str]], str]:
    """Reference utterances of a dataset split or a corpus directory; also skipped files and the
    split actually used."""
    data = Path(data)
    if (data / "dataset.json").exists():
        from ..dataset.store import Dataset

        ds = Dataset(data)
        has_splits = any(ds.table.column("split").to_pylist())
        split = split or ("test" if has_splits else "all")
        idx = ds.indices(split)
        if not idx:
            raise PhoneboundError(f"the dataset has no {split!r} utterances", data,
                                  "choose --split dev|test|all, or split it with `phonebound split`")
        feats_cfg = ds.meta["config"].get("features") if ds.layout == "sequence" else None
        utts = []
        for i in idx:
            r = ds.records[i]
            utts.append(RefUtterance(r.id, r.group, r.audio, None if r.channel < 0 else r.channel, r.start, r.end,
                                     r.boundaries_array, list(r.phone_label), np.asarray(r.phone_start),
                                     (lambda i=i: np.asarray(ds.features(i))) if feats_cfg else None, feats_cfg))
        return utts, [], split
    from ..corpus import discover, read_item

    _, found = discover(data)
    utts, skipped = [], []
    for item in found.items:
        try:
            for u in read_item(item):
                rel = u.relative_phones()
                utts.append(RefUtterance(u.id, u.group, str(u.audio_path), u.channel, u.start, u.end, u.boundaries(),
                                         [p.label for p in rel], np.asarray([p.start for p in rel]),
                                         annotation=str(u.annotation_path) if u.annotation_path else None))
        except PhoneboundError as e:
            skipped.append((str(item.annotation), e.problem))
    if not utts:
        raise PhoneboundError("no usable reference alignments", data, "point at a corpus with phone alignments or a dataset")
    return utts, skipped, "all"


def utterance_scores(detector: Detector, utt: RefUtterance) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-frame scores of an utterance, from stored features when they match the model's input."""
    same_input = (utt.stored_features is not None and detector.kind != "window"
                  and detector.config["input"].get("features") == utt.stored_config)
    if same_input:
        return detector.scores_from_features(utt.stored_features()), None
    audio = utt.load_audio()
    return detector.frame_scores(audio), audio


def utterance_heads(detector: Detector, utt: RefUtterance) -> dict[str, np.ndarray]:
    """Every head's per-frame outputs on an utterance (stored features when they match)."""
    return detector.head_outputs([utt.features(detector)])[0]


def evaluate(model: str | Path | Detector, data: str | Path, out: str | Path | None = None, split: str | None = None,
             tolerances: tuple[float, ...] = DEFAULT_TOLERANCES, threshold: float | None = None,
             calibrate: str | None = None, plots: bool = True, examples: int = 4, align: str | None = None,
             lang: str | None = None, dictionary: str | Path | None = None,
             transcripts: str | Path | None = None) -> dict[str, Any]:
    """Score ``model`` on ``data``; write ``metrics.json`` and plots into ``out`` when given.

    ``align`` ('phones' | 'words') scores forced alignments instead of free segmentation: each
    reference utterance is aligned to its own phones, or to the words of its TextGrid's words tier
    (pronounced for ``lang`` / ``dictionary``) or of an id|text ``transcripts`` file, the set
    aligned as one corpus (phone models adapted to it and to each folder of audio, its speakers, as
    ``phonebound align`` does), and paired
    boundary errors are added."""
    detector = model if isinstance(model, Detector) else load_detector(model, backend="torch" if align else "auto")
    decode_cfg = detector.decode_cfg.overridden(threshold, calibrate)
    utts, skipped, split = reference_utterances(data, split)
    tolerances = tuple(sorted(set(tolerances) | {0.02}))
    counts = {t: BoundaryCounts(tol=t) for t in tolerances}
    all_scores, hyps, y_true, y_pred, trans, per_group = [], [], [], [], [], {}
    kept_audio: dict[int, np.ndarray] = {}
    paired, pronouncer = PairedErrors(), None
    if align:
        from ..alignment.recording import transcript_pronouncer

        from ..alignment.transcripts import read_transcripts_file

        pronouncer = transcript_pronouncer(lang, dictionary, align)
        table = read_transcripts_file(transcripts) if transcripts else None
    scored = []  # the utterances scored (with --align, one whose text cannot be aligned is skipped)
    aligned = corpus_alignments(detector, utts, align, pronouncer, table) if align else None
    for i, u in enumerate(utts):
        if aligned is not None:
            hyp, heads = aligned[i]
            scores, audio = heads["boundary"], None
            if isinstance(hyp, PhoneboundError):
                skipped.append((u.id, hyp.reason))
                continue
            paired.update(u.boundaries, hyp)
        else:
            scores, audio = utterance_scores(detector, u)
            hyp, _ = decode_scores(scores, decode_cfg)
        for c in counts.values():
            c.update(u.boundaries, hyp)
        per_group.setdefault(u.group or "all", BoundaryCounts()).update(u.boundaries, hyp)
        all_scores.append(scores)
        hyps.append(hyp)
        y_true.append(_frames(u.boundaries, len(scores)))
        y_pred.append(_frames(hyp, len(scores)))
        trans.append((*u.scored_phones(), hyp))
        if len(scored) < examples and audio is not None:
            kept_audio[len(scored)] = audio
        scored.append(u)
    if not scored:
        raise PhoneboundError("no reference utterance could be scored", data,
                              f"first problem: {skipped[0][0]}: {skipped[0][1]}" if skipped else "check the data")
    utts = scored
    strict = counts[0.02]
    fm = frame_metrics(y_true, y_pred)
    table = [] if align else tune_threshold(all_scores, [u.boundaries for u in utts], THRESHOLD_GRID, 0.02,
                                            distance=decode_cfg.distance, prominence=decode_cfg.prominence,
                                            refine=decode_cfg.refine)[1]
    result = {
        "model": str(detector.path or detector.name), "data": str(data), "split": split, "utterances": len(utts),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "decode": decode_cfg.__dict__,
        "boundary": {"tolerance": 0.02, "precision": strict.precision, "recall": strict.recall, "f1": strict.f1,
                     "r_value": strict.r_value, "hits": strict.hits, "n_ref": strict.n_ref, "n_hyp": strict.n_hyp,
                     "mean_abs_offset_ms": _ms(strict.mean_abs_offset), "median_abs_offset_ms": _ms(strict.median_abs_offset),
                     "counting": "strict one-to-one, counts summed over the corpus"},
        "tolerances": {f"{t:g}": counts[t].to_dict() for t in tolerances},
        "lenient": {"counting": "lenient (SegFeat/UnsupSeg): nearest-neighbour hits, for comparison with papers only",
                    **{f"{t:g}": {"precision": counts[t].lenient_precision, "recall": counts[t].lenient_recall,
                                  "f1": counts[t].lenient_f1, "r_value": counts[t].lenient_r_value} for t in tolerances}},
        "frame": {k: v for k, v in fm.items() if k != "report"},
        "frame_report": fm["report"],
        "transitions": transition_recall(trans, 0.02),
        "positions": position_recall([u.boundaries for u in utts], hyps, 0.02),
        "per_group": {g: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "n_ref": c.n_ref}
                      for g, c in sorted(per_group.items())},
        "threshold_table": [list(r) for r in table],
        "reference_on_grid": float(on_grid(np.concatenate([u.boundaries for u in utts]), HOP_S).mean())
        if any(len(u.boundaries) for u in utts) else 0.0,
    }
    if align:
        result["alignment"] = {"text": align, "lang": lang, **paired.to_dict()}
        result.pop("threshold_table")  # an alignment places every phone: no threshold decides
    regions = region_metrics(detector, data, split)
    if regions is not None:
        result["regions"] = regions
    if out is not None:
        out = Path(out)
        write_json(out / "metrics.json", result)
        if plots:
            _write_plots(out, detector, result, strict, utts, all_scores, hyps, kept_audio, examples)
    return result


def region_metrics(detector: Detector, data: str | Path, split: str) -> dict[str, Any] | None:
    """The notebook's view: classify every region example of the split (natural class ratio)."""
    data = Path(data)
    if detector.kind != "window" or not (data / "dataset.json").exists():
        return None
    import torch

    from ..dataset.store import Dataset
    from ..training.batches import WindowData

    ds = Dataset(data)
    if ds.layout == "sequence" or ds.meta["config"].get("region") != detector.config["input"].get("region"):
        return None
    rows = WindowData([ds], split if split != "all" else None)
    preds, labels = [], []
    with torch.inference_mode():
        for x, y in rows.sequential():
            preds.append(detector.module(x).argmax(-1).numpy())
            labels.append(y.numpy())
    fm = frame_metrics(np.concatenate(labels), np.concatenate(preds))
    return {k: v for k, v in fm.items() if k != "report"} | {"report": fm["report"]}


def _write_plots(out, detector, result, strict, utts, all_scores, hyps, kept_audio, examples) -> None:
    from . import plots

    if "threshold_table" in result:
        plots.threshold_curve(result["threshold_table"], result["decode"]["threshold"], out / "pr_threshold.png")
    plots.offset_histogram(strict.offsets, out / "offsets.png")
    plots.confusion_matrix(result["frame"]["confusion"], out / "confusion.png",
                           title="frames: boundary frame vs detected boundary frame")
    if detector.path is not None:
        plots.training_curves(detector.path / "metrics.jsonl", out / "training_curves.png")
    for k in range(min(examples, len(utts))):
        u = utts[k]
        audio = kept_audio.get(k)
        if audio is None:
            audio = u.load_audio()
        labels = list(zip(u.starts.tolist(), u.labels))
        plots.example_utterance(audio, u.boundaries, hyps[k], all_scores[k], out / f"example_{k + 1}.png",
                                title=u.id, labels=labels)


def _frames(times: np.ndarray, n: int) -> np.ndarray:
    y = np.zeros(n, np.int8)
    if len(times) and n:
        y[np.clip(np.rint(np.asarray(times) / HOP_S).astype(int), 0, n - 1)] = 1
    return y


def _ms(seconds: float) -> float | None:
    return None if seconds != seconds else seconds * 1000  # NaN when nothing matched


def format_summary(result: dict[str, Any]) -> str:
    """A short text table of the metrics, for the terminal."""
    b = result["boundary"]
    lines = [f"{result['model']} on {result['data']} ({result['split']}, {result['utterances']} utterances, "
             f"threshold {result['decode']['threshold']:.2f})",
             f"  boundaries ±20 ms one-to-one: P {b['precision']:.3f}  R {b['recall']:.3f}  F1 {b['f1']:.3f}  "
             f"R-value {b['r_value']:.3f}  (hits {b['hits']}/{b['n_ref']} ref, {b['n_hyp']} hyp)"]
    for t, c in result["tolerances"].items():
        lines.append(f"  ±{round(float(t) * 1000, 3):g} ms: P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}  "
                     f"R-value {c['r_value']:.3f}")
    lenient = result["lenient"]["0.02"]
    lines.append(f"  lenient counting (papers' convention) ±20 ms: P {lenient['precision']:.3f}  "
                 f"R {lenient['recall']:.3f}  F1 {lenient['f1']:.3f}")
    if "positions" in result:
        lines.append("  recall by place in the utterance: " + " · ".join(
            f"{k} {v['recall']:.3f} (n {v['n']})" for k, v in result["positions"].items()))
    timed = [(k, v) for k, v in result.get("transitions", {}).items() if v["hits"] >= TIMING_MIN_HITS][:TIMING_SHOWN]
    if timed:  # a labelling convention unlike the model's shows as one transition's boundaries all early or late
        lines.append("  median timing (hyp − ref) by transition: " + " · ".join(
            f"{k} {v['median_offset_ms']:+.1f} ms (n {v['hits']})" for k, v in timed))
    a = result.get("alignment")
    if a and a["n"]:
        lines.append(f"  alignment ({a['text']}): boundaries paired by position in {a['paired_utterances']} utterances: "
                     f"mean |error| {a['mean_abs_error_ms']:.1f} ms; within 10/20/50 ms {a['within_10ms']:.3f} / "
                     f"{a['within_20ms']:.3f} / {a['within_50ms']:.3f}")
    if b["median_abs_offset_ms"] is not None:
        lines.append(f"  matched offsets: mean |Δ| {b['mean_abs_offset_ms']:.1f} ms, median {b['median_abs_offset_ms']:.1f} ms")
    if result.get("reference_on_grid", 0.0) >= GRID_NOTE_SHARE:
        lines.append(f"  note: {result['reference_on_grid']:.0%} of the reference boundaries lie on the 10 ms frame grid, as "
                     "`align`'s do: there ±20 ms counts its 20 ms errors, a 25 ms window in effect (README: how accurate)")
    if result["skipped"]:
        lines.append(f"  skipped {len(result['skipped'])} file(s): first {result['skipped'][0]['path']}: "
                     f"{result['skipped'][0]['reason']}")
    return "\n".join(lines)
