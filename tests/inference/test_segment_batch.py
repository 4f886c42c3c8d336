"""Batches of files: the output tree mirrors the input tree, input is never overwritten, reruns
skip finished files, other settings are refused, -j 2 equals -j 1, bad audio is skipped and listed."""

from __future__ import annotations

import filecmp
import json
import os
import shutil

import pytest
from segment_checks import check_textgrid, file_duration

from phonebound.cli import app
from phonebound.errors import PhoneboundError
from phonebound.inference.segment import segment, segment_paths


def outputs(out, suffix=".TextGrid") -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob(f"*{suffix}")}


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_output_tree_mirrors_input_tree(input_tree, tagger_dir, tmp_path, runner):
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", str(input_tree["root"]), "-o", str(out), "--model", str(tagger_dir)])
    assert r.exit_code == 0, r.output
    assert "segmented 3 recording(s)" in r.output
    assert outputs(out) == {"top.TextGrid", "sub/mid.TextGrid", "sub/deep/odd.TextGrid"}
    # files given directly land at the top of -o, named after them; formats pick the extension
    out2 = tmp_path / "direct"
    files = input_tree["files"]
    r = runner.invoke(app, ["segment", str(files["odd"]), str(files["mid"]), "-o", str(out2), "--model", str(tagger_dir),
                            "-f", "csv"])
    assert r.exit_code == 0, r.output
    assert outputs(out2, ".csv") == {"odd.csv", "mid.csv"}
    assert not list(out2.rglob("*.TextGrid"))


