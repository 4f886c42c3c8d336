"""The project's own error types.

A user error is one clear line: the file, the problem, and how to fix it. The CLI prints
``str(error)`` and exits non-zero; library callers catch :class:`PhoneboundError`.
"""

from __future__ import annotations

from pathlib import Path


class PhoneboundError(Exception):
    """A problem the user can fix (bad input, missing file, wrong option).

    Parameters
    ----------
    problem : what is wrong, in a few words.
    path : the file or directory concerned, if any.
    fix : what the user can do about it.
    """

    def __init__(self, problem: str, path: str | Path | None = None, fix: str | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.fix = fix
        super().__init__(self.message)

    @property
    def reason(self) -> str:
        """The problem and the fix without the path (``skipped.tsv`` lists the path beside it)."""
        return f"{self.problem} — {self.fix}" if self.fix else self.problem

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason

    def __str__(self) -> str:
        return self.message


class AudioError(PhoneboundError):
    """Audio that cannot be read or used."""


class AnnotationError(PhoneboundError):
    """An alignment/annotation file that cannot be read or is inconsistent."""


class DatasetError(PhoneboundError):
    """A dataset directory that is missing, incomplete or incompatible."""


class ModelError(PhoneboundError):
    """A model directory that is missing, incomplete or incompatible."""
