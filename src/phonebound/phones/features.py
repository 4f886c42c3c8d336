"""Phonological features of phones (panphon's 24, less its two tone features).

A phone is described by what it is, in terms shared by every language: syllabic, sonorant,
consonantal, continuant, nasal, voiced, labial, coronal, high, low, back, round … each +, − or
0 (not specified). A model that predicts these per frame learns from every labelled corpus
whatever its alphabet, and the aligner scores any transcript phone against them, including
phones no training corpus had.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from .ipa import to_ipa

# panphon's feature names, in its order; hitone and hireg (tone) are left out: tone is not
# marked on the phone tiers we train on and is carried by the syllable, not the segment.
FEATURE_NAMES = ("syl", "son", "cons", "cont", "delrel", "lat", "nas", "strid", "voi", "sg", "cg", "ant", "cor",
                 "distr", "lab", "hi", "lo", "back", "round", "velaric", "tense", "long")
N_FEATURES = len(FEATURE_NAMES)
VALUES = (-1, 0, 1)  # class index = value + 1


@lru_cache(maxsize=1)
def _table():
    import panphon

    return panphon.FeatureTable()


@lru_cache(maxsize=4096)
def _segment_vector(segment: str) -> tuple[int, ...] | None:
    table = _table()
    fts = table.fts(segment)
    if fts is None:
        return None
    return tuple(int(fts[name]) for name in FEATURE_NAMES)


def _segments(ipa: str) -> list[tuple[int, ...]] | None:
    """Feature vectors of the IPA segments of ``ipa``, or None when a part is not IPA."""
    table = _table()
    # as written; decomposed (ã = a + tilde); without tie bars that join a non-affricate (w͡a)
    for text in (ipa, unicodedata.normalize("NFD", ipa), ipa.replace("\u0361", "")):
        segs = table.ipa_segs(text)
        if segs and "".join(segs) == text:
            vectors = [_segment_vector(s) for s in segs]
            if all(v is not None for v in vectors):
                return vectors
    # drop diacritics (combining marks, modifier letters) from the end until panphon knows the rest
    # (ɡʱ -> ɡ); a base letter is never dropped, so nonsense stays unknown
    base = unicodedata.normalize("NFD", ipa)
    while len(base) > 1 and (unicodedata.combining(base[-1]) or unicodedata.category(base[-1]) in ("Lm", "Sk")):
        base = base[:-1]
        segs = table.ipa_segs(base)
        if segs and "".join(segs) == base:
            vectors = [_segment_vector(s) for s in segs]
            if all(v is not None for v in vectors):
                return vectors
    return None


@lru_cache(maxsize=8192)
def phone_features(label: str, scheme: str = "auto") -> np.ndarray | None:
    """Feature values (S, N_FEATURES) in {-1, 0, +1} of the S segments of one phone label (a
    diphthong has two), an empty (0, N_FEATURES) array for silence, None when unknown."""
    ipa = to_ipa(label, scheme)
    if not ipa:
        return np.zeros((0, N_FEATURES), np.int8)
    vectors = _segments(ipa)
    if vectors is None:
        return None
    out = np.array(vectors, np.int8)
    out.setflags(write=False)
    return out
