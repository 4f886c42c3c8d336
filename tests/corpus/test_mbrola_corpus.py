"""recipes/mbrola_corpus.py: MBROLA diphone speech with its schedule as phone labels."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from phonebound.corpus.textgrid import read_textgrid
from phonebound.phones.classes import phone_class

SCRIPT = Path(__file__).resolve().parents[2] / "recipes" / "mbrola_corpus.py"
spec = importlib.util.spec_from_file_location("mbrola_corpus", SCRIPT)
mbrola_corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mbrola_corpus)


def test_voice_symbols_become_ipa_of_the_right_class():
    ipa = mbrola_corpus.ipa_of
    assert ipa("_", "en") == "sil"
    assert ipa("5", "en") == "ɫ" and ipa("tS", "en") == "t͡ʃ" and ipa("r=", "en") == "ɝ"
    assert ipa("a1", "it") == "a" and ipa("e/", "es") == "e"  # stress marks of the Romance voices dropped
    assert ipa("am", "pt") == "ɐ̃" and phone_class(ipa("am", "pt")) == "vowel"  # not a nasal consonant
    assert ipa("L", "nl") == "ɫ" and ipa("L", "es") == "ʎ"


def test_timing_shifts_move_one_kind_of_boundary_and_keep_every_phone():
    phones = [(0.0, 0.2, "sil"), (0.2, 0.3, "a"), (0.3, 0.305, "t"), (0.305, 0.4, "a"), (0.4, 0.6, "sil")]
    moved = mbrola_corpus.shifted(phones, {"VC": 0.012, "VS": 0.010})
    starts = [p[0] for p in moved]
    # vowel->stop +12 ms would leave the 5 ms stop nothing: it is held 5 ms before the next boundary
    assert starts[:3] == pytest.approx([0.0, 0.2, 0.3])
    assert starts[3] == pytest.approx(0.305) and starts[4] == pytest.approx(0.41)  # vowel->silence moved
    assert moved[-1][1] == 0.6 and [p[2] for p in moved] == [p[2] for p in phones]


needs_mbrola = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("mbrola") is None
    or not (mbrola_corpus.MBROLA_DIR / "us1" / "us1").exists(),
    reason="espeak-ng, mbrola and mbrola-us1 are not installed (Debian contrib/non-free)")


@needs_mbrola
def test_a_sentence_becomes_audio_with_its_schedule_as_contiguous_phone_intervals(tmp_path):
    text = tmp_path / "en.txt"
    text.write_text("The north wind and the sun were disputing which was the stronger.\nShe sells sea shells.\n")
    out = tmp_path / "corpus"
    run = [sys.executable, str(SCRIPT), str(out), "--sentences", f"en={text}", "--per-voice", "2"]
    subprocess.run(run, check=True, capture_output=True)
    grids = sorted(out.glob("en_us1_*.TextGrid"))
    assert len(grids) == 2
    for grid in grids:
        info = sf.info(grid.with_suffix(".flac"))
        phones = read_textgrid(grid).tiers[0].entries
        assert info.samplerate == 16000 and phones[-1][1] == pytest.approx(info.duration, abs=1e-3)
        assert phones[0][0] == 0 and all(a[1] == pytest.approx(b[0]) for a, b in zip(phones, phones[1:]))
        assert phones[0][2] == phones[-1][2] == "sil" and len(phones) > 12
        assert all(phone_class(p[2]) != "other" for p in phones)
    # a second run resumes: nothing is made again
    again = subprocess.run(run, check=True, capture_output=True, text=True)
    assert "wrote 0 utterances" in again.stdout
