"""TIMIT ``.phn`` files: ``START END LABEL`` in samples of the audio (often NIST SPHERE)."""

from __future__ import annotations

from ..audio import audio_info
from ..errors import AnnotationError
from .discover import CorpusItem
from .options import ReaderConfig, speaker_and_group, utterance_id
from .textgrid import fill_edges, intervals_to_phones, read_text
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
    phones = intervals_to_phones(entries, item.annotation, end_limit=info.duration)
    if not phones:
        raise AnnotationError("no phones with a positive duration", item.annotation, "check the .phn times")
    phones = fill_edges(phones, 0.0, phones[-1].end)  # unlabelled audio before the first label is silence
    speaker, group = speaker_and_group(item, cfg)
    return [Utterance(utterance_id(item), item.audio, 0.0, min(info.duration, phones[-1].end), phones, speaker, None,
                      item.annotation, group)]
