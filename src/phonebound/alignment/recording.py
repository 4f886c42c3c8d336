"""One recording and its transcript in, an :class:`~.aligner.Alignment` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..audio.load import MIN_SECONDS
from ..errors import PhoneboundError
from ..inference.detector import Detector
from .adapt import PhoneModels, PhoneStats
from .aligner import AlignedPhone, Alignment, AlignmentError, align_outputs
from .emissions import AlignWeights, FrameOutputs
from .lexicon import Pronouncer
from .transcripts import Transcript
from .words import transcript_words



@dataclass
class AlignedRecording:
    alignment: Alignment
    tiers: tuple = ()  # the input TextGrid's tiers, kept in the output
    speaker: str = ""  # the speaker tier whose text it aligns ('' for a one-voice transcript)


def weights_of(detector: Detector) -> AlignWeights:
    """The model's own aligner weights (config.json "align"), else the defaults."""
    stored = detector.config.get("align", {})
    known = {k: v for k, v in stored.items() if k in AlignWeights.__dataclass_fields__ and k != "durations"}
    return replace(AlignWeights(), **known)


def align_features(detector: Detector, heads: dict[str, np.ndarray], duration: float, transcript: Transcript,
                   text_kind: str, pronouncer: Pronouncer | None, weights: AlignWeights | None = None,
                   phone_models: PhoneModels | None = None, feats: np.ndarray | None = None) -> AlignedRecording:
    """Align a transcript to a recording whose detector heads are ``heads``; each span of the
    transcript within its own stretch of frames, silence between spans. ``phone_models`` (phone
    models adapted to the corpus, scoring the recording's input features ``feats``) add their
    term to the search."""
    if duration < MIN_SECONDS:
        raise PhoneboundError(f"the recording is {duration * 1000:.0f} ms long, too short to hold a phone",
                              fix=f"give recordings of at least {MIN_SECONDS * 1000:.0f} ms")
    if "classes" not in heads:
        raise PhoneboundError("the model has no phone-class head, which alignment needs",
                              fix="use the bundled default, or a model trained with phone_classes = 8")
    weights = weights or weights_of(detector)
    if pronouncer is not None:
        pronouncer = pronouncer.with_transcribed(transcript.pronunciations)
    spans = [(start, end, *transcript_words(text, text_kind, pronouncer)) for start, end, text in transcript.spans]
    outputs = FrameOutputs.from_heads(heads)
    if phone_models is not None and feats is not None:
        labels = [p for *_, span_words, _, _ in spans for w in span_words for v in w.variants for p in v]
        outputs = replace(outputs, phone_fit=phone_models.frame_scores(feats[:len(outputs)], labels))
    hop = detector.features_cfg.hop_s
    T = len(outputs)
    phones: list[AlignedPhone] = []
    words: list[tuple[float, float, str]] = []
    guessed: list[str] = []
    cursor = 0.0
    for start, end, span_words, span_guessed, scheme in spans:
        lo = min(T, max(0, int(round(start / hop))))
        hi = T if end is None else min(T, max(lo, int(round(end / hop))))
        guessed += span_guessed
        try:
            part = align_outputs(outputs.window(lo, hi), span_words, weights,
                                 duration=(duration if end is None else min(end, duration)) - lo * hop, hop_s=hop,
                                 scheme=scheme)
        except AlignmentError as e:
            who = f"{transcript.speakers[0]}'s " if transcript.speakers else "the "
            where = "" if len(transcript.spans) == 1 and not transcript.speakers else f" ({who}span {start:.2f}-{end or duration:.2f} s)"
            raise PhoneboundError(f"{e}{where}", fix="check that the transcript belongs to this recording") from None
        offset, first_word = lo * hop, len(words)
        if offset > cursor + 1e-9:
            phones.append(AlignedPhone(cursor, offset, "", -1, 1.0))
        phones += [replace(p, start=p.start + offset, end=p.end + offset, word=p.word + first_word if p.word >= 0 else -1)
                   for p in part.phones]
        words += [(s + offset, e + offset, w) for s, e, w in part.words]
        cursor = phones[-1].end
    if cursor < duration - 1e-9:
        phones.append(AlignedPhone(cursor, duration, "", -1, 1.0))
    return AlignedRecording(Alignment(duration, _merge_silences(phones), words, guessed), transcript.tiers,
                            transcript.speakers[0] if transcript.speakers else "")


