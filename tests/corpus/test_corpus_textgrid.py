"""Praat TextGrids: forms, encodings, gz, gaps, phone-tier choice, --tier, MFA speakers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phonebound.corpus import ReaderConfig, discover, read_item
from phonebound.corpus.textgrid import TextGrid, Tier, find_phone_tier, read_textgrid
from phonebound.errors import AnnotationError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TONE_LABELS = ["", "k", "ø", "", "t", "a", ""]
TONE_BOUNDARIES = [0.1, 0.2, 0.45, 0.55, 0.7, 0.9]


def _items(folder: str) -> dict:
    fmt, found = discover(FIXTURES / folder)
    assert fmt == "textgrid"
    return {item.annotation.name: item for item in found.items}


def _only(utts):
    assert len(utts) == 1
    return utts[0]


def _tier_boundaries(tier) -> list[float]:
    """The boundary convention: every interval start except the first, and none within 1 ms of the end."""
    return [start for start, _, _ in tier.entries[1:] if start <= tier.entries[-1][1] - 0.001]


@pytest.fixture(scope="module")
def tone():
    return _items("textgrid")


def test_long_form_reads_the_phone_tier_with_boundaries_in_seconds(tone):
    item = tone["tone_long.TextGrid"]
    assert item.audio.name == "tone.wav"  # paired by stem: tone_long -> tone
    u = _only(read_item(item))
    assert (u.start, u.end) == (0.0, 1.0)
    assert [p.label for p in u.phones] == TONE_LABELS  # the "phones" tier, not "words" (listed first)
    # every interval start except the first; silence<->speech counts; file start and end never do
    assert u.boundaries() == pytest.approx(TONE_BOUNDARIES)
    assert u.phones[0].start == 0.0 and u.phones[-1].end == 1.0
    assert all(a.end == b.start for a, b in zip(u.phones, u.phones[1:]))  # contiguous


@pytest.mark.parametrize(
    "name, raw_check",
    [
        ("tone_short.TextGrid", lambda raw: b"xmin =" not in raw),
        ("tone_utf16.TextGrid", lambda raw: raw.startswith(b"\xff\xfe")),
        ("tone_utf8bom.TextGrid", lambda raw: raw.startswith(b"\xef\xbb\xbf")),
        ("tone_latin1.TextGrid", lambda raw: b"\xf8" in raw and "ø".encode() not in raw),
        ("tone_crlf.TextGrid", lambda raw: raw.count(b"\r\n") == raw.count(b"\n") > 10),
        ("tone_gz.TextGrid.gz", lambda raw: raw[:2] == b"\x1f\x8b"),
    ],
)
def test_every_form_and_encoding_gives_the_same_utterance(tone, name, raw_check):
    item = tone[name]
    assert raw_check(item.annotation.read_bytes()), f"fixture {name} is not what its name says"
    assert item.audio.name == "tone.wav"
    expected = _only(read_item(tone["tone_long.TextGrid"]))
    u = _only(read_item(item))
    assert u.phones == expected.phones  # labels (incl. 'ø') and times identical
    assert (u.start, u.end, u.channel) == (expected.start, expected.end, expected.channel)
    assert u.id == name.split(".")[0]


def test_gaps_in_a_tier_count_as_silence(tone):
    """No interval before 0.1, between 0.45 and 0.55, or after 0.9: all three gaps are silence, so
    the onset at 0.1 and the offset at 0.9 are boundaries like any other."""
    u = _only(read_item(tone["tone_gaps.TextGrid"]))
    expected = _only(read_item(tone["tone_long.TextGrid"]))
    assert u.phones == expected.phones
    assert u.boundaries() == pytest.approx(TONE_BOUNDARIES)


@pytest.mark.parametrize("name", ["phones", "phone", "Phones", "phons", "phonemes", "N01004_SEG", "anna - phones"])
def test_phone_tier_found_by_common_name(name):
    tg = TextGrid(Path("x.TextGrid"), 0.0, 1.0, [
        Tier("words", "IntervalTier", [(0.0, 1.0, "w")]),
        Tier("syllables", "IntervalTier", [(0.0, 1.0, "s")]),
        Tier(name, "IntervalTier", [(0.0, 0.5, "p"), (0.5, 1.0, "q")]),
        Tier("pitch", "TextTier", [(0.5, "120")]),
    ])
    assert find_phone_tier(tg).name == name


def test_phone_tier_by_name_ignores_point_tiers_and_lists_tiers_when_missing():
    tg = TextGrid(Path("x.TextGrid"), 0.0, 1.0, [Tier("words", "IntervalTier", [(0.0, 1.0, "w")]),
                                                 Tier("phones", "TextTier", [(0.5, "p")])])
    with pytest.raises(AnnotationError, match=r"no phone tier; tiers found: words, phones"):
        find_phone_tier(tg)
    assert find_phone_tier(tg, "words").name == "words"


def test_praatio_examples_pick_their_phone_tiers():
    items = _items("praatio")
    expected_tier = {"bobby_phones.TextGrid": "phone", "mary.TextGrid": "phone", "damon_set_test.TextGrid": "phons"}
    for name, tier_name in expected_tier.items():
        tg = read_textgrid(items[name].annotation)
        u = _only(read_item(items[name]))
        tier = tg.tier(tier_name)
        assert [p.label for p in u.phones if p.label] == [e[2] for e in tier.entries if e[2]], name
        assert u.boundaries() == pytest.approx(_tier_boundaries(tier)), name
        assert u.start == 0.0 and u.end == pytest.approx(tg.xmax)


def test_tier_option_overrides_the_choice():
    item = _items("praatio")["damon_set_test.TextGrid"]
    u = _only(read_item(item, ReaderConfig(tier="syllable")))
    tier = read_textgrid(item.annotation).tier("syllable")
    assert [p.label for p in u.phones][:3] == ["", "d-eI", "m-@-n"]
    assert u.boundaries() == pytest.approx(_tier_boundaries(tier))


def test_missing_tier_error_lists_the_tiers_found():
    items = _items("praatio")
    with pytest.raises(AnnotationError) as err:
        read_item(items["damon_set_test.TextGrid"], ReaderConfig(tier="phones"))
    message = str(err.value)
    assert "no interval tier named 'phones'" in message
    assert "tiers found: phons, syllable, tonicVowel, tonicSyllable, words, manually_labeled_pitch_errors" in message
    assert "--tier" in message and "damon_set_test.TextGrid" in message
    # bobby_words has no phone-like tier at all: the error names what it has
    with pytest.raises(AnnotationError, match=r"no phone tier; tiers found: word, phrase"):
        read_item(items["bobby_words.TextGrid"])
    # a point tier is not a phone tier, even when asked for by name
    with pytest.raises(AnnotationError, match="no interval tier named 'pitch'"):
        read_item(items["mary.TextGrid"], ReaderConfig(tier="pitch"))


def test_mfa_speakers_give_one_utterance_per_turn():
    item = _items("mfa")["dialog.TextGrid"]
    utts = read_item(item)
    assert [(u.id, u.speaker) for u in utts] == [("dialog/anna/0000", "anna"), ("dialog/bert/0000", "bert"),
                                                 ("dialog/anna/0001", "anna")]
    # padded by 0.1 s, but never into the other speaker's speech (bert talks 0.9-1.2)
    assert [x for u in utts for x in (u.start, u.end)] == pytest.approx([0.0, 0.9, 0.8, 1.3, 1.4, 1.9])
    tg = read_textgrid(item.annotation)
    tier_bounds = {b for name in ("anna - phones", "bert - phones") for b in _tier_boundaries(tg.tier(name))}
    utt_bounds = [u.start + b for u in utts for b in u.boundaries()]
    assert sorted(utt_bounds) == pytest.approx(sorted(tier_bounds))


def test_mfa_tier_option_reads_one_speaker_tier_as_one_utterance():
    item = _items("mfa")["dialog.TextGrid"]
    u = _only(read_item(item, ReaderConfig(tier="bert - phones")))
    assert (u.start, u.end) == (0.0, 2.0)
    assert [p.label for p in u.phones] == ["", "b", "e", ""]
    assert u.boundaries() == pytest.approx([0.9, 1.0, 1.2])


@pytest.mark.parametrize("text, problem", [
    ("just some text\n", "not a Praat TextGrid"),
    ('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <exists>\nsize = 1\n'
     'item []:\n    item [1]:\n        class = "IntervalTier"\n', "malformed or truncated TextGrid"),
])
def test_unreadable_textgrid_is_a_clear_error(tmp_path, text, problem):
    path = tmp_path / "bad.TextGrid"
    path.write_text(text)
    with pytest.raises(AnnotationError, match=problem):
        read_textgrid(path)


def test_boundaries_are_seconds_as_float64(tone):
    b = _only(read_item(tone["tone_short.TextGrid"])).boundaries()
    assert b.dtype == np.float64 and b.ndim == 1


def test_a_sliver_interval_at_the_file_end_is_not_a_boundary():
    """praatio's damon_set_test ends in an empty interval 0.02 ms long: its start is the file's end,
    which never counts as a boundary (the bug: it did, an unmatchable reference boundary)."""
    u = _only(read_item(_items("praatio")["damon_set_test.TextGrid"]))
    assert u.phones[-1].label == "" and u.phones[-1].end - u.phones[-1].start < 1e-4
    b = u.boundaries()
    assert len(b) == len(u.phones) - 2  # every interval start but the first and the sliver's
    assert b[-1] == pytest.approx(0.865)  # @ -> t, the last real boundary


def test_boundaries_within_a_millisecond_of_an_edge_are_the_edge():
    from phonebound.corpus.types import Phone, Utterance

    phones = [Phone(0.0, 0.0004, ""), Phone(0.0004, 0.5, "a"), Phone(0.5, 0.9996, "t"), Phone(0.9996, 1.0, "")]
    u = Utterance("u", Path("u.wav"), 0.0, 1.0, phones)
    assert u.boundaries().tolist() == [0.5]
    short = [Phone(0.0, 0.002, ""), Phone(0.002, 0.998, "a"), Phone(0.998, 1.0, "")]  # 2 ms phones are real
    assert Utterance("v", Path("v.wav"), 0.0, 1.0, short).boundaries().tolist() == [0.002, 0.998]
