"""Output writers, chosen by format name: Praat TextGrids (long/short), CSV and JSON.

Each writer takes a :class:`~phonebound.inference.segment.Segmentation` and a path and writes atomically.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..corpus.textgrid import Tier, write_textgrid
from ..io_utils import atomic_write_text

PHONES_TIER, BOUNDARIES_TIER = "phones", "boundaries"


def _textgrid(fmt: str):
    def write(seg, path: Path, extra_tiers: list[Tier] = ()) -> None:
        intervals = {PHONES_TIER: [(b, e, label) for b, e, label, _ in seg.segments()]}
        points = {BOUNDARIES_TIER: [(float(t), f"{c:.3f}") for t, c in zip(seg.boundaries, seg.confidences)]}
        for tier in extra_tiers:  # copied from a TextGrid beside the audio (--keep-tiers)
            name = tier.name if tier.name not in (PHONES_TIER, BOUNDARIES_TIER) else f"{tier.name} (original)"
            target = intervals if tier.kind == "IntervalTier" else points
            entries = [e for e in tier.entries if (e[0] < seg.duration)]
            if tier.kind == "IntervalTier":
                entries = [(s, min(e, seg.duration), label) for s, e, label in entries if min(e, seg.duration) > s]
            target[name] = entries
        write_textgrid(path, seg.duration, intervals, points, fmt=fmt)

    return write


def write_csv(seg, path: Path, extra_tiers=()) -> None:
    """``begin,end,label,confidence`` per segment; a segment's confidence is its start boundary's."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(["begin", "end", "label", "confidence"])
    for begin, end, label, confidence in seg.segments():
        w.writerow([f"{begin:.4f}", f"{end:.4f}", label, f"{confidence:.4f}"])
    atomic_write_text(path, buffer.getvalue())


def write_json(seg, path: Path, extra_tiers=()) -> None:
    data = {
        "file": seg.source, "duration": seg.duration, "model": seg.model, "threshold": seg.threshold,
        "boundaries": [{"time": round(float(t), 5), "confidence": round(float(c), 4)}
                       for t, c in zip(seg.boundaries, seg.confidences)],
        "segments": [{"begin": round(b, 5), "end": round(e, 5), "label": label, "confidence": round(c, 4)}
                     for b, e, label, c in seg.segments()],
    }
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


WRITERS = {
    "long_textgrid": (_textgrid("long_textgrid"), ".TextGrid"),
    "short_textgrid": (_textgrid("short_textgrid"), ".TextGrid"),
    "csv": (write_csv, ".csv"),
    "json": (write_json, ".json"),
}
