"""Property-based tests of the annotation readers (TextGrid, TIMIT .phn, HTK and festvox .lab, the
notebook CSV): random valid files round-trip, and random corruptions (truncation, flipped bytes,
garbage lines) end in the project's own error — never in another exception."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_cases import SR

from phonebound.corpus import CorpusItem, read_item
from phonebound.corpus.lab import parse_end_times, parse_htk
from phonebound.corpus.textgrid import read_textgrid, write_textgrid
from phonebound.corpus.timit import parse_phn
from phonebound.dataset.seedcsv import HEADER, import_csv
from phonebound.dataset.store import Dataset
from phonebound.errors import PhoneboundError

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AUDIO_SECONDS = 2.0


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with 2 s of audio (``utt.wav``) for the readers that need one."""
    folder = tmp_path_factory.mktemp("props")
    sf.write(folder / "utt.wav", np.zeros(int(SR * AUDIO_SECONDS), np.float32), SR)
    return folder


# --- strategies -----------------------------------------------------------------------------------

LABEL = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Z"), blacklist_characters="\ufeff"),
                min_size=1, max_size=4)
SIMPLE_LABEL = st.text("abcdefghijklmnopqrstuvwxyz#@", min_size=1, max_size=4)


@st.composite
def cut_points(draw, n_min=1, n_max=10, scale=1.0, integers=False):
    """Strictly increasing times (or integer counts) with at least two."""
    n = draw(st.integers(n_min + 1, n_max + 1))
    if integers:
        values = draw(st.lists(st.integers(0, int(scale)), min_size=n, max_size=n, unique=True))
        return sorted(values)
    values = draw(st.lists(st.floats(0.0, scale, allow_nan=False), min_size=n, max_size=n, unique=True))
    values = sorted(values)
    if any(b - a < 1e-3 for a, b in zip(values, values[1:])):  # praatio refuses near-empty intervals
        values = [round(k * scale / n + v * 1e-4, 9) for k, v in enumerate(values)]
    return values


@st.composite
def intervals(draw, label=LABEL, scale=AUDIO_SECONDS):
    cuts = draw(cut_points(scale=scale))
    labels = draw(st.lists(st.one_of(label, st.just("")), min_size=len(cuts) - 1, max_size=len(cuts) - 1))
    return [(a, b, lab) for a, b, lab in zip(cuts, cuts[1:], labels)]


