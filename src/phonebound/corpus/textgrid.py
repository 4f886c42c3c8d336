"""Praat TextGrids: decode any encoding (gz, UTF-16 BOM, UTF-8, latin-1), parse with praatio,
pick the phone tier, validate intervals, and write TextGrids."""

from __future__ import annotations

import fnmatch
import gzip
import math
import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import AnnotationError
from .types import Phone

# Tier names that hold phones, in order of preference (matched case-insensitively).
PHONE_TIER_NAMES = ("phones", "phone", "phons", "phonemes", "phoneme", "segments", "*_seg", "* - phones", "*-phones")
TIME_EPSILON = 1e-4  # Praat writes times with ~1e-4 s jitter; tolerate it in checks
# A negative time in a long-form TextGrid: praatio's parser drops the minus sign, so look first.
_NEGATIVE_TIME = re.compile(r"^[ \t]*(?:xmin|xmax|number|time) ?= ?(-\d*\.?\d+)", re.MULTILINE)
# Praat writes tiny times in exponent notation (1e-05), which praatio's long-form parser rejects.
_EXPONENT_TIME = re.compile(r"^([ \t]*(?:xmin|xmax|number|time) ?= ?)(-?\d*\.?\d+[eE][-+]?\d+)[ \t]*$", re.MULTILINE)


class AnnotationWarning(UserWarning):
    """A problem that was repaired (clipped, sorted, gap filled) rather than fatal."""


@dataclass
class Tier:
    name: str
    kind: str  # "IntervalTier" | "TextTier"
    entries: list[tuple]  # (start, end, label) for intervals; (time, label) for points


@dataclass
class TextGrid:
    path: Path
    xmin: float
    xmax: float
    tiers: list[Tier]

    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise AnnotationError(f"no tier named {name!r}; tiers found: {', '.join(self.tier_names)}", self.path,
                              "pass --tier with one of the names found")


