"""Segmentation speed: the hour of flemishguy (1,139 files) and one concatenated 60-minute file.

Reports wall time, real-time factor and peak RSS for the torch and onnxruntime paths of the
default (tagger) model, and, in the same run, for the notebook's window model over the same audio.
Each configuration runs in a fresh process (so peak RSS is its own); median of --repeats.

    python bench/segment_speed.py [--model default] [--window-model DIR] [--repeats 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import median, require_shared, run_measured

SEGMENT = """
from phonebound.inference.segment import segment_paths
t = time.perf_counter()
s = segment_paths([{inputs!r}], {out!r}, model={model!r}, fmt="long_textgrid", jobs={jobs}, overwrite=True, backend={backend!r})
RESULT = {{"seconds": time.perf_counter() - t, "audio": s.audio_seconds, "files": s.written, "skipped": len(s.skipped)}}
"""


def concatenate(files: list[Path], target: Path, minutes: float = 60.0) -> float:
    """Write one WAV of ``minutes`` minutes from ``files`` (cycled), streaming."""
    import soundfile as sf

    need = int(minutes * 60 * 16000)
    written = 0
    with sf.SoundFile(str(target), "w", samplerate=16000, channels=1, subtype="PCM_16") as out:
        k = 0
        while written < need:
            x, sr = sf.read(str(files[k % len(files)]), dtype="float32")
            assert sr == 16000
            x = x[: need - written]
            out.write(x)
            written += len(x)
            k += 1
    return written / 16000


def train_window_model(shared: Path, work: Path) -> Path:
    """A notebook window model (speed does not depend on how long it trained)."""
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.evaluation.notebook import notebook_recipe
    from phonebound.training.train import train

    model = work / "window_model"
    if (model / "dev_metrics.json").exists():  # trained by an earlier run of this bench
        return model
    data = work / "window_data"
    build_dataset(shared / "synth_nl", data, BuildConfig(layout="region", include=("nl_11_000[0-4]*",)), overwrite=True)
    split_dataset(data, SplitConfig(by="file", dev=0.2, test=0.0))
    train([data], model, notebook_recipe(steps=200), resume=True)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--window-model", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-segment")
    args = ap.parse_args()
    shared = require_shared()
    hour_dir = shared / "flemishguy" / "audio"
    files = sorted(hour_dir.glob("*.flac"))
    args.work.mkdir(parents=True, exist_ok=True)
    long_file = args.work / "flemishguy_60min.wav"
    if not long_file.exists():
        concatenate(files, long_file)
    model_dir = args.model
    onnx_ok = True
    try:
        import onnxruntime  # noqa: F401

        from phonebound.inference.detector import resolve_model_path
        from phonebound.inference.export import export_onnx

        source = Path(resolve_model_path(args.model))
        if not (source / "model.onnx").exists():  # export into a copy: never write into the installed package
            copy = args.work / "model_copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(source, copy)
            export_onnx(copy)
            model_dir = str(copy)
    except ImportError:
        onnx_ok = False
    window = args.window_model or train_window_model(shared, args.work)

    configs = [("tagger, torch", model_dir, "torch"), ("tagger, onnxruntime", model_dir, "onnx")] if onnx_ok else \
        [("tagger, torch", model_dir, "torch")]
    configs.append(("notebook window model, torch", str(window), "torch"))
    print(f"{'configuration':32}{'input':28}{'wall s':>9}{'RTF':>9}{'peak RSS MB':>13}")
    for name, model, backend in configs:
        for label, inputs, jobs in ((f"1,139 files (60 min), -j {args.jobs}", hour_dir, args.jobs),
                                    ("one 60-minute file, -j 1", long_file, 1)):
            runs = [run_measured(SEGMENT.format(inputs=str(inputs), out=str(args.work / "out"), model=model, jobs=jobs,
                                                backend=backend)) for _ in range(args.repeats)]
            wall = median([r["seconds"] for r in runs])
            audio = runs[0]["audio"]
            print(f"{name:32}{label:28}{wall:9.1f}{wall / audio:9.4f}{max(r['peak_rss_mb'] for r in runs):13.0f}",
                  flush=True)
    print("RTF = wall time / audio duration (lower is faster); wall time includes audio decoding, features, model,"
          " decoding and writing TextGrids; peak RSS: the largest single process (the parent or one worker).")


if __name__ == "__main__":
    main()
