"""Transcripts as forced aligners take them, and words as phones: dictionary, lexicon, G2P."""

from __future__ import annotations

from pathlib import Path

import pytest

from phonebound.alignment.g2p import spoken_words
from phonebound.alignment.lexicon import Pronouncer, read_dictionary
from phonebound.alignment.transcripts import find_transcript, read_transcripts_file
from phonebound.alignment.emissions import token_classes
from phonebound.alignment.words import transcript_words
from phonebound.corpus.textgrid import write_textgrid
from phonebound.errors import PhoneboundError
from phonebound.phones.classes import PHONE_CLASSES


def test_dictionary_formats(tmp_path):
    d = tmp_path / "dict.txt"
    d.write_text("# comment\nkat\tk ɑ t\nKAT\tk a t\nde\t0.99\t0.1\t1.0\t0.5\td ə\nhet ə t\n", encoding="utf-8")
    entries = read_dictionary(d)
    assert entries["kat"] == (("k", "ɑ", "t"), ("k", "a", "t"))  # case-insensitive, variants in file order
    assert entries["de"] == (("d", "ə"),)  # MFA's probability columns skipped
    assert entries["het"] == (("ə", "t"),)  # space-separated works too
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café\tk a f e\n".encode("latin-1"))
    assert read_dictionary(latin)["café"] == (("k", "a", "f", "e"),)
    bad = tmp_path / "bad.txt"
    bad.write_text("kat\n", encoding="utf-8")
    with pytest.raises(PhoneboundError, match="line 1 has no phones"):
        read_dictionary(bad)


def test_pronouncer_takes_the_dictionary_then_the_lexicon_then_guesses():
    p = Pronouncer("nl", {"kat": (("k", "a", "t"),)})
    assert p("Kat").source == "dictionary" and p("Kat").variants == (("k", "a", "t"),)
    het = p("het")
    assert het.source == "lexicon" and len(het.variants) >= 2  # ə t | h ɛ t: the search chooses
    guess = p("blorptaak")
    assert guess.source == "guessed" and len(guess.variants[0]) >= 6
    assert p("'s").source == "lexicon"  # Dutch 's (des)
    assert Pronouncer("en")("the").source == "lexicon"


def test_a_hyphenated_word_no_lexicon_holds_is_pronounced_part_by_part():
    """gruut's G2P reads the hyphen as a letter: "well-known" was guessed as 'w ɛ l n oʊ n' only
    by luck, "T-shirt" lost its 'i', "zee-egel" became 'z e e ɣ ə l'."""
    en = Pronouncer("en")
    assert en("T-shirt").source == "lexicon" and en("T-shirt").variants[0] == ("t", "i", "ʃ", "ɚ", "t")
    art = en("state-of-the-art")
    assert art.source == "lexicon" and ("s", "t", "eɪ", "t", "ə", "v", "ð", "ə", "ɑ", "ɹ", "t") in art.variants
    assert len(art.variants) <= 8
    assert en("zlorb-known").source == "guessed"  # a part no lexicon holds makes the word a guess
    nl = Pronouncer("nl")
    assert nl("zee-egel").variants[0] == ("z", "eː", "e", "x", "ə", "l")
    arpabet = Pronouncer(None, {"well": (("W", "EH1", "L"),), "known": (("N", "OW1", "N"),)})
    well_known = arpabet("well-known")
    assert well_known.variants == (("W", "EH1", "L", "N", "OW1", "N"),) and well_known.scheme == "arpabet"
    assert well_known.source == "dictionary" and arpabet("ill-known") is None
    words, guessed, _ = transcript_words("a T-shirt", "words", en)
    assert [w.text for w in words] == ["a", "T-shirt"] and guessed == []  # one word on the words tier


def test_dutch_diphthongs_are_one_phone():
    """gruut's Dutch lexicon spells some diphthongs as two phones ("uit": only 'œː y t', 'œː ʏ t',
    'ɔ ʏ t', 'œː t'), which forced a boundary inside the diphthong; CGN counts it as one phone."""
    p = Pronouncer("nl")
    assert p("uit").variants == (("œy", "t"), ("ɔʏ", "t"), ("œː", "t"))
    assert p("bij").variants == (("b", "ɛi"), ("b", "ɛː"))  # 'b ɛ ɪ' was the same as 'b ɛi'
    assert p("hout").variants == (("h", "ɑu", "t"),)
    assert ("ɛi", "s") in p("ijs").variants and ("ɛ", "ɪ", "s") not in p("ijs").variants
    assert p("nooit").variants == (("n", "ɔː", "i", "t"),)  # a vowel and a glide stay two
    assert Pronouncer("en")("buy").variants == (("b", "aɪ"),)  # other languages as gruut spells them


