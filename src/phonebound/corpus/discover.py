"""Find annotation files under a corpus root, pair each with its audio, and detect the format."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..audio.load import is_audio_file
from ..errors import PhoneboundError

# Suffixes of annotation files, lower-cased, per format.
SUFFIXES = {
    "cgn": (".awd.gz", ".awd"),
    "textgrid": (".textgrid", ".textgrid.gz"),
    "timit": (".phn",),
    "lab": (".lab",),
    "buckeye": (".phones",),
}
FORMATS = (*SUFFIXES, "audio")  # "audio": recordings without alignments (self-supervised training)


@dataclass(frozen=True)
class CorpusItem:
    """One annotation file and the audio it describes."""

    annotation: Path
    audio: Path | None
    format: str
    root: Path

    @property
    def relative(self) -> Path:
        try:
            return self.annotation.relative_to(self.root)
        except ValueError:
            return Path(self.annotation.name)


@dataclass
class Discovery:
    items: list[CorpusItem] = field(default_factory=list)
    unpaired_audio: list[Path] = field(default_factory=list)  # audio with no annotation


def annotation_stem(path: Path) -> str:
    name = path.name
    lower = name.lower()
    for suffixes in SUFFIXES.values():
        for s in suffixes:
            if lower.endswith(s):
                return name[: -len(s)]
    return path.stem


def _walk(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def detect_format(root: Path, files: list[Path] | None = None) -> str:
    """The corpus format, from the annotation files found (CGN first: it also holds TextGrids)."""
    files = _walk(root) if files is None else files
    names = [p.name.lower() for p in files]
    for fmt in SUFFIXES:  # "audio" is never detected: recordings without alignments must be asked for
        if any(n.endswith(s) for n in names for s in SUFFIXES[fmt]):
            return fmt
    audio = any(is_audio_file(p) for p in files)
    raise PhoneboundError(
        "no annotation files found (looked for .TextGrid, .awd.gz, .phn, .lab, .phones)",
        root,
        "pass --format audio to use the recordings without alignments (self-supervised training)" if audio
        else "point at a corpus directory with phone alignments, or pass --format",
    )


def discover(root: str | Path, fmt: str | None = None) -> tuple[str, Discovery]:
    """All annotation files of format ``fmt`` (detected when None) with their audio, sorted."""
    root = Path(root)
    if not root.exists():
        raise PhoneboundError("corpus path not found", root, "check the path")
    if fmt is not None and fmt not in FORMATS:
        raise PhoneboundError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    files = _walk(root)
    fmt = fmt or detect_format(root, files)
    # A single annotation file: its audio lies beside it, not in the one-file walk.
    pool = files if root.is_dir() else sorted(p for p in root.parent.iterdir() if p.is_file())
    audio = [p for p in pool if is_audio_file(p)]
    by_dir_stem: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for a in audio:
        by_dir_stem[(a.parent, a.stem.lower())].append(a)
        by_stem[a.stem.lower()].append(a)
    base = root if root.is_dir() else root.parent
    result = Discovery()
    used: set[Path] = set()
    if fmt == "audio":
        result.items = [CorpusItem(a, a, fmt, base) for a in audio]
        return fmt, result
    for f in files:
        if not any(f.name.lower().endswith(s) for s in SUFFIXES[fmt]):
            continue
        match = _pair(f, by_dir_stem, by_stem, fmt)
        if match is not None:
            used.add(match)
        result.items.append(CorpusItem(f, match, fmt, base))
    result.unpaired_audio = [a for a in audio if a not in used] if root.is_dir() else []
    return fmt, result


def _pair(annotation: Path, by_dir_stem, by_stem, fmt: str) -> Path | None:
    """The audio of an annotation: same folder and stem; else a shorter stem (``bobby_phones`` →
    ``bobby``); for CGN the mirrored ``audio/wav`` folder or the same stem anywhere in the corpus."""
    stem = annotation_stem(annotation).lower()
    candidates = [stem]
    parts = re.split(r"[_.\-]", stem)
    for k in range(len(parts) - 1, 0, -1):
        candidates.append(stem[: len("_".join(parts[:k]))])
    for c in candidates:
        if by_dir_stem.get((annotation.parent, c)):
            return _preferred(by_dir_stem[(annotation.parent, c)])
    if fmt == "cgn" or len(by_stem.get(stem, [])) == 1:
        found = by_stem.get(stem, [])
        if found:
            return _preferred(found)
    return None


def _preferred(paths: list[Path]) -> Path:
    order = {".wav": 0, ".flac": 1}
    return sorted(paths, key=lambda p: (order.get(p.suffix.lower(), 2), str(p)))[0]