def test_two_inputs_writing_one_output_are_refused(input_tree, tagger_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(input_tree["files"]["top"], other / "top.wav")
    with pytest.raises(PhoneboundError, match="would both write"):
        segment_paths([input_tree["files"]["top"], other / "top.wav"], tmp_path / "out", model=tagger_dir)


def test_input_is_never_overwritten(input_tree, tagger_dir, tmp_path, runner):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(input_tree["files"]["mid"], folder / "x.wav")
    shutil.copy(input_tree["beside"], folder / "x.TextGrid")
    before = (folder / "x.TextGrid").read_bytes()
    with pytest.raises(PhoneboundError, match="would overwrite input"):
        segment_paths([folder], folder, model=tagger_dir)
    r = runner.invoke(app, ["segment", str(folder), "-o", str(folder), "--model", str(tagger_dir)])
    one_line_error(r, "x.TextGrid", "would overwrite input", "-o")
    r = runner.invoke(app, ["segment", str(folder / "x.wav"), "-o", str(folder), "--model", str(tagger_dir)])
    one_line_error(r, "would overwrite input")
    assert (folder / "x.TextGrid").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["x.TextGrid", "x.wav"]


def test_rerun_skips_finished_files_and_overwrite_redoes_them(input_tree, tagger_dir, tmp_path):
    out = tmp_path / "out"
    first = segment_paths([input_tree["root"]], out, model=tagger_dir)
    assert first.written == 3 and first.reused == 0
    targets = sorted(out.rglob("*.TextGrid"))
    old = 1_000_000_000  # far in the past, so a rewrite is visible whatever the clock's granularity
    for t in targets:
        os.utime(t, (old, old))
    again = segment_paths([input_tree["root"]], out, model=tagger_dir)
    assert again.written == 0 and again.reused == 3 and not again.skipped
    assert all(t.stat().st_mtime == old for t in targets)
    # an interrupted run: one output missing; the rerun writes just that one
    targets[0].unlink()
    resumed = segment_paths([input_tree["root"]], out, model=tagger_dir)
    assert resumed.written == 1 and resumed.reused == 2
    redo = segment_paths([input_tree["root"]], out, model=tagger_dir, overwrite=True)
    assert redo.written == 3 and redo.reused == 0
    assert all(t.stat().st_mtime > old for t in targets)


def test_rerun_with_other_settings_is_refused(input_tree, tagger_dir, tmp_path, runner):
    out = tmp_path / "out"
    args = ["segment", str(input_tree["root"]), "-o", str(out), "--model", str(tagger_dir)]
    assert runner.invoke(app, args).exit_code == 0
    settings = (out / "segment_config.json").read_text()
    written = {p: p.read_bytes() for p in out.rglob("*.TextGrid")}
    for extra, what in ((["--threshold", "0.3"], "threshold None now 0.3"), (["-f", "csv"], "format 'long_textgrid' now 'csv'"),
                        (["--keep-tiers"], "keep_tiers False now True"), (["--channel", "0"], "channel None now 0")):
        r = runner.invoke(app, args + extra)
        one_line_error(r, str(out), "other settings", what, "--overwrite")
    assert (out / "segment_config.json").read_text() == settings
    assert {p: p.read_bytes() for p in out.rglob("*.TextGrid")} == written
    assert not list(out.rglob("*.csv"))
    # --overwrite redoes everything with the new settings
    r = runner.invoke(app, args + ["--threshold", "0.99", "--overwrite"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "segment_config.json").read_text())["threshold"] == 0.99
    seg = segment(input_tree["files"]["top"], model=tagger_dir, threshold=0.99)
    check_textgrid(out / "top.TextGrid", file_duration(input_tree["files"]["top"]), "long_textgrid", tmp_path,
                   seg.boundaries)


def test_two_jobs_give_byte_identical_outputs(input_tree, tone_corpus, onnx_tagger_dir, tmp_path):
    # the ONNX model: worker processes then start without importing torch (seconds each on this CPU)
    inputs = [input_tree["root"], tone_corpus["root"] / "spk3", tone_corpus["root"] / "spk4"]
    one = segment_paths(inputs, tmp_path / "j1", model=onnx_tagger_dir, jobs=1)
    # small groups, so both workers get several
    two = segment_paths(inputs, tmp_path / "j2", model=onnx_tagger_dir, jobs=2, group_seconds=2.0)
    assert one.written == two.written == 5 and not one.skipped and not two.skipped
    names = outputs(tmp_path / "j1")
    assert names == outputs(tmp_path / "j2") and len(names) == 5
    for name in names:
        assert filecmp.cmp(tmp_path / "j1" / name, tmp_path / "j2" / name, shallow=False), name


def test_bad_audio_in_a_folder_is_skipped_and_listed(input_tree, tagger_dir, tmp_path, runner):
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(input_tree["files"]["top"], folder / "good.wav")
    shutil.copy(input_tree["files"]["odd"], folder / "nested" / "good2.flac")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "nested" / "noise.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all" * 10)
    (folder / "notes.txt").write_text("not audio, not looked at")
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", str(folder), "-o", str(out), "--model", str(tagger_dir)])
    assert r.exit_code == 0, r.output  # some recordings were segmented
    assert "segmented 2 recording(s)" in r.output and "skipped 2" in r.output
    assert outputs(out) == {"good.TextGrid", "nested/good2.TextGrid"}
    rows = (out / "skipped.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "path\treason"
    listed = dict(row.split("\t", 1) for row in rows[1:])
    assert set(listed) == {str(folder / "empty.wav"), str(folder / "nested" / "noise.wav")}
    assert "empty" in listed[str(folder / "empty.wav")]
    assert "not readable as audio" in listed[str(folder / "nested" / "noise.wav")]


def test_a_single_bad_file_exits_2_with_one_line(tmp_path, tagger_dir, runner):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF1234WAVEfmt garbage")
    r = runner.invoke(app, ["segment", str(bad), "-o", str(tmp_path / "out"), "--model", str(tagger_dir)])
    one_line_error(r, str(bad), "not readable as audio")
    assert not list((tmp_path / "out").rglob("*.TextGrid"))
    r = runner.invoke(app, ["segment", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "out"), "--model", str(tagger_dir)])
    one_line_error(r, "missing.wav", "not found")


def test_a_model_changed_in_place_is_reloaded(input_tree, tagger_dir, tmp_path):
    """The detector cache of ``segment_paths`` lives in the caller's process with -j 1: a model
    retrained (here: re-tuned) in place must not be served from it."""
    model = tmp_path / "model"
    shutil.copytree(tagger_dir, model)
    audio = input_tree["files"]["top"]
    segment_paths([audio], tmp_path / "a", model=model, fmt="json")
    config = json.loads((model / "config.json").read_text())
    config["decode"]["threshold"] = 0.999
    (model / "config.json").write_text(json.dumps(config))
    os.utime(model / "config.json", ns=(os.stat(model / "config.json").st_mtime_ns + 10**9,) * 2)
    segment_paths([audio], tmp_path / "b", model=model, fmt="json")
    a = json.loads((tmp_path / "a" / "top.json").read_text())
    b = json.loads((tmp_path / "b" / "top.json").read_text())
    assert a["threshold"] != 0.999 and b["threshold"] == 0.999
    assert len(b["boundaries"]) == len(segment(audio, model=model).boundaries) < len(a["boundaries"])
