"""TIMIT ``.phn`` files: ``START END LABEL`` in samples of the audio (often NIST SPHERE)."""

from __future__ import annotations

from ..audio.load import audio_info
from ..errors import AnnotationError
from .discover import CorpusItem
from .options import ReaderConfig, file_utterance
from .textgrid import read_text
from .types import Utterance


def parse_phn(text: str, sample_rate: int, path) -> list[tuple[float, float, str]]:
    """Intervals in seconds from a ``.phn`` text (sample counts at ``sample_rate``)."""
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 3:
            raise AnnotationError(f"line {n}: expected 'START END LABEL', got {line.strip()!r}", path,
                                  "fix or remove the line")
        try:
            start, end = int(fields[0]), int(fields[1])
        except ValueError:
            raise AnnotationError(f"line {n}: sample counts must be integers, got {line.strip()!r}", path,
                                  "fix the line") from None
        entries.append((start / sample_rate, end / sample_rate, " ".join(fields[2:])))
    if not entries:
        raise AnnotationError("no phones in file", path, "check the file")
    return entries


def read(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    info = audio_info(item.audio)
    entries = parse_phn(read_text(item.annotation), info.sample_rate, item.annotation)
    last = max(e for _, e, _ in entries)
    if last * info.sample_rate > info.frames + 1:
        raise AnnotationError(f"phone times reach sample {round(last * info.sample_rate)} but the audio has "
                              f"{info.frames} samples", item.annotation, "check that .phn and audio belong together")
    return file_utterance(item, cfg, entries, info)
