"""``phonebound align`` end to end on real recordings: outputs, skipped files, resume, formats."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import phonebound
from phonebound.alignment.analysis import COLUMNS
from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.evaluation.metrics import match_boundaries
from phonebound.phones.ipa import ARPABET_IPA, CGN_PHONES

runner = CliRunner()


@pytest.fixture()
def corpus(tmp_path, fixtures_dir):
    """mary (its TextGrid's words tier), bobby (a .txt), a recording without transcript, one of
    10 ms, and one whose transcript holds a word nothing can pronounce."""
    root = tmp_path / "in"
    root.mkdir()
    praatio = fixtures_dir / "praatio"
    shutil.copy(praatio / "mary.wav", root / "mary.wav")
    shutil.copy(praatio / "mary.TextGrid", root / "mary.TextGrid")
    shutil.copy(praatio / "bobby.wav", root / "bobby.wav")
    (root / "bobby.txt").write_text("Bobby ripped the ledger", encoding="utf-8")
    shutil.copy(praatio / "bobby.wav", root / "untranscribed.wav")
    shutil.copy(praatio / "bobby.wav", root / "odd.wav")
    (root / "odd.txt").write_text("bobby 日本", encoding="utf-8")
    with wave.open(str(root / "tiny.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(np.zeros(160, np.int16).tobytes())
    (root / "tiny.txt").write_text("a", encoding="utf-8")
    return root


def run(*args):
    return runner.invoke(app, ["align", *map(str, args)])


def test_align_writes_labelled_tiers_and_lists_what_it_skipped(corpus, tmp_path):
    out = tmp_path / "out"
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("bobby\tb ɑ b i\n", encoding="utf-8")
    result = run(corpus, "-o", out, "--lang", "en", "--dictionary", dictionary)
    assert result.exit_code == 0, result.output
    assert "aligned 2 recording(s)" in result.output
    skipped = dict(line.split("\t") for line in (out / "skipped.tsv").read_text().splitlines()[1:])
    assert set(skipped) == {str(corpus / n) for n in ("untranscribed.wav", "odd.wav", "tiny.wav")}
    assert "no transcript found" in skipped[str(corpus / "untranscribed.wav")]
    assert "no pronunciation for '日本'" in skipped[str(corpus / "odd.wav")]
    assert "too short to hold a phone" in skipped[str(corpus / "tiny.wav")]
    tg = read_textgrid(out / "bobby.TextGrid")
    tiers = {t.name: t for t in tg.tiers}
    assert list(tiers) == ["words", "phones", "confidence"]
    words = [label for _, _, label in tiers["words"].entries if label]
    assert words == ["Bobby", "ripped", "the", "ledger"]
    phones = [label for _, _, label in tiers["phones"].entries if label]
    assert phones[:4] == ["b", "ɑ", "b", "i"] and len(phones) >= 14  # the dictionary's bobby, then English G2P
    assert len(tiers["confidence"].entries) == len(phones)
    # mary's TextGrid: its words give the text, and its tiers are kept (renamed where they clash)
    mary = {t.name for t in read_textgrid(out / "mary.TextGrid").tiers}
    assert mary == {"words", "phones", "confidence", "phone", "word", "pitch"}


def test_mary_is_aligned_close_to_her_hand_labels(corpus, tmp_path, fixtures_dir):
    out = tmp_path / "out"
    assert run(corpus / "mary.wav", "-o", out, "--lang", "en").exit_code == 0
    ref = read_textgrid(fixtures_dir / "praatio" / "mary.TextGrid")
    ref_bounds = [s for s, _, _ in next(t for t in ref.tiers if t.name == "phone").entries[1:]]
    hyp = [s for s, _, _ in next(t for t in read_textgrid(out / "mary.TextGrid").tiers if t.name == "phones").entries[1:]]
    hits = len(match_boundaries(np.array(ref_bounds), np.array(hyp), 0.05).ref_idx)
    assert hits >= 0.8 * len(ref_bounds), (hits, len(ref_bounds))


def test_nothing_usable_exits_2_and_a_rerun_resumes(corpus, tmp_path):
    out = tmp_path / "out"
    result = run(corpus / "untranscribed.wav", corpus / "tiny.wav", "-o", out, "--lang", "en")
    assert result.exit_code == 2 and "no recording could be aligned" in result.output and "Traceback" not in result.output
    first = run(corpus / "bobby.wav", "-o", out, "--lang", "en")
    assert first.exit_code == 0
    again = run(corpus / "bobby.wav", "-o", out, "--lang", "en")
    assert "1 already done" in again.output
    changed = run(corpus / "bobby.wav", "-o", out, "--lang", "nl")
    assert changed.exit_code == 2 and "other settings" in changed.output


def test_guessed_words_keep_their_phones_and_survive_a_resume(tmp_path, fixtures_dir):
    """Bug: a resumed run rewrote guessed_words.tsv from its own files only, so a rerun that had
    nothing left to do deleted the list of the words the first run guessed."""
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(fixtures_dir / "praatio" / "bobby.wav", root / "bobby.wav")
    (root / "bobby.txt").write_text("Bobby ripped the zlorbledger", encoding="utf-8")
    out = tmp_path / "out"
    for attempt in ("first", "resumed"):
        result = run(root, "-o", out, "--lang", "en")
        assert result.exit_code == 0 and "1 word(s) not in the lexicon" in result.output, (attempt, result.output)
        rows = [line.split("\t") for line in (out / "guessed_words.tsv").read_text(encoding="utf-8").splitlines()]
        assert rows[0] == ["word", "recordings", "phones"]
        assert rows[1][:2] == ["zlorbledger", "1"] and len(rows[1][2].split()) >= 8, (attempt, rows)


def test_guessed_words_phones_are_written_in_the_chosen_phone_set(tmp_path, fixtures_dir):
    """The list is there to be corrected into a --dictionary for the same run, so its phones are
    in the notation the alignment is written in (they were IPA whatever --phone-set said)."""
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(fixtures_dir / "praatio" / "bobby.wav", root / "bobby.wav")
    (root / "bobby.txt").write_text("Bobby ripped the zlorbledger", encoding="utf-8")
    arpabet = {p.upper() for p in ARPABET_IPA}
    for args, name in (((), "guessed_words.tsv"), (("--check",), "check_guessed_words.tsv")):
        out = tmp_path / f"out{len(args)}"
        result = run(root, "-o", out, "--lang", "en", "--phone-set", "arpabet", *args)
        assert result.exit_code == 0, result.output
        word, _, phones = (out / name).read_text(encoding="utf-8").splitlines()[1].split("\t")
        assert word == "zlorbledger" and set(phones.split()) <= arpabet, phones
    bad = run(root, "-o", tmp_path / "bad", "--lang", "en", "--phone-set", "xsampa", "--check")
    assert bad.exit_code == 2 and "unknown phone set 'xsampa'" in bad.output


def test_an_arpabet_dictionary_is_read_as_arpabet_and_written_back_in_it(tmp_path, fixtures_dir):
    """Bug: a --dictionary's phones were read as IPA, so MFA's and CMUdict's ARPAbet "B", "P",
    "M", "Y" were fricatives, approximants and vowels to the search, and a TextGrid mixed the
    dictionary's ARPAbet with gruut's IPA. Now each word is read in its own notation and the
    alignment is written in the dictionary's: its words as it spells them, stress digits and all."""
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(fixtures_dir / "praatio" / "bobby.wav", root / "bobby.wav")
    (root / "bobby.txt").write_text("Bobby ripped the ledger", encoding="utf-8")
    lexicon = tmp_path / "english_us_arpa.dict"  # MFA's layout: probabilities between word and phones
    lexicon.write_text("bobby\t0.99\tB AA1 B IY0\nripped\tR IH1 P T\nthe\tDH AH0\nthe\tDH IY0\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(root, "-o", out, "--lang", "en", "--dictionary", lexicon)
    assert result.exit_code == 0, result.output
    phones = [label for _, _, label in next(t for t in read_textgrid(out / "bobby.TextGrid").tiers
                                             if t.name == "phones").entries if label]
    assert phones[:8] == ["B", "AA1", "B", "IY0", "R", "IH1", "P", "T"] and phones[8] == "DH"
    assert phones[10:] == ["L", "EH", "JH", "ER"]  # gruut's ledger, written in ARPAbet
    ref = read_textgrid(fixtures_dir / "praatio" / "bobby_phones.TextGrid").tiers[0].entries
    hyp = [s for s, _, _ in next(t for t in read_textgrid(out / "bobby.TextGrid").tiers if t.name == "phones").entries[1:]]
    hits = len(match_boundaries(np.array([s for s, _, _ in ref[1:]]), np.array(hyp), 0.05).ref_idx)
    assert hits >= 0.8 * (len(ref) - 1), (hits, len(ref) - 1)


def test_check_lists_what_align_would_skip_and_guess_without_aligning(corpus, tmp_path):
    out = tmp_path / "out"
    (corpus / "bobby.txt").write_text("Bobby ripped the zlorbledger", encoding="utf-8")
    result = run(corpus, "-o", out, "--lang", "en", "--check")
    assert result.exit_code == 0, result.output
    assert "checked 5 recording(s)" in result.output and "2 can be aligned" in result.output
    skipped = dict(line.split("\t") for line in (out / "check_skipped.tsv").read_text().splitlines()[1:])
    assert set(skipped) == {str(corpus / n) for n in ("untranscribed.wav", "odd.wav", "tiny.wav")}
    assert "no pronunciation for '日本'" in skipped[str(corpus / "odd.wav")]
    guessed = (out / "check_guessed_words.tsv").read_text(encoding="utf-8").splitlines()
    assert guessed[1].startswith("zlorbledger\t1\t")
    assert not list(out.rglob("*.TextGrid"))  # nothing aligned
    assert run(corpus, "-o", out, "--lang", "en").exit_code == 0  # the alignment run into the same folder
    assert (out / "bobby.TextGrid").exists()
    missing = run(corpus / "untranscribed.wav", "-o", tmp_path / "none", "--lang", "en", "--check")
    assert missing.exit_code == 2 and "no recording could be aligned" in missing.output


def test_unknown_language_is_one_line(corpus, tmp_path):
    result = run(corpus, "-o", tmp_path / "out", "--lang", "klingon")
    assert result.exit_code == 2 and "unknown language 'klingon'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_csv_json_and_linked_audio(corpus, tmp_path):
    out = tmp_path / "csv"
    assert run(corpus / "bobby.wav", "-o", out, "--lang", "en", "-f", "csv").exit_code == 0
    rows = (out / "bobby.csv").read_text().splitlines()
    assert rows[0] == "begin,end,phone,word,confidence" and any(",the," in r for r in rows)
    out = tmp_path / "json"
    assert run(corpus / "bobby.wav", "-o", out, "--lang", "en", "-f", "json", "--link-audio").exit_code == 0
    data = json.loads((out / "bobby.json").read_text())
    assert [w["word"] for w in data["words"]] == ["Bobby", "ripped", "the", "ledger"]
    assert data["phones"][-1]["end"] == pytest.approx(data["duration"], abs=1e-5)  # written to 10 µs
    assert (out / "bobby.wav").exists()  # linked beside its output


def test_phone_transcripts(corpus, tmp_path):
    (corpus / "bobby.txt").write_text("B AA1 B IY0 R IH1 P T DH AH0 L EH1 JH ER0", encoding="utf-8")
    out = tmp_path / "out"
    assert run(corpus / "bobby.wav", "-o", out, "--text-kind", "phones").exit_code == 0
    phones = [label for _, _, label in read_textgrid(out / "bobby.TextGrid").tiers[1].entries if label]
    assert phones == "B AA1 B IY0 R IH1 P T DH AH0 L EH1 JH ER0".split()


def test_align_a_tier_per_speaker_writes_each_speakers_tiers(tmp_path, fixtures_dir, interview_textgrid):
    from phonebound.alignment.adapt import SpeakerPhoneModels

    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(fixtures_dir / "praatio" / "mary.wav", root / "talk.wav")
    interview_textgrid(root / "talk.TextGrid")
    out = tmp_path / "out"
    result = run(root, "-o", out, "--lang", "en")
    assert result.exit_code == 0, result.output
    tiers = {t.name: t for t in read_textgrid(out / "talk.TextGrid").tiers}
    for who in ("Interviewer", "Patient"):
        assert {f"{who} - words", f"{who} - phones", f"{who} - confidence", who} <= set(tiers)
    words = {who: [(s, e, w) for s, e, w in tiers[f"{who} - words"].entries if w] for who in ("Interviewer", "Patient")}
    assert [w for *_, w in words["Interviewer"]] == ["mary", "rolled"]
    assert [w for *_, w in words["Patient"]] == ["the", "barrel"]
    assert all(0.31 <= s and e <= 0.99 for s, e, _ in words["Interviewer"])  # each within its own turn
    assert all(0.98 <= s and e <= 1.52 for s, e, _ in words["Patient"])
    # mary.TextGrid's own word boundaries: 'rolled' at 0.676 s, 'barrel' at 1.064 s
    assert abs(words["Interviewer"][1][0] - 0.6755) < 0.03 and abs(words["Patient"][1][0] - 1.0637) < 0.03
    assert not any(label for s, e, label in tiers["Patient - phones"].entries if e <= 0.98)  # silent in the other's turn
    assert {"comment", "phones"} <= set(tiers)  # the input's other tiers, kept
    assert set(SpeakerPhoneModels.load(out / "phone_models.npz").speakers) == {"Interviewer", "Patient"}
    as_csv = tmp_path / "csv"
    assert run(root, "-o", as_csv, "--lang", "en", "--format", "csv").exit_code == 0
    rows = (as_csv / "talk.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "speaker,begin,end,phone,word,confidence"
    assert {r.split(",")[0] for r in rows[1:]} == {"Interviewer", "Patient"}
    as_json = tmp_path / "json"
    assert run(root, "-o", as_json, "--lang", "en", "--format", "json").exit_code == 0
    data = json.loads((as_json / "talk.json").read_text(encoding="utf-8"))
    assert [s["speaker"] for s in data["speakers"]] == ["Interviewer", "Patient"]
    assert [w["word"] for w in data["speakers"][1]["words"]] == ["the", "barrel"]


def test_align_a_cgn_corpus_from_its_annotation_tree(tmp_path, shared_data):
    # audio under data/audio/wav/comp-*/nl/, word alignments under data/annot/text/awd/comp-*/nl/
    cgn = shared_data / "cgn_like" / "data"
    out = tmp_path / "out"
    result = run(cgn / "audio", "-o", out, "--lang", "nl", "--transcripts", cgn / "annot" / "text" / "awd",
                 "--phone-set", "cgn")
    assert result.exit_code == 0, result.output
    assert "each of its 12 speakers" in result.output  # two speaker tiers per file
    grids = sorted(out.rglob("*.TextGrid"))
    assert len(grids) == 6
    tiers = {t.name: t for t in read_textgrid(out / "wav" / "comp-c" / "nl" / "fn010002.TextGrid").tiers}
    assert {"N01004 - words", "N01004 - phones", "N01005 - words", "N01005 - phones", "N01004_SEG"} <= set(tiers)
    # each speaker's phones start where CGN's own segmentation (the _SEG tier) says, within 20 ms
    ref = [s for s, _, label in tiers["N01004_SEG"].entries if label.strip()]
    hyp = [s for s, _, label in tiers["N01004 - phones"].entries if label]
    hits = len(match_boundaries(np.array(ref), np.array(hyp), 0.02).ref_idx)
    assert hits / len(ref) > 0.9
    # each word pronounced as its _FON tier transcribes it, written back in CGN's phone set: CGN's own labels
    assert "pronounced by the G2P model" not in result.output
    ref = [label for _, _, label in tiers["N01004_SEG"].entries if label.strip()]
    hyp = [label for _, _, label in tiers["N01004 - phones"].entries if label]
    assert hyp == ref and set(hyp) <= CGN_PHONES


def test_align_a_cgn_corpus_with_its_own_lexicon(tmp_path, shared_data):
    """A CGN user's pronunciations come from CGN (its lexicon, its _FON tiers), written without
    spaces; aligned with them, every phone is CGN's SAMPA and no word is guessed."""
    cgn = shared_data / "cgn_like" / "data"
    lexicon = set()
    for awd in (cgn / "annot" / "text" / "awd").rglob("*.awd.gz"):
        tiers = {t.name: t for t in read_textgrid(awd).tiers}
        for name in [n for n in tiers if n + "_FON" in tiers]:
            words = [w for _, _, w in tiers[name].entries if w.strip()]
            fon = [f for _, _, f in tiers[name + "_FON"].entries if f.strip()]
            lexicon |= {f"{w.lower()}\t{f}" for w, f in zip(words, fon)}
    (tmp_path / "cgn.lex").write_text("\n".join(sorted(lexicon)) + "\n", encoding="latin-1")
    out = tmp_path / "out"
    result = run(cgn / "audio", "-o", out, "--lang", "nl", "--dictionary", tmp_path / "cgn.lex",
                 "--transcripts", cgn / "annot" / "text" / "awd")
    assert result.exit_code == 0, result.output
    assert "pronounced by the G2P model" not in result.output  # every word found in the lexicon
    tiers = {t.name: t for t in read_textgrid(out / "wav" / "comp-o" / "nl" / "fn010000.TextGrid").tiers}
    phones = [label for _, _, label in tiers["N01000 - phones"].entries if label]
    seg = [label for _, _, label in tiers["N01000_SEG"].entries if label.strip()]
    assert phones == seg  # the lexicon's phones, as CGN's own segmentation labels them


def test_a_transcript_of_another_recording_is_flagged_and_the_analysis_survives_a_resume(tmp_path):
    """OUT/alignment_analysis.tsv: a recording aligned to its own words fits (bench/transcript_check.py:
    no sentence of 157 under 0.6), one aligned to another sentence's words is marked for checking;
    rows of files finished by an earlier run stay."""
    demo = Path(phonebound.__file__).parent / "demo_data"
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(demo / "dutch_sentence_1.flac", root / "right.flac")
    shutil.copy(demo / "dutch_sentence_1.txt", root / "right.txt")
    out = tmp_path / "out"
    assert run(root, "-o", out, "--lang", "nl").exit_code == 0
    shutil.copy(demo / "dutch_sentence_1.flac", root / "swapped.flac")
    shutil.copy(demo / "dutch_sentence_2.txt", root / "swapped.txt")  # the other demo sentence's words
    result = run(root, "-o", out, "--lang", "nl")  # resumes: right.flac is done
    assert result.exit_code == 0 and "1 already done" in result.output, result.output
    assert "1 recording(s) fit their transcripts poorly" in result.output and "swapped.flac" in result.output
    assert "swapped.flac (.)" not in result.output  # a folder's speaker is no name worth printing
    rows = [line.split("\t") for line in (out / "alignment_analysis.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == list(COLUMNS)
    by_name = {Path(r[0]).name: r for r in rows[1:]}
    assert set(by_name) == {"right.flac", "swapped.flac"}
    assert float(by_name["right.flac"][6]) > 0.75 and by_name["right.flac"][-1] == "ok"
    assert float(by_name["swapped.flac"][6]) < 0.5 and by_name["swapped.flac"][-1] == "check transcript"
    assert int(by_name["right.flac"][3]) == 6  # "Ook deze dakbedekking is erg duurzaam."
