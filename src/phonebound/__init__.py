"""phonebound: find phone boundaries in speech."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import PhoneboundError  # noqa: E402

__all__ = ["PhoneboundError", "__version__"]
