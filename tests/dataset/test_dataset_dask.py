"""Building on a dask.distributed cluster: the same dataset as the local executor, byte for byte,
with the same skipped-file report; resume; the CLI's --executor dask / --scheduler; clear errors."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from phonebound.cli import app
from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.executors import close_executor, make_executor, run_tasks
from phonebound.dataset.store import Dataset, shard_dir
from phonebound.errors import DatasetError, PhoneboundError

distributed = pytest.importorskip("dask.distributed")

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 single-threaded worker processes for the whole module (start-up costs
    seconds), made the way ``--executor dask -j 2`` makes it; closed at the end."""
    client = make_executor("dask", jobs=2)
    try:
        yield client
    finally:
        close_executor(client)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, fixtures_dir) -> Path:
    """The praatio examples (3 usable files, bobby_words.TextGrid skipped: no phone tier) plus a
    truncated TextGrid, copied once so every build reads the same absolute corpus path."""
    root = tmp_path_factory.mktemp("dask_corpus") / "corpus"
    shutil.copytree(fixtures_dir / "praatio", root)
    text = (fixtures_dir / "textgrid" / "tone_long.TextGrid").read_bytes()
    (root / "broken.TextGrid").write_bytes(text[: len(text) // 3])
    shutil.copy(fixtures_dir / "textgrid" / "tone.wav", root / "broken.wav")
    return root


@pytest.fixture(scope="module")
def local_build(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dask_local") / "ds"
    build_dataset(corpus, out, BuildConfig(shard_items=1))
    return out


def assert_same_dataset(a: Path, b: Path, min_shards: int = 4) -> None:
    assert pq.read_table(a / "index.parquet").equals(pq.read_table(b / "index.parquet"))
    shards = sorted(p.name for p in (a / "shards").iterdir())
    assert shards == sorted(p.name for p in (b / "shards").iterdir()) and len(shards) >= min_shards
    for name in shards:
        for array in ("features.npy", "targets.npy"):
            assert (a / "shards" / name / array).read_bytes() == (b / "shards" / name / array).read_bytes(), \
                f"{name}/{array} differs"
        assert pq.read_table(a / "shards" / name / "index.parquet").equals(pq.read_table(b / "shards" / name / "index.parquet"))
    assert (a / "skipped.tsv").read_bytes() == (b / "skipped.tsv").read_bytes()
    assert (a / "warnings.txt").read_bytes() == (b / "warnings.txt").read_bytes()
    ma, mb = (json.loads((d / "dataset.json").read_text()) for d in (a, b))
    assert ma == mb


def test_make_executor_starts_a_local_cluster_of_jobs_workers(cluster):
    assert isinstance(cluster, distributed.Client)
    assert isinstance(cluster.cluster, distributed.LocalCluster)
    assert cluster.nthreads() and list(cluster.nthreads().values()) == [1, 1]  # 2 workers, 1 thread each
    workers = cluster.cluster.workers.values()
    assert all(type(w).__name__ == "Nanny" for w in workers)  # processes=True: each worker its own process


def test_dask_build_equals_local_build(cluster, corpus, local_build, tmp_path):
    out = tmp_path / "ds"
    summary = build_dataset(corpus, out, BuildConfig(shard_items=1), executor=cluster)
    assert_same_dataset(local_build, out)
    skipped = dict(summary.skipped)
    assert "no phone tier" in " ".join(skipped.values()) or any("bobby_words" in p for p in skipped)
    assert any(p.endswith("broken.TextGrid") for p in skipped)
    assert Dataset(out).meta["utterances"] == Dataset(local_build).meta["utterances"] == summary.utterances


def test_dask_resume_rebuilds_only_the_missing_shard(cluster, corpus, local_build, tmp_path):
    out = tmp_path / "ds"
    build_dataset(corpus, out, BuildConfig(shard_items=1), executor=cluster)
    n = len(json.loads((out / "plan.json").read_text())["shards"])
    kept = {k: (shard_dir(out, k) / "features.npy").stat().st_mtime_ns for k in range(n) if k != 1}
    shutil.rmtree(shard_dir(out, 1))
    (out / "index.parquet").unlink()
    (out / "dataset.json").unlink()
    summary = build_dataset(corpus, out, BuildConfig(shard_items=1), executor=cluster, resume=True)
    assert summary.shards_reused == n - 1
    assert {k: (shard_dir(out, k) / "features.npy").stat().st_mtime_ns for k in kept} == kept
    assert_same_dataset(local_build, out)


def test_cli_build_through_a_scheduler_address(cluster, corpus, tmp_path, monkeypatch):
    """``--executor dask --scheduler tcp://...`` connects to a running cluster (here the fixture's)
    and leaves it running; a relative OUT is resolved on the client, not in the workers' cwd."""
    address = cluster.scheduler.address
    assert address.startswith("tcp://")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["build", str(corpus), "rel/ds", "--executor", "dask", "--scheduler", address])
    assert r.exit_code == 0, r.output
    assert "3 files, 3 utterances" in " ".join(r.output.split())
    r = runner.invoke(app, ["build", str(corpus), "local"])  # the same options, built here
    assert r.exit_code == 0, r.output
    assert_same_dataset(tmp_path / "local", tmp_path / "rel" / "ds", min_shards=1)
    assert cluster.status == "running" and len(cluster.nthreads()) == 2  # not shut down by the CLI


def test_tasks_carry_an_absolute_output_path(corpus, tmp_path, monkeypatch):
    seen = []

    class Recording:
        def submit(self, fn, task):
            import concurrent.futures as cf

            seen.append(task.out)
            f = cf.Future()
            f.set_result(fn(task))
            return f

    monkeypatch.chdir(tmp_path)
    build_dataset(corpus, Path("ds"), BuildConfig(shard_items=1), executor=Recording())
    assert seen and all(Path(o).is_absolute() and Path(o) == tmp_path / "ds" for o in seen)


def test_a_worker_writing_elsewhere_is_a_shared_filesystem_error(corpus, tmp_path):
    """A worker whose view of OUT is not the client's (no shared filesystem) writes its shards
    where the client cannot see them: the build stops with a clear error, not a broken index."""
    elsewhere = tmp_path / "worker-disk"

    class PrivateDisk:
        def submit(self, fn, task):
            import concurrent.futures as cf
            from dataclasses import replace

            f = cf.Future()
            f.set_result(fn(replace(task, out=str(elsewhere))))
            return f

    with pytest.raises(DatasetError, match="shared") as e:
        build_dataset(corpus, tmp_path / "ds", BuildConfig(shard_items=1), executor=PrivateDisk())
    assert re.search(r"shard \d+ was built but is not in the output directory", str(e.value))
    assert not (tmp_path / "ds" / "index.parquet").exists()


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(PhoneboundError, match=r"phonebound\[dask\]"):
        make_executor("dask", 2)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(PhoneboundError, match="cannot reach the dask scheduler") as e:
        make_executor("dask", scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    assert "dask scheduler" in str(e.value) and "tcp://127.0.0.1:9" in str(e.value)


def test_scheduler_without_dask_executor_is_refused():
    with pytest.raises(PhoneboundError, match="--executor dask"):
        make_executor("local", 2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(PhoneboundError, match="unknown executor"):
        make_executor("spark")


def test_run_tasks_streams_every_result_through_dask(cluster):
    assert sorted(run_tasks(cluster, abs, range(-20, 0), max_pending=3)) == list(range(1, 21))


def test_a_worker_os_error_is_reported_as_the_shared_filesystem_problem(tmp_path):
    from phonebound.dataset.build import _worker_os_errors

    FakeClient = type("Client", (), {"__module__": "distributed.client"})
    with pytest.raises(DatasetError, match="could not write its shard .*PermissionError.*shared filesystem"):
        with _worker_os_errors(FakeClient(), tmp_path / "ds"):
            raise PermissionError(13, "Permission denied")
    with pytest.raises(PermissionError):  # a local executor's OSError is this machine's own problem
        with _worker_os_errors(object(), tmp_path / "ds"):
            raise PermissionError(13, "Permission denied")
