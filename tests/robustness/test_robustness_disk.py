"""Out-of-disk and read-only output folders: ``build``, ``segment``, ``train`` and ``tune`` fail at
once, before any work, with one line naming the folder, the problem and the fix."""

from __future__ import annotations

import os
import shutil
from collections import namedtuple

import pytest
from robustness_cases import one_line_error, write_good

from phonebound import io_utils
from phonebound.cli import app
from phonebound.errors import PhoneboundError


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tone_sequence_dataset):
    root = tmp_path_factory.mktemp("disk")
    write_good(root / "corpus", "a")
    return {"corpus": root / "corpus", "audio": root / "corpus" / "a.wav", "dataset": tone_sequence_dataset}


def _commands(inputs, out, model) -> dict[str, list[str]]:
    return {
        "build": ["build", str(inputs["corpus"]), str(out / "ds")],
        "segment": ["segment", str(inputs["audio"]), "-o", str(out / "seg"), "--model", str(model)],
        "train": ["train", str(inputs["dataset"]), str(out / "model"), "--steps", "2"],
        "tune": ["tune", str(inputs["dataset"]), str(out / "study"), "--trials", "1"],
    }


COMMANDS = ("build", "segment", "train", "tune")


@pytest.mark.parametrize("command", COMMANDS)
def test_out_of_disk_fails_early(command, inputs, tiny_model, tmp_path, runner, monkeypatch):
    usage = namedtuple("usage", "total used free")
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda p: usage(10 * 2**30, 10 * 2**30 - 3 * 2**20, 3 * 2**20)
                        if str(p).startswith(str(tmp_path)) else real(p))
    r = runner.invoke(app, _commands(inputs, tmp_path / "out", tiny_model)[command])
    one_line_error(r, "only 3 MB free on the output disk", "free some space", str(tmp_path))
    assert not (tmp_path / "out").exists()  # nothing was started


def _refuse_writes_under(monkeypatch, folder) -> None:
    """What a read-only folder does to the probe (tests run as root, for whom chmod changes nothing)."""
    real = io_utils.probe_writable

    def probe(directory):
        if str(directory).startswith(str(folder)):
            raise PermissionError(13, "Permission denied", str(directory))
        real(directory)

    monkeypatch.setattr(io_utils, "probe_writable", probe)


@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_output_folder_fails_early(command, inputs, tiny_model, tmp_path, runner, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    _refuse_writes_under(monkeypatch, locked)
    r = runner.invoke(app, _commands(inputs, locked, tiny_model)[command])
    one_line_error(r, str(locked), "output folder is not writable (Permission denied)", "choose a writable folder")
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="running as root: chmod 0o555 does not stop root's writes (the probe is simulated above)")
def test_read_only_output_folder_for_real(inputs, tiny_model, tmp_path, runner):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for command in COMMANDS:
            r = runner.invoke(app, _commands(inputs, locked, tiny_model)[command])
            one_line_error(r, str(locked), "not writable", "choose a writable folder")
    finally:
        locked.chmod(0o755)


def test_probe_leaves_nothing_behind(tmp_path):
    io_utils.check_output_dir(tmp_path / "new" / "deeper", 0)
    assert list(tmp_path.iterdir()) == []  # the folders are made by the job itself, later
    (tmp_path / "file").write_text("x")
    with pytest.raises(PhoneboundError, match="not a directory"):
        io_utils.check_output_dir(tmp_path / "file" / "sub", 0)
