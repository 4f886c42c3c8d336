"""What every batch job over recordings shares (``segment``, ``align``, ``pseudo-label``): an
output tree that mirrors the input tree and never overwrites input, files grouped so short ones
share model batches, a per-process model cache, the settings a folder was made with, the list
of skipped files with their reasons, and a progress bar.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audio.load import audio_info, is_audio_file
from ..errors import PhoneboundError
from .detector import Detector, load_detector
from .writers import WRITERS


@dataclass
class SegmentSummary:
    out: Path
    written: int = 0
    reused: int = 0
    audio_seconds: float = 0.0
    boundaries: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # files read with a problem (a truncated WAV)


def plan_outputs(inputs: list[Path], out: Path, fmt: str) -> list[tuple[Path, Path]]:
    """(audio, output file) pairs: folders are recursed and mirrored under ``out``; files given
    directly land at ``out``'s top level. Refuses collisions and anything that would overwrite input."""
    if fmt not in WRITERS:
        raise PhoneboundError(f"unknown output format {fmt!r}", fix=f"use one of {', '.join(WRITERS)}")
    ext = WRITERS[fmt][1]
    pairs, seen = [], {}
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise PhoneboundError("input not found", given, "check the path")
        if given.is_dir():
            files = sorted(p for p in given.rglob("*") if p.is_file() and is_audio_file(p))
            pairs += [(f, out / f.relative_to(given).with_suffix(ext)) for f in files]
        else:
            pairs.append((given, out / (given.stem + ext)))
    for audio, target in pairs:
        key = os.path.abspath(target)
        if key in seen:
            raise PhoneboundError(f"{audio} and {seen[key]} would both write {target}", fix="segment them into separate -o folders")
        seen[key] = audio
    input_files = {os.path.abspath(a) for a, _ in pairs}
    input_dirs = [os.path.abspath(p) for p in inputs if Path(p).is_dir()] + [os.path.abspath(Path(a).parent) for a, _ in pairs]
    for audio, target in pairs:
        t = os.path.abspath(target)
        if t in input_files or (Path(t).exists() and os.path.dirname(t) in input_dirs and not _ours(Path(t))):
            raise PhoneboundError(f"writing {target} would overwrite input", audio, "choose another output folder with -o")
    return pairs


def _ours(path: Path) -> bool:
    """Whether an existing output file was written by phonebound segment (safe to skip or replace)."""
    marker = path.parent / ".phonebound-segment"
    return marker.exists() and path.name in marker.read_text(encoding="utf-8").split("\n")


def write_skipped(summary: SegmentSummary) -> None:
    """``OUT/skipped.tsv``: each skipped recording with its reason (none: no file)."""
    path = summary.out / "skipped.tsv"
    if summary.skipped:
        from ..io_utils import atomic_write_text

        atomic_write_text(path, "path\treason\n" + "".join(f"{a}\t{r}\n" for a, r in summary.skipped))
    else:  # a rerun after the files were fixed: the old list would be wrong
        path.unlink(missing_ok=True)


def pending(pairs: list[tuple[Path, Path]], summary: SegmentSummary, overwrite: bool) -> list[tuple[str, str]]:
    """The (audio, target) pairs still to do; finished ones count as reused, and the temporary
    files a killed run left beside a target are removed. A rerun keeps the warnings of the files
    an earlier run finished (they are not read again)."""
    earlier = summary.out / "warnings.txt"
    if not overwrite and earlier.exists():
        summary.warnings = earlier.read_text(encoding="utf-8").splitlines()
    todo = []
    for audio, target in pairs:
        if target.exists() and not overwrite:
            summary.reused += 1
        else:
            todo.append((str(audio), str(target)))
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)
    return todo


