"""Label files: HTK ``.lab`` (``START END LABEL`` in 100 ns units), festvox ``.lab`` and Buckeye
``.phones`` (a header, a ``#`` line, then ``END_TIME COLOUR LABEL`` in seconds)."""

from __future__ import annotations

from ..audio.load import audio_info
from ..errors import AnnotationError
from .discover import CorpusItem
from .options import ReaderConfig, file_utterance
from .textgrid import read_text
from .types import Utterance

HTK_UNITS_PER_SECOND = 10_000_000  # HTK times are in 100 ns units


def parse_htk(text: str, path) -> list[tuple[float, float, str]]:
    """HTK label lines ``START END LABEL [score]``; integer times are 100 ns units, decimals seconds."""
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] in ("///", "."):
            continue
        if len(fields) < 3:
            raise AnnotationError(f"line {n}: expected 'START END LABEL', got {line.strip()!r}", path, "fix the line")
        try:
            if "." in fields[0] or "." in fields[1]:
                start, end = float(fields[0]), float(fields[1])
            else:
                start, end = int(fields[0]) / HTK_UNITS_PER_SECOND, int(fields[1]) / HTK_UNITS_PER_SECOND
        except ValueError:
            raise AnnotationError(f"line {n}: times must be numbers, got {line.strip()!r}", path, "fix the line") from None
        entries.append((start, end, fields[2]))
    if not entries:
        raise AnnotationError("no labels in file", path, "check the file")
    return entries


def parse_end_times(text: str, path) -> list[tuple[float, float, str]]:
    """festvox/Buckeye: lines after ``#`` hold ``END_TIME COLOUR LABEL``; each phone starts where
    the previous one ended (the first at 0)."""
    lines = text.splitlines()
    try:
        body = lines[next(i for i, line in enumerate(lines) if line.strip() == "#") + 1 :]
    except StopIteration:
        raise AnnotationError("no '#' line ending the header", path, "check that this is a festvox/Buckeye label file") from None
    entries, previous = [], 0.0
    for n, line in enumerate(body, 1):
        fields = line.split(";")[0].split()
        if not fields:
            continue
        try:
            end = float(fields[0])
        except ValueError:
            raise AnnotationError(f"line {n} after '#': end time must be a number, got {line.strip()!r}", path,
                                  "fix the line") from None
        # Buckeye may append "; comment" to a label; keep the label only
        label = line.split(";")[0].split(None, 2)[2].strip() if len(fields) > 2 else ""
        entries.append((previous, end, label))
        previous = end
    if not entries:
        raise AnnotationError("no labels after the '#' line", path, "check the file")
    return entries


def parse_lab(text: str, path) -> list[tuple[float, float, str]]:
    """A ``.lab`` file of either flavour: festvox when a lone ``#`` line is present, else HTK."""
    if any(line.strip() == "#" for line in text.splitlines()):
        return parse_end_times(text, path)
    return parse_htk(text, path)


def read(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    text = read_text(item.annotation)
    entries = parse_end_times(text, item.annotation) if item.format == "buckeye" else parse_lab(text, item.annotation)
    return file_utterance(item, cfg, entries, audio_info(item.audio))
