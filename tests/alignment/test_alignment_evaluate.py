"""``phonebound evaluate --align``: forced alignments scored against reference alignments."""

from __future__ import annotations

import pytest

from phonebound.evaluation.evaluate import evaluate, format_summary


def test_phone_alignments_are_scored_and_paired(fixtures_dir, tmp_path):
    result = evaluate("default", fixtures_dir / "praatio", tmp_path / "eval", align="phones")
    a = result["alignment"]
    assert result["utterances"] == 3 and "threshold_table" not in result
    assert a["paired_utterances"] + a["unpaired_utterances"] == 3 and a["n"] > 20
    assert 0 < a["within_10ms"] <= a["within_20ms"] <= a["within_50ms"] <= 1
    assert a["mean_abs_error_ms"] > 0
    # every reference phone is placed: hypotheses ≈ references (edge pauses may differ by one)
    b = result["boundary"]
    assert abs(b["n_hyp"] - b["n_ref"]) <= 3
    assert (tmp_path / "eval" / "metrics.json").exists() and (tmp_path / "eval" / "offsets.png").exists()
    assert "alignment (phones)" in format_summary(result)


def test_word_alignments_take_the_words_tier_or_a_transcripts_file(fixtures_dir, tmp_path):
    result = evaluate("default", fixtures_dir / "praatio", align="words", lang="en")
    assert result["utterances"] == 2  # mary and damon have words tiers; bobby_phones has none
    assert any("words tier" in s["reason"] for s in result["skipped"])
    table = tmp_path / "words.txt"
    table.write_text("bobby_phones|Bobby ripped the ledger\n", encoding="utf-8")
    result = evaluate("default", fixtures_dir / "praatio", align="words", lang="en", transcripts=table)
    assert result["utterances"] == 3
    assert result["boundary"]["f1"] > 0.6


def test_alignment_needs_a_class_head(fixtures_dir):
    from phonebound.errors import PhoneboundError

    with pytest.raises(PhoneboundError):
        evaluate("spectral", fixtures_dir / "praatio", align="phones")


def test_word_alignments_refuse_a_reference_of_speaker_tiers(shared_data):
    # CGN's TextGrids hold one text tier per speaker: which is the utterance's is not known here,
    # so words are not taken from them (a clear line, not another speaker's words)
    from phonebound.errors import PhoneboundError

    with pytest.raises(PhoneboundError, match="one text tier per speaker"):
        evaluate("default", shared_data / "cgn_like", align="words", lang="nl")
