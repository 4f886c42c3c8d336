"""Options shared by the corpus readers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from .discover import CorpusItem, annotation_stem


@dataclass(frozen=True)
class ReaderConfig:
    """How to turn annotation files into utterances.

    tier : the phone tier's name (TextGrid); None picks a common phone-tier name.
    min_silence : seconds of a speaker's silence that end a turn (CGN, multi-speaker TextGrids).
    pad : seconds of silence kept around each turn (never into another speaker's speech).
    speaker_regex : regex on the annotation path relative to the corpus root whose first group
        names the speaker; None uses the parent folder (the file's stem for files at the root).
    """

    tier: str | None = None
    min_silence: float = 0.3
    pad: float = 0.1
    speaker_regex: str | None = None


def speaker_and_group(item: CorpusItem, cfg: ReaderConfig) -> tuple[str, str]:
    """Speaker id and the corpus-level group (first folder below the root) of an item."""
    rel = item.relative
    group = rel.parts[0] if len(rel.parts) > 1 else ""
    if cfg.speaker_regex:
        m = re.search(cfg.speaker_regex, rel.as_posix())
        if m:
            return (m.group(1) if m.groups() else m.group(0)), group
    speaker = rel.parent.name if len(rel.parts) > 1 else annotation_stem(item.annotation)
    return speaker, group


def utterance_id(item: CorpusItem) -> str:
    rel = item.relative
    return (rel.parent / annotation_stem(item.annotation)).as_posix()



def file_utterance(item: CorpusItem, cfg: ReaderConfig, entries: list[tuple[float, float, str]], info) -> list:
    """The one utterance of a label file whose times cover one recording (TIMIT, HTK, festvox,
    Buckeye): validated phones, leading unlabelled audio as silence, ending at the last label."""
    from ..errors import AnnotationError
    from .textgrid import fill_edges, intervals_to_phones
    from .types import Utterance

    phones = intervals_to_phones(entries, item.annotation, end_limit=info.duration)
    if not phones:
        raise AnnotationError("no phones with a positive duration inside the audio", item.annotation,
                              "check the label times")
    phones = fill_edges(phones, 0.0, phones[-1].end)  # unlabelled audio before the first label is silence
    speaker, group = speaker_and_group(item, cfg)
    return [Utterance(utterance_id(item), item.audio, 0.0, min(info.duration, phones[-1].end), phones, speaker, None,
                      item.annotation, group)]