def decode_text(raw: bytes) -> str:
    """Text of an annotation file: gunzip if needed, then UTF-16 (BOM), UTF-8 (BOM), latin-1."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    if raw[:3] == b"\xef\xbb\xbf":
        return raw[3:].decode("utf-8")
    if len(raw) > 1 and raw[0] == 0 and raw[1] != 0:  # UTF-16 BE without BOM
        return raw.decode("utf-16-be")
    if len(raw) > 1 and raw[1] == 0 and raw[0] != 0:  # UTF-16 LE without BOM
        return raw.decode("utf-16-le")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # CGN and older Praat files


def read_text(path: Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise AnnotationError(f"cannot read file ({e.strerror})", path, "check the path and permissions") from None
    try:
        return decode_text(raw)
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:  # a damaged .gz raises zlib.error
        raise AnnotationError(f"cannot decode file ({e})", path, "the file may be truncated or not text") from None


def read_textgrid(path: str | Path) -> TextGrid:
    """Parse a long- or short-form TextGrid in any common encoding, optionally gzipped."""
    from praatio.utilities import textgrid_io

    path = Path(path)
    text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
    if "TextGrid" not in text[:200]:
        raise AnnotationError("not a Praat TextGrid (no 'TextGrid' header)", path, "check the file type")
    text = _EXPONENT_TIME.sub(lambda m: m.group(1) + _positional(m.group(2)), text)
    for m in _NEGATIVE_TIME.finditer(text):
        if float(m.group(1)) < 0:
            line = text.count("\n", 0, m.start()) + 1
            raise AnnotationError(f"negative time {m.group(1)} on line {line}", path,
                                  "fix the times in Praat: they must be 0 s or later")
    try:
        data = textgrid_io.parseTextgridStr(text, includeEmptyIntervals=True)
        tiers = []
        for t in data["tiers"]:
            if t["class"] == "IntervalTier":
                entries = [(float(e[0]), float(e[1]), str(e[2]).strip()) for e in t["entries"]]
            else:
                entries = [(float(e[0]), str(e[1]).strip()) for e in t["entries"]]
            tiers.append(Tier(str(t["name"]), str(t["class"]), entries))
        xmin, xmax = float(data["xmin"]), float(data["xmax"])
    except Exception as e:  # praatio raises many types on malformed input
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise AnnotationError(f"malformed or truncated TextGrid ({reason})", path, "open and re-save it in Praat") from None
    if xmin > xmax:
        raise AnnotationError(f"xmin {xmin} is greater than xmax {xmax}", path, "fix the file's time range")
    names = [t.name for t in tiers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        warnings.warn(AnnotationWarning(f"{path}: duplicate tier name(s) {', '.join(dupes)}; the first of each is used"))
    return TextGrid(path, xmin, xmax, tiers)


def _positional(number: str) -> str:
    """``1e-05`` as ``0.00001``: the shortest positional form that reads back as the same float."""
    import numpy as np

    return np.format_float_positional(float(number), trim="-")


def find_phone_tier(tg: TextGrid, tier: str | None = None) -> Tier:
    """The phone tier: ``tier`` by exact name, else the first common phone-tier name found."""
    intervals = [t for t in tg.tiers if t.kind == "IntervalTier"]
    if tier is not None:
        for t in intervals:
            if t.name == tier:
                return t
        raise AnnotationError(
            f"no interval tier named {tier!r}; tiers found: {', '.join(tg.tier_names) or 'none'}",
            tg.path,
            "pass --tier with one of the names found",
        )
    for pattern in PHONE_TIER_NAMES:
        for t in intervals:
            if fnmatch.fnmatch(t.name.lower(), pattern):
                return t
    raise AnnotationError(
        f"no phone tier; tiers found: {', '.join(tg.tier_names) or 'none'}",
        tg.path,
        "pass --tier NAME to choose the phone tier",
    )


def intervals_to_phones(
    entries: list[tuple[float, float, str]], path: Path, end_limit: float | None = None
) -> list[Phone]:
    """Validate a tier's intervals and return contiguous phones (gaps filled with silence "").

    Sorts unsorted intervals, clips intervals past ``end_limit`` (the audio's end) with a
    warning, and raises :class:`AnnotationError` for negative times, start > end, or overlaps.
    """
    items = sorted(entries, key=lambda e: (e[0], e[1]))
    if items != list(entries):
        warnings.warn(AnnotationWarning(f"{path}: intervals were not in time order; sorted"))
    phones: list[Phone] = []
    for start, end, label in items:
        if not (math.isfinite(start) and math.isfinite(end)):
            raise AnnotationError(f"interval {label!r} has a time that is not a finite number ({start}, {end})", path,
                                  "fix the interval times")
        if start < -TIME_EPSILON:
            raise AnnotationError(f"negative time {start} in interval {label!r}", path, "fix the interval times")
        if end < start - TIME_EPSILON:
            raise AnnotationError(f"interval {label!r} ends ({end}) before it starts ({start})", path,
                                  "fix the interval times")
        start = max(start, 0.0)
        if end_limit is not None and end > end_limit + TIME_EPSILON:
            if start >= end_limit - TIME_EPSILON:
                warnings.warn(AnnotationWarning(f"{path}: interval {label!r} at {start:.3f} s lies past the audio end "
                                                f"({end_limit:.3f} s); dropped"))
                continue
            warnings.warn(AnnotationWarning(f"{path}: interval {label!r} ends at {end:.3f} s, past the audio end "
                                            f"({end_limit:.3f} s); clipped"))
            end = end_limit
        if end - start <= 0:
            continue
        if phones:
            prev = phones[-1]
            if start < prev.end - TIME_EPSILON:
                raise AnnotationError(f"intervals {prev.label!r} and {label!r} overlap at {start:.4f} s", path,
                                      "fix the overlapping intervals")
            if start > prev.end + TIME_EPSILON:
                phones.append(Phone(prev.end, start, ""))  # an unlabelled gap is silence
            else:
                start = prev.end  # absorb Praat's float jitter so intervals tile
        phones.append(Phone(start, end, label))
    return merge_silences(phones)


def fill_edges(phones: list[Phone], start: float, end: float) -> list[Phone]:
    """Phones covering ``start``..``end``: an unlabelled stretch before the first interval or after
    the last one is silence, like a gap between intervals (so the first sound's onset and the last
    one's offset count as boundaries)."""
    if not phones:
        return phones
    out = list(phones)
    if out[0].start > start + TIME_EPSILON:
        out.insert(0, Phone(start, out[0].start, ""))
    if out[-1].end < end - TIME_EPSILON:
        out.append(Phone(out[-1].end, end, ""))
    return merge_silences(out)


def merge_silences(phones: list[Phone]) -> list[Phone]:
    """Merge neighbouring unlabelled intervals: a gap next to an empty interval is one silence."""
    out: list[Phone] = []
    for p in phones:
        if out and p.label == "" and out[-1].label == "":
            out[-1] = Phone(out[-1].start, p.end, "")
        else:
            out.append(p)
    return out


def write_textgrid(
    path: Path,
    xmax: float,
    interval_tiers: dict[str, list[tuple[float, float, str]]],
    point_tiers: dict[str, list[tuple[float, str]]] | None = None,
    fmt: str = "long_textgrid",
) -> None:
    """Write a TextGrid atomically (praatio does the formatting)."""
    from praatio import textgrid as ptg

    from ..io_utils import atomic_path

    tg = ptg.Textgrid(minTimestamp=0.0, maxTimestamp=xmax)
    for name, intervals in interval_tiers.items():
        tg.addTier(ptg.IntervalTier(name, intervals, 0.0, xmax))
    for name, points in (point_tiers or {}).items():
        tg.addTier(ptg.PointTier(name, points, 0.0, xmax))
    with atomic_path(Path(path)) as tmp:
        tg.save(str(tmp), format=fmt, includeBlankSpaces=True)
