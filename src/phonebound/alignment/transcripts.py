"""Where each recording's transcript comes from, as forced aligners take them.

In order: a ``--transcripts`` file of ``id|text`` lines (LJSpeech / rhasspy ``metadata.csv``; a
third column, LJSpeech's normalised text, is preferred when present), keyed by the audio's
stem, or a ``--transcripts`` folder holding ``<stem>.txt`` / ``.lab`` / ``.TextGrid`` files
anywhere below it (also CGN's ``<stem>.ort.gz`` / ``.awd.gz``: a corpus whose annotations live
in a tree of their own); ``<stem>.txt`` or ``<stem>.lab`` beside the audio (MFA's convention; a ``.lab`` holding
an HTK time-aligned label file is not a transcript); a TextGrid beside the audio whose words
tier gives the text: each run of touching labelled intervals is aligned within its own span
(MFA's convention for utterance intervals), so pauses a transcriber marked stay pauses. A
TextGrid without a words tier whose interval tiers each hold one speaker's text (MFA's
multi-speaker TextGrids, an interview transcribed in Praat) is one transcript per speaker tier.
Where a text tier has a phonetic partner (CGN's ``<speaker>_FON``: each word's phones as the
annotator heard them, unspaced SAMPA), each word's transcription is kept as its pronunciation.
"""

from __future__ import annotations

import fnmatch
import gzip
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..corpus.textgrid import PHONE_TIER_NAMES
from ..errors import PhoneboundError
from ..phones.ipa import split_cgn_sampa, to_ipa
from .g2p import spoken_words

WORD_TIERS = ("words", "word", "text", "transcript", "transcription", "utterance", "utterances", "ortho", "orthography")
# Interval tiers that are not a speaker's text: phone tiers, CGN's phonetic tiers, notes, our own output
NOT_SPEAKER_TIERS = PHONE_TIER_NAMES + ("*_fon", "* - words", "background", "comment", "comments", "notes", "confidence")
_HTK_LINE = re.compile(r"^\s*\d+(\.\d+)?\s+\d+(\.\d+)?\s+\S+")


@dataclass(frozen=True)
class Transcript:
    """The text of a recording: one span (start, end, text) per stretch aligned on its own;
    ``end`` None means the end of the recording. ``source`` says where it was read."""

    spans: tuple[tuple[float, float | None, str], ...]
    source: str
    tiers: tuple = ()  # the TextGrid's tiers, kept in the output
    speakers: tuple[str, ...] = ()  # per span, its speaker tier (a multi-speaker TextGrid); () for one voice
    # (word, IPA phones) as the annotation transcribed each word (CGN's _FON tiers), in order
    pronunciations: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def by_speaker(self) -> list[tuple[str, Transcript]]:
        """Each speaker's spans as a transcript of their own, in tier order; ('', self) for one voice."""
        if not self.speakers:
            return [("", self)]
        names = list(dict.fromkeys(self.speakers))
        return [(name, replace(self, spans=tuple(s for s, who in zip(self.spans, self.speakers) if who == name),
                               speakers=tuple(who for who in self.speakers if who == name))) for name in names]


