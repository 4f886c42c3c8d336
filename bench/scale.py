"""Dataset build throughput when scaling out: 1 vs 2 local worker processes (``-j 1``, ``-j 2``)
and 1 vs 2 dask ``LocalCluster`` workers (``--executor dask -j N``), all through the same executor
interface, on voxangeles + synth_nl (sequence layout). Median of --repeats runs, each in a fresh
process; ratios against the 1-worker local build measured in the same run.

    python bench/scale.py [--repeats 3] [--work /tmp/phonebound-bench-scale]

Throughput is audio hours per minute of build time; the executor's start-up (a process pool, a
LocalCluster's scheduler and worker processes) and a warm-up build of 4 files (imports, numba
compilation in each worker) are timed apart as "start-up" and not counted in it.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from _common import median, require_shared, run_measured

BUILD = """
from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.executors import close_executor, make_executor
t = time.perf_counter()
pool = make_executor("{kind}", {jobs})
# warm-up, counted as start-up: workers started, imports done, librosa's numba code compiled
build_dataset("{shared}/synth_nl", "{work}/warmup_{kind}{jobs}", BuildConfig(shard_items=1, include=("nl_11_0000[0-3]*",)),
              executor=pool, overwrite=True)
started = time.perf_counter() - t
t = time.perf_counter(); hours = 0.0
try:
    for name in ("voxangeles", "synth_nl"):
        s = build_dataset("{shared}/" + name, "{work}/{kind}{jobs}_" + name, BuildConfig(layout="sequence"),
                          executor=pool, overwrite=True)
        hours += s.hours
finally:
    seconds = time.perf_counter() - t
    close_executor(pool)
RESULT = {{"seconds": seconds, "startup": started, "hours": hours}}
"""

CONFIGS = (("local", 1, "local -j 1 (inline)"), ("local", 2, "local -j 2 (process pool)"),
           ("dask", 1, "dask LocalCluster, 1 worker"), ("dask", 2, "dask LocalCluster, 2 workers"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/phonebound-bench-scale"))
    args = ap.parse_args()
    shared = require_shared()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    runs: dict[tuple[str, int], list[dict]] = {(k, j): [] for k, j, _ in CONFIGS}
    for _ in range(args.repeats):  # interleaved, so a change in the machine's load hits every configuration
        for kind, jobs, _ in CONFIGS:
            runs[kind, jobs].append(run_measured(BUILD.format(kind=kind, jobs=jobs, shared=shared, work=args.work)))
    hours = runs["local", 1][0]["hours"]
    base = median([r["seconds"] for r in runs["local", 1]])
    print(f"audio: voxangeles + synth_nl = {hours * 60:.1f} min, sequence layout; {os.cpu_count()} CPU cores; "
          f"median of {args.repeats}")
    print(f"{'executor':32}{'build (s)':>10}{'h audio/min':>13}{'vs -j 1':>9}{'start-up (s)':>14}")
    for kind, jobs, label in CONFIGS:
        t = median([r["seconds"] for r in runs[kind, jobs]])
        startup = median([r["startup"] for r in runs[kind, jobs]])
        print(f"{label:32}{t:10.1f}{hours / (t / 60):13.2f}{base / t:9.2f}{startup:14.1f}")
    print("(ratio = 1-worker local build time / this build time: above 1 is faster; the dask rows pay task "
          "serialisation and scheduling on top of the same per-shard work)")


if __name__ == "__main__":
    main()
