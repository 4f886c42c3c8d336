"""Training speed: frames per second for the utterance tagger and the notebook's window model.

Times optimizer steps (forward + backward + Adam) on real batches from datasets built from
../shared/data/synth_nl (sequence and region layouts), after warm-up steps; median of --repeats
timed blocks. On a machine with CUDA the same is measured on the GPU too.

    python bench/train_speed.py [--steps 30] [--repeats 3] [--threads 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import median, require_shared


def build(shared: Path, work: Path):
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset

    out = {}
    for layout in ("sequence", "region"):
        path = work / layout
        if not (path / "dataset.json").exists():
            build_dataset(shared / "synth_nl", path, BuildConfig(layout=layout, include=("nl_11_000*",)), overwrite=True)
            split_dataset(path, SplitConfig(by="file", dev=0.1, test=0.0))
        out[layout] = path
    return out


def measure(loop, steps: int, repeats: int, tagger: bool, device: str) -> tuple[float, float]:
    """(frames per second, seconds per step): frames = valid 10 ms frames (tagger) or region frames."""
    import torch

    batches = loop.train_data.epoch_batches(0, loop.cfg.batch_frames) if tagger else None
    loop.model.train()

    def one(k: int) -> int:
        batch = loop.train_data.collate(batches[k % len(batches)]) if tagger else loop.train_data.batch(k, loop.cfg.batch_size)
        loss = loop._loss(batch)
        loop.optimizer.zero_grad()
        loss.backward()
        loop.optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return int(batch[2].sum()) if tagger else int(batch[0].shape[0] * batch[0].shape[1])

    for k in range(3):
        one(k)
    rates, per_step = [], []
    for r in range(repeats):
        t = time.perf_counter()
        frames = sum(one(k) for k in range(steps))
        dt = time.perf_counter() - t
        rates.append(frames / dt)
        per_step.append(dt / steps)
    return median(rates), median(per_step)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = each model's default)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-train")
    args = ap.parse_args()
    import torch

    from phonebound.dataset.store import Dataset
    from phonebound.evaluation.notebook import notebook_recipe
    from phonebound.training.loop import Loop
    from phonebound.training.recipe import Recipe

    data = build(require_shared(), args.work)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    print(f"{'model':44}{'device':8}{'threads':>8}{'frames/s':>12}{'ms/step':>10}")
    for device in devices:
        for name, layout, recipe in (("bilstm tagger 2x128 (batch 6000 frames)", "sequence", Recipe()),
                                     ("notebook window 70 (batch 128 x 10 frames)", "region", notebook_recipe())):
            recipe.train = replace(recipe.train, threads=args.threads, device=device)
            loop = Loop([Dataset(data[layout])], args.work / f"run_{layout}_{device}", recipe)
            fps, sps = measure(loop, args.steps, args.repeats, layout == "sequence", device)
            print(f"{name:44}{device:8}{torch.get_num_threads():>8}{fps:12.0f}{sps * 1000:10.1f}", flush=True)
    print("frames: 10 ms feature frames for the tagger, 1 ms MFCC frames inside regions for the window model.")


if __name__ == "__main__":
    main()
