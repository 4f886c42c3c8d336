"""Messy annotations (TextGrid, TIMIT .phn, HTK/festvox .lab, notebook CSV): each is repaired with a
warning, or refused with a one-line error naming the file, the problem and a fix — and inside a
batch it is skipped and reported while every other file is kept."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest
from robustness_cases import (INTERVALS, check_user_error, one_line_error, read_skipped, textgrid_text, write_good)

from phonebound.cli import app
from phonebound.corpus import discover, read_item
from phonebound.dataset.seedcsv import HEADER
from phonebound.dataset.store import Dataset
from phonebound.errors import AnnotationError, PhoneboundError

I = INTERVALS  # noqa: E741  (0-0.2 sil, 0.2-0.45 a, 0.45-0.65 s, 0.65-0.85 o, 0.85-1.0 sil)
UNICODE = [(0.0, 0.5, "ü"), (0.5, 1.0, "ə")]


def _tg(tiers, xmax=1.0, xmin=0.0) -> bytes:
    return textgrid_text(xmax, tiers, xmin).encode()


def _duplicate_tiers() -> bytes:
    return textgrid_text(1.0, {"phones": I, "other": [(0.0, 1.0, "z")]}).replace('"other"', '"phones"').encode()


# name -> (TextGrid bytes, outcome, words of the problem / warning, expected phones or None)
TEXTGRIDS = {
    "past_audio_end": (_tg({"phones": I[:-1] + [(0.85, 1.5, "sil")]}, 1.5), "warn", "past the audio end", I),
    "interval_wholly_past_end": (_tg({"phones": I + [(1.0, 2.0, "x")]}, 2.0), "warn", "past the audio end", I),
    "overlap": (_tg({"phones": [(0.0, 0.5, "a"), (0.4, 1.0, "b")]}), "error", "overlap at 0.4000 s", None),
    "gap": (_tg({"phones": [(0.0, 0.3, "a"), (0.5, 1.0, "b")]}), "ok", "",
            [(0.0, 0.3, "a"), (0.3, 0.5, ""), (0.5, 1.0, "b")]),  # the gap is silence
    "unsorted": (_tg({"phones": [I[2], I[0], I[1], I[4], I[3]]}), "warn", "not in time order", I),
    "negative_time": (_tg({"phones": [(-0.2, 0.5, "a"), (0.5, 1.0, "b")]}, xmin=-0.2), "error", "negative time -0.2",
                      None),
    "negative_interval_only": (_tg({"phones": [(0.0, 0.5, "a"), (0.5, 1.0, "b")]}).replace(b"xmin = 0.5", b"xmin = -0.5"),
                               "error", "negative time -0.5", None),
    "interval_end_before_start": (_tg({"phones": [(0.0, 0.5, "a"), (0.7, 0.6, "b"), (0.6, 1.0, "c")]}), "error",
                                  "ends (0.6) before it starts (0.7)", None),
    "xmin_greater_than_xmax": (_tg({"phones": I}, xmax=0.0, xmin=1.0), "error", "xmin 1.0 is greater than xmax 0.0",
                               None),
    "no_phone_tier": (_tg({"words": I, "syllables": I}), "error", "tiers found: words, syllables", None),
    "duplicate_tier_names": (_duplicate_tiers(), "warn", "duplicate tier name(s) phones", I),
    "utf8_bom": (b"\xef\xbb\xbf" + _tg({"phones": UNICODE}), "ok", "", UNICODE),
    "utf16_bom": (textgrid_text(1.0, {"phones": UNICODE}).encode("utf-16"), "ok", "", UNICODE),
    "utf16le_without_bom": (textgrid_text(1.0, {"phones": UNICODE}).encode("utf-16-le"), "ok", "", UNICODE),
    "latin1": (textgrid_text(1.0, {"phones": [(0.0, 0.5, "ü"), (0.5, 1.0, "é")]}).encode("latin-1"), "ok", "",
               [(0.0, 0.5, "ü"), (0.5, 1.0, "é")]),
    "tiny_times_in_exponent_notation": (_tg({"phones": [(0.0, 5e-05, "sil"), (5e-05, 0.5, "a"), (0.5, 1.0, "b")]}),
                                        "ok", "", [(0.0, 0.0001, "sil"), (0.0001, 0.5, "a"), (0.5, 1.0, "b")]),
    "crlf": (_tg({"phones": I}).replace(b"\n", b"\r\n"), "ok", "", I),
    "cr_only": (_tg({"phones": I}).replace(b"\n", b"\r"), "ok", "", I),
    "truncated": (_tg({"phones": I})[:300], "error", "malformed or truncated TextGrid", None),
    "empty_file": (b"", "error", "not a Praat TextGrid", None),
    "binary_garbage": (bytes(range(256)) * 4, "error", "cannot decode", None),
    "utf16_odd_length": (textgrid_text(1.0, {"phones": I}).encode("utf-16")[:-1], "error", "cannot decode", None),
}
GZ_TRUNCATED = gzip.compress(_tg({"phones": I}))[:-30]


def _item(folder):
    _, found = discover(folder)
    assert len(found.items) == 1
    return found.items[0]


def _phones(utt):
    return [(round(p.start, 4), round(p.end, 4), p.label) for p in utt.phones]


@pytest.fixture(scope="module")
def textgrid_corpus(tmp_path_factory):
    """One folder per case (utt.wav + utt.TextGrid), a good file, an annotation without audio,
    audio without annotation and a truncated .TextGrid.gz."""
    root = tmp_path_factory.mktemp("tg") / "corpus"
    for name, (data, *_) in TEXTGRIDS.items():
        write_good(root / name, "utt")
        (root / name / "utt.TextGrid").write_bytes(data)
    write_good(root / "good", "utt")
    write_good(root / "noaudio", "utt")
    (root / "noaudio" / "utt.wav").unlink()
    write_good(root / "lonely", "lonely")
    (root / "lonely" / "lonely.TextGrid").unlink()
    write_good(root / "gz", "utt")
    (root / "gz" / "utt.TextGrid").unlink()
    (root / "gz" / "utt.TextGrid.gz").write_bytes(GZ_TRUNCATED)
    return root


@pytest.mark.parametrize("name", list(TEXTGRIDS))
def test_textgrid_case(name, textgrid_corpus, tmp_path, runner):
    _, outcome, words, phones = TEXTGRIDS[name]
    item = _item(textgrid_corpus / name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if outcome == "error":
            with pytest.raises(AnnotationError) as e:
                read_item(item)
            check_user_error(e.value, item.annotation, words)
        else:
            (utt,) = read_item(item)
            assert _phones(utt) == phones and utt.end == pytest.approx(1.0)
    messages = [str(w.message) for w in caught]
    if outcome == "warn":
        assert any(words in m and str(item.annotation) in m for m in messages), messages
    r = runner.invoke(app, ["build", str(item.annotation), str(tmp_path / "ds")])
    if outcome == "error":
        one_line_error(r, str(item.annotation), words)
    else:
        assert r.exit_code == 0, r.output
        assert len(Dataset(tmp_path / "ds")) == 1
        logged = (tmp_path / "ds" / "warnings.txt").read_text(encoding="utf-8")
        assert (words in logged) if outcome == "warn" else logged == ""


def test_missing_audio_and_missing_annotation(textgrid_corpus, tmp_path, runner):
    item = _item(textgrid_corpus / "noaudio")
    with pytest.raises(AnnotationError) as e:
        read_item(item)
    check_user_error(e.value, item.annotation, "no audio file found")
    r = runner.invoke(app, ["build", str(item.annotation), str(tmp_path / "ds")])
    one_line_error(r, str(item.annotation), "no audio file found", "put the audio next to it")
    item = _item(textgrid_corpus / "gz")
    with pytest.raises(AnnotationError) as e:
        read_item(item)
    check_user_error(e.value, item.annotation, "cannot decode")


def test_textgrid_batch_keeps_everything_usable(textgrid_corpus, tmp_path, runner):
    r = runner.invoke(app, ["build", str(textgrid_corpus), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    usable = sorted([n for n, (_, outcome, *_) in TEXTGRIDS.items() if outcome != "error"] + ["good"])
    ds = Dataset(tmp_path / "ds")
    assert sorted(ds.table.column("id").to_pylist()) == [f"{n}/utt" for n in usable]
    skipped = read_skipped(tmp_path / "ds" / "skipped.tsv")
    expected = {str(textgrid_corpus / n / "utt.TextGrid"): words
                for n, (_, outcome, words, _) in TEXTGRIDS.items() if outcome == "error"}
    expected[str(textgrid_corpus / "noaudio" / "utt.TextGrid")] = "no audio file found"
    expected[str(textgrid_corpus / "gz" / "utt.TextGrid.gz")] = "cannot decode"
    expected[str(textgrid_corpus / "lonely" / "lonely.wav")] = "audio without annotation"  # reported, not fatal
    assert set(skipped) == set(expected)
    for path, words in expected.items():
        assert words in skipped[path] and " — " in skipped[path], (path, skipped[path])
    logged = (tmp_path / "ds" / "warnings.txt").read_text(encoding="utf-8")
    for name, (_, outcome, words, _) in TEXTGRIDS.items():
        if outcome == "warn":
            assert any(words in line and f"/{name}/" in line for line in logged.splitlines()), name
    good = ds.table.column("id").to_pylist().index("good/utt")
    assert len(ds.records[good].boundaries) == 4 and np.isfinite(ds.features(good)).all()


# --- TIMIT .phn and HTK / festvox .lab ------------------------------------------------------------

PHN = {  # for 1 s of 16 kHz audio
    "ok": ("0 3200 h#\n3200 7200 a\n7200 16000 h#\n", "ok", ""),
    "counts_past_the_audio": ("0 3200 h#\n3200 20000 a\n", "error", "reach sample 20000 but the audio has 16000"),
    "not_integers": ("0 3200.5 h#\n3200.5 16000 a\n", "error", "sample counts must be integers"),
    "short_line": ("0 3200\n", "error", "expected 'START END LABEL'"),
    "negative": ("-160 3200 h#\n3200 16000 a\n", "error", "negative time"),
    "empty": ("\n\n", "error", "no phones in file"),
    "crlf_bom": ("\ufeff0 3200 h#\r\n3200 16000 a\r\n", "ok", ""),
}
LAB = {
    "htk_ok": ("0 2000000 sil\n2000000 4500000 a\n4500000 10000000 sil\n", "ok", ""),
    "htk_not_numbers": ("0 2000000 sil\nzero 4500000 a\n", "error", "times must be numbers"),
    "htk_past_end": ("0 2000000 sil\n2000000 15000000 a\n", "warn", "past the audio end"),
    "festvox_ok": ("separator ;\nnfields 1\n#\n0.2 125 sil\n0.45 125 a\n1.0 125 sil\n", "ok", ""),
    "festvox_bad_time": ("#\n0.2 125 sil\nabc 125 a\n", "error", "end time must be a number"),
    "festvox_times_go_back": ("#\n0.5 125 sil\n0.3 125 a\n", "error", "before it starts"),
    "festvox_nan": ("#\n0.5 125 sil\nnan 125 a\n", "error", "not a finite number"),
}


@pytest.mark.parametrize("suffix, cases", [(".phn", PHN), (".lab", LAB)])
def test_phn_and_lab_cases_single_and_batch(suffix, cases, tmp_path, runner):
    root = tmp_path / "corpus"
    for name, (text, *_) in cases.items():
        write_good(root / name, "utt")
        (root / name / "utt.TextGrid").unlink()
        (root / name / f"utt{suffix}").write_text(text, encoding="utf-8", newline="")
    for name, (_, outcome, words) in cases.items():
        item = _item(root / name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if outcome == "error":
                with pytest.raises(AnnotationError) as e:
                    read_item(item)
                check_user_error(e.value, item.annotation, words)
            else:
                (utt,) = read_item(item)
                assert utt.end == pytest.approx(1.0) and len(utt.boundaries()) >= 1
        if outcome == "warn":
            assert any(words in str(w.message) for w in caught)
    name = next(n for n, c in cases.items() if c[1] == "error")
    r = runner.invoke(app, ["build", str(root / name / f"utt{suffix}"), str(tmp_path / "one")])
    one_line_error(r, str(root / name / f"utt{suffix}"), cases[name][2])
    r = runner.invoke(app, ["build", str(root), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    kept = sorted(f"{n}/utt" for n, c in cases.items() if c[1] != "error")
    assert sorted(Dataset(tmp_path / "ds").table.column("id").to_pylist()) == kept
    skipped = read_skipped(tmp_path / "ds" / "skipped.tsv")
    assert {p: r for p, r in skipped.items()}.keys() == {str(root / n / f"utt{suffix}")
                                                        for n, c in cases.items() if c[1] == "error"}


# --- the notebook's CSV (import-csv) --------------------------------------------------------------

def _region(width: int, seed: int) -> str:
    values = np.random.default_rng(seed).standard_normal(width).astype(np.float32)
    return "|".join(repr(float(v)) for v in values)


def test_import_csv_skips_and_reports_bad_rows(tmp_path, runner):
    rows = [
        (f"{_region(129, 1)},0,16000,0,10,a.flac", "129 values"),  # line 2: first row, wrong float count
        (f"{_region(130, 2)},1,16000,10,20,a.flac", None),  # line 3
        (f"{_region(130, 3)},0,16000,x20,30,a.flac", "non-numeric field"),  # line 4
        (f"{_region(129, 4)}|zero,0,16000,30,40,a.flac", "non-numeric field"),  # line 5
        (f"{_region(130, 5)},0,16000,40,50", "5 fields"),  # line 6
        (f"{_region(129, 6)}|nan,0,16000,50,60,a.flac", "bad label/value"),  # line 7: NaN
        (f"{_region(130, 7)},0,16000,60,70,b\xff.flac", "not UTF-8"),  # line 8 (a latin-1 byte)
        (f"{_region(130, 8)},0,16000,70,80,b.flac", None),  # line 9
        (f"{_region(130, 9)},0,16000,99999999999,80,b.flac", "out of range"),  # line 10
        (f"{_region(130, 11)},0,16000,80,90,", "audiopath empty"),  # line 11: no audio file named
        (f'{_region(130, 10)},1,16000,80,90,"b.flac', "spanning lines"),  # line 12: a quote never closed
    ]
    data = ("\ufeff" + ",".join(HEADER) + "\r\n").encode("utf-8")  # a BOM before the header
    for text, _ in rows:
        data += text.encode("utf-8").replace("\xff".encode("utf-8"), b"\xff") + b"\r\n"
    (tmp_path / "in.csv").write_bytes(data)
    r = runner.invoke(app, ["import-csv", str(tmp_path / "in.csv"), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    bad = {n: why for n, (_, why) in enumerate(rows, start=2) if why}
    assert "imported 2 rows (region layout)" in text and f"skipped {len(bad)} malformed rows" in text
    skipped = read_skipped(tmp_path / "ds" / "skipped.tsv")
    assert set(skipped) == {f"{tmp_path / 'in.csv'}:{n}" for n in bad}
    for n, why in bad.items():
        assert why in skipped[f"{tmp_path / 'in.csv'}:{n}"], (n, skipped[f"{tmp_path / 'in.csv'}:{n}"])
    ds = Dataset(tmp_path / "ds")
    assert [rec.audio for rec in ds.records] == ["a.flac", "b.flac"]
    expected = np.asarray([float(v) for v in rows[1][0].split(",")[0].split("|")], np.float32).reshape(10, 13)
    np.testing.assert_array_equal(ds.features(0)[0], expected)


def test_import_csv_unusable_files_are_one_line_errors(tmp_path, runner):
    (tmp_path / "bad.csv").write_text(",".join(HEADER) + f"\n{_region(64, 0)},0,16000,0,10,a.flac\n", encoding="utf-8")
    r = runner.invoke(app, ["import-csv", str(tmp_path / "bad.csv"), str(tmp_path / "d1")])
    one_line_error(r, str(tmp_path / "bad.csv"), "no usable rows", "line 2", "expected 130 (region) or 65")
    # a row of the right width but a bad label once decided the layout alone, then the import crashed
    (tmp_path / "label.csv").write_text(",".join(HEADER) + f"\n{_region(130, 0)},7,16000,0,10,a.flac\n", encoding="utf-8")
    r = runner.invoke(app, ["import-csv", str(tmp_path / "label.csv"), str(tmp_path / "d0")])
    one_line_error(r, str(tmp_path / "label.csv"), "no usable rows", "line 2")
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 8)
    r = runner.invoke(app, ["import-csv", str(tmp_path / "bin.csv"), str(tmp_path / "d2")])
    one_line_error(r, str(tmp_path / "bin.csv"), "unexpected header", "region,label,sample_rate")
    with pytest.raises(PhoneboundError):
        from phonebound.dataset.seedcsv import import_csv

        import_csv(tmp_path / "bin.csv", tmp_path / "d3")