def _merge_silences(phones: list[AlignedPhone]) -> list[AlignedPhone]:
    out: list[AlignedPhone] = []
    for p in phones:
        if p.end <= p.start:
            continue
        if out and p.label == "" and out[-1].label == "":
            out[-1] = AlignedPhone(out[-1].start, p.end, "", -1, min(out[-1].confidence, p.confidence))
        else:
            out.append(p)
    return out


def transcript_pronouncer(lang: str | None, dictionary: str | Path | Mapping | None, text_kind: str) -> Pronouncer | None:
    """The pronouncer a run uses: the dictionary (a file, or a mapping of word to its phones,
    space-separated, or a list of such variants), then gruut's lexicon and G2P for ``lang``
    (checked now, so an unknown --lang or a missing language package fails before any file)."""
    if text_kind == "phones":
        return None
    from .g2p import language_dir
    from .lexicon import read_dictionary

    if lang is None and dictionary is None:
        raise PhoneboundError("words need a language or a dictionary to be pronounced",
                              fix="give --lang (nl, en, de, fr, ...) or --dictionary FILE, or --text-kind phones")
    if lang is not None:
        language_dir(lang)
    return Pronouncer(lang, read_dictionary(dictionary) if dictionary else {})


def output_phone_set(phone_set: str | None, pronouncer: Pronouncer | None) -> tuple[str | None, str | None]:
    """The phone set an alignment is written in, and the notation kept as it is: ``phone_set``
    when given; else a non-IPA --dictionary's own, so that one TextGrid holds one notation (the
    dictionary's words keep their labels, such as ARPAbet's stress digits; gruut's are converted)."""
    if phone_set is None and pronouncer is not None and pronouncer.dictionary_phone_set:
        return pronouncer.dictionary_phone_set, pronouncer.dictionary_scheme
    return phone_set, None


def align(audio: str | Path | np.ndarray, text: str, lang: str | None = None, text_kind: str = "words",
          model: str | Path | Detector | None = None, dictionary: str | Path | Mapping | None = None,
          sample_rate: int | None = None, channel: int | None = None, phone_set: str | None = None) -> Alignment:
    """Align one recording (a path, or an array with ``sample_rate``) to ``text``.

    Returns an :class:`~.aligner.Alignment`: ``phones`` (start, end, label, word, confidence;
    silences labelled ''), ``words`` (start, end, text), ``boundaries``, ``guessed`` (words whose
    pronunciation came from the G2P model). ``phone_set``: its phones written in ipa, cgn or
    arpabet (None: as ``text`` or the G2P gave them, or in the dictionary's notation).
    ``dictionary``: a file as ``--dictionary`` reads, or ``{"word": "p h o n e s"}`` (a list of
    such strings for several pronunciations). Two passes, as ``phonebound align`` makes over a corpus,
    the recording being its own corpus. Raises PhoneboundError when it cannot be aligned."""
    from ..inference.detector import load_detector
    from ..inference.segment import recording_features, signal_of
    from .transcripts import Transcript

    detector = model if isinstance(model, Detector) else load_detector(model, backend="torch")
    if isinstance(audio, (str, Path)):
        feats, duration = recording_features(detector, audio, channel)
    else:
        signal, duration = signal_of(audio, sample_rate, channel)
        feats = detector.features(signal)
    heads = detector.head_outputs([feats])[0]
    pronouncer = transcript_pronouncer(lang, dictionary, text_kind)
    transcript = Transcript(((0.0, None, text),), "text")
    rec = align_features(detector, heads, duration, transcript, text_kind, pronouncer)
    scale = weights_of(detector).adapt
    if scale > 0:  # a corpus of one: the second pass with phone models adapted to this recording
        stats = PhoneStats()
        stats.add_alignment(feats, rec.alignment.phones, detector.features_cfg.hop_s)
        models = stats.fit(scale)
        if models is not None:
            rec = align_features(detector, heads, duration, transcript, text_kind, pronouncer, phone_models=models,
                                 feats=feats)
    return rec.alignment.in_phone_set(*output_phone_set(phone_set, pronouncer))
