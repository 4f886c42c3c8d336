"""The readers on the shared data sets in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from phonebound.corpus import discover, read_item
from phonebound.corpus.textgrid import read_textgrid


def _require(shared_data: Path, name: str) -> Path:
    path = shared_data / name
    if not path.is_dir():
        pytest.skip(f"../shared/data/{name} not found: {path} is absent")
    return path


@pytest.fixture(scope="module")
def cgn_like(shared_data):
    fmt, found = discover(_require(shared_data, "cgn_like"))
    assert fmt == "cgn"
    return {item.annotation.name: (item, read_item(item)) for item in found.items}


def test_cgn_like_reads_all_six_files(cgn_like):
    assert len(cgn_like) == 6
    for name, (item, utts) in cgn_like.items():
        assert item.audio is not None and item.audio.suffix == ".wav", name
        assert {u.speaker for u in utts} == {t.name[:-4] for t in read_textgrid(item.annotation).tiers
                                             if t.name.endswith("_SEG")}, name


def test_cgn_like_utterance_boundaries_equal_the_seg_tier_boundaries(cgn_like):
    for name, (item, utts) in cgn_like.items():
        tg = read_textgrid(item.annotation)
        expected = sorted({e[0] for t in tg.tiers if t.name.endswith("_SEG") for e in t.entries[1:]})
        got = sorted(u.start + b for u in utts for b in u.boundaries())
        assert got == pytest.approx(expected, abs=1e-9), name


def test_cgn_like_comp_c_speakers_read_their_own_channel(cgn_like):
    for name, (item, utts) in cgn_like.items():
        if "comp-c" not in item.annotation.parts:
            assert {u.channel for u in utts} == {None}, name  # mono: no channel to choose
            continue
        audio, rate = sf.read(str(item.audio), always_2d=True)
        assert (rate, audio.shape[1]) == (8000, 2)
        for u in utts:
            speech = [p for p in u.phones if p.label]
            seg = audio[int(speech[0].start * rate):int(speech[-1].end * rate)]
            assert u.channel == int(np.argmax((seg ** 2).sum(axis=0))), u.id
    channels = {u.speaker: u.channel for u in cgn_like["fn010002.awd.gz"][1]}
    assert channels == {"N01004": 0, "N01005": 1}


def test_voxangeles_textgrids_all_read(shared_data):
    """1,629 TextGrids, mixed UTF-16 (BOM) / UTF-8 / CRLF, tiers 'words'/'phones' or 'word'/'phone'."""
    fmt, found = discover(_require(shared_data, "voxangeles"))
    assert fmt == "textgrid"
    assert len(found.items) == 1629
    assert all(item.audio is not None for item in found.items)
    phone_tiers, utf16 = set(), 0
    for item in found.items:
        tg = read_textgrid(item.annotation)
        tier = "phones" if "phones" in tg.tier_names else "phone"
        u, = read_item(item)
        assert [p.label for p in u.phones if p.label] == [e[2] for e in tg.tier(tier).entries if e[2]], item.annotation
        assert u.duration > 0 and u.group == item.annotation.parent.name
        phone_tiers.add(tier)
        utf16 += item.annotation.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert phone_tiers == {"phones", "phone"}
    assert 0 < utf16 < len(found.items)  # the encodings really are mixed
