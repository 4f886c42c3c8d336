"""The notebook's CSV datasets: header ``region,label,sample_rate,begin,end,audiopath``, where
``region`` is ``|``-joined floats (130 = 10 frames x 13 MFCC; 65 = the difference layout).

``import_csv`` streams a CSV into the dataset store (rows with an empty region are dropped and
counted, as the notebook did; malformed rows are skipped and reported); ``export_csv`` writes a
window-layout dataset back in exactly that layout (CRLF line ends, floats as Python's ``repr``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..config import RegionConfig, to_dict, write_json
from ..errors import DatasetError
from ..io_utils import atomic_dir, atomic_path, atomic_write_text
from .store import STORE_VERSION, Dataset, shard_dir, write_shard

HEADER = ["region", "label", "sample_rate", "begin", "end", "audiopath"]
N_MFCC = 13
ROWS_PER_SHARD = 200_000  # ~100 MB of float32 features per shard at 130 values


@dataclass
class ImportSummary:
    rows: int = 0
    empty_regions: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    utterances: int = 0
    layout: str = ""


LAYOUT_WIDTHS = (10 * N_MFCC, 5 * N_MFCC)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _records(reader):
    """The reader's rows; a row the csv module cannot parse comes as its ``csv.Error``."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield e


def _clean_path(text: str) -> bool:
    """A path fit for the index: a file name, in UTF-8 (no surrogate-escaped stray byte), on one line."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return Path(text).name != "" and not any(c in text for c in "\r\n\x00")


def _layout_for(width: int, path: Path) -> str:
    if width == 10 * N_MFCC:
        return "region"
    if width == 5 * N_MFCC:
        return "difference"
    raise DatasetError(f"first region has {width} values; expected 130 (region) or 65 (difference)", path,
                       "check that this is a notebook boundary CSV")


def import_csv(csv_path: str | Path, out: str | Path, speaker_regex: str | None = None) -> ImportSummary:
    """Stream a notebook CSV into a window-layout dataset at ``out``."""
    import re

    csv_path, out = Path(csv_path), Path(out)
    if out.exists() and any(out.iterdir()):
        raise DatasetError("output directory is not empty", out, "pick a new OUT or remove it")
    summary = ImportSummary()
    width = None
    buffers: dict[str, list] = {"features": [], "targets": [], "regions": [], "valid": []}
    rows: list[dict] = []
    shard, n_rows = 0, 0
    current: dict | None = None
    sample_rates: set[int] = set()

    def close_utterance():
        nonlocal current
        if current is not None and current["row_end"] > current["row_start"]:
            rows.append(current)
        current = None

    def flush_shard():
        nonlocal shard, n_rows, rows
        close_utterance()
        if not buffers["targets"]:
            return
        arrays = {k: (np.stack(v) if k == "features" else np.asarray(v, dtype={"regions": np.int32}.get(k, np.int8)))
                  for k, v in buffers.items()}
        arrays["features"] = arrays["features"].reshape(len(arrays["targets"]), -1, N_MFCC)
        with atomic_dir(shard_dir(out, shard)) as tmp:
            write_shard(tmp, arrays, rows)
        summary.utterances += len(rows)
        for v in buffers.values():
            v.clear()
        rows, shard, n_rows = [], shard + 1, 0

    try:  # a stray non-UTF-8 byte spoils one row (reported below), never the whole import
        handle = open(csv_path, newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as e:
        raise DatasetError(f"cannot open CSV ({e.strerror})", csv_path, "check the path") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as e:
            header = f"unreadable ({e})"
        if header != HEADER:
            raise DatasetError(f"unexpected header {header}", csv_path, f"the notebook's CSVs start with {','.join(HEADER)}")
        for line_no, record in enumerate(_records(reader), start=2):
            if isinstance(record, csv.Error):
                summary.bad_rows.append((line_no, f"unreadable CSV row ({record})"))
                continue
            if len(record) != len(HEADER):
                summary.bad_rows.append((line_no, f"{len(record)} fields, expected {len(HEADER)}"))
                continue
            region, label, rate, begin, end, audiopath = record
            if not region:
                summary.empty_regions += 1
                continue
            try:
                values = [float(v) for v in region.split("|")]
                label_i, rate_i, begin_i, end_i = int(label), int(rate), int(begin), int(end)
            except ValueError as e:
                summary.bad_rows.append((line_no, f"non-numeric field ({e})"))
                continue
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf: a bad row below
                features = np.asarray(values, dtype=np.float32)  # not Python floats: 8x smaller
            fits = len(values) == width if width is not None else len(values) in LAYOUT_WIDTHS
            if not fits or label_i not in (0, 1) or not np.isfinite(features).all():
                expected = width or "130 (region) or 65 (difference)"
                summary.bad_rows.append((line_no, f"{len(values)} values (expected {expected}) or bad label/value"))
                continue
            if not all(INT32_MIN <= v <= INT32_MAX for v in (begin_i, end_i)) or not _clean_path(audiopath):
                summary.bad_rows.append((line_no, "begin/end out of range, or audiopath empty, not UTF-8 or "
                                                  "spanning lines"))
                continue
            if width is None:  # the first good row decides the layout
                width = len(values)
                summary.layout = _layout_for(width, csv_path)
            if current is None or current["audio"] != audiopath:
                close_utterance()
                speaker = Path(audiopath).stem
                if speaker_regex and (m := re.search(speaker_regex, audiopath)):
                    speaker = m.group(1) if m.groups() else m.group(0)
                current = {"id": f"{Path(audiopath).with_suffix('').as_posix()}#{line_no}", "speaker": speaker,
                           "group": Path(audiopath).parent.name, "audio": audiopath, "annotation": str(csv_path),
                           "channel": -1, "start": 0.0, "end": 0.0, "shard": shard, "row_start": n_rows,
                           "row_end": n_rows, "n_frames": 0, "boundaries": [], "phone_start": [], "phone_end": [],
                           "phone_label": [], "split": ""}
            buffers["features"].append(features)
            buffers["targets"].append(label_i)
            buffers["regions"].append((begin_i, end_i))
            buffers["valid"].append(1)
            sample_rates.add(rate_i)
            n_rows += 1
            current["row_end"] = n_rows
            current["n_frames"] += 1
            current["end"] = max(current["end"], end_i / 1000)
            if label_i == 1:
                current["boundaries"].append(begin_i / 1000)
            summary.rows += 1
            if n_rows >= ROWS_PER_SHARD:
                flush_shard()
    flush_shard()
    if width is None:
        first = f" (first bad row, line {summary.bad_rows[0][0]}: {summary.bad_rows[0][1]})" if summary.bad_rows else ""
        raise DatasetError(f"no usable rows{first}", csv_path, "check that the CSV holds non-empty regions")
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(shard_dir(out, k) / "index.parquet") for k in range(shard)]
    with atomic_path(out / "index.parquet") as tmp:
        pq.write_table(pa.concat_tables(tables), tmp)
    bad = "".join(f"{csv_path}:{n}\t{reason}\n" for n, reason in summary.bad_rows)
    atomic_write_text(out / "skipped.tsv", "path\treason\n" + bad)
    region = RegionConfig(difference=summary.layout == "difference")
    write_json(out / "dataset.json", {
        "store_version": STORE_VERSION, "phonebound_version": __version__, "layout": summary.layout,
        "corpus": str(csv_path), "format": "notebook-csv",
        "config": {"layout": summary.layout, "region": to_dict(region)},
        "sample_rates": sorted(sample_rates), "utterances": summary.utterances, "rows": summary.rows,
        "empty_regions_dropped": summary.empty_regions, "skipped": len(summary.bad_rows),
    })
    return summary


def export_csv(dataset: str | Path, csv_path: str | Path, audio_root: str | Path | None = None) -> int:
    """Write a region/difference dataset as the notebook's CSV; returns the number of rows.

    ``audiopath`` is written relative to ``audio_root`` (default: the folder holding the corpus
    the dataset was built from, so ``synth_nl/nl_11_00000.flac`` as the generator was given).
    """
    ds = Dataset(dataset)
    if ds.layout not in ("region", "difference"):
        raise DatasetError(f"export-csv writes the notebook's region layouts, this dataset is {ds.layout!r}",
                           ds.root, "build it with --layout region or --layout difference")
    root = Path(audio_root) if audio_root is not None else Path(ds.meta["corpus"]).parent
    n = 0
    with atomic_path(Path(csv_path)) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i, rec in enumerate(ds.records):
            audio = rec.audio
            if os.path.isabs(audio) or Path(audio).exists():
                try:
                    audio = Path(os.path.relpath(os.path.abspath(audio), os.path.abspath(root))).as_posix()
                except ValueError:
                    pass
            feats = ds.rows(i, "features").reshape(rec.row_end - rec.row_start, -1).astype(np.float64)
            targets, regions, valid = ds.rows(i, "targets"), ds.rows(i, "regions"), ds.rows(i, "valid")
            for k in range(len(targets)):
                region = "|".join(map(repr, feats[k].tolist())) if valid[k] else ""
                writer.writerow([region, int(targets[k]), 16000, int(regions[k, 0]), int(regions[k, 1]), audio])
                n += 1
    return n
