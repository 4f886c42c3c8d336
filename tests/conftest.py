"""Shared test helpers: repository paths and the optional shared data set (``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``: small committed files (see ``tests/fixtures/make_fixtures.py``)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found: no {SHARED_DATA}; tests on the shared data sets are skipped")
    return SHARED_DATA
