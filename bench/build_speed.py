"""Dataset build throughput and storage: the sequence store vs the notebook's CSV.

Builds the sequence layout of voxangeles + synth_nl with one worker (audio hours per minute per
core, peak RSS), then writes the notebook's CSV for the same audio (region layout + export-csv),
and compares size on disk and the time to read everything back. Median of --repeats runs.

    python bench/build_speed.py [--repeats 3] [--work /tmp/pb-bench]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from _common import du_mb, median, require_shared, run_measured

BUILD = """
from phonebound.dataset.build import BuildConfig, build_dataset
t = time.perf_counter(); hours = 0.0
for name in ("voxangeles", "synth_nl"):
    s = build_dataset("{shared}/" + name, "{work}/" + name + "_{layout}", BuildConfig(layout="{layout}"), overwrite=True)
    hours += s.hours
RESULT = {{"seconds": time.perf_counter() - t, "hours": hours}}
"""
EXPORT = """
from phonebound.dataset.seedcsv import export_csv
t = time.perf_counter()
rows = sum(export_csv("{work}/" + n + "_region", "{work}/" + n + ".csv") for n in ("voxangeles", "synth_nl"))
RESULT = {{"seconds": time.perf_counter() - t, "rows": rows}}
"""
READ_STORE = """
import numpy as np
from phonebound.dataset.store import Dataset
t = time.perf_counter(); total = 0.0; frames = 0
for n in ("voxangeles", "synth_nl"):
    ds = Dataset("{work}/" + n + "_sequence")
    for i in range(len(ds)):
        f = np.asarray(ds.features(i)); total += float(f.sum()); frames += len(f)
RESULT = {{"seconds": time.perf_counter() - t, "rows": frames}}
"""
READ_CSV = """
import csv, numpy as np
t = time.perf_counter(); rows = 0
for n in ("voxangeles", "synth_nl"):
    with open("{work}/" + n + ".csv", newline="") as f:
        r = csv.reader(f); next(r)
        for rec in r:
            if rec[0]:
                np.array(rec[0].split("|"), dtype=np.float32); rows += 1
RESULT = {{"seconds": time.perf_counter() - t, "rows": rows}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/phonebound-bench-build"))
    args = ap.parse_args()
    shared = require_shared()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    fmt = {"shared": shared, "work": args.work}
    seq = [run_measured(BUILD.format(layout="sequence", **fmt)) for _ in range(args.repeats)]
    region = run_measured(BUILD.format(layout="region", **fmt))
    export = [run_measured(EXPORT.format(**fmt)) for _ in range(args.repeats)]
    read_store = [run_measured(READ_STORE.format(**fmt)) for _ in range(args.repeats)]
    read_csv = [run_measured(READ_CSV.format(**fmt)) for _ in range(args.repeats)]

    hours = seq[0]["hours"]
    t_seq = median([r["seconds"] for r in seq])
    t_csv = region["seconds"] + median([r["seconds"] for r in export])
    store_mb = sum(du_mb(args.work / f"{n}_sequence") for n in ("voxangeles", "synth_nl"))
    csv_mb = sum(du_mb(args.work / f"{n}.csv") for n in ("voxangeles", "synth_nl"))
    r_store, r_csv = median([r["seconds"] for r in read_store]), median([r["seconds"] for r in read_csv])
    print(f"audio: voxangeles + synth_nl = {hours * 60:.1f} min; one worker process (one core); median of {args.repeats}")
    print(f"{'':34}{'sequence store':>16}{'notebook CSV':>16}{'ratio':>8}")
    print(f"{'build time (s)':34}{t_seq:16.1f}{t_csv:16.1f}{t_csv / t_seq:8.1f}")
    print(f"{'audio hours per minute per core':34}{hours / (t_seq / 60):16.2f}{hours / (t_csv / 60):16.2f}")
    print(f"{'peak RSS of the build (MB)':34}{max(r['peak_rss_mb'] for r in seq):16.0f}"
          f"{max(region['peak_rss_mb'], max(r['peak_rss_mb'] for r in export)):16.0f}")
    print(f"{'size on disk (MB)':34}{store_mb:16.1f}{csv_mb:16.1f}{csv_mb / store_mb:8.1f}")
    print(f"{'rows (frames / regions)':34}{read_store[0]['rows']:16d}{read_csv[0]['rows']:16d}")
    print(f"{'read everything back (s)':34}{r_store:16.2f}{r_csv:16.2f}{r_csv / r_store:8.0f}")
    print(f"{'read-back ms per 1k rows':34}{1000 * r_store / read_store[0]['rows'] * 1000:16.3f}"
          f"{1000 * r_csv / read_csv[0]['rows'] * 1000:16.3f}")
    print("(the CSV column holds the notebook's 10 x 13 regions at 1 ms hops around boundaries only; the store"
          " holds 39-dim features for every 10 ms frame of every utterance)")


if __name__ == "__main__":
    main()
