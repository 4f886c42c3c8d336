"""Long jobs killed for real: ``build``, ``train`` and ``segment -o DIR`` run as subprocesses, are
interrupted (SIGINT and SIGKILL) mid-run, and the same command resumes to exactly the result of an
uninterrupted run; no half-written output is ever visible."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from robustness_cases import SR, speechlike, tiny_model_dir, write_good

from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.dataset.store import Dataset, shard_dir

pytestmark = pytest.mark.slow

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def interrupt(cmd: list[str], ready, sig: int, log: Path, timeout: float = 120.0) -> int:
    """Run ``cmd``; once ``ready()`` holds, send ``sig``; returns the exit code. Fails when the
    command ends before it could be interrupted."""
    with open(log, "w") as out:
        # Ctrl-C must reach the command even when pytest runs in the background, where the shell
        # makes SIGINT ignored and children would inherit that (Python then never raises it)
        proc = subprocess.Popen([sys.executable, "-m", "phonebound", *cmd], stdout=out, stderr=subprocess.STDOUT,
                                env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        start = time.monotonic()
        try:
            while proc.poll() is None:
                if ready():
                    proc.send_signal(sig)
                    return proc.wait(timeout=60)
                if time.monotonic() - start > timeout:
                    pytest.fail(f"{cmd} did not get ready in {timeout} s: {log.read_text()}")
                time.sleep(0.005)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    pytest.fail(f"{cmd} finished (exit {proc.returncode}) before it could be interrupted: {log.read_text()}")


# --- build ----------------------------------------------------------------------------------------

def _finished_shards(out: Path) -> list[Path]:
    shards = out / "shards"
    return sorted(p for p in shards.iterdir() if not p.name.startswith(".")) if shards.is_dir() else []


def test_build_killed_and_resumed_equals_an_uninterrupted_build(tmp_path, runner):
    corpus = tmp_path / "corpus"
    for k in range(40):  # 4 s each: the build must outlast the test's polling, even on a loaded machine
        write_good(corpus / f"spk{k % 5}", f"utt{k:02d}", seconds=4.0, seed=k)
    out = tmp_path / "ds"
    cmd = ["build", str(corpus), str(out), "-j", "1", "--shard-items", "1"]
    # Ctrl-C after two shards: a clean stop, finished shards kept
    rc = interrupt(cmd, lambda: len(_finished_shards(out)) >= 2, signal.SIGINT, tmp_path / "1.log")
    assert rc == 130 and "interrupted" in (tmp_path / "1.log").read_text()
    assert "Traceback" not in (tmp_path / "1.log").read_text()
    done = len(_finished_shards(out))
    # SIGKILL a resumed build a few shards later: no goodbye at all
    rc = interrupt(cmd + ["--resume"], lambda: len(_finished_shards(out)) >= done + 3, signal.SIGKILL,
                   tmp_path / "2.log")
    assert rc == -signal.SIGKILL
    assert not (out / "dataset.json").exists()
    for shard in _finished_shards(out):  # every visible shard is complete
        assert {"features.npy", "targets.npy", "index.parquet", "result.json"} <= {p.name for p in shard.iterdir()}
        assert np.load(shard / "features.npy").shape[1] == 39
    r = runner.invoke(app, cmd + ["--resume"])
    assert r.exit_code == 0, r.output
    assert "shards reused" in r.output
    assert not [p for p in (out / "shards").iterdir() if p.name.startswith(".")], "stale temporaries left"
    whole = tmp_path / "whole"
    r = runner.invoke(app, ["build", str(corpus), str(whole), "-j", "1", "--shard-items", "1"])
    assert r.exit_code == 0, r.output
    assert pq.read_table(out / "index.parquet").equals(pq.read_table(whole / "index.parquet"))
    assert len(Dataset(out)) == 40
    for k in range(40):
        for name in ("features.npy", "targets.npy"):
            assert (shard_dir(out, k) / name).read_bytes() == (shard_dir(whole, k) / name).read_bytes(), (k, name)
    assert (out / "skipped.tsv").read_bytes() == (whole / "skipped.tsv").read_bytes()
    assert json.loads((out / "dataset.json").read_text()) == json.loads((whole / "dataset.json").read_text())


# --- train ----------------------------------------------------------------------------------------

RECIPE = """
[model]
name = "bilstm"
hidden = 8
layers = 1
dropout = 0.1

