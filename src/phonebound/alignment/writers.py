"""Alignment writers by format name, as segment's: TextGrid (words, phones and confidence tiers,
per speaker where the transcript had one tier per speaker, plus the input TextGrid's other
tiers), CSV (one row per phone) and JSON. Each takes the recording's alignments, one per speaker."""

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


def tier_name(rec: AlignedRecording, tier: str) -> str:
    """``words`` / ``phones`` / ``confidence``, or ``<speaker> - words`` … for one speaker of many (MFA's names)."""
    return f"{rec.speaker} - {tier}" if rec.speaker else tier


def _textgrid(fmt: str):
    def write(recs: list[AlignedRecording], path: Path, meta: dict) -> None:
        duration = recs[0].alignment.duration
        intervals, points = {}, {}
        for rec in recs:
            intervals[tier_name(rec, WORDS_TIER)] = word_intervals(rec)
            intervals[tier_name(rec, PHONES_TIER)] = [(p.start, p.end, p.label) for p in rec.alignment.phones]
            points[tier_name(rec, CONFIDENCE_TIER)] = [((p.start + p.end) / 2, f"{p.confidence:.3f}")
                                                       for p in rec.alignment.phones if p.label]
        ours = set(intervals) | set(points)
        for tier in recs[0].tiers:  # the input TextGrid's tiers, kept
            name = tier.name if tier.name not in ours else f"{tier.name} (original)"
            if tier.kind == "IntervalTier":
                intervals[name] = [(s, min(e, duration), label) for s, e, label in tier.entries if min(e, duration) > s]
            else:
                points[name] = [(t, label) for t, label in tier.entries if t < duration]
        write_textgrid(path, duration, intervals, points, fmt=fmt)

    return write


def write_csv(recs: list[AlignedRecording], path: Path, meta: dict) -> None:
    """``begin,end,phone,word,confidence`` per phone (silences with empty phone and word); a
    ``speaker`` column first when the transcript had one tier per speaker."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    many = any(rec.speaker for rec in recs)
    w.writerow(["speaker"] * many + ["begin", "end", "phone", "word", "confidence"])
    for rec in recs:
        words = rec.alignment.words
        for p in rec.alignment.phones:
            w.writerow([rec.speaker] * many + [f"{p.start:.4f}", f"{p.end:.4f}", p.label,
                                               words[p.word][2] if p.word >= 0 else "", f"{p.confidence:.4f}"])
    atomic_write_text(path, buffer.getvalue())


def _json_alignment(rec: AlignedRecording) -> dict:
    return {
        "words": [{"begin": round(s, 5), "end": round(e, 5), "word": w} for s, e, w in rec.alignment.words],
        "phones": [{"begin": round(p.start, 5), "end": round(p.end, 5), "phone": p.label,
                    "word": p.word, "confidence": round(p.confidence, 4)} for p in rec.alignment.phones],
    }


def write_json(recs: list[AlignedRecording], path: Path, meta: dict) -> None:
    """``words`` and ``phones``; with one tier per speaker, ``speakers``: a list of those per speaker."""
    data = {**meta, "duration": recs[0].alignment.duration,
            "guessed_words": list(dict.fromkeys(w for rec in recs for w in rec.alignment.guessed))}
    if any(rec.speaker for rec in recs):
        data["speakers"] = [{"speaker": rec.speaker, **_json_alignment(rec)} for rec in recs]
    else:
        data.update(_json_alignment(recs[0]))
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


WRITERS = {
    "long_textgrid": (_textgrid("long_textgrid"), ".TextGrid"),
    "short_textgrid": (_textgrid("short_textgrid"), ".TextGrid"),
    "csv": (write_csv, ".csv"),
    "json": (write_json, ".json"),
}
