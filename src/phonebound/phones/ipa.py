"""Phone labels in any notation (IPA, ARPAbet, CGN/X-SAMPA) as IPA segments.

Corpora label phones in different alphabets: TIMIT and CMUdict in ARPAbet, CGN in its SAMPA,
VoxAngeles, eSpeak and gruut in IPA. Phonological features (:mod:`.features`) are defined on IPA
segments, so every label is first written in IPA here.
"""

from __future__ import annotations

import unicodedata

from .classes import SILENCE, guess_scheme

# ARPAbet (TIMIT's 61 symbols and CMUdict's 39, stress digits stripped) -> IPA. TIMIT's stop
# closures (bcl ...) are the closure phase of their stop: they carry the stop's place and voicing.
ARPABET_IPA = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "ax-h": "ə̥", "axr": "ə˞",
    "ay": "aɪ", "eh": "ɛ", "er": "ɜ˞", "ey": "eɪ", "ih": "ɪ", "ix": "ɨ", "iy": "i", "ow": "oʊ",
    "oy": "ɔɪ", "uh": "ʊ", "uw": "u", "ux": "ʉ",
    "b": "b", "d": "d", "g": "ɡ", "p": "p", "t": "t", "k": "k", "q": "ʔ", "dx": "ɾ",
    "bcl": "b", "dcl": "d", "gcl": "ɡ", "pcl": "p", "tcl": "t", "kcl": "k",
    "ch": "t͡ʃ", "jh": "d͡ʒ",
    "f": "f", "v": "v", "th": "θ", "dh": "ð", "s": "s", "z": "z", "sh": "ʃ", "zh": "ʒ", "hh": "h", "hv": "ɦ",
    "m": "m", "n": "n", "ng": "ŋ", "em": "m̩", "en": "n̩", "eng": "ŋ̩", "nx": "ɾ̃",
    "l": "l", "r": "ɹ", "w": "w", "y": "j", "el": "l̩",
}

# SAMPA as the Spoken Dutch Corpus (CGN) and English SAMPA write it -> IPA. Where the two
# disagree ('r', 'w', 'h'), the symbol keeps its plain IPA reading.
SAMPA_IPA = {
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "ɡ", "f": "f", "v": "v", "s": "s", "z": "z",
    "S": "ʃ", "Z": "ʒ", "x": "x", "G": "ɣ", "h": "h", "N": "ŋ", "m": "m", "n": "n", "J": "ɲ", "l": "l",
    "r": "r", "R": "ʀ", "w": "w", "j": "j", "T": "θ", "D": "ð", "?": "ʔ", "tS": "t͡ʃ", "dZ": "d͡ʒ",
    "I": "ɪ", "E": "ɛ", "A": "ɑ", "O": "ɔ", "Y": "ʏ", "@": "ə", "i": "i", "y": "y", "u": "u", "a": "a",
    "e": "e", "o": "o", "2": "ø", "9": "œ", "{": "æ", "V": "ʌ", "Q": "ɒ", "U": "ʊ", "3": "ɜ", "6": "ɐ",
    "a:": "aː", "e:": "eː", "2:": "øː", "o:": "oː", "i:": "iː", "u:": "uː", "y:": "yː", "3:": "ɜː",
    "A:": "ɑː", "O:": "ɔː", "E:": "ɛː", "Y:": "œː", "E+": "ɛi", "Y+": "œy", "A+": "ɑu",
    "E~": "ɛ̃ː", "A~": "ɑ̃ː", "O~": "ɔ̃ː", "Y~": "œ̃ː",
    "eI": "eɪ", "aI": "aɪ", "OI": "ɔɪ", "@U": "əʊ", "aU": "aʊ", "I@": "ɪə", "e@": "eə", "U@": "ʊə",
}

# CGN's own phones among SAMPA_IPA's (its lexicon and its _FON tiers write a word's phones without
# spaces), and the stress and syllable marks its transcriptions may hold.
CGN_PHONES = frozenset("pbtdkgfvszSZxGhNmnJlrwjIEAOY@iyuaeo2") | {"E+", "Y+", "A+", "E:", "Y:", "O:", "E~", "A~", "O~", "Y~"}
_CGN_MARKS = "'\"-"


def split_cgn_sampa(text: str) -> tuple[str, ...] | None:
    """The phones of an unspaced CGN SAMPA transcription ("bA+t" -> b A+ t); None where ``text``
    is not one (an ARPAbet or IPA symbol)."""
    text = "".join(ch for ch in text if ch not in _CGN_MARKS)
    phones: list[str] = []
    i = 0
    while i < len(text):
        symbol = text[i:i + 2] if text[i:i + 2] in CGN_PHONES else text[i]
        if symbol not in CGN_PHONES:
            return None
        phones.append(symbol)
        i += len(symbol)
    return tuple(phones) or None


