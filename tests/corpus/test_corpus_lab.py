"""Label files: HTK .lab (100 ns units), festvox .lab (header, '#', END COLOUR LABEL), Buckeye .phones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phonebound.corpus import discover, read_item
from phonebound.corpus.lab import parse_end_times, parse_htk
from phonebound.corpus.types import Phone
from phonebound.errors import AnnotationError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LAB_PHONES = [Phone(0.0, 0.1, "sil"), Phone(0.1, 0.25, "a"), Phone(0.25, 0.4, "b"), Phone(0.4, 0.5, "sil")]


def _approx_phones(phones):
    return [(p.start, p.end, p.label) for p in phones]


@pytest.fixture(scope="module")
def labs():
    fmt, found = discover(FIXTURES / "lab")
    assert fmt == "lab" and found.unpaired_audio == []
    return {item.annotation.name: item for item in found.items}


def test_htk_times_are_100ns_units(labs):
    item = labs["utt_htk.lab"]
    assert item.audio.name == "utt.wav"
    assert item.annotation.read_text().splitlines()[1] == "1000000 2500000 a"
    u, = read_item(item)
    assert (u.id, u.start, u.end) == ("utt_htk", 0.0, 0.5)
    assert _approx_phones(u.phones) == _approx_phones(LAB_PHONES)
    assert u.boundaries() == pytest.approx([0.1, 0.25, 0.4])


def test_festvox_lab_reads_end_times_after_the_header(labs):
    item = labs["utt_festvox.lab"]
    assert item.audio.name == "utt.wav"
    u, = read_item(item)
    assert [p.label for p in u.phones] == [p.label for p in LAB_PHONES]
    assert [p.start for p in u.phones] == pytest.approx([p.start for p in LAB_PHONES])
    assert [p.end for p in u.phones] == pytest.approx([p.end for p in LAB_PHONES])


def test_parse_htk_integer_units_and_decimal_seconds():
    assert parse_htk("0 1000000 sil\n1000000 2500000 a -12.5\n", "x.lab") == [(0.0, 0.1, "sil"), (0.1, 0.25, "a")]
    assert parse_htk("0.0 0.1 sil\n", "x.lab") == [(0.0, 0.1, "sil")]
    with pytest.raises(AnnotationError, match="line 1: expected 'START END LABEL'"):
        parse_htk("0 1000000\n", "x.lab")


def test_unlabelled_audio_before_the_first_htk_label_is_silence(tmp_path):
    shutil.copy(FIXTURES / "lab" / "utt.wav", tmp_path / "late.wav")
    (tmp_path / "late.lab").write_text("500000 2500000 a\n2500000 5000000 b\n")
    _, found = discover(tmp_path)
    u, = read_item(found.items[0])
    assert _approx_phones(u.phones) == [(0.0, 0.05, ""), (0.05, 0.25, "a"), (0.25, 0.5, "b")]
    assert u.boundaries() == pytest.approx([0.05, 0.25])


def test_buckeye_phones():
    fmt, found = discover(FIXTURES / "buckeye")
    assert fmt == "buckeye" and found.unpaired_audio == []
    item, = found.items
    assert item.audio.name == "s01.wav"
    u, = read_item(item)
    assert (u.id, u.speaker, u.start, u.end) == ("s01", "s01", 0.0, 0.5)
    assert [p.label for p in u.phones] == ["{B_TRANS}", "dh", "ah", "SIL", "k", "{E_TRANS}"]
    assert [p.start for p in u.phones] == pytest.approx([0.0, 0.08, 0.15, 0.23, 0.3, 0.42])
    assert u.boundaries() == pytest.approx([0.08, 0.15, 0.23, 0.3, 0.42])


def test_end_time_files_need_the_header_line():
    with pytest.raises(AnnotationError, match="no '#' line"):
        parse_end_times("0.1 122 a\n", "x.phones")