@st.composite
def corruption(draw, data: bytes) -> bytes:
    """Truncate at a random byte, flip random bytes, or insert garbage lines."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 3))):
        garbage = draw(st.binary(min_size=0, max_size=30).filter(lambda b: b"\n" not in b))
        lines.insert(draw(st.integers(0, len(lines))), garbage)
    return b"\n".join(lines)


def _read_or_our_error(item: CorpusItem):
    """read_item either gives well-formed utterances or raises a PhoneboundError (anything else fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            utts = read_item(item)
        except PhoneboundError as e:
            assert str(e) and "\n" not in str(e)
            return None
    for u in utts:
        assert 0.0 <= u.start < u.end <= AUDIO_SECONDS + 1e-6
        for p, q in zip(u.phones, u.phones[1:]):
            assert np.isfinite([p.start, p.end]).all() and p.start < p.end and abs(p.end - q.start) < 1e-6
    return utts


def _nonempty(entries):
    return [(a, b, lab) for a, b, lab in entries if lab]


# --- TextGrid -------------------------------------------------------------------------------------

@SETTINGS
@given(phones=intervals(), words=intervals(scale=AUDIO_SECONDS), fmt=st.sampled_from(["long_textgrid", "short_textgrid"]))
def test_textgrid_round_trip(work, phones, words, fmt):
    path = work / f"rt_{fmt}.TextGrid"
    xmax = max(phones[-1][1], words[-1][1])
    write_textgrid(path, xmax, {"phones": phones, "words": words}, fmt=fmt)
    tg = read_textgrid(path)
    assert tg.tier_names == ["phones", "words"] and tg.xmax == pytest.approx(xmax, abs=1e-6)
    for tier, written in zip(tg.tiers, (phones, words)):
        got = _nonempty(tier.entries)
        want = [(a, b, lab.strip()) for a, b, lab in _nonempty(written)]
        assert [lab for *_, lab in got] == [lab for *_, lab in want]
        np.testing.assert_allclose([t for a, b, _ in got for t in (a, b)], [t for a, b, _ in want for t in (a, b)],
                                   atol=1e-6)


@SETTINGS
@given(data=st.data(), phones=intervals(label=SIMPLE_LABEL), fmt=st.sampled_from(["long_textgrid", "short_textgrid"]))
def test_corrupted_textgrid_gives_our_error(work, data, phones, fmt):
    write_textgrid(work / "clean.TextGrid", phones[-1][1], {"phones": phones}, fmt=fmt)
    bad = data.draw(corruption((work / "clean.TextGrid").read_bytes()))
    (work / "utt.TextGrid").write_bytes(bad)
    _read_or_our_error(CorpusItem(work / "utt.TextGrid", work / "utt.wav", "textgrid", work))


# --- TIMIT .phn -----------------------------------------------------------------------------------

@st.composite
def phn_entries(draw):
    cuts = draw(cut_points(scale=SR * AUDIO_SECONDS, integers=True))
    labels = draw(st.lists(SIMPLE_LABEL, min_size=len(cuts) - 1, max_size=len(cuts) - 1))
    return [(a, b, lab) for a, b, lab in zip(cuts, cuts[1:], labels)]


def _phn_text(entries, newline="\n") -> str:
    return "".join(f"{a} {b} {lab}{newline}" for a, b, lab in entries)


@SETTINGS
@given(entries=phn_entries(), newline=st.sampled_from(["\n", "\r\n"]))
def test_phn_round_trip(entries, newline):
    got = parse_phn(_phn_text(entries, newline), SR, Path("x.phn"))
    assert [lab for *_, lab in got] == [lab for *_, lab in entries]
    np.testing.assert_allclose([(a, b) for a, b, _ in got], [(a / SR, b / SR) for a, b, _ in entries], atol=1e-9)


@SETTINGS
@given(data=st.data(), entries=phn_entries())
def test_corrupted_phn_gives_our_error(work, data, entries):
    bad = data.draw(corruption(_phn_text(entries).encode()))
    (work / "utt.phn").write_bytes(bad)
    _read_or_our_error(CorpusItem(work / "utt.phn", work / "utt.wav", "timit", work))


# --- HTK and festvox .lab -------------------------------------------------------------------------

@st.composite
def htk_entries(draw):
    cuts = draw(cut_points(scale=AUDIO_SECONDS * 10**7, integers=True))
    labels = draw(st.lists(SIMPLE_LABEL, min_size=len(cuts) - 1, max_size=len(cuts) - 1))
    return [(a, b, lab) for a, b, lab in zip(cuts, cuts[1:], labels)]


def _htk_text(entries) -> str:
    return "".join(f"{a} {b} {lab}\n" for a, b, lab in entries)


def _festvox_text(ends, labels) -> str:
    return "separator ;\nnfields 1\n#\n" + "".join(f"{e!r} 125 {lab}\n" for e, lab in zip(ends, labels))


@SETTINGS
@given(entries=htk_entries())
def test_htk_lab_round_trip(entries):
    got = parse_htk(_htk_text(entries), Path("x.lab"))
    assert [lab for *_, lab in got] == [lab for *_, lab in entries]
    np.testing.assert_allclose([(a, b) for a, b, _ in got], [(a / 1e7, b / 1e7) for a, b, _ in entries], atol=1e-9)


@SETTINGS
@given(ends=cut_points(scale=AUDIO_SECONDS), data=st.data())
def test_festvox_lab_round_trip(ends, data):
    ends = [e for e in ends if e > 0]
    labels = data.draw(st.lists(SIMPLE_LABEL, min_size=len(ends), max_size=len(ends)))
    got = parse_end_times(_festvox_text(ends, labels), Path("x.lab"))
    assert [lab for *_, lab in got] == labels
    assert [b for _, b, _ in got] == pytest.approx(ends, abs=1e-9)
    assert [a for a, _, _ in got] == pytest.approx([0.0, *ends[:-1]], abs=1e-9)


@SETTINGS
@given(data=st.data(), entries=htk_entries(), festvox=st.booleans())
def test_corrupted_lab_gives_our_error(work, data, entries, festvox):
    text = _festvox_text([b / 1e7 for _, b, _ in entries], [lab for *_, lab in entries]) if festvox else _htk_text(entries)
    (work / "utt.lab").write_bytes(data.draw(corruption(text.encode())))
    _read_or_our_error(CorpusItem(work / "utt.lab", work / "utt.wav", "lab", work))


# --- the notebook CSV (import-csv) ----------------------------------------------------------------

FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def csv_rows(draw):
    """Rows of random float32 regions: normal noise at a drawn scale, with a few drawn extremes."""
    width = draw(st.sampled_from([130, 65]))
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-30, 1e-3, 1.0, 1e3, 1e30]))
    rows = []
    for k in range(n):
        values = (rng.standard_normal(width) * scale).astype(np.float32).tolist()
        for v in draw(st.lists(FLOAT32, max_size=4)):
            values[draw(st.integers(0, width - 1))] = v
        rows.append((values, draw(st.integers(0, 1)), 10 * k, 10 * k + 10, draw(st.sampled_from(["a.flac", "d/b.wav"]))))
    return width, rows


def _csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for values, label, begin, end, audio in rows:
        writer.writerow(["|".join(repr(float(v)) for v in values), label, 16000, begin, end, audio])
    return buffer.getvalue().encode()


def _import(work: Path, data: bytes):
    folder = Path(tempfile.mkdtemp(dir=work))
    try:
        (folder / "in.csv").write_bytes(data)
        summary = import_csv(folder / "in.csv", folder / "ds")
        ds = Dataset(folder / "ds")
        feats = np.concatenate([np.asarray(ds.features(i)).reshape(ds.records[i].row_end - ds.records[i].row_start, -1)
                                for i in range(len(ds))])
        targets = np.concatenate([np.asarray(ds.targets(i)) for i in range(len(ds))])
        return summary, feats, targets
    finally:
        shutil.rmtree(folder)


@SETTINGS
@given(table=csv_rows())
def test_csv_round_trip(work, table):
    width, rows = table
    summary, feats, targets = _import(work, _csv_bytes(rows))
    assert summary.rows == len(rows) and not summary.bad_rows
    assert summary.layout == ("region" if width == 130 else "difference")
    np.testing.assert_array_equal(feats, np.asarray([r[0] for r in rows], np.float32))  # exact: repr round-trips
    np.testing.assert_array_equal(targets, [r[1] for r in rows])


@SETTINGS
@given(data=st.data(), table=csv_rows())
def test_corrupted_csv_gives_our_error(work, data, table):
    bad = data.draw(corruption(_csv_bytes(table[1])))
    try:
        summary, feats, _ = _import(work, bad)
    except PhoneboundError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert np.isfinite(feats).all() and summary.rows == len(feats)