def test_gruuts_garbled_dutch_entries_are_not_pronunciations():
    """523 of gruut's Dutch pronunciations hold 's u p ə', the remains of a superscript schwa's
    markup (<sup>ə</sup>): "erg" was only 'ɛ ɹ s u p ə', three phones too many, and its G2P model
    learnt the same ("half" 'h ɑ s u p ə')."""
    p = Pronouncer("nl")
    assert p("kerk").variants == (("k", "ɛ", "ɹ", "k"),)  # 'k ɛ ɹ s u p ə' dropped
    assert p("erg").variants == (("ɛ", "ɹ", "x"),) and p("erg").source == "guessed"  # no entry left
    assert p("half").variants == (("h", "ɑ", "l", "f"),)
    assert p("markt").variants == (("m", "ɑ", "ɹ", "k", "t"),)  # guessed: its letters k, t spelled
    assert p("twaalf").variants == (("t", "w", "aː", "l", "f"), ("t", "w", "aː", "l", "ə", "f"))
    assert p("soep").variants == (("s", "u", "p"),)  # a real soup stays


def test_variants_far_from_the_spelling_are_dropped():
    """gruut gives "zo" the expansion of zondag and "wandelpad" the fragment 'd ɔ l'; the search
    would take one wherever it fits better."""
    p = Pronouncer("nl")
    assert p("zo").variants == (("z", "o"),)
    assert p("wandelpad").variants == (("w", "ɑ", "n", "d", "ə", "l", "p", "ɑ", "t"),)
    assert ("t", "ɹ", "ʏ", "s", "t", "ə", "n") in p("welterusten").variants  # a reduced form stays
    assert len(p("Noorwegen").variants) == 4
    assert Pronouncer("en")("rep").variants == (("ɹ", "ɛ", "p"),)  # not 'representative'
    assert Pronouncer("en")("read").variants == (("ɹ", "i", "d"), ("ɹ", "ɛ", "d"))


def test_german_diphthongs_are_one_phone():
    pytest.importorskip("gruut_lang_de", reason="German needs phonebound[langs] (gruut-lang-de)")
    p = Pronouncer("de")
    assert p("allein").variants == (("a", "l", "aɪ̯", "n"),)  # gruut: 'a l a ɪ n'
    assert p("feuer").variants[0][:2] == ("f", "ɔʏ̯")  # gruut: 'f ɔ ʏ ə ʁ'
    assert p("mein").variants == (("m", "aɪ̯", "n"),)  # as gruut spells most


def test_transcript_words_expand_numbers_and_report_guesses():
    words, guessed, scheme = transcript_words("Zij zag 23 blorptaken.", "words", Pronouncer("nl"))
    texts = [w.text for w in words]
    assert texts[:2] == ["Zij", "zag"] and "drieëntwintig" in texts and texts[-1] == "blorptaken"
    assert guessed == ["blorptaken"] and scheme == "ipa"
    with pytest.raises(PhoneboundError, match="empty"):
        transcript_words("  ", "words", Pronouncer("nl"))
    with pytest.raises(PhoneboundError, match="no pronunciation for '123'"):
        transcript_words("kat 123", "words", Pronouncer(None, {"kat": (("k",),)}))


def test_phone_transcripts_are_one_word_unless_broken():
    words, _, scheme = transcript_words("DH AH0 | K AE1 T", "phones", None)
    assert [w.variants[0] for w in words] == [("DH", "AH0"), ("K", "AE1", "T")] and scheme == "arpabet"
    words, _, scheme = transcript_words("k ɑ t", "phones", None)
    assert len(words) == 1 and scheme == "ipa"


def test_transcripts_file_txt_lab_and_textgrid(tmp_path):
    meta = tmp_path / "metadata.csv"
    meta.write_text("a|Hallo daar\nb|Raw text|normalised text\n", encoding="utf-8")
    table = read_transcripts_file(meta)
    assert table == {"a": "Hallo daar", "b": "normalised text"}  # LJSpeech: the normalised column
    audio = tmp_path / "a.wav"
    assert find_transcript(audio, table).spans == ((0.0, None, "Hallo daar"),)
    (tmp_path / "c.txt").write_text("een\ntwee  drie\n", encoding="utf-8")
    assert find_transcript(tmp_path / "c.wav").spans == ((0.0, None, "een twee drie"),)
    (tmp_path / "d.lab").write_text("0 1200000 sil\n1200000 2500000 a\n", encoding="utf-8")  # HTK: not a transcript
    with pytest.raises(PhoneboundError, match="no transcript found"):
        find_transcript(tmp_path / "d.wav")
    (tmp_path / "e.lab").write_text("hello world", encoding="utf-8")
    assert find_transcript(tmp_path / "e.wav").spans[0][2] == "hello world"


