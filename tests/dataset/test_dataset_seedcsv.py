"""The notebook's CSV layouts: build + export vs the seed CSVs, import/export round trips, bad rows."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.seedcsv import HEADER, export_csv, import_csv
from phonebound.dataset.store import Dataset
from phonebound.errors import DatasetError

REPO_ROOT = Path(__file__).resolve().parents[2]

SEEDS = {"region": "datasetboundary_10ms_sample.csv", "difference": "datasetboundary_difference_sample.csv"}
WIDTH = {"region": 130, "difference": 65}
SEED_FILES = ("nl_11_0000[0-4].TextGrid",)  # the 5 synth_nl files the seed CSVs were made from


def _seed(shared_data: Path, layout: str) -> Path:
    path = shared_data / "seed_csv" / SEEDS[layout]
    if not path.is_file() or not (shared_data / "synth_nl").is_dir():
        pytest.skip(f"{path} or {shared_data / 'synth_nl'} not found; seed CSV comparisons are skipped")
    return path


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def built_seed_layouts(tmp_path_factory, shared_data) -> dict:
    """Build the 5 seed files of synth_nl in both window layouts and export them as CSV."""
    out = {}
    for layout in SEEDS:
        _seed(shared_data, layout)
        root = tmp_path_factory.mktemp(f"seed_{layout}")
        # The region build is given the corpus as ``../shared/data/synth_nl`` from the repository
        # root (as on the command line), the difference build as an absolute path: the exported
        # audiopath must be ``synth_nl/...`` either way.
        corpus = shared_data / "synth_nl"
        with pytest.MonkeyPatch.context() as mp:
            if layout == "region":
                mp.chdir(REPO_ROOT)
                corpus = Path(os.path.relpath(corpus, REPO_ROOT))
            # No RegionConfig given: the layout alone must select the difference examples.
            summary = build_dataset(corpus, root / "ds", BuildConfig(layout=layout, include=SEED_FILES))
            n = export_csv(root / "ds", root / "out.csv")
        out[layout] = {"summary": summary, "csv": root / "out.csv", "n": n, "ds": root / "ds"}
    return out


@pytest.mark.parametrize("layout", list(SEEDS))
def test_include_builds_only_the_five_files(built_seed_layouts, layout):
    s = built_seed_layouts[layout]["summary"]
    assert s.files == 5 and s.utterances == 5 and not s.skipped
    ds = Dataset(built_seed_layouts[layout]["ds"])
    assert sorted(Path(a).name for a in ds.table.column("audio").to_pylist()) == [
        f"nl_11_0000{i}.flac" for i in range(5)]
    assert ds.layout == layout
    assert ds.shard_array(0, "features").shape[1:] == ((10, 13) if layout == "region" else (5, 13))


@pytest.mark.parametrize("layout", list(SEEDS))
def test_export_matches_seed_csv(built_seed_layouts, shared_data, layout, record_property):
    seed = _seed(shared_data, layout)
    ours = built_seed_layouts[layout]["csv"]
    a, b = ours.read_bytes(), seed.read_bytes()
    # header and CRLF line ends, byte for byte
    assert a.split(b"\r\n", 1)[0] == b.split(b"\r\n", 1)[0] == ",".join(HEADER).encode()
    assert a.count(b"\r\n") == b.count(b"\r\n") and a.count(b"\n") == a.count(b"\r\n")
    ra, rb = _rows(ours), _rows(seed)
    assert len(ra) == len(rb) == built_seed_layouts[layout]["n"] + 1
    assert len(rb) - 1 == 2200
    max_diff = 0.0
    for k, (x, y) in enumerate(zip(ra[1:], rb[1:]), start=2):
        assert x[1:] == y[1:], f"line {k}: label/sample_rate/begin/end/audiopath differ"
        assert bool(x[0]) == bool(y[0]), f"line {k}: empty region in one file only"
        if y[0]:
            fx, fy = np.array(x[0].split("|"), float), np.array(y[0].split("|"), float)
            assert len(fx) == len(fy) == WIDTH[layout]
            max_diff = max(max_diff, float(np.abs(fx - fy).max()))
    record_property(f"max_abs_diff_{layout}", max_diff)
    print(f"{layout}: max abs region difference vs {seed.name}: {max_diff:.3g}")
    assert max_diff < 1e-4


@pytest.mark.parametrize("layout, width", [("region", 130), ("difference", 65)])
def test_import_then_export_is_byte_identical(tmp_path, shared_data, layout, width):
    seed = _seed(shared_data, layout)
    summary = import_csv(seed, tmp_path / "ds")
    assert summary.rows == 2200 and summary.layout == layout and not summary.bad_rows
    assert summary.utterances == 5
    ds = Dataset(tmp_path / "ds")
    assert ds.layout == layout and len(ds) == 5
    assert int(ds.shard_array(0, "features")[0].size) == width
    assert export_csv(tmp_path / "ds", tmp_path / "out.csv", audio_root=".") == 2200
    assert (tmp_path / "out.csv").read_bytes() == seed.read_bytes()


# --- synthetic CSVs ---------------------------------------------------------------------------


def _region(width: int, seed: int) -> str:
    values = np.random.default_rng(seed).standard_normal(width).astype(np.float32).astype(np.float64)
    return "|".join(map(repr, values.tolist()))


def _write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_import_drops_empty_regions_and_skips_bad_rows(tmp_path):
    lines = [",".join(HEADER)]
    lines += [f"{_region(130, k)},{int(k == 2)},16000,{k * 10},{k * 10 + 10},corp/a.flac" for k in range(4)]  # 2..5
    lines.append(",0,16000,-10,0,corp/a.flac")  # line 6: empty region (file edge)
    lines.append(f"{_region(129, 9)},0,16000,50,60,corp/a.flac")  # line 7: wrong number of floats
    lines.append(f"{_region(130, 10)},0,16000,x60,70,corp/a.flac")  # line 8: non-numeric field
    lines.append(f"{_region(130, 11)},0,16000,90,100,corp/b.flac")  # line 9
    lines.append(f"{_region(130, 12)},1,16000,100,110,corp/b.flac")  # line 10
    lines.append(f"{_region(130, 13)},0,16000,110,120")  # line 11: 5 fields
    lines.append(f"{_region(130, 14)},7,16000,120,130,corp/b.flac")  # line 12: label not 0/1
    lines.append(f"{_region(129, 15)}|abc,0,16000,130,140,corp/b.flac")  # line 13: non-numeric float
    csv_path = _write(tmp_path / "in.csv", lines)

    s = import_csv(csv_path, tmp_path / "ds")
    assert s.layout == "region"
    assert s.empty_regions == 1
    bad = dict(s.bad_rows)
    assert set(bad) == {7, 8, 11, 12, 13}
    assert "expected 130" in bad[7] and "5 fields" in bad[11]
    assert "non-numeric" in bad[8] and "non-numeric" in bad[13]
    assert s.rows == 4 + 1 + 1  # lines 2-5, 9, 10
    assert s.utterances == 2
    skipped = (tmp_path / "ds" / "skipped.tsv").read_text(encoding="utf-8").splitlines()
    assert skipped[0] == "path\treason"
    assert [line.split("\t")[0] for line in skipped[1:]] == [f"{csv_path}:{n}" for n in (7, 8, 11, 12, 13)]
    ds = Dataset(tmp_path / "ds")
    assert ds.meta["empty_regions_dropped"] == 1 and ds.meta["skipped"] == 5
    assert [r.audio for r in ds.records] == ["corp/a.flac", "corp/b.flac"]
    np.testing.assert_array_equal(np.asarray(ds.targets(0)), [0, 0, 1, 0])
    assert ds.records[0].boundaries == [0.02]
    # the kept rows come back out exactly
    export_csv(tmp_path / "ds", tmp_path / "out.csv", audio_root=".")
    out = _rows(tmp_path / "out.csv")
    kept = [line.split(",") for i, line in enumerate(lines[1:], start=2) if i in (2, 3, 4, 5, 9, 10)]
    assert out[1:] == kept


def test_import_bad_header_is_a_clear_error(tmp_path):
    csv_path = _write(tmp_path / "bad.csv", ["features,label,rate,begin,end,path", f"{_region(130, 0)},0,16000,0,10,a.flac"])
    with pytest.raises(DatasetError, match="unexpected header") as e:
        import_csv(csv_path, tmp_path / "ds")
    assert str(csv_path) in str(e.value) and "region,label,sample_rate,begin,end,audiopath" in str(e.value)
    assert not (tmp_path / "ds" / "dataset.json").exists()


def test_import_layout_detection_and_unusable_files(tmp_path):
    _write(tmp_path / "d.csv", [",".join(HEADER), f"{_region(65, 0)},1,16000,0,10,a.flac"])
    assert import_csv(tmp_path / "d.csv", tmp_path / "d").layout == "difference"
    _write(tmp_path / "w.csv", [",".join(HEADER), f"{_region(64, 0)},1,16000,0,10,a.flac"])
    with pytest.raises(DatasetError, match="expected 130"):
        import_csv(tmp_path / "w.csv", tmp_path / "w")
    _write(tmp_path / "e.csv", [",".join(HEADER), ",0,16000,-10,0,a.flac"])
    with pytest.raises(DatasetError, match="no usable rows"):
        import_csv(tmp_path / "e.csv", tmp_path / "e")
    with pytest.raises(DatasetError, match="cannot open"):
        import_csv(tmp_path / "missing.csv", tmp_path / "m")


def test_export_rejects_sequence_layout(tmp_path, fixtures_dir):
    build_dataset(fixtures_dir / "textgrid" / "tone_long.TextGrid", tmp_path / "seq", BuildConfig())
    with pytest.raises(DatasetError, match="region layouts"):
        export_csv(tmp_path / "seq", tmp_path / "x.csv")