# Affricates written without a tie bar in IPA corpora (one label, one phone).
_AFFRICATES = {"ts": "t͡s", "dz": "d͡z", "tʃ": "t͡ʃ", "dʒ": "d͡ʒ", "tɕ": "t͡ɕ", "dʑ": "d͡ʑ", "tʂ": "t͡ʂ",
               "dʐ": "d͡ʐ", "pf": "p͡f", "tɬ": "t͡ɬ", "dɮ": "d͡ɮ", "ʧ": "t͡ʃ", "ʤ": "d͡ʒ", "ʦ": "t͡s",
               "ʣ": "d͡z", "ʨ": "t͡ɕ", "ʥ": "d͡ʑ"}
# Letters some corpora use for IPA symbols that look alike.
_LOOKALIKES = {"g": "ɡ", "ᵻ": "ɨ", "ᵿ": "ʉ", "ɚ": "ə˞", "ɝ": "ɜ˞", ":": "ː", "'": "ʼ", "ʦ": "t͡s"}
# Prosodic marks with no segmental content.
_PROSODIC = set("ˈˌ.|‖")


def to_ipa(label: str, scheme: str = "auto") -> str:
    """The IPA spelling of one phone label ('' for silence).

    scheme : 'ipa', 'arpabet', 'sampa', or 'auto' (:func:`~phonebound.phones.classes.guess_scheme`
        on this one label).
    """
    s = unicodedata.normalize("NFC", label.strip())
    if s.lower() in SILENCE:
        return ""
    if scheme == "auto":
        scheme = guess_scheme([s])
    if scheme == "arpabet":
        base = s.lower().rstrip("012")
        if base in ARPABET_IPA:
            return ARPABET_IPA[base]
    if scheme in ("sampa", "arpabet"):
        if s in SAMPA_IPA:
            return SAMPA_IPA[s]
        if s.split("_")[0] in SAMPA_IPA:  # X-SAMPA diacritics follow '_'
            return SAMPA_IPA[s.split("_")[0]]
    s = "".join(ch for ch in s if ch not in _PROSODIC)
    core = s.rstrip("ːˑ")  # a long affricate (tʃː) is still one affricate
    s = _AFFRICATES.get(core, core) + s[len(core):]
    return "".join(_LOOKALIKES.get(ch, ch) for ch in s)


# IPA -> the phone sets `align --phone-set` writes. CGN writes the Dutch long vowels without a
# length mark (a e o i u y 2) and has one r; a symbol CGN lacks is written in SAMPA where SAMPA has it.
PHONE_SETS = ("ipa", "cgn", "arpabet")
_IPA_CGN = {ipa: s for s, ipa in SAMPA_IPA.items() if s not in CGN_PHONES} | {
    ipa: s for s, ipa in SAMPA_IPA.items() if s in CGN_PHONES} | {
    "aː": "a", "eː": "e", "oː": "o", "iː": "i", "uː": "u", "yː": "y", "øː": "2", "ʏː": "Y:", "ɑː": "a",
    "ɹ": "r", "ʁ": "r", "ʀ": "r", "ʋ": "w", "ɦ": "h", "ɱ": "m", "ɲ": "J", "œy": "Y+", "ɛɪ": "E+", "ɑʊ": "A+",
    "ɛi̯": "E+", "œy̯": "Y+", "ɑu̯": "A+"}
# CMUdict's 39 phones (MFA's English ARPAbet), stress digits dropped.
_CMUDICT = set("aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th uh uw v w y z zh".split())
_IPA_ARPABET = {ipa: a.upper() for a, ipa in ARPABET_IPA.items() if a in _CMUDICT} | {
    "ə": "AH", "ɐ": "AH", "ə˞": "ER", "ɜ": "ER", "a": "AA", "ɒ": "AA", "e": "EY", "o": "OW", "r": "R", "ʁ": "R",
    "ɾ": "T", "ʔ": "T", "ɫ": "L", "m̩": "M", "n̩": "N", "l̩": "L", "ɦ": "HH", "x": "HH", "ɨ": "IH", "ʉ": "UW"}
_PHONE_SET_MAPS = {"cgn": _IPA_CGN, "arpabet": _IPA_ARPABET}


def from_ipa(ipa: str, phone_set: str) -> str:
    """An IPA segment written in ``phone_set`` (one of PHONE_SETS): as it is, else without its
    length mark and diacritics (eː -> e), else unchanged (a phone the set has no symbol for)."""
    if phone_set not in PHONE_SETS:
        raise ValueError(f"unknown phone set {phone_set!r}: use one of {', '.join(PHONE_SETS)}")
    if phone_set == "ipa" or not ipa:
        return ipa
    table = _PHONE_SET_MAPS[phone_set]
    if ipa in table:
        return table[ipa]
    bare = "".join(ch for ch in unicodedata.normalize("NFD", ipa)
                   if not unicodedata.combining(ch) and ch not in "ːˑʰʷʲˠˤ˞ʼ")
    return table.get(unicodedata.normalize("NFC", bare), ipa)
