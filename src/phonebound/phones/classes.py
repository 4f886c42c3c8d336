"""Broad phone classes of phone labels written in IPA, ARPAbet, (X-)SAMPA or CGN SAMPA.

:data:`PHONE_CLASSES` is the class set (the index is what a phone-class head predicts), :data:`SILENCE`
the labels that mean silence, :func:`guess_scheme` tells the transcription scheme of an utterance and
:func:`phone_class` maps a label to its class. Training batches (the auxiliary phone-class target),
evaluation (recall per class transition) and pseudo-labelling (class symbols) all read them here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

PHONE_CLASSES = ("silence", "vowel", "stop", "fricative", "nasal", "approximant", "affricate", "other")
# "approximant" covers liquids (l, r, taps, trills) and glides (j, w).

SILENCE = frozenset({"", "sil", "sp", "spn", "pau", "h#", "#", "<p:>", "<p>", "_", "<sil>", "epi", "silence"})

_ARPABET: dict[str, str] = {}
for _cls, _codes in {
    "vowel": "aa ae ah ao aw ax ax-h axr ay eh er ey ih ix iy ow oy uh uw ux",
    "stop": "b d g p t k q dx bcl dcl gcl pcl tcl kcl",
    "affricate": "ch jh",
    "fricative": "f v th dh s z sh zh hh hv",
    "nasal": "m n ng em en eng nx",
    "approximant": "l r w y el",
}.items():
    _ARPABET.update(dict.fromkeys(_codes.split(), _cls))

# One table for IPA, (X-)SAMPA and CGN SAMPA: lowercase ASCII letters mean the same in all of
# them; SAMPA's uppercase letters, digits and symbols have no IPA meaning to clash with.
_SYMBOLS: dict[str, str] = {}
for _cls, _chars in {
    "vowel": "aeiouyæɑɒɐɘəɚɛɜɝɞɤɨɪɯɵøœɶɔʉʊʌʏɷᵻᵿ" + "@{}1236789&AEIOQUVYM",
    "stop": "pbtdkgɡqcɟʈɖɢʔʡɓɗʄɠʛʘǀǃǂǁ" + "?",
    "nasal": "mnɱɳɲŋɴ" + "NJF",
    "fricative": "fvszhxçʝɣχʁħʕɦɸβθðʃʒʂʐɕʑɬɮɧ" + "SZGTDBXRCK",
    "approximant": "lrwjɭʎʟɫɾɽɹɻʀʙⱱɥɰʋɺʍ" + "LHPW45",
}.items():
    _SYMBOLS.update(dict.fromkeys(_chars, _cls))
_AFFRICATES = frozenset("tʃ dʒ ts dz tɕ dʑ tʂ dʐ pf kx tɬ dɮ cç ɟʝ tθ dð tS dZ ʧ ʤ ʦ ʣ ʨ ʥ".split())
# length, stress, aspiration, palatalisation etc. (IPA modifier letters and X-SAMPA marks)
_MODIFIERS = frozenset("ːˑʰʷʲˠˤⁿˡʼˈˌ˞ʱ:~\"%=`'\\+.-")
_ARPABET_TOKEN = re.compile(r"([A-Za-z]+(?:-[hH])?)([0-2]?)")


def _arpabet_base(label: str) -> str | None:
    """The ARPAbet code of a label that can only be ARPAbet ('AA1', 'iy', 'bcl'), else None."""
    m = _ARPABET_TOKEN.fullmatch(label)
    if not m:
        return None
    base, stress = m.groups()
    if base.lower() in _ARPABET and (len(base) >= 2 or stress) and (base.islower() or base.isupper()):
        return base.lower()
    return None


def guess_scheme(labels: Iterable[str]) -> str:
    """'arpabet' if any label can only be ARPAbet (stress digits, 'iy', 'bcl', 'h#'), else 'ipa'
    if any label has non-ASCII characters, else 'sampa'."""
    labels = list(labels)
    if any(_arpabet_base(x.strip()) or x.strip().lower() == "h#" for x in labels):
        return "arpabet"
    return "ipa" if any(not x.isascii() for x in labels) else "sampa"


def phone_class(label: str, scheme: str = "auto") -> str:
    """Broad class of a phone label, one of :data:`PHONE_CLASSES`.

    Parameters
    ----------
    label : a phone label in IPA ('oː', 'ɛɪ', 't͡ʃ'), ARPAbet ('AA1', 'bcl', 'h#'), CGN SAMPA
        ('@', 'E+', 'G', 'N') or X-SAMPA ('t_h', 'r\\\\'); diacritics and length marks are ignored.
    scheme : 'auto' | 'arpabet' | 'ipa' | 'sampa'. Single uppercase letters differ between
        ARPAbet ('D' = d) and SAMPA ('D' = ð), and so does 'y'; 'auto' reads them as SAMPA, so
        pass 'arpabet' (or use :func:`guess_scheme` on the utterance) for ARPAbet corpora.
    """
    s = label.strip()
    if s.lower() in SILENCE:
        return "silence"
    if scheme == "arpabet" or scheme == "auto":
        base = _arpabet_base(s) if scheme == "auto" else s.lower().rstrip("012")
        if base in _ARPABET:
            return _ARPABET[base]
    s = unicodedata.normalize("NFC", s.split("_")[0])  # X-SAMPA diacritics follow '_'
    s = "".join(ch for ch in s if not unicodedata.combining(ch) and ch not in _MODIFIERS)
    if s in _AFFRICATES:
        return "affricate"
    if not s:
        return "other"
    first = s[0]
    # Precomposed letters with diacritics ('ã', 'ẽ') fall back to their base letter.
    return _SYMBOLS.get(first) or _SYMBOLS.get(unicodedata.normalize("NFD", first)[0], "other")
