"""The dataset commands of the CLI: build, info, split, import-csv/export-csv, user errors."""

from __future__ import annotations

import json
import re

import numpy as np
from typer.testing import CliRunner

from phonebound.cli import app
from phonebound.dataset.seedcsv import HEADER
from phonebound.dataset.store import Dataset

runner = CliRunner()


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_build_then_info(tmp_path, fixtures_dir):
    out = tmp_path / "ds"
    r = runner.invoke(app, ["build", str(fixtures_dir / "praatio"), str(out)])
    assert r.exit_code == 0, r.output
    assert re.search(r"3 files, 3 utterances", " ".join(r.output.split()))
    assert "skipped 1" in r.output  # bobby_words.TextGrid has no phone tier
    r = runner.invoke(app, ["info", str(out)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "sequence layout" in text
    assert "utterances 3" in text
    assert re.search(r"\(0\.001 h\)", text)
    r = runner.invoke(app, ["info", str(out), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["utterances"] == 3 and abs(info["hours"] - 3.98 / 3600) < 0.01 / 3600
    assert info["rows"] == sum(Dataset(out).table.column("n_frames").to_pylist())


def test_build_with_split_and_layout(tmp_path, fixtures_dir):
    out = tmp_path / "ds"
    r = runner.invoke(app, ["build", str(fixtures_dir / "textgrid"), str(out), "--layout", "difference",
                            "--include", "tone_long.TextGrid, tone_short.TextGrid", "--split", "file"])
    assert r.exit_code == 0, r.output
    ds = Dataset(out)
    assert ds.layout == "difference" and len(ds) == 2
    assert ds.shard_array(0, "features").shape[1:] == (5, 13)
    assert set(ds.table.column("split").to_pylist()) == {"train"}  # one audio file: nothing to hold out
    r = runner.invoke(app, ["export-csv", str(out), str(tmp_path / "x.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.csv").read_bytes().startswith((",".join(HEADER) + "\r\n").encode())


def test_nonexistent_corpus_is_one_line(tmp_path):
    missing = tmp_path / "no" / "such" / "corpus"
    r = runner.invoke(app, ["build", str(missing), str(tmp_path / "out")])
    _one_line_error(r, str(missing), "not found")


def test_user_errors_exit_2(tmp_path, fixtures_dir):
    r = runner.invoke(app, ["info", str(tmp_path / "nothing")])
    _one_line_error(r, str(tmp_path / "nothing"), "dataset.json")
    out = tmp_path / "ds"
    assert runner.invoke(app, ["build", str(fixtures_dir / "lab"), str(out)]).exit_code == 0
    r = runner.invoke(app, ["build", str(fixtures_dir / "lab"), str(out)])
    _one_line_error(r, str(out), "not empty", "--resume")
    r = runner.invoke(app, ["build", str(fixtures_dir / "lab"), str(tmp_path / "d2"), "--layout", "windows"])
    _one_line_error(r, "unknown layout")
    r = runner.invoke(app, ["export-csv", str(out), str(tmp_path / "x.csv")])
    _one_line_error(r, "region layouts")
    r = runner.invoke(app, ["split", str(out), "--test-keys", "nobody"])
    _one_line_error(r, "nobody")


def test_import_csv_command(tmp_path):
    rng = np.random.default_rng(0)
    region = "|".join(map(repr, rng.standard_normal(65).astype(np.float32).astype(float).tolist()))
    lines = [",".join(HEADER), f"{region},1,16000,10,20,a.flac", ",0,16000,-10,0,a.flac", "x,0,16000,0,10,a.flac"]
    (tmp_path / "in.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    r = runner.invoke(app, ["import-csv", str(tmp_path / "in.csv"), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "imported 1 rows (difference layout)" in text
    assert "dropped 1 empty regions" in text and "skipped 1 malformed rows" in text and "line 4" in text
    r = runner.invoke(app, ["export-csv", str(tmp_path / "ds"), str(tmp_path / "out.csv"), "--audio-root", "."])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.csv").read_bytes() == ("\r\n".join(lines[:2]) + "\r\n").encode()
