"""``phonebound demo [OUT]``: the bundled clips segmented, summarised, drawn."""

from __future__ import annotations

import re

from segment_checks import check_textgrid, file_duration

from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.workflows.demo import demo_clips
from phonebound.inference.detector import default_model_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REFERENCED = "synthetic_dutch.flac"  # the clip with a reference TextGrid beside it


def check_demo(result, out, tmp_path) -> None:
    assert result.exit_code == 0, result.output
    clips = demo_clips()
    assert len(clips) == 3 and REFERENCED in {c.name for c in clips}
    transcribed = [c for c in clips if c.with_suffix(".txt").exists()]
    assert len(transcribed) == 2
    aligned = "aligned to its transcript:" in result.output  # a model with a phone-class head aligns them
    assert aligned or "not aligned (" in result.output
    assert {p.name for p in out.iterdir()} == ({f"{c.stem}.{ext}" for c in clips for ext in ("TextGrid", "png")}
                                                | {f"{c.stem}_aligned.TextGrid" for c in transcribed if aligned})
    lines = result.output.splitlines()
    for clip in clips:
        tg = check_textgrid(out / f"{clip.stem}.TextGrid", file_duration(clip), "long_textgrid", tmp_path)
        with open(out / f"{clip.stem}.png", "rb") as f:
            assert f.read(8) == PNG_MAGIC
        (row,) = [line for line in lines if line.startswith(clip.name)]
        n = len(tg.getTier("boundaries").entries)
        assert row.split()[1:4] == [f"{file_duration(clip):.2f}", str(n + 1), str(n)]  # seconds, segments, boundaries
        if clip.name == REFERENCED:
            assert "phones (original)" in tg.tierNames  # the reference, kept beside the prediction
            assert all(w in row for w in ("P ", "R ", "F1 ", "reference boundaries"))
        else:
            assert row.endswith("no reference")
    text = result.output
    assert "Next:" in text and "phonebound segment" in text and "phonebound evaluate" in text
    assert str(out) in text


def test_demo_with_a_given_model(tagger_dir, tmp_path, runner):
    """The demo path without the bundled model (it runs on any model directory)."""
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(out), "--model", str(tagger_dir)])
    check_demo(result, out, tmp_path)
    assert f"model: {tagger_dir} (torch)" in result.output


def test_demo_with_the_bundled_model(tmp_path, runner):
    """The package ships its default model; on the referenced clip it must actually find the phones."""
    assert (default_model_path() / "config.json").exists(), "the bundled model is missing from the package"
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(out)])
    check_demo(result, out, tmp_path)
    assert str(default_model_path()) in result.output
    (row,) = [line for line in result.output.splitlines() if line.startswith(REFERENCED)]
    f1 = float(re.search(r"F1 ([0-9.]+)", row).group(1))
    assert f1 >= 0.9, row  # measured 0.98; the bundled model's dev F1 on synthetic Dutch is 0.97
    # the clips with a transcript are aligned too: their words, in order, with start times
    assert "aligned to its transcript: Ook@" in result.output and "verstaan@" in result.output
    words = [label for _, _, label in read_textgrid(out / "dutch_sentence_1_aligned.TextGrid").tiers[0].entries if label]
    assert words == ["Ook", "deze", "dakbedekking", "is", "erg", "duurzaam"]
