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