def test_textgrid_words_tier_gives_spans_and_keeps_tiers(fixtures_dir):
    t = find_transcript(fixtures_dir / "praatio" / "mary.wav")
    assert len(t.spans) == 1 and t.spans[0][2] == "mary rolled the barrel"  # touching words: one span
    assert t.spans[0][0] == pytest.approx(0.3154, abs=1e-3)
    assert {tier.name for tier in t.tiers} == {"phone", "word", "pitch"}


def test_textgrid_with_a_tier_per_speaker_is_a_transcript_per_speaker(tmp_path, fixtures_dir, interview_textgrid):
    interview_textgrid(tmp_path / "talk.TextGrid")
    t = find_transcript(tmp_path / "talk.wav")
    assert t.speakers == ("Interviewer", "Patient")
    voices = dict(t.by_speaker())
    assert list(voices) == ["Interviewer", "Patient"]
    assert voices["Patient"].spans == ((0.9839, 1.5183, "the barrel"),)
    assert voices["Interviewer"].spans == ((0.3154, 0.9839, "mary rolled"),)
    one = find_transcript(fixtures_dir / "praatio" / "mary.wav")
    assert one.speakers == () and one.by_speaker() == [("", one)]
    # a phone tier alone is nobody's text
    with pytest.raises(PhoneboundError, match="no words tier and no speaker's text tier"):
        find_transcript(fixtures_dir / "praatio" / "bobby_phones.wav")


def test_a_transcripts_folder_is_searched_by_stem(tmp_path):
    import gzip

    from phonebound.alignment.transcripts import read_transcripts

    folder = tmp_path / "annot"
    (folder / "ort" / "comp-a").mkdir(parents=True)
    (folder / "awd" / "comp-a").mkdir(parents=True)
    (folder / "ort" / "comp-a" / "fn01.ort.gz").write_bytes(gzip.compress(b"x"))
    (folder / "awd" / "comp-a" / "fn01.awd.gz").write_bytes(gzip.compress(b"x"))
    (folder / "ort" / "comp-a" / "fn02.txt.gz").write_bytes(gzip.compress("één twee".encode()))
    (folder / "awd" / "fn01.fon.gz").write_bytes(b"not a transcript kind")
    files = read_transcripts(folder)
    assert files == {"fn01": folder / "awd" / "comp-a" / "fn01.awd.gz",  # word alignments before utterances
                     "fn02": folder / "ort" / "comp-a" / "fn02.txt.gz"}
    assert find_transcript(tmp_path / "audio" / "fn02.wav", files).spans == ((0.0, None, "één twee"),)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PhoneboundError, match="holds no transcript"):
        read_transcripts(empty)


def test_cgn_word_codes_and_placeholders(tmp_path):
    """CGN marks a word's kind after an asterisk (kat*a: broken off) and writes xxx for
    unintelligible speech, ggg for the speaker's noises: neither is a word to pronounce, and an
    interval holding one is left out of the spans aligned."""
    assert spoken_words("ik ben ggg xxx kat*a zo*v Xxx ja*n", "nl") == ["ik", "ben", "kat", "zo", "ja"]
    grid = tmp_path / "talk.TextGrid"
    write_textgrid(grid, 2.0, {"words": [(0.0, 0.5, "ik"), (0.5, 1.0, "ggg"), (1.0, 1.5, "kat*a"), (1.5, 2.0, "")],
                               "words_FON": [(0.0, 0.5, "Ik"), (0.5, 1.0, ""), (1.0, 1.5, "kA"), (1.5, 2.0, "")]})
    transcript = find_transcript(tmp_path / "talk.wav")
    assert transcript.spans == ((0.0, 0.5, "ik"), (1.0, 1.5, "kat*a"))
    assert transcript.pronunciations == (("ik", ("ɪ", "k")), ("kat", ("k", "ɑ")))  # the broken-off kat, as said


def test_bracketed_annotations_are_no_words(tmp_path):
    """Bug: "[laughter]", "<unk>" and "{breath}" were pronounced as the words laughter, unk and
    breath. As MFA reads them, they are no words; an interval holding only one is a gap."""
    assert spoken_words("hello [laughter] world <unk> so {breath} [two words] ok", "en") == ["hello", "world", "so", "ok"]
    assert spoken_words("het [lacht] is 12 <unk>", "nl") == ["het", "is", "twaalf"]
    grid = tmp_path / "talk.TextGrid"
    write_textgrid(grid, 1.5, {"words": [(0.0, 0.5, "hello"), (0.5, 1.0, "[laughter]"), (1.0, 1.5, "world")]})
    assert find_transcript(tmp_path / "talk.wav").spans == ((0.0, 0.5, "hello"), (1.0, 1.5, "world"))


