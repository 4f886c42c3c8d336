"""Alignment writers by format name, as segment's: TextGrid (words, phones and confidence tiers,
plus the input TextGrid's other tiers), CSV (one row per phone) and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..corpus.textgrid import write_textgrid
from ..io_utils import atomic_write_text
from .recording import AlignedRecording

WORDS_TIER, PHONES_TIER, CONFIDENCE_TIER = "words", "phones", "confidence"


def word_intervals(rec: AlignedRecording) -> list[tuple[float, float, str]]:
    """Words tiling [0, duration], pauses as empty intervals."""
    out, cursor = [], 0.0
    for start, end, text in rec.alignment.words:
        if start > cursor:
            out.append((cursor, start, ""))
        out.append((start, end, text))
        cursor = end
    if cursor < rec.alignment.duration:
        out.append((cursor, rec.alignment.duration, ""))
    return out


def _textgrid(fmt: str):
    def write(rec: AlignedRecording, path: Path, meta: dict) -> None:
        duration = rec.alignment.duration
        intervals = {WORDS_TIER: word_intervals(rec),
                     PHONES_TIER: [(p.start, p.end, p.label) for p in rec.alignment.phones]}
        points = {CONFIDENCE_TIER: [((p.start + p.end) / 2, f"{p.confidence:.3f}")
                                    for p in rec.alignment.phones if p.label]}
        for tier in rec.tiers:  # the input TextGrid's tiers, kept
            name = tier.name if tier.name not in (WORDS_TIER, PHONES_TIER, CONFIDENCE_TIER) else f"{tier.name} (original)"
            if tier.kind == "IntervalTier":
                intervals[name] = [(s, min(e, duration), label) for s, e, label in tier.entries if min(e, duration) > s]
            else:
                points[name] = [(t, label) for t, label in tier.entries if t < duration]
        write_textgrid(path, duration, intervals, points, fmt=fmt)

    return write


def write_csv(rec: AlignedRecording, path: Path, meta: dict) -> None:
    """``begin,end,phone,word,confidence`` per phone (silences with empty phone and word)."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(["begin", "end", "phone", "word", "confidence"])
    words = rec.alignment.words
    for p in rec.alignment.phones:
        w.writerow([f"{p.start:.4f}", f"{p.end:.4f}", p.label, words[p.word][2] if p.word >= 0 else "",
                    f"{p.confidence:.4f}"])
    atomic_write_text(path, buffer.getvalue())


def write_json(rec: AlignedRecording, path: Path, meta: dict) -> None:
    data = {
        **meta, "duration": rec.alignment.duration, "guessed_words": rec.alignment.guessed,
        "words": [{"begin": round(s, 5), "end": round(e, 5), "word": w} for s, e, w in rec.alignment.words],
        "phones": [{"begin": round(p.start, 5), "end": round(p.end, 5), "phone": p.label,
                    "word": p.word, "confidence": round(p.confidence, 4)} for p in rec.alignment.phones],
    }
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


WRITERS = {
    "long_textgrid": (_textgrid("long_textgrid"), ".TextGrid"),
    "short_textgrid": (_textgrid("short_textgrid"), ".TextGrid"),
    "csv": (write_csv, ".csv"),
    "json": (write_json, ".json"),
}
