"""The CGN reader on a tiny CGN-shaped tree: 8 kHz stereo comp-c audio, latin-1 short-form .awd.gz.

fn900001: both speakers' speech is on channel 1 only (channel 0 holds a faint noise floor).
fn900002: N90001 on channel 1, N90002 on channel 0; tiers in another order plus a point tier.
Speakers: N90001 talks 0.2-0.8 (a 0.1 s pause inside) and 1.9-2.2; N90002 talks 1.0-1.35 and
1.65-1.85 (a pause of exactly 0.3 s, the default min_silence).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phonebound.audio.load import load_audio
from phonebound.corpus import ReaderConfig, discover, read_item
from phonebound.corpus.textgrid import read_textgrid
from phonebound.errors import AnnotationError

CGN = Path(__file__).resolve().parents[1] / "fixtures" / "cgn"


@pytest.fixture(scope="module")
def items():
    fmt, found = discover(CGN)
    assert fmt == "cgn"
    assert found.unpaired_audio == []
    return {item.annotation.name: item for item in found.items}


def _seg_boundaries(annotation: Path) -> list[float]:
    """Each speaker's _SEG tier boundaries (every interval start except the first), all speakers."""
    tg = read_textgrid(annotation)
    return sorted({e[0] for t in tg.tiers if t.name.endswith("_SEG") for e in t.entries[1:]})


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_discover_pairs_annotation_with_mirrored_audio_folder(items):
    assert sorted(items) == ["fn900001.awd.gz", "fn900002.awd.gz"]
    for name, item in items.items():
        assert item.audio == CGN / "data" / "audio" / "wav" / "comp-c" / "nl" / name.replace(".awd.gz", ".wav")


def test_one_utterance_per_speaker_turn(items):
    utts = read_item(items["fn900001.awd.gz"])
    assert [(u.id, u.speaker, u.group) for u in utts] == [
        ("fn900001/N90001/0000", "N90001", "comp-c"),
        ("fn900001/N90002/0000", "N90002", "comp-c"),
        ("fn900001/N90002/0001", "N90002", "comp-c"),  # split: the 0.3 s pause is >= min_silence
        ("fn900001/N90001/0001", "N90001", "comp-c"),
    ]
    # turns padded by 0.1 s of the speaker's own silence (at most half-way to their next turn)
    assert [x for u in utts for x in (u.start, u.end)] == pytest.approx([0.1, 0.9, 0.9, 1.45, 1.55, 1.95, 1.8, 2.3])
    first = utts[0]
    assert [p.label for p in first.phones] == ["", "h", "A", "", "l", "o:", ""]  # the 0.1 s pause does not split
    assert first.phones[0].start == pytest.approx(first.start) and first.phones[-1].end == pytest.approx(first.end)


def test_turns_split_only_at_silences_of_at_least_min_silence(items):
    item = items["fn900001.awd.gz"]
    n_turns = {ms: len(read_item(item, ReaderConfig(min_silence=ms))) for ms in (0.05, 0.3, 0.31, 1.2)}
    # 0.05: N90001's 0.1 s pause splits too; 0.31: N90002's 0.3 s pause no longer does;
    # 1.2: N90001's 1.1 s silence no longer does either
    assert n_turns == {0.05: 5, 0.3: 4, 0.31: 3, 1.2: 2}


@pytest.mark.parametrize("name", ["fn900001.awd.gz", "fn900002.awd.gz"])
def test_utterance_boundaries_equal_the_seg_tier_boundaries(items, name):
    utts = read_item(items[name])
    got = sorted(u.start + b for u in utts for b in u.boundaries())
    assert got == pytest.approx(_seg_boundaries(items[name].annotation), abs=1e-9)


def test_stereo_speakers_read_their_loudest_channel(items):
    only_right = read_item(items["fn900001.awd.gz"])
    assert {u.channel for u in only_right} == {1}  # both speakers' speech is on channel 1
    crossed = read_item(items["fn900002.awd.gz"])
    assert {u.speaker: u.channel for u in crossed} == {"N90001": 1, "N90002": 0}
    for u in only_right + crossed:
        assert len(load_audio(u.audio_path, u.channel, u.start, u.end)) == pytest.approx(u.duration * 16000, abs=2)
        speech = [p for p in u.phones if p.label]
        own = load_audio(u.audio_path, u.channel, speech[0].start, speech[-1].end)
        other = load_audio(u.audio_path, 1 - u.channel, speech[0].start, speech[-1].end)
        assert _rms(own) > 10 * _rms(other), u.id


def test_only_seg_tiers_are_read_and_latin1_is_decoded(items):
    tg = read_textgrid(items["fn900002.awd.gz"].annotation)
    assert tg.tier_names == ["BACKGROUND", "N90002", "N90002_FON", "N90002_SEG", "N90001", "N90001_FON",
                             "N90001_SEG", "COMMENT"]
    assert "dëi" in [e[2] for e in tg.tier("N90002").entries]
    assert tg.tier("COMMENT").kind == "TextTier"
    assert {u.speaker for u in read_item(items["fn900002.awd.gz"])} == {"N90001", "N90002"}


def test_tier_option_reads_one_speaker(items):
    utts = read_item(items["fn900002.awd.gz"], ReaderConfig(tier="N90002_SEG"))
    assert [u.id for u in utts] == ["fn900002/N90002/0000", "fn900002/N90002/0001"]
    assert {u.channel for u in utts} == {0}


@pytest.mark.parametrize("tier", ["N90003_SEG", "COMMENT"])
def test_missing_or_point_tier_is_a_clear_error(items, tier):
    with pytest.raises(AnnotationError) as err:
        read_item(items["fn900002.awd.gz"], ReaderConfig(tier=tier))
    assert f"no interval tier named {tier!r}" in str(err.value)
    assert "tiers found: BACKGROUND, N90002, N90002_FON, N90002_SEG" in str(err.value)
