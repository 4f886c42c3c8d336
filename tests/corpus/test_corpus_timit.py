"""TIMIT: .PHN sample counts beside NIST SPHERE .WAV audio (TRAIN/DR1/FAKE0/SA1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf

from phonebound.audio.load import audio_info, load_audio
from phonebound.corpus import discover, read_item
from phonebound.errors import AnnotationError

TIMIT = Path(__file__).resolve().parents[1] / "fixtures" / "timit"
PHN = [(0, 1200, "h#"), (1200, 2000, "sh"), (2000, 3600, "iy"), (3600, 4400, "hv"), (4400, 6400, "ae"),
       (6400, 8000, "h#")]


def _item(root: Path = TIMIT):
    fmt, found = discover(root)
    assert fmt == "timit" and len(found.items) == 1 and found.unpaired_audio == []
    return found.items[0]


def test_the_audio_is_nist_sphere_named_wav():
    item = _item()
    assert item.audio.name == "SA1.WAV"
    assert sf.info(str(item.audio)).format == "NIST"
    info = audio_info(item.audio)
    assert (info.sample_rate, info.channels, info.frames) == (16000, 1, 8000)
    assert load_audio(item.audio).shape == (8000,)


def test_sample_counts_become_seconds():
    u, = read_item(_item())
    assert u.id == "TRAIN/DR1/FAKE0/SA1"
    assert (u.speaker, u.group) == ("FAKE0", "TRAIN")
    assert (u.start, u.end) == (0.0, 0.5)
    assert [p.label for p in u.phones] == [lab for _, _, lab in PHN]
    assert [p.start for p in u.phones] == pytest.approx([a / 16000 for a, _, _ in PHN])
    assert [p.end for p in u.phones] == pytest.approx([b / 16000 for _, b, _ in PHN])
    assert u.boundaries() == pytest.approx([0.075, 0.125, 0.225, 0.275, 0.4])


def test_phn_longer_than_the_audio_is_an_error(tmp_path):
    speaker = tmp_path / "TRAIN" / "DR1" / "FAKE0"
    shutil.copytree(TIMIT / "TRAIN" / "DR1" / "FAKE0", speaker)
    (speaker / "SA1.PHN").write_text("0 4000 h#\n4000 16000 iy\n")
    with pytest.raises(AnnotationError, match="phone times reach sample 16000 but the audio has 8000 samples"):
        read_item(_item(tmp_path))
