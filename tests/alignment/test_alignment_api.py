"""``phonebound.align`` from Python: a path or an array in, an Alignment out; dictionaries as files
or as mappings; phone sets."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import phonebound
from phonebound.corpus.textgrid import read_textgrid
from phonebound.errors import PhoneboundError
from phonebound.evaluation.metrics import match_boundaries


@pytest.fixture(scope="module")
def mary(fixtures_dir):
    reference = read_textgrid(fixtures_dir / "praatio" / "mary.TextGrid")
    bounds = np.array([s for s, _, _ in next(t for t in reference.tiers if t.name == "phone").entries[1:]])
    return fixtures_dir / "praatio" / "mary.wav", bounds


def near(ali, bounds, tol=0.05) -> float:
    return len(match_boundaries(bounds, ali.boundaries, tol).ref_idx) / len(bounds)


def test_a_recording_is_aligned_to_its_words(mary):
    path, bounds = mary
    ali = phonebound.align(path, "Mary rolled the barrel", lang="en")
    assert [w for _, _, w in ali.words] == ["Mary", "rolled", "the", "barrel"]
    assert all(p.label for p in ali.phones if p.word >= 0) and ali.guessed == []
    assert ali.phones[-1].end == pytest.approx(sf.info(str(path)).duration)
    assert near(ali, bounds) >= 0.8
    audio, sr = sf.read(str(path))
    from_array = phonebound.align(audio, "Mary rolled the barrel", lang="en", sample_rate=sr)
    assert [p.label for p in from_array.phones] == [p.label for p in ali.phones]
    # its fit (mean phone confidence) is above bobby's words forced onto mary's audio (0.66 vs 0.54)
    wrong = phonebound.align(path, "Bobby ripped the ledger", lang="en")
    assert ali.fit > wrong.fit + 0.05, (ali.fit, wrong.fit)


def test_a_python_dictionary_pronounces_words_in_its_own_notation(mary):
    """A mapping in ARPAbet, as CMUdict writes it: its words keep their labels, gruut's ("the") are
    written in ARPAbet too."""
    path, bounds = mary
    ali = phonebound.align(path, "Mary rolled the barrel", lang="en",
                           dictionary={"mary": "M EH1 R IY0", "rolled": ["R OW1 L D"], "barrel": "B AE1 R AH0 L"})
    labels = [p.label for p in ali.phones if p.label]
    assert labels[:4] == ["M", "EH1", "R", "IY0"] and labels[-5:] == ["B", "AE1", "R", "AH0", "L"]
    assert labels[8] == "DH" and near(ali, bounds) >= 0.8  # gruut's "the", after R OW1 L D
    ipa = phonebound.align(path, "Mary rolled the barrel", lang="en", phone_set="ipa",
                           dictionary={"mary": "M EH1 R IY0"})
    assert [p.label for p in ipa.phones if p.label][:4] == ["m", "ɛ", "ɹ", "i"]


def test_a_word_nothing_can_pronounce_is_an_error(mary):
    with pytest.raises(PhoneboundError, match="no pronunciation"):
        phonebound.align(mary[0], "Mary 日本", dictionary={"mary": "m ɛ ɹ i"})
