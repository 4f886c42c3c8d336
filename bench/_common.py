"""Helpers shared by the benchmarks: shared-data lookup, timing in subprocesses, peak RSS."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
KOKORO_VOICE = r"^([a-z]+_[a-z]+_[a-z]+)_"  # a kokoro file's voice (its speaker), from its name


def speakers_by_name(utts: list, regex: str | None) -> list[str] | None:
    """Each utterance's speaker as ``regex``'s first group in its file name (None: ``align``'s own
    rule, the folder)."""
    if regex is None:
        return None
    return [m.group(1) if (m := re.match(regex, Path(u.audio).name)) else "" for u in utts]


def require_shared() -> Path:
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found: the benchmarks need ../shared/data beside the checkout")
    return SHARED


def run_measured(code: str) -> dict:
    """Run Python ``code`` in a fresh process; it must set ``RESULT``. Adds the peak RSS (MB) of
    that process or of its largest worker process as ``peak_rss_mb``."""
    wrapper = (
        "import json, resource, time\n"
        f"{code}\n"
        "rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(json.dumps({**RESULT, 'peak_rss_mb': rss / 1024}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], check=False, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)


def du_mb(path: Path) -> float:
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20
