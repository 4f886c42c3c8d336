"""``phonebound align``: recordings and their transcripts in, one aligned file per recording out.

The output tree mirrors the input tree and never overwrites input; a recording that cannot be
aligned (no transcript, an unpronounceable word, more phones than frames, audio too short) is
skipped with its reason in ``OUT/skipped.tsv`` while the others are aligned; words whose
pronunciation was guessed are listed in ``OUT/guessed_words.tsv``; how well each recording fits
its transcript is in ``OUT/alignment_analysis.tsv`` (:mod:`.analysis`); a rerun continues where a
killed run stopped. Short files share model batches, as in ``segment``. A first pass over the
corpus (up to 10 minutes of it, shared among its speakers) fits phone models adapted to it and
to each speaker (:mod:`.adapt`, kept in ``OUT/phone_models.npz``); the second pass aligns every
file with its speaker's. A speaker is a folder of the input (MFA's convention), or what
``speaker_regex`` finds in a file's path.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.load import audio_info, check_long_enough, truncation_note
from ..config import HOP_S
from ..errors import PhoneboundError
from ..inference.batch import (
    SegmentSummary,
    cached_detector,
    check_batch_output_dir,
    check_settings,
    file_groups,
    pending,
    place_audio,
    plan_outputs,
    run_groups,
)
from ..dataset.executors import close_executor, make_executor
from ..io_utils import atomic_write_text
from ..phones.ipa import PHONE_SETS
from .adapt import PhoneStats, SpeakerPhoneModels
from .analysis import ANALYSIS, analysis_row, append_rows, finish_table
from .lexicon import Pronouncer
from .recording import align_features, output_phone_set
from .transcripts import find_transcript, read_transcripts
from .writers import WRITERS


GUESSED = "guessed_words.tsv"
PHONE_MODELS = "phone_models.npz"
ADAPT_SAMPLE_SECONDS = 600.0  # the first pass hears at most 10 min (60,000 frames): plenty for the Gaussians


@dataclass
class AlignSummary(SegmentSummary):
    phones: int = 0
    guessed: Counter = field(default_factory=Counter)  # word -> recordings where it was guessed
    guessed_phones: dict[str, str] = field(default_factory=dict)  # word -> the G2P's phones
    adapted_speakers: int = 0  # speakers with phone models of their own (0: one pass; 1: the corpus is one)
    to_check: list[tuple[str, str, float]] = field(default_factory=list)  # (path, speaker, fit) under the threshold


def align_paths(inputs: list[str | Path], out: str | Path, lang: str | None = None, text_kind: str = "words",
                dictionary: str | Path | None = None, transcripts: str | Path | None = None,
                model: str | Path | None = None, fmt: str = "long_textgrid", jobs: int = 1, overwrite: bool = False,
                progress: bool = False, link_audio: bool = False, group_seconds: float = 120.0,
                adapt: bool = True, speaker_regex: str | None = None, phone_set: str | None = None) -> AlignSummary:
    """Align every recording under ``inputs`` to its transcript, into ``out`` (see the module doc).
    ``link_audio`` puts a link to each recording beside its output, so that ``out`` is a corpus
    ``build`` reads (aligned speech to train on). ``adapt``: two passes, the second with phone
    models adapted to the corpus and its speakers (:mod:`.adapt`); False: one pass with the detector
    alone. ``speaker_regex``: the first group it finds in a file's path relative to the corpus names
    the speaker (as ``build --speaker-regex``); default: the file's folder. ``phone_set``: the
    phones are written in ipa, cgn or arpabet (:data:`~phonebound.phones.ipa.PHONE_SETS`); None:
    as the transcript, dictionary or G2P gave them."""
    from .recording import transcript_pronouncer

    t0 = time.perf_counter()
    out = Path(out)
    pairs = plan_outputs([Path(p) for p in inputs], out, fmt)
    if not pairs:
        raise PhoneboundError("no audio files found", ", ".join(map(str, inputs)), "give audio files or folders holding them")
    _check_regex(speaker_regex)
    _check_phone_set(phone_set)
    transcript_pronouncer(lang, dictionary, text_kind)  # an unknown language or a bad dictionary fails now
    table = read_transcripts(transcripts) if transcripts else None
    check_batch_output_dir(out)
    settings = {"model": str(model or "default"), "format": fmt, "lang": lang, "text_kind": text_kind,
                "dictionary": str(dictionary) if dictionary else None,
                "transcripts": str(transcripts) if transcripts else None, "adapt": adapt}
    # absent when unused, so that earlier runs' settings still match
    settings |= {k: v for k, v in (("speaker_regex", speaker_regex), ("phone_set", phone_set)) if v}
    check_settings(out, settings, overwrite, name="align_config.json")
    summary = AlignSummary(out)
    if overwrite:
        (out / PHONE_MODELS).unlink(missing_ok=True)
        (out / ANALYSIS).unlink(missing_ok=True)
    else:  # a resumed run keeps the words an earlier run guessed in the files it finished
        _read_guessed(summary)
    todo = pending(pairs, summary, overwrite)
    options = {"model": str(model) if model is not None else None, "backend": "torch", "threads": 1 if jobs > 1 else 0,
               "fmt": fmt, "lang": lang, "text_kind": text_kind, "dictionary": str(dictionary) if dictionary else None,
               "table": table, "link_audio": link_audio, "out": str(out), "speaker_regex": speaker_regex,
               "phone_set": phone_set}

    def accept(record: dict[str, Any]) -> None:
        summary.written += 1
        summary.audio_seconds += record["duration"]
        summary.boundaries += record["boundaries"]
        summary.phones += record["phones"]
        _count_guessed(summary, record["guessed"])
        append_rows(out, record["analysis"])

    executor = make_executor("local", jobs)  # one pool for both passes: its workers load the model once
    try:
        if adapt and todo:
            models = corpus_phone_models([(str(a), str(t)) for a, t in pairs], out, options, executor, jobs,
                                         group_seconds, progress)
            options["phone_models"] = models
            summary.adapted_speakers = (len(models.speakers) or 1) if models else 0
        run_groups(todo, _align_group_task, options, summary, accept, jobs, group_seconds, progress, "aligning",
                   executor)
    finally:
        close_executor(executor)
    _write_guessed(summary)
    summary.to_check = finish_table(out)
    summary.seconds = time.perf_counter() - t0
    return summary


def check_transcripts(inputs: list[str | Path], out: str | Path, lang: str | None = None, text_kind: str = "words",
                      dictionary: str | Path | None = None, transcripts: str | Path | None = None,
                      phone_set: str | None = None) -> AlignSummary:
    """What ``align`` would skip and guess, found without a model (as MFA's ``validate``): each
    recording's header read, its transcript found and pronounced, its phones counted against its
    10 ms frames. ``OUT/check_skipped.tsv`` and ``OUT/check_guessed_words.tsv`` (names of their
    own, so that the alignment run into ``OUT`` starts clean) list what it found; a truncated WAV's
    note is in ``summary.warnings``. ``phone_set``: the guessed words' phones written as ``align``
    would write them."""
    from .aligner import fewest_phones
    from .recording import transcript_pronouncer
    from .words import transcript_words

    _check_phone_set(phone_set)
    t0 = time.perf_counter()
    out = Path(out)
    pairs = plan_outputs([Path(p) for p in inputs], out, "long_textgrid")
    pronouncer = transcript_pronouncer(lang, dictionary, text_kind)
    table = read_transcripts(transcripts) if transcripts else None
    written = output_phone_set(phone_set, pronouncer)[0]  # the set guessed words are listed in
    out.mkdir(parents=True, exist_ok=True)
    summary = AlignSummary(out)
    for audio, _ in pairs:
        try:
            info = audio_info(audio)
            check_long_enough(info)
            note = truncation_note(info)
            if note:
                summary.warnings.append(note)
            transcript = find_transcript(audio, table)
            speaker = pronouncer.with_transcribed(transcript.pronunciations) if pronouncer else None
            guessed: set[tuple[str, str]] = set()
            for _, text in transcript.by_speaker():
                words = []
                for *_, span in text.spans:
                    span_words, span_guessed, _ = transcript_words(span, text_kind, speaker)
                    words += span_words
                    guessed |= {(w, guessed_phones(speaker, w, written)) for w in span_guessed}
                phones = fewest_phones(words)
                if phones > info.duration / HOP_S:
                    raise PhoneboundError(f"the transcript has {phones} phones but the audio only "
                                          f"{int(info.duration / HOP_S)} frames of 10 ms", audio,
                                          "check that the transcript belongs to this recording")
        except PhoneboundError as e:
            summary.skipped.append((str(audio), _reason(e, str(audio))))
            continue
        summary.written += 1
        summary.audio_seconds += info.duration
        _count_guessed(summary, guessed)
    _write_guessed(summary, "check_" + GUESSED)
    atomic_write_text(out / "check_skipped.tsv", "path\treason\n" + "".join(f"{a}\t{r}\n" for a, r in summary.skipped))
    summary.seconds = time.perf_counter() - t0
    return summary


def _check_phone_set(phone_set: str | None) -> None:
    if phone_set is not None and phone_set not in PHONE_SETS:
        raise PhoneboundError(f"unknown phone set {phone_set!r}", fix=f"give --phone-set {' | '.join(PHONE_SETS)}")


def guessed_phones(pronouncer, word: str, phone_set: str | None) -> str:
    """The phones the G2P guessed for ``word``, in the notation the alignment is written in, so
    that the line can be corrected into a --dictionary for the same run."""
    from .aligner import written_in
    return " ".join(written_in(pronouncer(word).variants[0], phone_set, "ipa"))


def _count_guessed(summary: AlignSummary, guessed) -> None:
    """One recording's guessed (word, phones), each word counted once, whatever its case."""
    for word, phones in {(w.lower(), p) for w, p in guessed}:
        summary.guessed[word] += 1
        summary.guessed_phones[word] = phones


def _write_guessed(summary: AlignSummary, name: str = GUESSED) -> None:
    """``guessed_words.tsv``: word, recordings, and the G2P's phones, to correct into a --dictionary."""
    path = summary.out / name
    if summary.guessed:
        rows = "".join(f"{w}\t{n}\t{summary.guessed_phones.get(w, '')}\n"
                       for w, n in sorted(summary.guessed.items(), key=lambda kv: (-kv[1], kv[0])))
        atomic_write_text(path, "word\trecordings\tphones\n" + rows)
    else:
        path.unlink(missing_ok=True)


def _read_guessed(summary: AlignSummary) -> None:
    path = summary.out / GUESSED
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            word, count, *phones = line.split("\t")
            summary.guessed[word] = int(count)
            summary.guessed_phones[word] = phones[0] if phones else ""


_PRONOUNCERS: dict[tuple, Pronouncer | None] = {}


def _pronouncer(options: dict[str, Any]) -> Pronouncer | None:
    from .recording import transcript_pronouncer

    key = (options["lang"], options["dictionary"], options["text_kind"])
    if key not in _PRONOUNCERS:  # one per process: its word cache serves every file
        _PRONOUNCERS[key] = transcript_pronouncer(*key)
    return _PRONOUNCERS[key]


def _align_group_task(task) -> list[dict[str, Any]]:
    return _align_group(*task)


def _prepared(group: list[tuple[str, str]], options: dict[str, Any], records: list[dict[str, Any]]):
    """The detector, the pronouncer, and (audio, target, transcript, features, duration, heads) of
    each file of a group that can be read; a problem is recorded in ``records``."""
    from ..inference.segment import recording_features

    detector = cached_detector(options)
    pronouncer = _pronouncer(options)
    ready = []
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
    return detector, pronouncer, [(*r, h) for r, h in zip(ready, heads)]


def speaker_of(target: str | Path, options: dict[str, Any]) -> str:
    """The speaker of the recording written to ``target``: what the speaker regex finds in its path
    relative to the corpus (mirrored in OUT), else its folder; recordings at the top share one."""
    rel = Path(target).relative_to(options["out"])
    regex = options.get("speaker_regex")
    m = re.search(regex, rel.as_posix()) if regex else None
    if m:
        return m.group(1) if m.groups() else m.group(0)
    return rel.parent.as_posix()


def _check_regex(regex: str | None) -> None:
    try:
        re.compile(regex or "")
    except re.error as e:
        raise PhoneboundError(f"--speaker-regex is not a regular expression ({e})", regex,
                              "give a Python regex whose first group names the speaker, e.g. '^([a-z]+_[a-z]+)_'") from e


def _stats_group_task(task) -> dict[str, PhoneStats]:
    """First pass: per speaker, the phone statistics of a group's alignments by the detector alone
    (files that cannot be aligned are left out here and reported by the second pass)."""
    group, options = task
    stats: dict[str, PhoneStats] = {}
    detector, pronouncer, ready = _prepared(group, options, [])
    hop = detector.features_cfg.hop_s
    for _, target, transcript, feats, duration, h in ready:
        for speaker, text in voices(transcript, target, options):
            try:
                rec = align_features(detector, h, duration, text, options["text_kind"], pronouncer)
            except PhoneboundError:
                continue
            stats.setdefault(speaker, PhoneStats()).add_alignment(feats, rec.alignment.phones, hop)
    return stats


def voices(transcript, target: str | Path, options: dict[str, Any]) -> list[tuple[str, Any]]:
    """(speaker, transcript) per voice of a recording: its speaker tiers' (a tier's name is its
    speaker across the corpus, as in MFA), else the file's speaker (:func:`speaker_of`)."""
    return [(name or speaker_of(target, options), text) for name, text in transcript.by_speaker()]


def _align_group(group: list[tuple[str, str]], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Align a group of files; their features run through the model together."""
    records: list[dict[str, Any]] = []
    detector, pronouncer, ready = _prepared(group, options, records)
    writer = WRITERS[options["fmt"]][0]
    adapted = options.get("phone_models")
    written = output_phone_set(options.get("phone_set"), pronouncer)
    for audio, target, transcript, feats, duration, h in ready:
        try:
            speakers = voices(transcript, target, options)
            recs = [align_features(detector, h, duration, text, options["text_kind"], pronouncer,
                                   phone_models=adapted.of(speaker) if adapted else None, feats=feats)
                    for speaker, text in speakers]
            recs = [replace(rec, alignment=rec.alignment.in_phone_set(*written)) for rec in recs]
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            writer(recs, Path(target), {"file": audio, "model": str(detector.path or detector.name)})
            if options["link_audio"]:
                place_audio(Path(audio), Path(target).with_suffix(Path(audio).suffix))
        except PhoneboundError as e:
            records.append({"audio": audio, "error": _reason(e, audio)})
            continue
        records.append({"audio": audio, "target": target, "duration": duration,
                        "analysis": [analysis_row(audio, speaker, rec.alignment) for (speaker, _), rec in zip(speakers, recs)],
                        "guessed": [(w, guessed_phones(pronouncer, w, written[0]))
                                    for rec in recs for w in rec.alignment.guessed],
                        "boundaries": sum(len(rec.alignment.phones) - 1 for rec in recs),
                        "phones": sum(1 for rec in recs for p in rec.alignment.phones if p.label)})
    return records


def corpus_phone_models(pairs: list[tuple[str, str]], out: Path, options: dict[str, Any], executor, jobs: int,
                        group_seconds: float, progress: bool) -> SpeakerPhoneModels | None:
    """Phone models adapted to the corpus and its speakers (:mod:`.adapt`), from a first pass (in
    ``executor``) over up to ADAPT_SAMPLE_SECONDS of it (:func:`adaptation_sample`); kept in
    ``OUT/phone_models.npz``, so that a resumed run places its remaining files with the same models."""
    from ..dataset.executors import run_tasks
    from ..inference.batch import Progress
    from .recording import weights_of

    path = out / PHONE_MODELS
    if path.exists():
        return SpeakerPhoneModels.load(path)
    scale = weights_of(cached_detector(options)).adapt
    if scale <= 0:
        return None
    groups = file_groups(adaptation_sample(pairs, [speaker_of(t, options) for _, t in pairs]), group_seconds)
    bar = Progress(progress, len(groups), "adapting")
    stats: dict[str, PhoneStats] = {}
    try:
        tasks = [(g, options) for g in groups]
        for part in (run_tasks(executor, _stats_group_task, tasks, max_pending=2 * jobs) if jobs > 1
                     else map(_stats_group_task, tasks)):
            for speaker, st in part.items():
                stats.setdefault(speaker, PhoneStats()).merge(st)
            bar.advance(1)
    finally:
        bar.close()
    models = SpeakerPhoneModels.fit(stats, scale)
    if models is not None:
        out.mkdir(parents=True, exist_ok=True)
        models.save(path)
    return models


def adaptation_sample(pairs: list[tuple[str, str]], speakers: list[str],
                      seconds: float = ADAPT_SAMPLE_SECONDS) -> list[tuple[str, str]]:
    """What the first pass hears: up to ``seconds`` of audio shared equally among the speakers, each
    speaker's files taken evenly spread over them (every session of a sorted corpus has its say),
    and at least one file of every speaker (so a corpus of many speakers may exceed ``seconds``: one
    file each, as MFA's speaker adaptation hears every speaker)."""
    by_speaker: dict[str, list[tuple[str, str]]] = {}
    for pair, speaker in zip(pairs, speakers):
        by_speaker.setdefault(speaker, []).append(pair)
    share = seconds / len(by_speaker)
    chosen = []
    for items in by_speaker.values():
        total = 0.0
        for audio, _ in items:
            try:
                total += audio_info(audio).duration
            except PhoneboundError:  # unreadable: the second pass reports it
                pass
        k = min(len(items), max(1, int(np.ceil(share * len(items) / max(total, 1e-3)))))
        chosen += [items[i] for i in np.unique(np.linspace(0, len(items) - 1, k).round().astype(int))]
    return chosen


def _reason(e: PhoneboundError, audio: str) -> str:
    return e.reason if e.path in (None, audio) else str(e)