[train]
steps = 300          # long enough that the interrupts land mid-run on a loaded machine
lr = 0.01
threads = 1
eval_every = 100
checkpoint_every = 2
batch_frames = 300
log_every = 1
"""


def _steps_logged(out: Path) -> int:
    try:
        lines = (out / "metrics.jsonl").read_text().splitlines()
        return max((json.loads(x)["step"] for x in lines if '"loss"' in x), default=0)
    except (OSError, ValueError):  # not there yet, or a line being written
        return 0


def test_train_interrupted_and_killed_resumes_to_the_same_weights(tone_sequence_dataset, tmp_path, runner):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "m"
    cmd = ["train", str(tone_sequence_dataset), str(out), "--config", str(recipe)]
    checkpoint = out / "checkpoints" / "last.pt"
    rc = interrupt(cmd, lambda: checkpoint.exists(), signal.SIGINT, tmp_path / "1.log")
    log = (tmp_path / "1.log").read_text()
    assert rc == 130 and "interrupted" in log and "Traceback" not in log, log
    first = torch.load(checkpoint, map_location="cpu", weights_only=False)["step"]
    assert 0 < first < 300
    # checkpoints every 2 steps, written right after a step's log line: 3 more steps logged, one more saved
    rc = interrupt(cmd + ["--resume"], lambda: _steps_logged(out) >= first + 3, signal.SIGKILL, tmp_path / "2.log")
    assert rc == -signal.SIGKILL and not (out / "dev_metrics.json").exists()  # killed before finishing
    second = torch.load(checkpoint, map_location="cpu", weights_only=False)["step"]
    assert first < second < 300  # the killed run had saved more work
    r = runner.invoke(app, cmd + ["--resume"])
    assert r.exit_code == 0, r.output
    whole = tmp_path / "whole"
    r = runner.invoke(app, ["train", str(tone_sequence_dataset), str(whole), "--config", str(recipe)])
    assert r.exit_code == 0, r.output
    a = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    b = torch.load(whole / "model.pt", map_location="cpu", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    config_a, config_b = (json.loads((d / "config.json").read_text()) for d in (out, whole))
    assert config_a["best_step"] == config_b["best_step"] and config_a["decode"] == config_b["decode"]


# --- segment -o DIR -------------------------------------------------------------------------------

def test_segment_killed_mid_batch_resumes_without_redoing_or_half_files(tmp_path, runner):
    model = tiny_model_dir(tmp_path / "model")
    inputs = tmp_path / "in"
    inputs.mkdir()
    import soundfile as sf

    for k in range(12):  # 40 s each: 3 recordings per 120 s group, so outputs appear group by group
        sf.write(inputs / f"rec{k:02d}.wav", speechlike(seconds=40.0, seed=k), SR)
    out = tmp_path / "out"
    cmd = ["segment", str(inputs), "-o", str(out), "--model", str(model)]
    seen: dict[str, float] = {}

    def check_visible_outputs() -> bool:
        """Every visible output parses (writes are atomic); ready once some exist."""
        if out.is_dir():
            for p in out.glob("*.TextGrid"):
                if p.name not in seen:
                    assert read_textgrid(p).xmax == pytest.approx(40.0)
                    seen[p.name] = p.stat().st_mtime_ns
        return len(seen) >= 3

    rc = interrupt(cmd, check_visible_outputs, signal.SIGKILL, tmp_path / "1.log")
    assert rc == -signal.SIGKILL
    check_visible_outputs()
    assert 3 <= len(seen) < 12
    r = runner.invoke(app, cmd)
    assert r.exit_code == 0, r.output
    assert f"{len(seen)} already done" in r.output
    for name, mtime in seen.items():  # finished files were not redone
        assert (out / name).stat().st_mtime_ns == mtime
    whole = tmp_path / "whole"
    r = runner.invoke(app, ["segment", str(inputs), "-o", str(whole), "--model", str(model)])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.glob("*.TextGrid"))
    assert names == sorted(p.name for p in whole.glob("*.TextGrid")) and len(names) == 12
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    for name in names:
        a, b = read_textgrid(out / name), read_textgrid(whole / name)
        pa, pb = a.tier("boundaries").entries, b.tier("boundaries").entries
        assert len(pa) == len(pb) and np.allclose([t for t, _ in pa], [t for t, _ in pb], atol=1e-6), name
        assert [c for _, c in pa] == [c for _, c in pb]


def test_leftovers_of_a_kill_are_cleaned_on_rerun(tmp_path, runner, tiny_model):
    """A SIGKILL during an atomic write leaves its hidden temporary behind; the rerun removes it."""
    corpus = tmp_path / "corpus"
    for k in range(3):
        write_good(corpus, f"utt{k}", seed=k)
    out = tmp_path / "ds"
    cmd = ["build", str(corpus), str(out), "--shard-items", "1"]
    assert runner.invoke(app, cmd).exit_code == 0
    (out / "dataset.json").unlink()
    (out / "shards" / ".00001.x1y2.tmp").mkdir()
    (out / "shards" / ".00001.x1y2.tmp" / "features.npy").write_bytes(b"\x93NUMPY half")
    (out / ".skipped.tsv.abc.tmp").write_text("path\treas")
    r = runner.invoke(app, cmd + ["--resume"])
    assert r.exit_code == 0, r.output
    assert not list(out.glob(".*.tmp")) and not list(out.glob("shards/.*"))
    seg = tmp_path / "seg"
    cmd = ["segment", str(corpus), "-o", str(seg), "--model", str(tiny_model)]
    assert runner.invoke(app, cmd).exit_code == 0
    (seg / "utt1.TextGrid").unlink()
    (seg / ".utt1.TextGrid.k9.tmp").write_text('File type = "ooTextFile"\n')
    r = runner.invoke(app, cmd)
    assert r.exit_code == 0 and "2 already done" in r.output, r.output
    assert not list(seg.glob(".*.tmp")) and read_textgrid(seg / "utt1.TextGrid").xmax == pytest.approx(1.0)
