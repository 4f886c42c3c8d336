"""Corpus readers: every format becomes a list of :class:`Utterance` (times in seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import AnnotationError
from . import cgn, lab, textgrid_corpus, timit
from .discover import FORMATS, CorpusItem, Discovery, detect_format, discover
from .options import ReaderConfig
from .types import SILENCE_LABELS, Phone, Utterance

def _read_audio_only(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    """A recording without alignments: one utterance, no phones, no boundaries."""
    from ..audio.load import audio_info
    from .options import speaker_and_group

    duration = audio_info(item.audio).duration
    speaker, group = speaker_and_group(item, cfg)
    uid = item.relative.with_suffix("").as_posix()
    return [Utterance(uid, item.audio, 0.0, duration, [], speaker, None, None, group)]


_READERS = {
    "audio": _read_audio_only,
    "textgrid": textgrid_corpus.read,
    "cgn": cgn.read,
    "timit": timit.read,
    "lab": lab.read,
    "buckeye": lab.read,
}


def read_item(item: CorpusItem, cfg: ReaderConfig = ReaderConfig()) -> list[Utterance]:
    """The utterances of one annotation file; raises a :class:`PhoneboundError` subclass when it
    cannot be used."""
    if item.audio is None:
        raise AnnotationError("no audio file found beside this annotation", item.annotation,
                              "put the audio next to it with the same name (any soundfile format)")
    import warnings

    from ..audio.load import audio_info, check_long_enough, truncation_note

    info = audio_info(item.audio)
    check_long_enough(info)
    note = truncation_note(info)
    if note:  # build lists it in warnings.txt
        warnings.warn(note, stacklevel=2)
    return _READERS[item.format](item, cfg)


def read_corpus(root: str | Path, fmt: str | None = None, cfg: ReaderConfig = ReaderConfig()) -> Iterator[Utterance]:
    """Every utterance of a corpus, skipping nothing silently: unreadable files raise."""
    _, found = discover(root, fmt)
    for item in found.items:
        yield from read_item(item, cfg)


__all__ = ["FORMATS", "CorpusItem", "Discovery", "Phone", "ReaderConfig", "SILENCE_LABELS", "Utterance",
           "detect_format", "discover", "read_corpus", "read_item"]
