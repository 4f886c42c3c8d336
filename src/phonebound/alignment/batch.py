"""``phonebound align``: recordings and their transcripts in, one aligned file per recording out.

The output tree mirrors the input tree and never overwrites input; a recording that cannot be
aligned (no transcript, an unpronounceable word, more phones than frames, audio too short) is
skipped with its reason in ``OUT/skipped.tsv`` while the others are aligned; words whose
pronunciation was guessed are listed in ``OUT/guessed_words.tsv``; a rerun continues where a
killed run stopped. Short files share model batches, as in ``segment``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audio.load import audio_info, truncation_note
from ..errors import PhoneboundError
from ..inference.batch import (
    SegmentSummary,
    cached_detector,
    check_batch_output_dir,
    check_settings,
    pending,
    place_audio,
    plan_outputs,
    run_groups,
)
from ..io_utils import atomic_write_text
from .lexicon import Pronouncer
from .transcripts import find_transcript, read_transcripts_file
from .writers import WRITERS


@dataclass
class AlignSummary(SegmentSummary):
    phones: int = 0
    guessed: Counter = field(default_factory=Counter)  # word -> recordings where it was guessed


def align_paths(inputs: list[str | Path], out: str | Path, lang: str | None = None, text_kind: str = "words",
                dictionary: str | Path | None = None, transcripts: str | Path | None = None,
                model: str | Path | None = None, fmt: str = "long_textgrid", jobs: int = 1, overwrite: bool = False,
                progress: bool = False, link_audio: bool = False, group_seconds: float = 120.0) -> AlignSummary:
    """Align every recording under ``inputs`` to its transcript, into ``out`` (see the module doc).
    ``link_audio`` puts a link to each recording beside its output, so that ``out`` is a corpus
    ``build`` reads (aligned speech to train on)."""
    from .recording import transcript_pronouncer

    t0 = time.perf_counter()
    out = Path(out)
    pairs = plan_outputs([Path(p) for p in inputs], out, fmt)
    if not pairs:
        raise PhoneboundError("no audio files found", ", ".join(map(str, inputs)), "give audio files or folders holding them")
    transcript_pronouncer(lang, dictionary, text_kind)  # an unknown language or a bad dictionary fails now
    table = read_transcripts_file(transcripts) if transcripts else None
    check_batch_output_dir(out)
    settings = {"model": str(model or "default"), "format": fmt, "lang": lang, "text_kind": text_kind,
                "dictionary": str(dictionary) if dictionary else None,
                "transcripts": str(transcripts) if transcripts else None}
    check_settings(out, settings, overwrite, name="align_config.json")
    summary = AlignSummary(out)
    todo = pending(pairs, summary, overwrite)
    options = {"model": str(model) if model is not None else None, "backend": "torch", "threads": 1 if jobs > 1 else 0,
               "fmt": fmt, "lang": lang, "text_kind": text_kind, "dictionary": str(dictionary) if dictionary else None,
               "table": table, "link_audio": link_audio}

    def accept(record: dict[str, Any]) -> None:
        summary.written += 1
        summary.audio_seconds += record["duration"]
        summary.boundaries += record["boundaries"]
        summary.phones += record["phones"]
        summary.guessed.update(set(record["guessed"]))

    run_groups(todo, _align_group_task, options, summary, accept, jobs, group_seconds, progress, "aligning")
    _write_guessed(summary)
    summary.seconds = time.perf_counter() - t0
    return summary


def _write_guessed(summary: AlignSummary) -> None:
    path = summary.out / "guessed_words.tsv"
    if summary.guessed:
        rows = "".join(f"{w}\t{n}\n" for w, n in sorted(summary.guessed.items(), key=lambda kv: (-kv[1], kv[0])))
        atomic_write_text(path, "word\trecordings\n" + rows)
    else:
        path.unlink(missing_ok=True)


_PRONOUNCERS: dict[tuple, Pronouncer | None] = {}


def _pronouncer(options: dict[str, Any]) -> Pronouncer | None:
    from .recording import transcript_pronouncer

    key = (options["lang"], options["dictionary"], options["text_kind"])
    if key not in _PRONOUNCERS:  # one per process: its word cache serves every file
        _PRONOUNCERS[key] = transcript_pronouncer(*key)
    return _PRONOUNCERS[key]


def _align_group_task(task) -> list[dict[str, Any]]:
    return _align_group(*task)


def _align_group(group: list[tuple[str, str]], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Align a group of files; their features run through the model together."""
    from ..inference.segment import recording_features
    from .recording import align_features

    detector = cached_detector(options)
    pronouncer = _pronouncer(options)
    records, ready = [], []
    for audio, target in group:
        try:
            note = truncation_note(audio_info(audio))  # read anyway; the note says how much is missing
            if note:
                records.append({"audio": audio, "warnings": [note]})
            transcript = find_transcript(Path(audio), options["table"])
            feats, duration = recording_features(detector, audio)
            ready.append((audio, target, transcript, feats, duration))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
    heads = detector.head_outputs([r[3] for r in ready]) if ready else []
    writer = WRITERS[options["fmt"]][0]
    for (audio, target, transcript, _, duration), h in zip(ready, heads):
        try:
            rec = align_features(detector, h, duration, transcript, options["text_kind"], pronouncer)
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            writer(rec, Path(target), {"file": audio, "model": str(detector.path or detector.name)})
            if options["link_audio"]:
                place_audio(Path(audio), Path(target).with_suffix(Path(audio).suffix))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
            continue
        records.append({"audio": audio, "target": target, "duration": duration, "guessed": rec.alignment.guessed,
                        "boundaries": len(rec.alignment.phones) - 1,
                        "phones": sum(1 for p in rec.alignment.phones if p.label)})
    return records


def _reason(e: PhoneboundError, audio: str) -> str:
    return e.reason if e.path in (None, audio) else str(e)
