"""Phone labels in any notation become IPA, and IPA becomes phonological features."""

from __future__ import annotations

import numpy as np
import pytest

from phonebound.phones.features import FEATURE_NAMES, N_FEATURES, phone_features
from phonebound.phones.ipa import ARPABET_IPA, CGN_PHONES, from_ipa, to_ipa


@pytest.mark.parametrize("label,scheme,ipa", [
    ("AA1", "arpabet", "ɑ"), ("bcl", "arpabet", "b"), ("jh", "arpabet", "d͡ʒ"), ("h#", "arpabet", ""),
    ("dx", "arpabet", "ɾ"), ("E+", "sampa", "ɛi"), ("G", "sampa", "ɣ"), ("@", "sampa", "ə"), ("2:", "sampa", "øː"),
    ("tS", "sampa", "t͡ʃ"), ("tʃ", "ipa", "t͡ʃ"), ("tʃː", "ipa", "t͡ʃː"), ("g", "ipa", "ɡ"), ("ˈa", "ipa", "a"),
    ("ᵻ", "ipa", "ɨ"), ("ɚ", "ipa", "ə˞"), ("sil", "ipa", ""), ("", "ipa", ""), ("ʦ", "ipa", "t͡s"),
])
def test_to_ipa(label, scheme, ipa):
    assert to_ipa(label, scheme) == ipa


def test_every_cgn_and_cmudict_phone_is_written_back_as_it_was_read():
    assert all(from_ipa(to_ipa(p, "sampa"), "cgn") == p for p in CGN_PHONES)
    cmudict = [a for a in ARPABET_IPA if a not in {"ax", "ax-h", "axr", "ix", "ux", "q", "dx", "hv", "nx", "em", "en", "eng",
                                                   "el", "bcl", "dcl", "gcl", "pcl", "tcl", "kcl"}]
    assert len(cmudict) == 39
    assert all(from_ipa(to_ipa(a, "arpabet"), "arpabet") == a.upper() for a in cmudict)


@pytest.mark.parametrize("ipa,phone_set,written", [
    ("aː", "cgn", "a"), ("øː", "cgn", "2"), ("ɹ", "cgn", "r"), ("ɛi", "cgn", "E+"), ("œy", "cgn", "Y+"),
    ("ɣ", "cgn", "G"), ("ʔ", "cgn", "?"), ("ɔː", "cgn", "O:"),  # gruut's Dutch as CGN writes it
    ("ə", "arpabet", "AH"), ("ə˞", "arpabet", "ER"), ("t͡ʃ", "arpabet", "CH"), ("ɑː", "arpabet", "AA"),
    ("ɛ", "ipa", "ɛ"), ("", "cgn", ""), ("ʘ", "arpabet", "ʘ"),  # a click has no ARPAbet: kept
])
def test_ipa_written_in_other_phone_sets(ipa, phone_set, written):
    assert from_ipa(ipa, phone_set) == written


def feature(values: np.ndarray, name: str) -> int:
    return int(values[0, FEATURE_NAMES.index(name)])


def test_voicing_place_and_manner_come_out_of_the_features():
    p, b, m, s = (phone_features(x, "ipa") for x in ("p", "b", "m", "s"))
    assert p.shape == (1, N_FEATURES)
    differ = [FEATURE_NAMES[k] for k in np.nonzero(p[0] != b[0])[0]]
    assert differ == ["voi"]  # p and b differ in voicing only
    assert feature(m, "nas") == 1 and feature(b, "nas") == -1
    assert feature(s, "cont") == 1 and feature(p, "cont") == -1 and feature(s, "strid") == 1
    i, a, u = (phone_features(x, "ipa") for x in ("i", "a", "u"))
    assert feature(i, "syl") == 1 and feature(p, "syl") == -1
    assert feature(i, "hi") == 1 and feature(a, "lo") == 1 and feature(u, "round") == 1 and feature(i, "round") == -1


def test_notations_agree_on_the_same_phone():
    assert np.array_equal(phone_features("AH0", "arpabet"), phone_features("ʌ", "ipa"))
    assert np.array_equal(phone_features("S", "sampa"), phone_features("ʃ", "ipa"))
    assert np.array_equal(phone_features("ch", "arpabet"), phone_features("tʃ", "ipa"))


def test_diphthongs_have_two_segments_silence_none_and_nonsense_is_unknown():
    assert phone_features("aɪ", "ipa").shape == (2, N_FEATURES)
    assert phone_features("E+", "sampa").shape == (2, N_FEATURES)
    assert phone_features("sil", "ipa").shape == (0, N_FEATURES)
    assert phone_features("ʲ", "ipa") is None and phone_features("q9!", "ipa") is None


def test_diacritics_fall_back_to_their_base_segment():
    assert np.array_equal(phone_features("ɡʱ", "ipa"), phone_features("ɡ", "ipa")) or \
        feature(phone_features("ɡʱ", "ipa"), "voi") == 1
    assert feature(phone_features("ã", "ipa"), "nas") == 1  # NFD: a + combining tilde


def test_every_label_of_the_shared_corpora_has_features(shared_data):
    """VoxAngeles, synth and kokoro labels all read as IPA with features (a handful of bare
    modifier letters excepted), so the feature head trains on every labelled corpus."""
    from phonebound.corpus import read_corpus
    from phonebound.phones.classes import guess_scheme

    for corpus, limit in (("synth_en", 40), ("kokoro", 60)):
        unknown = total = 0
        for k, utt in enumerate(read_corpus(shared_data / corpus)):
            if k >= limit:
                break
            labels = [p.label for p in utt.phones]
            scheme = guess_scheme(labels)
            for label in labels:
                total += 1
                unknown += phone_features(label, scheme) is None
        assert total > 500 and unknown / total < 0.002, (corpus, unknown, total)
