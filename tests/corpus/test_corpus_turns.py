"""Cutting one speaker's phone tier into turns (CGN and multi-speaker TextGrids)."""

from __future__ import annotations

import pytest

from phonebound.corpus.turns import speech_spans, split_turns
from phonebound.corpus.types import Phone


def _tier(*intervals) -> list[Phone]:
    return [Phone(s, e, lab) for s, e, lab in intervals]


# speech 0.1-0.4, pause 0.4-0.7 (0.3 s), speech 0.7-1.0, silence to 1.2
TWO_TURNS = _tier((0.0, 0.1, ""), (0.1, 0.4, "a"), (0.4, 0.7, ""), (0.7, 0.8, "b"), (0.8, 1.0, "c"), (1.0, 1.2, ""))


def test_speech_spans_join_contiguous_labelled_phones():
    assert speech_spans(TWO_TURNS) == [(0.1, 0.4), (0.7, 1.0)]


@pytest.mark.parametrize("min_silence, n", [(0.2, 2), (0.3, 2), (0.31, 1)])
def test_split_at_silences_of_at_least_min_silence(min_silence, n):
    # 0.7 - 0.4 is 0.29999999999999993 in floating point: a 0.3 s pause must still split at 0.3
    assert len(split_turns(TWO_TURNS, min_silence=min_silence, pad=0.0)) == n


def test_padding_uses_own_silence_up_to_half_way_to_the_next_turn():
    (s1, e1, _), (s2, e2, _) = split_turns(TWO_TURNS, min_silence=0.3, pad=0.1, file_end=1.2)
    assert [s1, e1, s2, e2] == pytest.approx([0.0, 0.5, 0.6, 1.1])
    (s1, e1, _), (s2, e2, _) = split_turns(TWO_TURNS, min_silence=0.3, pad=1.0, file_end=1.2)
    assert [s1, e1, s2, e2] == pytest.approx([0.0, 0.55, 0.55, 1.2])


def test_padding_never_reaches_into_another_speakers_speech():
    turns = split_turns(TWO_TURNS, min_silence=0.3, pad=0.2, others=[(0.45, 0.6), (1.05, 1.2)], file_end=1.2)
    assert [x for s, e, _ in turns for x in (s, e)] == pytest.approx([0.0, 0.45, 0.6, 1.05])


def test_phones_are_clipped_to_the_turn():
    (start, end, phones), _ = split_turns(TWO_TURNS, min_silence=0.3, pad=0.05)
    assert (start, end) == pytest.approx((0.05, 0.45))
    assert phones == [Phone(0.05, 0.1, ""), Phone(0.1, 0.4, "a"), Phone(0.4, 0.45, "")]


def test_a_silent_speaker_has_no_turns():
    assert split_turns(_tier((0.0, 2.0, "")), 0.3, 0.1) == []
