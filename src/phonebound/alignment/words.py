"""A transcript's text as the words the aligner places, each with its pronunciations."""

from __future__ import annotations

from ..errors import PhoneboundError
from ..phones.classes import SILENCE, guess_scheme
from .aligner import Word
from .g2p import spoken_words
from .lexicon import Pronouncer

TEXT_KINDS = ("words", "phones")
# In a phone transcript these separate words (a pause may fall between them).
WORD_BREAKS = frozenset({"|", "#", "||", "/"}) | SILENCE


def transcript_words(text: str, text_kind: str, pronouncer: Pronouncer | None) -> tuple[list[Word], list[str], str]:
    """The words of ``text``, the words whose pronunciation was guessed, and the phone scheme.

    text_kind 'words': orthographic words pronounced by ``pronouncer`` (IPA phones, or a
    dictionary's own notation, which each such Word carries); 'phones': space-separated phones
    (IPA, ARPAbet or SAMPA), one word unless ``|`` or a silence label separates words. Raises PhoneboundError when the text is empty or a word cannot be pronounced.
    """
    if text_kind not in TEXT_KINDS:
        raise PhoneboundError(f"unknown --text-kind {text_kind!r}", fix=f"use one of {', '.join(TEXT_KINDS)}")
    if not text.strip():
        raise PhoneboundError("the transcript is empty", fix="write the words spoken into the transcript")
    if text_kind == "phones":
        return _phone_words(text.split())
    words, guessed, missing = [], [], []
    for token in spoken_words(text, pronouncer.lang):
        found = pronouncer(token)
        if found is None:
            missing.append(token)
            continue
        if found.source == "guessed":
            guessed.append(token)
        words.append(Word(token, found.variants, found.scheme))
    if missing:
        raise PhoneboundError(f"no pronunciation for {', '.join(repr(w) for w in missing[:5])}"
                              + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                              fix="add the words to a --dictionary file (word<TAB>phones), or check --lang")
    if not words:
        raise PhoneboundError("the transcript has no words", fix="write the words spoken into the transcript")
    return words, guessed, "ipa"


def _phone_words(tokens: list[str]) -> tuple[list[Word], list[str], str]:
    words: list[Word] = []
    current: list[str] = []
    for token in tokens + ["|"]:
        if token.lower() in WORD_BREAKS:
            if current:
                words.append(Word(" ".join(current), (tuple(current),)))
            current = []
        else:
            current.append(token)
    if not words:
        raise PhoneboundError("the phone transcript has no phones", fix="write the phones spoken, separated by spaces")
    return words, [], guess_scheme([p for w in words for p in w.variants[0]])