def test_a_cgn_annotation_gives_each_word_its_fon_transcription(shared_data):
    """CGN's awd files hold, per speaker, a _FON tier transcribing each word as it was said; those
    come after the user's dictionary, before gruut's lexicon (in IPA, as gruut's)."""
    awd = shared_data / "cgn_like" / "data" / "annot" / "text" / "awd" / "comp-o" / "nl" / "fn010000.awd.gz"
    transcript = find_transcript(Path("fn010000.wav"), {"fn010000": awd})
    said = dict(transcript.pronunciations)
    assert transcript.speakers and len(said) > 10
    assert said["zegt"] == ("z", "ɛ", "x", "t")  # CGN's zExt
    pronouncer = Pronouncer("nl").with_transcribed(transcript.pronunciations)
    assert pronouncer("zegt").source == "transcript" and pronouncer("zegt").variants == (("z", "ɛ", "x", "t"),)
    assert pronouncer("kat").source == "lexicon"
    mine = Pronouncer("nl", {"zegt": (("z", "e", "x", "t"),)}).with_transcribed(transcript.pronunciations)
    assert mine("zegt").source == "dictionary"  # the user's word is the last word


def test_a_cgn_lexicon_with_unspaced_phones_is_split_into_cgn_phones(tmp_path):
    """CGN writes a word's phones without spaces (its lexicon, its _FON tiers): "bA+t" is b A+ t."""
    cgn = tmp_path / "cgn.lex"
    cgn.write_text("dat\tdAt\nbouwt\tbA+t\nverspreek\tv@r-'sprek\nhet\th@t\nhet\t@t\n", encoding="latin-1")
    lexicon = read_dictionary(cgn)
    assert lexicon["bouwt"] == (("b", "A+", "t"),) and lexicon["verspreek"] == (tuple("v@rsprek"),)
    assert lexicon["het"] == (("h", "@", "t"), ("@", "t"))
    mfa = tmp_path / "english.dict"  # spaced phones: a one-phone word stays one phone
    mfa.write_text("ah\tAA\nawe\tAO\nthe\tDH AH0\n", encoding="utf-8")
    assert read_dictionary(mfa)["ah"] == (("AA",),) and read_dictionary(mfa)["awe"] == (("AO",),)


def test_an_arpabet_dictionarys_words_are_read_as_arpabet_among_gruuts_ipa(tmp_path):
    """Bug: transcript words were all read as IPA, a dictionary's ARPAbet too ("B" a fricative,
    "Y" a vowel). CMUdict's own layout ("read(2)") is read as variants of "read"."""
    cmudict = tmp_path / "cmudict.dict"
    cmudict.write_text(";;; CMUdict\nread R IY1 D\nread(2) R EH1 D\nyes Y EH1 S\nbob B AA1 B\n", encoding="utf-8")
    pronouncer = Pronouncer("en", read_dictionary(cmudict))
    assert pronouncer("read").variants == (("R", "IY1", "D"), ("R", "EH1", "D"))
    assert pronouncer.dictionary_scheme == "arpabet" and pronouncer.dictionary_phone_set == "arpabet"
    words, _, _ = transcript_words("yes bob barked", "words", pronouncer)
    assert [w.scheme for w in words] == ["arpabet", "arpabet", "ipa"]
    labels = [p for w in words for p in w.variants[0]]
    schemes = [w.scheme for w in words for _ in w.variants[0]]
    classes = [PHONE_CLASSES[c] for c in token_classes(labels, schemes)]
    assert classes[:6] == ["approximant", "vowel", "fricative", "stop", "vowel", "stop"]  # Y EH1 S B AA1 B
    assert classes[6] == "stop"  # gruut's b of "barked"
    assert Pronouncer("en", {"kat": (("k", "ɑ", "t"),)}).dictionary_phone_set is None  # IPA: written as it is
    assert Pronouncer("en", {"kat": (("k", "a", "t"),)}).dictionary_phone_set is None  # IPA as much as SAMPA
    cgn = Pronouncer("nl", {"bouwt": (("b", "A+", "t"),)})
    assert cgn.dictionary_scheme == "sampa" and cgn.dictionary_phone_set == "cgn"
