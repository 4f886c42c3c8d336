"""Alignment speed: the hour of flemishguy (1,139 files with metadata.csv) and the same hour as one
file with one transcript, beside ``segment`` on the same audio in the same run (the baseline);
the one file also with the exact search (no beam), whose phones must be the same.

Each configuration runs in a fresh process (so peak RSS is its own); median of --repeats.

    python bench/align_speed.py [--model default] [--repeats 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import median, require_shared, run_measured

ALIGN = """
import phonebound.alignment.aligner as aligner
from phonebound.alignment.batch import align_paths
if {exact}:
    aligner.SEARCH_BEAM = 0.0  # in this process: only for -j 1
t = time.perf_counter()
s = align_paths([{inputs!r}], {out!r}, lang="nl", transcripts={transcripts!r}, model={model!r}, jobs={jobs}, overwrite=True,
                adapt={adapt})
RESULT = {{"seconds": time.perf_counter() - t, "audio": s.audio_seconds, "files": s.written, "skipped": len(s.skipped),
          "phones": s.phones}}
"""
SEGMENT = """
from phonebound.inference.segment import segment_paths
t = time.perf_counter()
s = segment_paths([{inputs!r}], {out!r}, model={model!r}, jobs={jobs}, overwrite=True, backend="torch")
RESULT = {{"seconds": time.perf_counter() - t, "audio": s.audio_seconds, "files": s.written, "skipped": len(s.skipped),
          "phones": 0}}
"""


def one_file(shared: Path, work: Path) -> tuple[Path, Path]:
    """The hour as one WAV and its transcript as one line (the prompts in the same order)."""
    import soundfile as sf

    audio_dir = shared / "flemishguy" / "audio"
    texts = dict(line.split("|", 1) for line in (shared / "flemishguy" / "metadata.csv").read_text(encoding="utf-8").splitlines())
    target, meta = work / "long" / "flemishguy_hour.wav", work / "long_metadata.csv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        order = sorted(p for p in audio_dir.glob("*.flac") if p.stem in texts)
        with sf.SoundFile(str(target), "w", samplerate=16000, channels=1, subtype="PCM_16") as out:
            for p in order:
                x, _ = sf.read(str(p), dtype="float32")
                out.write(x)
        meta.write_text(f"{target.stem}|" + " ".join(texts[p.stem].strip() for p in order) + "\n", encoding="utf-8")
    return target.parent, meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-align")
    args = ap.parse_args()
    shared = require_shared()
    args.work.mkdir(parents=True, exist_ok=True)
    hour, metadata = shared / "flemishguy" / "audio", shared / "flemishguy" / "metadata.csv"
    long_dir, long_meta = one_file(shared, args.work)
    print(f"{'job':44}{'wall s':>9}{'RTF':>9}{'peak RSS MB':>13}{'phones':>9}")
    results = {}
    for name, code, inputs, meta, jobs, adapt, exact in (
            (f"segment, 1,139 files, -j {args.jobs} (baseline)", SEGMENT, hour, None, args.jobs, False, False),
            (f"align, 1,139 files + metadata.csv, -j {args.jobs}", ALIGN, hour, metadata, args.jobs, True, False),
            ("  the same, one pass (--no-adapt)", ALIGN, hour, metadata, args.jobs, False, False),
            ("align, the hour as one file + one transcript", ALIGN, long_dir, long_meta, 1, True, False),
            ("  the same, exact search (no beam)", ALIGN, long_dir, long_meta, 1, True, True)):
        runs = [run_measured(code.format(inputs=str(inputs), out=str(args.work / "out"), model=args.model, jobs=jobs,
                                         transcripts=str(meta) if meta else None, adapt=adapt, exact=exact))
                for _ in range(args.repeats)]
        wall = median([r["seconds"] for r in runs])
        results[name] = wall
        assert runs[0]["skipped"] == 0, runs[0]
        print(f"{name:44}{wall:9.1f}{wall / runs[0]['audio']:9.4f}{max(r['peak_rss_mb'] for r in runs):13.0f}"
              f"{runs[0]['phones']:9d}", flush=True)
    base = next(iter(results.values()))
    times = list(results.values())
    print(f"align / segment time on the 1,139 files: {times[1] / base:.2f}x (one pass: {times[2] / base:.2f}x);"
          f" the one file, exact search / beam: {times[4] / times[3]:.2f}x")
    print("RTF = wall time / audio duration; wall time includes decoding audio, features, the model, pronunciations,"
          " the search and writing TextGrids; peak RSS: the largest single process (the parent or one worker).")


if __name__ == "__main__":
    main()
