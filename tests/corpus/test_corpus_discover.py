"""Finding annotation files, pairing them with audio, and reporting what does not pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from phonebound.corpus import detect_format, discover, read_corpus, read_item
from phonebound.errors import AnnotationError, PhoneboundError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("folder, fmt", [("textgrid", "textgrid"), ("praatio", "textgrid"), ("mfa", "textgrid"),
                                         ("cgn", "cgn"), ("timit", "timit"), ("lab", "lab"), ("buckeye", "buckeye")])
def test_format_is_detected(folder, fmt):
    assert detect_format(FIXTURES / folder) == fmt


def test_audio_is_paired_by_stem():
    _, found = discover(FIXTURES / "praatio")
    pairs = {item.annotation.name: item.audio.name for item in found.items}
    assert pairs == {"bobby_phones.TextGrid": "bobby.wav", "bobby_words.TextGrid": "bobby.wav",
                     "damon_set_test.TextGrid": "damon_set_test.wav", "mary.TextGrid": "mary.wav"}
    assert found.unpaired_audio == []


def test_unpaired_files_are_reported_not_fatal():
    fmt, found = discover(FIXTURES / "pairing")
    assert fmt == "textgrid"
    orphan, = found.items
    assert orphan.annotation.name == "orphan.TextGrid" and orphan.audio is None
    assert [a.name for a in found.unpaired_audio] == ["lonely.wav"]
    with pytest.raises(AnnotationError, match="orphan.TextGrid: no audio file found beside this annotation"):
        read_item(orphan)


def test_a_single_annotation_file_finds_the_audio_beside_it():
    fmt, found = discover(FIXTURES / "textgrid" / "tone_long.TextGrid")
    assert fmt == "textgrid"
    item, = found.items
    assert item.audio == FIXTURES / "textgrid" / "tone.wav"
    assert found.unpaired_audio == []
    assert read_item(item)[0].id == "tone_long"


def test_explicit_format_only_takes_that_format():
    fmt, found = discover(FIXTURES / "praatio", "lab")
    assert fmt == "lab" and found.items == []
    assert len(found.unpaired_audio) == 3


@pytest.mark.parametrize("root, fmt, problem", [
    (FIXTURES / "no-such-corpus", None, "corpus path not found"),
    (FIXTURES / "audio", None, "no annotation files found"),
    (FIXTURES / "textgrid", "praat", "unknown format 'praat'"),
])
def test_bad_corpus_arguments_are_clear_errors(root, fmt, problem):
    with pytest.raises(PhoneboundError, match=problem):
        discover(root, fmt)


def test_read_corpus_yields_every_utterance():
    utts = list(read_corpus(FIXTURES / "textgrid"))
    assert len(utts) == 8
    assert {u.audio_path.name for u in utts} == {"tone.wav"}