def run_groups(todo: list[tuple[str, str]], task, options: dict[str, Any], summary: SegmentSummary, accept,
               jobs: int = 1, group_seconds: float = 120.0, progress: bool = False, verb: str = "segmenting",
               executor=None) -> None:
    """Run ``task((group, options))`` (a module-level function, so workers can unpickle it) over
    groups of ``todo`` in ``jobs`` processes. Each returns one record per file: {"warnings"},
    {"audio", "error"} (skipped), or a finished file, which ``accept(record)`` counts. A caller's
    ``executor`` (whose workers have already loaded the model) is used and left open."""
    from ..dataset.executors import close_executor, make_executor, run_tasks

    own = executor is None
    executor = make_executor("local", jobs) if own else executor
    bar = Progress(progress, len(todo), verb)
    try:
        tasks = [(g, options) for g in file_groups(todo, group_seconds)]
        results = run_tasks(executor, task, tasks, max_pending=2 * jobs) if jobs > 1 else map(task, tasks)
        for done in results:
            for record in done:
                if "warnings" in record:
                    summary.warnings.extend(record["warnings"])
                elif "error" in record:
                    summary.skipped.append((record["audio"], record["error"]))
                else:
                    accept(record)
                    mark_ours(Path(record["target"]))
            bar.advance(sum(1 for r in done if "warnings" not in r))
    finally:
        bar.close()
        if own:
            close_executor(executor)
    write_skipped(summary)
    write_warnings(summary)


def write_warnings(summary: SegmentSummary) -> None:
    """``OUT/warnings.txt``: files that were used despite a problem, one line each (none: no file)."""
    path = summary.out / "warnings.txt"
    if summary.warnings:
        from ..io_utils import atomic_write_text

        atomic_write_text(path, "".join(f"{w}\n" for w in dict.fromkeys(summary.warnings)))  # a file redone: once
    else:
        path.unlink(missing_ok=True)


def check_batch_output_dir(out: Path) -> None:
    from ..io_utils import check_output_dir

    check_output_dir(out, 20)


def check_settings(out: Path, settings: dict[str, Any], overwrite: bool, name: str = "segment_config.json") -> None:
    from ..config import write_json

    path = out / name
    if path.exists() and not overwrite:
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != settings:
            changed = ", ".join(f"{k} {previous.get(k)!r} now {v!r}" for k, v in settings.items() if previous.get(k) != v)
            raise PhoneboundError(f"this output folder holds results made with other settings ({changed})", out,
                                  "use a new -o folder, or --overwrite to redo everything")
    write_json(path, settings)


def mark_ours(target: Path) -> None:
    marker = target.parent / ".phonebound-segment"
    names = set(marker.read_text(encoding="utf-8").split("\n")) if marker.exists() else set()
    if target.name not in names:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(target.name + "\n")


def file_groups(todo: list[tuple[str, str]], seconds: float) -> list[list[tuple[str, str]]]:
    """Consecutive files up to ``seconds`` of audio per group: short files share model batches."""
    groups, current, total = [], [], 0.0
    for audio, target in todo:
        try:
            duration = audio_info(audio).duration
        except PhoneboundError:
            duration = 0.0
        if current and total + duration > seconds:
            groups.append(current)
            current, total = [], 0.0
        current.append((audio, target))
        total += duration
    if current:
        groups.append(current)
    return groups


_WORKER_DETECTOR: dict[str, tuple[list, Detector]] = {}


def cached_detector(options: dict[str, Any]) -> Detector:
    # keyed by the model files' mtimes too: a model retrained or exported in place is reloaded
    # (with -j 1 the cache lives in the caller's process, e.g. a notebook, across calls)
    from .detector import resolve_model_path

    folder = Path(resolve_model_path(options["model"]))
    stamp = [(f.name, f.stat().st_mtime_ns) for f in sorted(folder.glob("*")) if f.is_file()] if folder.is_dir() else []
    key = json.dumps([options["model"], options["backend"], options["threads"]])
    if key not in _WORKER_DETECTOR or _WORKER_DETECTOR[key][0] != stamp:
        _WORKER_DETECTOR[key] = (stamp, load_detector(options["model"], backend=options["backend"], threads=options["threads"]))
    return _WORKER_DETECTOR[key][1]


class Progress:
    """A progress bar over ``total`` files (nothing when not enabled or nothing to do)."""

    def __init__(self, enabled: bool, total: int, verb: str = "segmenting"):
        self.enabled = enabled and total > 0
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(verb, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task(verb, total=total)

    def advance(self, n: int) -> None:
        if self.enabled:
            self.bar.advance(self.task, n)

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()


def place_audio(audio: Path, link: Path) -> None:
    """The recording beside its TextGrid: a symbolic link, or a copy where links are not allowed."""
    if link.exists() or link.is_symlink():
        return
    try:
        os.symlink(audio.resolve(), link)
    except OSError:
        shutil.copy2(audio, link)
