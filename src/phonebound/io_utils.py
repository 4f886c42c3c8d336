"""Atomic writes: a temporary file in the same directory, then an atomic rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; move it to ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def probe_writable(directory: Path) -> None:
    """Create and delete a file in ``directory``; raises OSError when that is not allowed."""
    with tempfile.TemporaryFile(dir=directory):
        pass


def check_output_dir(path: Path, min_free_mb: float, error: type | None = None) -> None:
    """Fail early, before any work, when ``path`` (or, while it does not exist yet, the folder it
    will be made in) cannot be written, or its disk has less than ``min_free_mb`` MB free."""
    from .errors import PhoneboundError

    error = error or PhoneboundError
    existing = Path(path).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise error("output path exists and is not a directory", existing, "choose another output folder")
    try:
        probe_writable(existing)
    except OSError as e:
        raise error(f"output folder is not writable ({e.strerror or e})", existing,
                    "choose a writable folder, or fix its permissions") from None
    free = shutil.disk_usage(existing).free
    if free < min_free_mb * 2**20:
        raise error(f"only {free / 2**20:.0f} MB free on the output disk (at least {min_free_mb:.0f} MB needed)",
                    existing, "free some space, or choose a folder on another disk")