def read_transcripts_file(path: str | Path) -> dict[str, str]:
    """id -> text of an ``id|text`` (or ``id|text|normalised``) file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PhoneboundError(f"cannot read the transcripts file ({e.strerror})", path, "check the --transcripts path") from None
    text = _decode(raw)
    table: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            raise PhoneboundError(f"line {n} has no '|' between id and text", path,
                                  "write one recording per line: id|text (id = the audio file's name without extension)")
        table[fields[0].strip()] = (fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]).strip()
    if not table:
        raise PhoneboundError("the transcripts file is empty", path, "write one recording per line: id|text")
    return table


# A transcripts folder's files by kind, the first kind found for a stem winning (CGN: word
# alignments .awd before orthographic utterances .ort)
FOLDER_SUFFIXES = (".txt", ".lab", ".textgrid", ".awd", ".ort")


def read_transcripts(path: str | Path) -> dict[str, str | Path]:
    """What ``--transcripts`` names: stem -> text for an ``id|text`` file; stem -> transcript file
    for a folder (searched recursively; ``x.awd.gz`` has the stem ``x``)."""
    path = Path(path)
    if not path.is_dir():
        return read_transcripts_file(path)
    files: dict[str, Path] = {}
    rank: dict[str, int] = {}
    for f in sorted(path.rglob("*")):
        name = f.name.lower().removesuffix(".gz")
        kind = next((k for k, suffix in enumerate(FOLDER_SUFFIXES) if name.endswith(suffix)), None)
        stem = f.name.split(".", 1)[0]
        if kind is not None and f.is_file() and kind < rank.get(stem, len(FOLDER_SUFFIXES)):
            files[stem], rank[stem] = f, kind
    if not files:
        raise PhoneboundError("the transcripts folder holds no transcript", path,
                              f"put <stem>.txt, .lab or .TextGrid files in it ({', '.join(FOLDER_SUFFIXES)}, or .gz of them)")
    return files


def find_transcript(audio: Path, table: dict[str, str | Path] | None = None) -> Transcript:
    """The transcript of ``audio`` (see the module doc), or a :class:`PhoneboundError` naming the fix."""
    entry = table.get(audio.stem) if table is not None else None
    if isinstance(entry, str):
        return Transcript(((0.0, None, entry),), "transcripts file")
    if isinstance(entry, Path):
        found = _transcript_file(entry)
        if found is not None:
            return found
    for candidate in (audio.with_suffix(".txt"), audio.with_suffix(".lab"), audio.with_suffix(".TextGrid"),
                      audio.with_suffix(".textgrid")):
        found = _transcript_file(candidate) if candidate.exists() else None
        if found is not None:
            return found
    where = "in the --transcripts file or " if table is not None else ""
    raise PhoneboundError("no transcript found", audio,
                          f"put its text {where}in {audio.stem}.txt beside it (or .lab, or a TextGrid with a words tier)")


def _transcript_file(path: Path) -> Transcript | None:
    """A .txt / .lab (its text) or a TextGrid (its words or speaker tiers); None for an HTK
    time-aligned .lab, which is not a transcript."""
    name = path.name.lower()
    if name.removesuffix(".gz").endswith((".txt", ".lab")):
        raw = path.read_bytes()
        text = _decode(gzip.decompress(raw) if name.endswith(".gz") else raw)
        if name.removesuffix(".gz").endswith(".lab") and text.strip() and all(_HTK_LINE.match(x) for x in text.splitlines() if x.strip()):
            return None
        return Transcript(((0.0, None, " ".join(text.split())),), path.name)
    return _textgrid_transcript(path)


def _textgrid_transcript(path: Path) -> Transcript:
    from ..corpus.textgrid import read_textgrid

    tg = read_textgrid(path)
    tier = next((t for name in WORD_TIERS for t in tg.tiers
                 if t.kind == "IntervalTier" and t.name.strip().lower() == name), None)
    if tier is not None:
        return Transcript(_tier_spans(tier), path.name, tuple(tg.tiers), pronunciations=_transcribed(tg.tiers, [tier]))
    voices = [t for t in tg.tiers if t.kind == "IntervalTier" and _tier_spans(t)
              and not any(fnmatch.fnmatch(t.name.strip().lower(), p) for p in NOT_SPEAKER_TIERS)]
    if not voices:
        names = ", ".join(t.name for t in tg.tiers) or "none"
        raise PhoneboundError(f"the TextGrid beside it has no words tier and no speaker's text tier (tiers: {names})",
                              path, "name the tier with the text 'words' (or one tier per speaker), or give a .txt transcript")
    spans = [(t.name, span) for t in voices for span in _tier_spans(t)]
    return Transcript(tuple(s for _, s in spans), path.name, tuple(tg.tiers), tuple(name for name, _ in spans),
                      _transcribed(tg.tiers, voices))


def _transcribed(tiers, text_tiers) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(word, IPA phones) for each word of ``text_tiers`` whose ``<tier>_FON`` partner transcribes
    the same interval in CGN's unspaced SAMPA ("bA+t")."""
    partners = {t.name.strip().lower(): t for t in tiers if t.kind == "IntervalTier"}
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for tier in text_tiers:
        fon = partners.get(tier.name.strip().lower() + "_fon")
        if fon is None:
            continue
        at = {(round(float(s), 3), round(float(e), 3)): str(label).strip() for s, e, label in fon.entries}
        for s, e, label in tier.entries:
            words = spoken_words(str(label), None)  # "kat*a" is the word "kat", as the aligner reads it
            phones = split_cgn_sampa(at.get((round(float(s), 3), round(float(e), 3)), ""))
            if len(words) == 1 and phones:
                pairs.append((words[0], tuple(to_ipa(p, "sampa") for p in phones)))
    return tuple(dict.fromkeys(pairs))


def _tier_spans(tier) -> tuple[tuple[float, float, str], ...]:
    """A tier's text: each run of touching labelled intervals is one span. An interval with no
    spoken word (:func:`~.g2p.spoken_words`: empty, punctuation, or CGN's placeholders xxx and
    ggg) is a gap, so that its stretch is left out of the alignment rather than squeezed into the
    words around it."""
    spans: list[tuple[float, float, str]] = []
    for s, e, label in tier.entries:
        label = str(label).strip()
        if not spoken_words(label, None):
            continue
        if spans and abs(spans[-1][1] - float(s)) < 1e-6:
            spans[-1] = (spans[-1][0], float(e), f"{spans[-1][2]} {label}")
        else:
            spans.append((float(s), float(e), label))
    return tuple(spans)


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")
