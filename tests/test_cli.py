"""The command line's own options (the commands are tested with their library modules)."""

from __future__ import annotations

from typer.testing import CliRunner

from phonebound import __version__
from phonebound.cli import app


def test_version_is_printed_and_nothing_else_runs():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"phonebound {__version__}"


def test_without_a_command_the_commands_are_listed():
    result = CliRunner().invoke(app, [])
    assert "segment" in result.output and "align" in result.output
