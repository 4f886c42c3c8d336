"""Pronunciations of transcript words: the user's dictionary, the transcript's own (CGN's _FON
tiers), then gruut's lexicon, then its G2P.

A dictionary file has one pronunciation per line, ``word<TAB>phone phone …`` (MFA's and CGN's
lexicon format) or CMUdict's (``read(2)`` for a word's second line); a word may have several
lines (variants), and MFA's probability columns between the word and its phones are skipped. CGN
writes a word's phones without spaces ("dAt", "bA+t"); such a transcription is split into CGN's
phones. Words are matched case-insensitively. From Python, a mapping serves as well.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PhoneboundError
from ..phones.classes import guess_scheme
from ..phones.ipa import split_cgn_sampa
from .g2p import Pronunciations, lexicon

HYPHENS = re.compile(r"[-\u2010\u2011]")
MAX_COMPOUND_VARIANTS = 8  # a hyphenated word's pronunciations: its parts' combined, the first 8
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_CMUDICT_VARIANT = re.compile(r"\(\d+\)$")  # CMUdict's second pronunciation of "read" is "read(2)"


def read_dictionary(path: str | Path | Mapping) -> dict[str, tuple[tuple[str, ...], ...]]:
    """word (lower case) -> its pronunciations, in file order. ``path`` may also be a mapping from
    Python: {"kat": "k ɑ t"}, or {"het": ["h ɛ t", "ə t"]} for several pronunciations."""
    if isinstance(path, Mapping):
        return {w.lower(): tuple(tuple(v.split()) for v in ([p] if isinstance(p, str) else p)) for w, p in path.items()}
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise PhoneboundError(f"cannot read the dictionary ({e.strerror})", path, "check the --dictionary path") from None
    entries: dict[str, list[tuple[str, ...]]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith(("#", ";;;")):
            continue
        word, _, rest = line.strip().partition("\t") if "\t" in line else line.strip().partition(" ")
        fields = rest.split()
        while fields and _NUMBER.match(fields[0]):  # MFA's pronunciation and silence probabilities
            fields = fields[1:]
        if not word or not fields:
            raise PhoneboundError(f"line {n} has no phones after the word", path,
                                  "write one pronunciation per line: word<TAB>phone phone ...")
        word = _CMUDICT_VARIANT.sub("", word).lower() or word.lower()
        entries.setdefault(word, [])
        if tuple(fields) not in entries[word]:
            entries[word].append(tuple(fields))
    if not entries:
        raise PhoneboundError("the dictionary has no entries", path, "write one pronunciation per line: word<TAB>phone phone ...")
    if all(len(v) == 1 for variants in entries.values() for v in variants):  # no spaces anywhere: CGN's layout
        # (a spaced dictionary's one-phone words, such as ARPAbet "ah AA", are never split)
        entries = {w: list(dict.fromkeys(split_cgn_sampa(v[0]) or v for v in variants)) for w, variants in entries.items()}
    return {w: tuple(v) for w, v in entries.items()}


def _notation(phones: list[str]) -> str:
    """A dictionary's notation: ARPAbet, SAMPA, or IPA, which includes a dictionary of plain
    lower-case letters ("k a t" is the same in both, and is not rewritten into CGN's SAMPA)."""
    scheme = guess_scheme(phones) if phones else "ipa"
    if scheme == "sampa" and all(p.isascii() and p.isalpha() and p.islower() for p in phones):
        return "ipa"
    return scheme


@dataclass
class Pronouncer:
    """Pronunciations of words in one language: the user's dictionary, then the transcript's own
    (CGN's _FON tiers), then gruut's lexicon and G2P."""

    lang: str | None
    dictionary: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    transcribed: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)  # the transcript's own
    _cache: dict[str, Pronunciations | None] = field(default_factory=dict, repr=False)
    # The dictionary's notation, guessed once over all its phones: an ARPAbet dictionary's "B"
    # is a stop, though read as IPA among gruut's phones it would be a fricative (ʙ).
    dictionary_scheme: str = ""

    def __post_init__(self) -> None:
        if not self.dictionary_scheme:
            self.dictionary_scheme = _notation([p for vs in self.dictionary.values() for v in vs for p in v])

    @property
    def dictionary_phone_set(self) -> str | None:
        """The phone set (:data:`~phonebound.phones.ipa.PHONE_SETS`) an alignment is written in so
        that every word's phones are in the dictionary's notation; None for an IPA dictionary."""
        return {"arpabet": "arpabet", "sampa": "cgn"}.get(self.dictionary_scheme)

    def with_transcribed(self, pairs: tuple[tuple[str, tuple[str, ...]], ...]) -> Pronouncer:
        """This pronouncer with a transcript's own (word, phones) pairs after the user's dictionary
        (a CGN annotation's _FON tiers: how each word was said in this recording; a word said two
        ways has both)."""
        if not pairs:
            return self
        transcribed: dict[str, tuple[tuple[str, ...], ...]] = {}
        for word, phones in pairs:
            transcribed[word.lower()] = transcribed.get(word.lower(), ()) + (phones,)
        # the other words' cache is shared
        return Pronouncer(self.lang, self.dictionary, transcribed, self._cache, self.dictionary_scheme)

    def __call__(self, word: str) -> Pronunciations | None:
        """The word's pronunciations, or None when nothing can pronounce it."""
        key = word.lower()
        if key in self.transcribed and key not in self.dictionary:
            return Pronunciations(word, self.transcribed[key], "transcript")
        if word not in self._cache:
            self._cache[word] = self._pronounce(word)
        return self._cache[word]

    def _pronounce(self, word: str) -> Pronunciations | None:
        key = word.lower()
        if key in self.dictionary:
            return Pronunciations(word, self.dictionary[key], "dictionary", self.dictionary_scheme)
        variants = lexicon(self.lang).lookup(word) if self.lang is not None else ()
        if variants:
            return Pronunciations(word, variants, "lexicon")
        compound = self._compound(word)
        if compound is not None or self.lang is None:
            return compound
        guess = lexicon(self.lang).guess(word) if any(ch.isalpha() for ch in word) else ()
        return Pronunciations(word, (guess,), "guessed") if guess else None

    def _compound(self, word: str) -> Pronunciations | None:
        """A hyphenated word no lexicon holds, pronounced part by part (as MFA splits it):
        "well-known" as "well" + "known", "zee-egel" as "zee" + "egel", where the G2P model, reading
        the hyphen as a letter, guessed 'w ɛ l n oʊ n' and 'z e e ɣ ə l'. A part no lexicon holds
        is guessed alone, and then so is the word; the parts must share one notation."""
        parts = [p for p in HYPHENS.split(word) if p]
        if len(parts) < 2:
            return None
        found = [self(part) for part in parts]
        if not all(found) or len({f.scheme for f in found}) > 1:
            return None
        variants = tuple(itertools.islice((sum(v, ()) for v in itertools.product(*(f.variants for f in found))),
                                          MAX_COMPOUND_VARIANTS))
        sources = {f.source for f in found}
        source = "guessed" if "guessed" in sources else "dictionary" if sources == {"dictionary"} else "lexicon"
        return Pronunciations(word, variants, source, found[0].scheme)
