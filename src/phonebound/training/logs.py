"""What a run reports as it goes: one JSON line per logged step and per dev evaluation
(``metrics.jsonl``), TensorBoard scalars (``tb/``) and a progress bar on the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=float) + "\n")


def tensorboard(path: Path):
    """A TensorBoard writer for ``path``, or None where tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional at run time
        return None
    return SummaryWriter(str(path))


class ProgressBar:
    """A rich progress bar with loss, dev metric and ETA (or nothing when not on a terminal)."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.enabled = enabled
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]}  dev {task.fields[dev]}"), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=done, loss="-", dev="-")

    def update(self, step: int, loss: float, dev: float | None) -> None:
        if self.enabled:
            self.bar.update(self.task, completed=step, loss=f"{loss:.4f}", dev="-" if dev is None else f"{dev:.3f}")

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()
