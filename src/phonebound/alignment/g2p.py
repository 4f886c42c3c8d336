"""Words to phones: a pronunciation dictionary first, then gruut's lexicon and its CRF model.

gruut (MIT) ships, per language, a SQLite lexicon with several pronunciations per word and a
grapheme-to-phoneme CRF for the rest; both run offline. We read them directly, word by word,
so that we know which words were guessed and can cache each word once per process (gruut's
sentence pipeline takes ~45 ms per sentence, too slow for an hour of prompts in a minute).
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import PhoneboundError

# --lang codes and the gruut language package that serves each.
GRUUT_LANGS = {"nl": "nl", "en": "en-us", "en-us": "en-us", "en-gb": "en-us", "de": "de-de", "fr": "fr-fr",
               "es": "es-es", "it": "it-it", "pt": "pt", "ru": "ru-ru", "sv": "sv-se", "cs": "cs-cz",
               "fa": "fa", "ar": "ar", "lb": "lb", "sw": "sw"}
_MODULES = {"nl": "gruut_lang_nl", "en-us": "gruut_lang_en", "de-de": "gruut_lang_de", "fr-fr": "gruut_lang_fr",
            "es-es": "gruut_lang_es", "it-it": "gruut_lang_it", "pt": "gruut_lang_pt", "ru-ru": "gruut_lang_ru",
            "sv-se": "gruut_lang_sv", "cs-cz": "gruut_lang_cs", "fa": "gruut_lang_fa", "ar": "gruut_lang_ar",
            "lb": "gruut_lang_lb", "sw": "gruut_lang_sw"}
# Stress and syllable marks gruut writes on phones ('ˈn'); the phone is what follows.
_MARKS = "ˈˌ'"
# Diphthongs gruut's lexicon sometimes spells as two phones ('b ɛ ɪ' beside 'b ɛi' for "bij"; "uit"
# only as 'œː y t', 'œː ʏ t', 'ɔ ʏ t'; "hout" 'h ɑ ɔ t'). A diphthong is one phone (CGN's E+, Y+, A+), so no boundary
# may be forced inside it: each pair is written as one. (English 'ɔ ɪ' is "draw-ing": two vowels.)
DIPHTHONGS = {"nl": {("ɛ", "ɪ"): "ɛi", ("œː", "y"): "œy", ("œː", "ʏ"): "œy", ("ɔ", "ʏ"): "ɔʏ", ("ɑ", "u"): "ɑu",
                     ("ɑ", "ɔ"): "ɑu"},
              # German: 'aɪ̯' as gruut spells it 953 times, 'a ɪ' 131 times ("allein")
              "de-de": {("a", "ɪ"): "aɪ̯", ("a", "ʊ"): "aʊ̯", ("ɔ", "ʏ"): "ɔʏ̯", ("ɔ", "ɪ"): "ɔʏ̯"}}
# gruut's Dutch lexicon lost the epenthetic schwa of 523 pronunciations to the markup around it:
# "elf" ɛlᵊf, its ə written <sup>ə</sup>, became 'ɛ l s u p ə' (the consonant after it lost too);
# "erg", "zorg", "park" have no other entry, and its G2P model learnt the same ("half" 'h ɑ s u p ə').
# Such a lexicon entry is dropped; in a guess, the letters that produced the markup are spelled
# letter by letter.
_MARKUP = ("s", "u", "p", "ə")
_LETTER_PHONES = {"nl": {"b": "b", "c": "k", "d": "d", "e": "ə", "f": "f", "g": "x", "h": "h", "j": "j", "k": "k", "l": "l",
                         "m": "m", "n": "n", "p": "p", "r": "ɹ", "s": "s", "t": "t", "v": "v", "w": "w", "z": "z"}}


@dataclass(frozen=True)
class Pronunciations:
    """Every pronunciation of a word (tuples of phones) and where they came from:
    'dictionary' (the user's), 'transcript' (CGN's _FON tiers), 'lexicon' (gruut's) or 'guessed'
    (gruut's G2P model). ``scheme``: their notation; IPA but for a user's dictionary in ARPAbet or
    SAMPA (:func:`~phonebound.phones.classes.guess_scheme`)."""

    word: str
    variants: tuple[tuple[str, ...], ...]
    source: str
    scheme: str = "ipa"


def language_dir(lang: str) -> Path:
    """The data folder of gruut's package for ``lang``, or a one-line error naming the fix."""
    import importlib

    code = GRUUT_LANGS.get(lang.lower())
    if code is None:
        raise PhoneboundError(f"unknown language {lang!r}", fix=f"use one of {', '.join(sorted(GRUUT_LANGS))}, "
                              "or --text-kind phones with a phone transcript")
    module = _MODULES[code]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise PhoneboundError(f"no pronunciation lexicon installed for {lang!r}",
                              fix=f"pip install {module.replace('_', '-')}") from None
    return Path(mod.__file__).parent


class Lexicon:
    """gruut's lexicon and G2P model for one language (opened lazily, cached per word)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.dir = language_dir(lang)
        self._words: dict[str, list[str]] | None = None
        self._crf = None

    def _table(self) -> dict[str, list[str]]:
        # The database has no index on `word`: one query per word scans it all (~2 ms), so the
        # table is read once (0.2 s for Dutch, 0.9 s for English) and looked up in memory.
        if self._words is None:
            words: dict[str, list[str]] = {}
            with sqlite3.connect(f"file:{self.dir / 'lexicon.db'}?mode=ro", uri=True) as db:
                for word, phones in db.execute("SELECT word, phonemes FROM word_phonemes ORDER BY word, pron_order"):
                    words.setdefault(word, []).append(phones)
            self._words = words
        return self._words

    def lookup(self, word: str) -> tuple[tuple[str, ...], ...]:
        table = self._table()
        for form in (word, word.lower(), word.strip("'’"), word.lower().strip("'’")):
            if form in table:
                variants = (self._spelled(p.split()) for p in table[form])
                return self._plausible(tuple(dict.fromkeys(v for v in variants if not _garbled(v, word))), word)
        return ()

    def _plausible(self, variants: tuple[tuple[str, ...], ...], word: str) -> tuple[tuple[str, ...], ...]:
        """``variants`` without those far from the word's spelling. gruut's lexicon gives some short
        words the expansion of an abbreviation they share ("zo" 'z ɔ n d ɑ x', zondag; "rep"
        'ɹ ɛ p ɹ i z ɛ t ə t ɪ v') and some compounds a fragment ("wandelpad" 'd ɔ l'); the search
        would take one wherever it fits better. Where the variants' lengths differ by 3 phones or
        more, one whose phones in common with the G2P's guess are fewer than half of the longer of
        the two is dropped (the closest stays)."""
        if len(variants) < 2 or max(map(len, variants)) - min(map(len, variants)) < 3:
            return variants
        guess = self.guess(word)
        similarity = [sum(b.size for b in difflib.SequenceMatcher(None, v, guess, autojunk=False).get_matching_blocks())
                      / max(len(v), len(guess), 1) for v in variants]
        return tuple(v for v, r in zip(variants, similarity) if r >= 0.5 or r == max(similarity))

    def guess(self, word: str) -> tuple[str, ...]:
        """gruut's G2P guess, its phones for each letter of ``word``; letters whose phones hold
        the lexicon's markup (_MARKUP) are spelled letter by letter instead."""
        if self._crf is None:
            from gruut.g2p import GraphemesToPhonemes

            self._crf = GraphemesToPhonemes(self.dir / "g2p" / "model.crf")
        letters = unicodedata.normalize("NFC", word.lower().strip("'’"))
        crf = self._crf
        per_letter = [clean(p for p in crf.decode_string(tag).split(crf.phoneme_join) if p != crf.eps_phoneme)
                      for tag in crf.crf_tagger.tag(crf.word2features(letters))]
        if _garbled(tuple(p for ps in per_letter for p in ps), word):
            return self._spelled(_respelled(letters, per_letter, _LETTER_PHONES.get(GRUUT_LANGS[self.lang.lower()], {})))
        return self._spelled([p for ps in per_letter for p in ps])

    def _spelled(self, phones) -> tuple[str, ...]:
        return merge_diphthongs(clean(phones), DIPHTHONGS.get(GRUUT_LANGS[self.lang.lower()], {}))


def _garbled(phones: tuple[str, ...], word: str) -> bool:
    """Whether ``phones`` hold gruut's lost markup (_MARKUP) where ``word`` spells no "soep"/"sup"."""
    text = " ".join(phones)
    return " ".join(_MARKUP) in text and not any(s in word.lower() for s in ("soep", "sup", "soup"))


def _respelled(letters: str, per_letter: list[tuple[str, ...]], spell: dict[str, str]) -> list[str]:
    """The phones of ``letters`` (each letter's from ``per_letter``), where the letters whose
    phones make up _MARKUP take their ``spell`` phone instead (none for a letter it lacks)."""
    flat = [(i, p) for i, ps in enumerate(per_letter) for p in ps]
    marked = {i for k in range(len(flat) - len(_MARKUP) + 1)
              if tuple(p for _, p in flat[k:k + len(_MARKUP)]) == _MARKUP for i, _ in flat[k:k + len(_MARKUP)]}
    out: list[str] = []
    for i, (letter, phones) in enumerate(zip(letters, per_letter)):
        if i not in marked:
            out += phones
        elif letter in spell and (not out or out[-1] != spell[letter]):  # "ll" is one l
            out.append(spell[letter])
    return out


def merge_diphthongs(phones: tuple[str, ...], pairs: dict[tuple[str, str], str]) -> tuple[str, ...]:
    """``phones`` with each listed pair of neighbours written as its one phone."""
    out: list[str] = []
    for p in phones:
        if out and (out[-1], p) in pairs:
            out[-1] = pairs[(out[-1], p)]
        else:
            out.append(p)
    return tuple(out)


def clean(phones) -> tuple[str, ...]:
    """Phones without gruut's stress marks; empty strings dropped."""
    out = []
    for p in phones:
        p = p.strip(_MARKS)
        if p:
            out.append(p)
    return tuple(out)


@lru_cache(maxsize=32)
def lexicon(lang: str) -> Lexicon:
    return Lexicon(lang)


def spoken_words(text: str, lang: str | None) -> list[str]:
    """The words of a transcript as spoken: numbers expanded by gruut's text normaliser for
    ``lang`` (kept as written without a language), punctuation dropped, and CGN's codes read as
    CGN means them (a word's ``*a``, ``*v`` … mark dropped; ``xxx``, ``ggg`` are no words), and
    a bracketed annotation (``[laughter]``, ``<unk>``, ``{breath}``) is no word, as MFA reads it."""
    text = _BRACKETED.sub(" ", _CGN_WORD_CODE.sub("", unicodedata.normalize("NFC", text)))
    tokens = [t for t in _TOKEN.findall(text) if t.lower() not in NOT_WORDS]
    if lang is None or not any(ch.isdigit() for ch in text):
        return tokens
    from gruut import sentences

    words: list[str] = []
    for token in tokens:
        if any(ch.isdigit() for ch in token):
            for sentence in sentences(token, lang=GRUUT_LANGS[lang.lower()]):
                words.extend(w.text for w in sentence if w.is_spoken)
        else:
            words.append(token)
    return words


# CGN's orthographic transcription marks a word's kind after an asterisk (kat*a: broken off; *v
# foreign, *d dialect, *u mispronounced, *x uncertain ...): the word is still said as written.
_CGN_WORD_CODE = re.compile(r"\*[a-z](?![\w])")
# CGN's placeholders for what is no word: xxx unintelligible speech, ggg the speaker's noises
# (laughing, coughing). The aligner leaves their stretch to the neighbouring pauses.
NOT_WORDS = frozenset({"xxx", "ggg"})
# Transcribers' annotations of what is no word (noises, unknown words): the aligner leaves their
# stretch to the neighbouring pauses rather than pronouncing "laughter".
_BRACKETED = re.compile(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}")
# A word: letters, digits, apostrophes and hyphens inside (l'homme, zee-egel, 's); no punctuation.
_TOKEN = re.compile(r"[\w]+(?:['’\-][\w]+)*'?|'[\w]+", re.UNICODE)
