"""Fixtures of the robustness suite (issue 6); the case generators are in ``robustness_cases.py``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """An untrained 1-layer BiLSTM tagger directory on mfcc_deltas (see ``tiny_model_dir``)."""
    from robustness_cases import tiny_model_dir

    return tiny_model_dir(tmp_path_factory.mktemp("tiny_model") / "model")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
