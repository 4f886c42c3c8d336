"""What `segment` writes: Praat TextGrids (long and short text forms) that open in praatio,
round-trip and tile the file exactly; --keep-tiers; CSV and JSON with confidences."""

from __future__ import annotations

import csv
import json

import pytest
from segment_checks import check_textgrid, file_duration, open_textgrid

from phonebound.inference.segment import segment, segment_paths


@pytest.fixture(scope="module")
def predictions(input_tree, tagger_dir) -> dict:
    """``phonebound.segment`` of each input file: what every writer must agree with."""
    from phonebound.inference.detector import load_detector

    detector = load_detector(tagger_dir)
    return {name: segment(path, model=detector) for name, path in input_tree["files"].items()}


@pytest.mark.parametrize("fmt", ["long_textgrid", "short_textgrid"])
def test_textgrids_open_roundtrip_and_tile_the_file(fmt, input_tree, tagger_dir, predictions, tmp_path):
    out = tmp_path / "out"
    summary = segment_paths([input_tree["root"]], out, model=tagger_dir, fmt=fmt)
    assert summary.written == 3 and not summary.skipped
    text = (out / "top.TextGrid").read_text(encoding="utf-8")
    assert ("intervals [1]:" in text) == (fmt == "long_textgrid")  # the two text forms really differ
    total = 0
    for name, audio in input_tree["files"].items():
        target = out / audio.relative_to(input_tree["root"]).with_suffix(".TextGrid")
        duration = file_duration(audio)  # 22.05 and 44.1 kHz files too: the file's, not the resampled length
        seg = predictions[name]
        assert abs(seg.duration - duration) < 1e-9
        tg = check_textgrid(target, duration, fmt, tmp_path, seg.boundaries)
        assert tg.tierNames == ("phones", "boundaries")
        assert [float(p.label) for p in tg.getTier("boundaries").entries] == pytest.approx(
            [float(f"{c:.3f}") for c in seg.confidences])
        assert len(seg.boundaries) >= 3, name  # the tiny model does find the tone transitions
        total += len(seg.boundaries)
    assert summary.boundaries == total
    assert summary.audio_seconds == pytest.approx(sum(map(file_duration, input_tree["files"].values())))


def test_keep_tiers_copies_the_textgrid_beside_the_audio(input_tree, tagger_dir, predictions, tmp_path):
    out = tmp_path / "out"
    segment_paths([input_tree["root"]], out, model=tagger_dir, keep_tiers=True)
    duration = file_duration(input_tree["files"]["mid"])
    tg = check_textgrid(out / "sub" / "mid.TextGrid", duration, "long_textgrid", tmp_path,
                        predictions["mid"].boundaries)
    # clashing names are renamed; the others are copied as they are, cut at the end of the audio
    assert set(tg.tierNames) == {"phones", "boundaries", "phones (original)", "words", "boundaries (original)"}
    original = open_textgrid(input_tree["beside"])
    words = [tuple(e) for e in tg.getTier("words").entries]
    assert words == [(0.0, 0.7, "hello"), (0.7, pytest.approx(duration, abs=1e-9), "world")]
    assert [tuple(e) for e in tg.getTier("phones (original)").entries] == [
        tuple(e) for e in original.getTier("phones").entries if e.start < duration]
    assert [tuple(p) for p in tg.getTier("boundaries (original)").entries] == [(0.5, "ref")]  # 'late' is past the end
    # files without a TextGrid beside them get just the two tiers
    assert open_textgrid(out / "top.TextGrid").tierNames == ("phones", "boundaries")


def test_csv_rows_tile_the_file(input_tree, tagger_dir, predictions, tmp_path):
    out = tmp_path / "out"
    segment_paths([input_tree["root"]], out, model=tagger_dir, fmt="csv")
    for name, audio in input_tree["files"].items():
        target = out / audio.relative_to(input_tree["root"]).with_suffix(".csv")
        lines = target.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "begin,end,label,confidence"
        rows = list(csv.DictReader(lines))
        seg = predictions[name]
        assert len(rows) == len(seg.boundaries) + 1
        assert rows[0]["begin"] == "0.0000" and rows[-1]["end"] == f"{file_duration(audio):.4f}"
        assert all(a["end"] == b["begin"] for a, b in zip(rows, rows[1:]))
        assert [float(r["begin"]) for r in rows[1:]] == pytest.approx(list(seg.boundaries), abs=6e-5)
        assert float(rows[0]["confidence"]) == 1.0  # the file start
        assert [float(r["confidence"]) for r in rows[1:]] == pytest.approx(list(seg.confidences), abs=6e-5)
        assert all(r["label"] == "" for r in rows)


def test_json_has_boundaries_and_segments_with_confidences(input_tree, tagger_dir, predictions, tmp_path):
    out = tmp_path / "out"
    segment_paths([input_tree["root"]], out, model=tagger_dir, fmt="json")
    for name, audio in input_tree["files"].items():
        data = json.loads((out / audio.relative_to(input_tree["root"]).with_suffix(".json")).read_text(encoding="utf-8"))
        seg, duration = predictions[name], file_duration(audio)
        assert data["duration"] == pytest.approx(duration, abs=1e-9)
        assert data["file"] == str(audio)
        assert [b["time"] for b in data["boundaries"]] == pytest.approx(list(seg.boundaries), abs=1e-5)
        assert [b["confidence"] for b in data["boundaries"]] == pytest.approx(list(seg.confidences), abs=1e-4)
        assert all(0.0 <= b["confidence"] <= 1.0 for b in data["boundaries"])
        segments = data["segments"]
        assert len(segments) == len(data["boundaries"]) + 1
        assert segments[0]["begin"] == 0.0 and segments[-1]["end"] == pytest.approx(duration, abs=1e-5)
        assert all(a["end"] == b["begin"] for a, b in zip(segments, segments[1:]))
        assert all(s["label"] == "" and 0.0 <= s["confidence"] <= 1.0 for s in segments)
        assert [s["begin"] for s in segments[1:]] == [b["time"] for b in data["boundaries"]]
